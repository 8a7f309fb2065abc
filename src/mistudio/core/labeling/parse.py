"""Reading LLM replies: a label (JSON object or ``[TAG]: value`` lines) and 0/1 answer lists.

Small and chatty models wrap answers in prose or code fences, repeat the reply format, or write
``**[EXPLANATION]:**``; the parsers look for the *last* well-formed answer and ignore the rest.
Anything they cannot read raises :class:`MalformedReplyError`, which the run retries and then
records as a failed feature.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from mistudio.core.labeling.errors import MalformedReplyError

MAX_LABEL_WORDS = 8


@dataclass
class ParsedLabel:
    label: str
    category: str
    description: str
    confidence: float | None


def _clean(value: str) -> str:
    # Small models copy the prompt's <<marker>> syntax into their answer.
    value = value.replace("<<", "").replace(">>", "")
    value = value.strip().strip("*_`").strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    return value


def _confidence(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        match = re.search(r"\d+(?:\.\d+)?", str(value))
        if not match:
            return None
        number = float(match.group(0))
        if "%" in str(value):
            number /= 100
    if number > 1 and number <= 100:
        number /= 100
    return min(1.0, max(0.0, number))


def _short(text: str) -> str:
    words = text.split()
    return " ".join(words[:MAX_LABEL_WORDS]).rstrip(".,;:")


def _from_fields(fields: dict[str, object]) -> ParsedLabel | None:
    lower = {str(k).lower(): v for k, v in fields.items()}
    label = _clean(str(lower.get("label") or lower.get("name") or ""))
    description = _clean(
        str(lower.get("explanation") or lower.get("description") or lower.get("summary") or "")
    )
    if not label and not description:
        return None
    return ParsedLabel(
        label=_short(label or description),
        category=_clean(str(lower.get("category") or "")) or "Uncategorised",
        description=description or label,
        confidence=_confidence(lower["confidence"]) if "confidence" in lower else None,
    )


def _json_objects(text: str) -> list[dict[str, object]]:
    """Every JSON object embedded in ``text`` (code fences and prose around them ignored)."""
    decoder = json.JSONDecoder()
    found = []
    for start in (m.start() for m in re.finditer(r"\{", text)):
        try:
            value, _ = decoder.raw_decode(text[start:])
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


TAG = re.compile(
    r"^[\s*_#>-]*\[?\s*(LABEL|CATEGORY|CONFIDENCE|EXPLANATION|DESCRIPTION)\s*\]?"
    r"[ \t*_]*:[ \t*_]*(.*)$",  # not \s after the colon: an empty value must not eat the next line
    re.IGNORECASE | re.MULTILINE,
)


def parse_label_reply(text: str) -> ParsedLabel:
    """A label from a reply: a JSON object with label/explanation, else ``[TAG]: value`` lines
    (``[EXPLANATION]`` or ``[LABEL]`` required)."""
    if not text or not text.strip():
        raise MalformedReplyError("empty reply")
    for obj in reversed(_json_objects(text)):
        parsed = _from_fields(obj)
        if parsed is not None:
            return parsed
    fields: dict[str, object] = {}
    for match in TAG.finditer(text):
        value = _clean(match.group(2))
        if not value:  # "[LABEL]:" then the answer on the next line (small models do this)
            rest = text[match.end() :].lstrip("\n").split("\n", 1)[0]
            value = "" if TAG.match(rest) else _clean(rest)
        if value and not value.startswith(("a short label", "a taxonomy", "one sentence")):
            fields[match.group(1).lower()] = value  # the last occurrence wins
    parsed = _from_fields(fields)
    if parsed is None:
        raise MalformedReplyError(
            f"no [EXPLANATION]: or [LABEL]: line and no JSON label in the reply "
            f"({text.strip()[:80]!r})"
        )
    return parsed


def parse_binary_list(text: str, n: int) -> list[int]:
    """The last list of exactly ``n`` answers in ``text``: ``[1,0,0,1,1]``, ``[true, false, ..]``
    or a JSON object holding such a list."""
    for obj in reversed(_json_objects(text)):
        for value in obj.values():
            if isinstance(value, list) and len(value) == n:
                try:
                    return [_bit(v) for v in value]
                except ValueError:
                    continue
    for match in reversed(list(re.finditer(r"\[([^\[\]]*)\]", text))):
        items = [s.strip().strip("\"'") for s in match.group(1).split(",") if s.strip()]
        if len(items) != n:
            continue
        try:
            return [_bit(v) for v in items]
        except ValueError:
            continue
    raise MalformedReplyError(
        f"no list of {n} answers (0 or 1) in the reply ({text.strip()[:80]!r})"
    )


def _bit(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y"):
        return 1
    if text in ("0", "false", "no", "n"):
        return 0
    raise ValueError(value)
