"""One feature of an upload call, built from its bulk records and clipped to the route's limits.

Whatever breaks a limit of :mod:`.upload_limits` is clipped here rather than refused, and
counted by kind (:data:`CLIP_KINDS`) so the report and the progress messages say what changed:

- a long activation keeps the 1,024-token window around its max (the window Neuronpedia's UI
  centres on); logit lists keep their 20 extreme values; explanations longer than 512 UTF-16
  units (JavaScript's length) are cut with an ellipsis;
- an empty token becomes a zero-width space (it renders the same; yup's ``string().required()``
  refuses ``""``, for tokens as for logit tokens); ``\\u0000`` becomes U+FFFD (PostgreSQL text
  refuses NUL); NaN/inf become 0 (JSON has no NaN; Python would write invalid JSON);
- a feature with no usable activation record cannot be uploaded (the route needs >= 1):
  :func:`feature_body` returns None and the caller skips and counts it.

Each feature is encoded once (:func:`encode_feature`); a call's body joins those bytes, so a
batch split to fit the body limit is never encoded again.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from mistudio.core.neuronpedia.upload_limits import (
    EMPTY_TOKEN,
    MAX_ACTIVATION_TOKENS,
    MAX_EXPLANATION_CHARS,
    MAX_LOGITS,
    MAX_QUANTILE,
)
from mistudio.core.neuronpedia.upload_read import FeatureRow, parse_line

CLIP_KINDS: dict[str, str] = {
    "activation_tokens": "activation records cut to the 1,024 tokens around their max",
    "top_logits": "top-logit lists cut to 20",
    "bottom_logits": "bottom-logit lists cut to 20",
    "explanation_text": "explanations cut to 512 characters",
    "empty_explanations": "empty explanations left out",
    "empty_tokens": "empty tokens sent as a zero-width space",
    "empty_activations": "activation records without tokens left out",
    "length_mismatch": "activation records with more tokens than values (or the reverse) cut",
    "non_finite": "NaN or infinite values sent as 0 (or logits left out)",
    "nul_characters": "strings with \\u0000 cleaned",
    "density": "densities outside 0..1 left out",
}
"""What each clipped-count key means (the report's lines say it in these words)."""


class ClipCounter:
    """Counts what was clipped, in total and since the last :meth:`take`."""

    def __init__(self) -> None:
        self.total: Counter[str] = Counter()
        self.recent: Counter[str] = Counter()

    def add(self, kind: str, n: int = 1) -> None:
        self.total[kind] += n
        self.recent[kind] += n

    def take(self) -> Counter[str]:
        out, self.recent = self.recent, Counter()
        return out


def feature_body(
    row: FeatureRow,
    activation_lines: list[tuple[int, bytes]],
    explanations: list[dict[str, Any]],
    clip: ClipCounter,
    where: Path,
) -> dict[str, Any] | None:
    """The route's feature object, clipped, or None when no activation record is usable.
    ``activation_lines`` are (line number, raw line) of ``where``, parsed here."""
    activations = []
    for number, line in activation_lines:
        activation = _activation(parse_line(where, number, line), clip)
        if activation is not None:
            activations.append(activation)
    if not activations:
        return None
    body: dict[str, Any] = {"index": row.index}
    density = _density(row.record, clip)
    if density is not None:
        body["density"] = density
    if top := _logits(row.record, "pos", True, clip):
        body["topLogits"] = top
    if bottom := _logits(row.record, "neg", False, clip):
        body["bottomLogits"] = bottom
    texts = [e for r in explanations if (e := _explanation(r, clip)) is not None]
    if texts:
        body["explanations"] = texts
    body["activations"] = activations
    return body


def encode_feature(feature: dict[str, Any]) -> bytes:
    return json.dumps(feature, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _text(value: Any, clip: ClipCounter) -> str:
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        clip.add("nul_characters")
        text = text.replace("\x00", "\ufffd")
    return text


def _token(value: Any, clip: ClipCounter) -> str:
    text = _text("" if value is None else value, clip)
    if not text:
        clip.add("empty_tokens")
        return EMPTY_TOKEN
    return text


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _clip_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 units, ending in an ellipsis when cut."""
    if _utf16_len(text) <= limit:
        return text
    units, end = 0, 0
    for end, ch in enumerate(text):  # noqa: B007 - end is used after the loop
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit - 1:
            break
    return text[:end] + "\u2026"


def _logits(
    record: dict[str, Any], prefix: str, top: bool, clip: ClipCounter
) -> list[dict[str, Any]]:
    tokens = record.get(f"{prefix}_str") or []
    values = record.get(f"{prefix}_values") or []
    if not isinstance(tokens, list) or not isinstance(values, list):
        return []
    pairs: list[tuple[str, float]] = []
    for token, value in zip(tokens, values, strict=False):
        number = _number(value)
        if number is None:
            clip.add("non_finite")
            continue
        pairs.append((_token(token, clip), number))
    pairs.sort(key=lambda p: -p[1] if top else p[1])
    if len(pairs) > MAX_LOGITS:
        clip.add("top_logits" if top else "bottom_logits")
        pairs = pairs[:MAX_LOGITS]
    return [{"token": t, "value": v} for t, v in pairs]


def _activation(record: dict[str, Any], clip: ClipCounter) -> dict[str, Any] | None:
    tokens, values = record.get("tokens"), record.get("values")
    if not isinstance(tokens, list) or not isinstance(values, list):
        clip.add("empty_activations")
        return None
    n = min(len(tokens), len(values))
    if len(tokens) != len(values):
        clip.add("length_mismatch")
    if n == 0:
        clip.add("empty_activations")
        return None
    tokens, values = tokens[:n], values[:n]
    # Fast path (C-level scans): plain strings, none empty or with NUL; plain finite numbers.
    # A sum that is not finite sends the record down the slow path, which finds the culprit.
    if set(map(type, tokens)) == {str} and "" not in tokens and "\x00" not in "".join(tokens):
        texts = tokens
    else:
        texts = [_token(t, clip) for t in tokens]
    if set(map(type, values)) <= {float, int} and math.isfinite(sum(values)):
        numbers = [float(v) for v in values]
    else:
        numbers = []
        for value in values:
            number = _number(value)
            if number is None:
                clip.add("non_finite")
                number = 0.0
            numbers.append(number)
    if n > MAX_ACTIVATION_TOKENS:
        # The window Neuronpedia's UI centres on: the max with as much context on each side.
        peak = max(range(n), key=numbers.__getitem__)
        start = min(max(0, peak - MAX_ACTIVATION_TOKENS // 2), n - MAX_ACTIVATION_TOKENS)
        texts = texts[start : start + MAX_ACTIVATION_TOKENS]
        numbers = numbers[start : start + MAX_ACTIVATION_TOKENS]
        clip.add("activation_tokens")
    out: dict[str, Any] = {"tokens": texts, "values": numbers}
    # Quantile bins carry binMin >= 0; top-example records carry binMin = binContains = -1,
    # which the route's quantileFraction.min(0) would refuse, so those go without.
    low, high, share = (_number(record.get(k)) for k in ("binMin", "binMax", "binContains"))
    if low is not None and low >= 0 and high is not None:
        out["quantileMin"] = min(low, MAX_QUANTILE)
        out["quantileMax"] = min(high, MAX_QUANTILE)
        if share is not None and 0 <= share <= 1:
            out["quantileFraction"] = share
    return out


def _explanation(record: dict[str, Any], clip: ClipCounter) -> dict[str, Any] | None:
    text = _text(record.get("description") or "", clip).strip()
    if not text:
        clip.add("empty_explanations")
        return None
    if _utf16_len(text) > MAX_EXPLANATION_CHARS:
        clip.add("explanation_text")
        text = _clip_text(text, MAX_EXPLANATION_CHARS)
    out: dict[str, Any] = {"text": text}
    if record.get("typeName"):
        out["methodName"] = str(record["typeName"])
    if record.get("explanationModelName"):
        out["modelName"] = str(record["explanationModelName"])
    return out


def _density(record: dict[str, Any], clip: ClipCounter) -> float | None:
    density = _number(record.get("frac_nonzero"))
    if density is not None and not 0 <= density <= 1:
        if density != -1:  # Neuronpedia's own "unknown"
            clip.add("density")
        density = None
    return density
