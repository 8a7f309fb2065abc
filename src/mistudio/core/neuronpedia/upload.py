"""Push a Neuronpedia bulk-import folder to a Neuronpedia instance through its per-user API.

``POST {base}/api/feature/upload-batch`` (header ``x-api-key``; FORMATS §3 "Upload API") takes
``{modelId, source, features: [{index, density?, topLogits?, bottomLogits?, explanations?,
activations}]}``. What the route enforces was read from Neuronpedia's own
``apps/webapp/app/api/feature/upload-batch/route.tsx`` (a yup schema) and the wrappers it runs in
(``lib/with-user.ts``, ``lib/api-error.ts``), and decided the shape of this client:

- **Limits.** 1..128 features a call, activations of 1..1,024 tokens with as many values, at most
  20 top/bottom logits, explanation text of 1..512 characters (JavaScript length: UTF-16 code
  units), ``density`` in 0..1, ``index`` <= 10,000,000, and (a yup rule easy to miss)
  ``string().required()`` refuses the *empty* string, for tokens as for logit tokens. Whatever
  breaks a limit is clipped here and counted in :class:`UploadReport` (and in a progress message):
  a long activation keeps the 1,024-token window around its max, logit lists keep their 20
  extreme values, long texts are cut with an ellipsis, an empty token becomes a zero-width space
  (it renders the same), ``\\u0000`` becomes U+FFFD (PostgreSQL text refuses NUL), NaN/inf
  become 0 (JSON has no NaN; Python would write invalid JSON). A feature with no activation
  record cannot be uploaded (the route needs >= 1) and is skipped and counted.
- **Answers.** A key it does not know is a 401 (``withAuthedUser``); a schema violation is a 400
  ``{error, path}``. Everything else the route refuses it ``throw``s as a plain ``Error``, which
  ``api-error.ts`` turns into an opaque 500 "Something went wrong on our end": a source set that
  does not exist *or does not belong to the key's user*, a source missing from it, tokens and
  values of different lengths, duplicate indexes, an explanation method/model name missing from
  its config tables. So a 500 is retried like any server fault, and when it persists the message
  names those causes; a deployment that answers 403 instead gets the ownership message at once.
- **Body size.** neuronpedia.org runs on Vercel, whose functions refuse request bodies over
  4.5 MB (413); 128 features of 20 examples of 128 tokens are about 5.5 MB of JSON. A call is
  therefore also kept under :data:`MAX_BODY_BYTES`: a batch whose JSON is larger is sent in as
  few parts as fit (each feature is encoded once, parts are joined bytes), and a part the
  instance still refuses with 413 is halved until it fits; nothing changes on the server.
- **Resume.** The state file records which *feature indexes* (and batches) were accepted, with a
  fingerprint of the folder's bytes, the ids and the instance URL; a second call skips what was
  accepted and sends the rest, and a different export or instance starts afresh. Feature-level
  state makes a resume exact even when a batch was sent in parts or ``batch_features`` changed.
  This matters because Neuronpedia creates activations and explanations with fresh ids: sending
  a feature twice duplicates its examples (only the feature row itself is ``skipDuplicates``).
  The one duplicate this cannot rule out is a request that timed out *after* the server
  committed it; the route offers no idempotency key.
- **Reading.** The folder is read one ``batch-N.jsonl.gz`` triple at a time (features,
  activations, explanations with the same N hold the same features, as Neuronpedia's own
  converters write them); activation lines are kept as raw bytes until their feature's call is
  built, so memory is bounded by one bulk batch file, not by the export.
- **HTTP** follows the labelling clients (:mod:`mistudio.core.labeling.http_backends`): one
  ``httpx.Client``, no redirects followed (the key must not travel elsewhere), the URL checked by
  :func:`~mistudio.core.outbound.check_outbound_url` before every attempt, back-off with jitter
  honouring ``Retry-After`` (:func:`~mistudio.core.labeling.clients.backoff_delay`) on connection
  errors, timeouts, 429 and 5xx, and messages passed through
  :func:`~mistudio.core.labeling.errors.redact` so the key never appears in one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from mistudio.core.labeling.clients import backoff_delay
from mistudio.core.labeling.errors import redact
from mistudio.core.outbound import check_outbound_url, normalise_url
from mistudio.core.progress import Progress, report
from mistudio.errors import InvalidInputError, MiStudioError

log = logging.getLogger(__name__)

UPLOAD_PATH = "/api/feature/upload-batch"
API_KEY_HEADER = "x-api-key"
MAX_FEATURES_PER_CALL = 128
"""``features: array().min(1).max(128)`` in the route's schema."""
MAX_ACTIVATION_TOKENS = 1024
MAX_LOGITS = 20
MAX_EXPLANATION_CHARS = 512
"""Counted as JavaScript counts a string's length (UTF-16 code units)."""
MAX_INDEX = 10_000_000
MAX_QUANTILE = 99_999_999
MAX_BODY_BYTES = 4_000_000
"""Below Vercel's 4.5 MB request-body limit for functions (neuronpedia.org is deployed there)."""
EMPTY_TOKEN = "\u200b"
"""Stands in for an empty token: yup's ``string().required()`` refuses ``""``."""
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
STATE_VERSION = 1
EMPTY_BATCH = "had no feature with activations"
SERVER_FAULT_CAUSES = (
    "on this route that is also the answer when the source set does not exist or does not "
    "belong to the key's user, when the source is not in it, or when an explanation method or "
    "model name is unknown to the instance"
)

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


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call is tried (module default :data:`RETRY`)."""

    attempts: int = 5
    """Tries per call, the first included."""
    backoff_s: float = 1.0
    """Delay before the first retry; doubled each retry, +-25 % jitter."""
    max_delay_s: float = 30.0
    """Cap on one delay (also on a server's ``Retry-After``)."""
    timeout_s: float = 120.0
    """Read timeout of one call: the route embeds every explanation text (an OpenAI call) and
    writes the batch in one transaction before it answers."""
    connect_timeout_s: float = 10.0


RETRY = RetryPolicy()


class NeuronpediaUploadError(MiStudioError):
    """An upload stopped (a server fault or rate limit that outlasted the retries)."""


class NeuronpediaUnreachableError(NeuronpediaUploadError):
    """Nothing answered at the instance's address."""


class NeuronpediaAuthError(NeuronpediaUploadError, InvalidInputError):
    """The instance refused the API key (401) or the source set is not the key user's (403)."""


class BatchRejectedError(NeuronpediaUploadError, InvalidInputError):
    """The instance rejected one batch with a 4xx; the batches before it stay accepted."""


@dataclass
class UploadReport:
    """What one :func:`upload_bulk` call did."""

    base_url: str
    """The instance uploaded to."""
    model_id: str
    source: str
    """Neuronpedia's source id, ``{layer}-{sourceSetName}``."""
    batches_total: int = 0
    """Calls the whole folder makes with this ``batch_features``."""
    batches_sent: int = 0
    """Batches accepted by this call."""
    batches_resumed: int = 0
    """Batches skipped because an earlier call had them accepted."""
    batches_empty: int = 0
    """Batches with nothing to send (every feature skipped)."""
    features_sent: int = 0
    """Features accepted by this call."""
    features_skipped: int = 0
    """Features left out because they have no activation record."""
    requests: int = 0
    """HTTP calls made, retries and parts included."""
    retries: int = 0
    splits: int = 0
    """Batches sent in parts to keep each body under the size limit."""
    clipped: dict[str, int] = field(default_factory=dict)
    """Counts by kind (keys of :data:`CLIP_KINDS`)."""
    seconds: float = 0.0
    seconds_waiting: float = 0.0
    """Of ``seconds``, the time spent waiting for the instance's answers."""

    def lines(self) -> list[str]:
        """A short human summary."""
        out = [
            f"Neuronpedia {self.base_url}: {self.model_id}/{self.source}: "
            f"{self.batches_sent} of {self.batches_total} batches sent now "
            f"({self.features_sent} features), {self.batches_resumed} accepted earlier"
            + (f", {self.batches_empty} with nothing to send" if self.batches_empty else "")
            + f"; {self.seconds:.1f} s ({self.seconds_waiting:.1f} s waiting for the instance)"
        ]
        if self.features_skipped:
            out.append(f"skipped {self.features_skipped} features with no activation record")
        for kind, count in sorted(self.clipped.items()):
            if count:
                out.append(f"clipped: {count} {CLIP_KINDS.get(kind, kind)}")
        if self.retries or self.splits:
            out.append(f"{self.retries} retries, {self.splits} batches sent in parts")
        return out


# ------------------------------------------------------------------------------------------
# Reading the bulk folder


_BATCH_FILE = re.compile(r"^batch-(\d+)\.jsonl\.gz$")


def _batch_files(folder: Path) -> dict[int, Path]:
    if not folder.is_dir():
        return {}
    out: dict[int, Path] = {}
    for path in folder.iterdir():
        if m := _BATCH_FILE.match(path.name):
            out[int(m[1])] = path
    return dict(sorted(out.items()))


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of a gzip JSONL file, blank lines left out."""
    try:
        with gzip.open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                if line.strip():
                    yield number, line
    except (OSError, EOFError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from None


def _parse(path: Path, number: int, line: bytes) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise InvalidInputError(f"{path} line {number} is not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise InvalidInputError(f"{path} line {number} is not a JSON object")
    return record


def _index(path: Path, number: int, record: dict[str, Any]) -> int:
    raw = record.get("index")
    try:
        index = int(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else -1
    except ValueError:
        index = -1
    if not 0 <= index <= MAX_INDEX:
        raise InvalidInputError(
            f"{path} line {number}: index {raw!r} is not an integer in 0..{MAX_INDEX:,} "
            "(Neuronpedia's limit)"
        )
    return index


_INDEX_KEY = re.compile(rb'"index"\s*:\s*"?(\d{1,8})"?\s*[,}]')


def _quick_index(line: bytes) -> int | None:
    """The ``index`` of a JSON line without parsing it (activation lines are parsed once, when
    their call is built), or None to parse. Sound because an unescaped ``"index":`` can only
    be a key (a quote inside a JSON string is escaped) and the records have no nested objects;
    anything but exactly one match falls back to the parser."""
    matches = _INDEX_KEY.findall(line)
    if len(matches) != 1:
        return None
    index = int(matches[0])
    return index if index <= MAX_INDEX else None


def _identity(source_dir: Path) -> tuple[str, str]:
    """(modelId, sourceId) from ``source.jsonl``, else from the folder names."""
    path = source_dir / "source.jsonl"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise InvalidInputError(f"{path} is not JSON lines ({exc})") from None
            if isinstance(record, dict) and record.get("id") and record.get("modelId"):
                return str(record["modelId"]), str(record["id"])
            raise InvalidInputError(f"{path}: the first record has no id and modelId")
    return source_dir.parent.name, source_dir.name


def _fingerprint(source_dir: Path, skip: set[Path], *parts: str) -> str:
    """sha256 of every file's relative path and bytes (and ``parts``): the same export, wherever
    it was copied, and nothing else."""
    digest = hashlib.sha256("\0".join(parts).encode())
    for path in sorted(p for p in source_dir.rglob("*") if p.is_file()):
        if path.resolve() in skip:
            continue
        digest.update(path.relative_to(source_dir).as_posix().encode() + b"\0")
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------
# Building one feature of a call (clipping to the route's limits)


class _Clip:
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


def _text(value: Any, clip: _Clip) -> str:
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        clip.add("nul_characters")
        text = text.replace("\x00", "\ufffd")
    return text


def _token(value: Any, clip: _Clip) -> str:
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


def _logits(record: dict[str, Any], prefix: str, top: bool, clip: _Clip) -> list[dict[str, Any]]:
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


def _activation(record: dict[str, Any], clip: _Clip) -> dict[str, Any] | None:
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


def _explanation(record: dict[str, Any], clip: _Clip) -> dict[str, Any] | None:
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


@dataclass
class _FeatureRow:
    """What the upload needs of one ``features/`` record (the vector etc. are dropped)."""

    index: int
    record: dict[str, Any]
    """``frac_nonzero`` and the ``pos_*``/``neg_*`` logit lists, unclipped."""


_FEATURE_KEYS = ("frac_nonzero", "pos_str", "pos_values", "neg_str", "neg_values")


def _density(record: dict[str, Any], clip: _Clip) -> float | None:
    density = _number(record.get("frac_nonzero"))
    if density is not None and not 0 <= density <= 1:
        if density != -1:  # Neuronpedia's own "unknown"
            clip.add("density")
        density = None
    return density


def _feature_body(
    row: _FeatureRow,
    activation_lines: list[tuple[int, bytes]],
    explanations: list[dict[str, Any]],
    clip: _Clip,
    where: Path,
) -> dict[str, Any] | None:
    activations = []
    for number, line in activation_lines:
        activation = _activation(_parse(where, number, line), clip)
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


# ------------------------------------------------------------------------------------------
# Resume state


def _ranges(indices: set[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in sorted(indices):
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


@dataclass
class _State:
    path: Path
    fingerprint: str
    identity: dict[str, str]
    batches: set[int] = field(default_factory=set)
    features: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path, fingerprint: str, identity: dict[str, str]) -> tuple[_State, str]:
        """The state for this export (empty when there is none or it is another's) and a note."""
        fresh = cls(path, fingerprint, identity)
        if not path.exists():
            return fresh, ""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                raise ValueError("not a version-1 upload state")
            same = data.get("fingerprint") == fingerprint
            batches = {int(b) for b in data.get("accepted_batches", [])}
            if data.get("batch_features") != identity["batch_features"]:
                batches = set()  # numbered for another batch size; the features still count
            features = {
                i for lo, hi in data.get("accepted_features", []) for i in range(lo, hi + 1)
            }
        except (OSError, ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"upload state file {path} cannot be read ({exc}); delete it to upload from "
                "the first batch (features already on Neuronpedia would get their examples twice)"
            ) from None
        if not same:
            return fresh, (
                f"state file {path.name} is from another export or instance; starting afresh"
            )
        fresh.batches, fresh.features = batches, features
        return fresh, ""

    def save(self) -> None:
        data = {
            "version": STATE_VERSION,
            **self.identity,
            "fingerprint": self.fingerprint,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "accepted_batches": sorted(self.batches),
            "accepted_features": _ranges(self.features),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.path)


# ------------------------------------------------------------------------------------------
# HTTP


class _Sender:
    """One instance, one key: posts batch bodies with retries and one-line errors."""

    def __init__(self, base_url: str, api_key: str, report: UploadReport) -> None:
        self.base_url = base_url
        self.url = base_url + UPLOAD_PATH
        self._key = api_key
        self.report = report
        self.policy = RETRY
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.policy.timeout_s, connect=self.policy.connect_timeout_s),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def _safe(self, text: str) -> str:
        return redact(text, [self._key])

    def _server_message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return self._safe(" ".join(response.text.split())[:200]) or "(no body)"
        if isinstance(body, dict):
            message = body.get("error") or body.get("message") or body
            if body.get("path") and isinstance(message, str) and body["path"] not in message:
                message = f"{message} (at {body['path']})"
        else:
            message = body
        return self._safe(" ".join(str(message).split())[:300])

    def post(self, body: bytes, batch: int, total: int, accepted: str) -> bool:
        """Send one body; True when accepted, False on 413 (too large: the caller splits)."""
        what = f"batch {batch} of {total}"
        last, unreachable = "", False
        retry_after: str | None = None
        for attempt in range(self.policy.attempts):
            if attempt:
                self.report.retries += 1
                time.sleep(
                    backoff_delay(
                        attempt - 1,
                        self.policy.backoff_s,
                        cap=self.policy.max_delay_s,
                        retry_after=retry_after,
                    )
                )
            retry_after = None
            check_outbound_url(self.url)
            self.report.requests += 1
            asked = time.monotonic()
            try:
                response = self._http.post(
                    self.url,
                    content=body,
                    headers={"content-type": "application/json", API_KEY_HEADER: self._key},
                )
            except httpx.TimeoutException:
                self.report.seconds_waiting += time.monotonic() - asked
                last, unreachable = f"no answer within {self.policy.timeout_s:g} s", False
                log.info("neuronpedia %s: %s (attempt %d)", self.url, last, attempt + 1)
                continue
            except httpx.TransportError as exc:
                self.report.seconds_waiting += time.monotonic() - asked
                last = self._safe(f"{type(exc).__name__}: {exc}".rstrip(": "))
                unreachable = isinstance(exc, httpx.ConnectError)
                log.info("neuronpedia %s: %s (attempt %d)", self.url, last, attempt + 1)
                continue
            self.report.seconds_waiting += time.monotonic() - asked
            status = response.status_code
            if status < 300:
                return True
            message = self._server_message(response)
            if status == 413:
                return False
            if status == 401:
                raise NeuronpediaAuthError(
                    f"Neuronpedia at {self.base_url} refused the API key (HTTP 401): {message}"
                )
            if status == 403:
                raise NeuronpediaAuthError(
                    f"Neuronpedia at {self.base_url} refused {what} (HTTP 403): this source set "
                    f"does not belong to the key's user ({message}); {accepted}"
                )
            if 300 <= status < 400:
                where = response.headers.get("location", "?")
                raise BatchRejectedError(
                    f"Neuronpedia at {self.base_url} redirects (HTTP {status}) to {where}; use "
                    f"that address as the instance URL; {accepted}"
                )
            if status not in RETRY_STATUS and status < 500:
                raise BatchRejectedError(
                    f"Neuronpedia at {self.base_url} rejected {what} (HTTP {status}): "
                    f"{message}; {accepted}"
                )
            last, unreachable = f"HTTP {status}: {message}", False
            retry_after = response.headers.get("retry-after")
            log.info("neuronpedia %s: %s (attempt %d)", self.url, last, attempt + 1)
        tries = f"{self.policy.attempts} attempts"
        if unreachable:
            raise NeuronpediaUnreachableError(
                f"cannot reach Neuronpedia at {self.base_url} ({last}) after {tries}; is the URL "
                f"right and the instance up? {accepted}"
            )
        hint = f"; {SERVER_FAULT_CAUSES}" if last.startswith("HTTP 5") else ""
        raise NeuronpediaUploadError(
            f"Neuronpedia at {self.base_url} failed {what} after {tries} ({last}){hint}; {accepted}"
        )


def _encode_feature(feature: dict[str, Any]) -> bytes:
    return json.dumps(feature, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _encode(model_id: str, source: str, features: list[tuple[int, bytes]]) -> bytes:
    """The call's body from features encoded once each (a split re-joins, never re-encodes)."""
    head = json.dumps({"modelId": model_id, "source": source}, ensure_ascii=False)[:-1]
    return head.encode() + b',"features":[' + b",".join(f for _, f in features) + b"]}"


def _pack(features: list[tuple[int, bytes]], limit: int) -> list[list[tuple[int, bytes]]]:
    """``features`` in order, in as few parts as keep each body under ``limit`` bytes (a
    feature larger than that alone goes in a part of its own)."""
    parts: list[list[tuple[int, bytes]]] = [[]]
    size = 0
    for feature in features:
        if parts[-1] and size + len(feature[1]) + 1 > limit:
            parts.append([])
            size = 0
        parts[-1].append(feature)
        size += len(feature[1]) + 1
    return parts


# ------------------------------------------------------------------------------------------
# The upload


def _count_lines(path: Path) -> int:
    return sum(1 for _ in _lines(path))


def upload_bulk(
    source_dir: Path,
    base_url: str,
    api_key: str,
    *,
    state_file: Path,
    progress: Progress | None = None,
    batch_features: int = 128,
) -> UploadReport:
    """Upload the bulk-import folder ``source_dir`` (``<modelId>/<sourceId>/``, FORMATS §3) to
    the Neuronpedia instance at ``base_url`` with ``api_key``, ``batch_features`` features a
    call, resuming from ``state_file``. ``progress(batches_done, batches_total, features=,
    eta_s=, stage=)`` after each batch; raises one-line :class:`NeuronpediaUploadError`
    subclasses (see the module docstring)."""
    started = time.monotonic()
    if not 1 <= batch_features <= MAX_FEATURES_PER_CALL:
        raise InvalidInputError(
            f"batch_features must be 1..{MAX_FEATURES_PER_CALL} (Neuronpedia accepts at most "
            f"{MAX_FEATURES_PER_CALL} features a call), not {batch_features}"
        )
    if not api_key or not api_key.strip():
        raise InvalidInputError(
            "no Neuronpedia API key: set it in the settings or the dialog (it is under Settings "
            "on the Neuronpedia instance)"
        )
    api_key = api_key.strip()
    base = check_outbound_url(base_url, resolve=False).rstrip("/")
    source_dir = Path(source_dir)
    feature_files = _batch_files(source_dir / "features")
    if not feature_files:
        raise InvalidInputError(
            f"{source_dir} is not a Neuronpedia bulk-import folder: no "
            "features/batch-N.jsonl.gz in it"
        )
    activation_files = _batch_files(source_dir / "activations")
    explanation_files = _batch_files(source_dir / "explanations")
    model_id, source = _identity(source_dir)
    result = UploadReport(base_url=base, model_id=model_id, source=source)

    report(progress, 0, None, stage=f"reading {source_dir.name}")
    counts = {n: _count_lines(path) for n, path in feature_files.items()}
    first_batch: dict[int, int] = {}
    for n, count in counts.items():
        first_batch[n] = result.batches_total + 1
        result.batches_total += math.ceil(count / batch_features)
    total = result.batches_total
    identity = {
        "batch_features": str(batch_features),
        "source_dir": str(source_dir.resolve()),
        "base_url": normalise_url(base),
        "model_id": model_id,
        "source": source,
    }
    skip = {Path(state_file).resolve(), Path(str(state_file) + ".tmp").resolve()}
    # The folder's bytes, not its path: a copied export resumes, a re-written one does not.
    fingerprint = _fingerprint(source_dir, skip, identity["base_url"], model_id, source)
    state, note = _State.load(Path(state_file), fingerprint, identity)
    if note:
        report(progress, 0, total, stage=note)
    if state.batches:
        report(
            progress,
            0,
            total,
            stage=f"resuming: {len(state.batches)} of {total} batches already accepted",
        )

    clip = _Clip()
    sender = _Sender(base, api_key, result)
    done = 0
    sent_started = time.monotonic()

    def accepted_note(batch: int) -> str:
        earlier = len(state.batches)
        return (
            f"{earlier} of {total} batches are accepted and stay; run the upload again to "
            f"continue from batch {batch}"
        )

    def send(batch: int, features: list[tuple[int, bytes]]) -> None:
        parts = _pack(features, MAX_BODY_BYTES - 1024)  # 1 KiB for the ids around them
        if len(parts) > 1:
            result.splits += 1
            for part in parts:
                send_part(batch, part)
        else:
            send_part(batch, features)

    def send_part(batch: int, features: list[tuple[int, bytes]]) -> None:
        body = _encode(model_id, source, features)
        if sender.post(body, batch, total, accepted_note(batch)):
            state.features.update(index for index, _ in features)
            state.save()
            result.features_sent += len(features)
            return
        if len(features) == 1:
            raise BatchRejectedError(
                f"Neuronpedia at {base} refused batch {batch} of {total} as too large (HTTP "
                f"413) even for feature {features[0][0]} alone ({len(body):,} bytes); "
                f"{accepted_note(batch)}"
            )
        result.splits += 1  # the instance's limit is below ours: halve until it fits
        half = len(features) // 2
        send_part(batch, features[:half])
        send_part(batch, features[half:])

    def finish_batch(batch: int, kind: str) -> None:
        nonlocal done
        done += 1
        if kind != EMPTY_BATCH:  # re-checked next time, so "nothing to upload" stays an error
            state.batches.add(batch)
            state.save()
        sent = result.batches_sent
        rate = sent / max(time.monotonic() - sent_started, 1e-6) if sent else 0.0
        left = total - done
        stage = f"batch {batch}/{total} {kind}"
        clipped = clip.take()
        if clipped:
            stage += (
                " (clipped: "
                + ", ".join(f"{n} {CLIP_KINDS.get(k, k)}" for k, n in sorted(clipped.items()))
                + ")"
            )
        report(
            progress,
            done,
            total,
            features=result.features_sent,
            eta_s=round(left / rate, 1) if rate > 0 else None,
            stage=stage,
        )

    try:
        for n, path in feature_files.items():
            batches = range(first_batch[n], first_batch[n] + math.ceil(counts[n] / batch_features))
            if all(b in state.batches for b in batches):
                result.batches_resumed += len(batches)
                done += len(batches)
                report(progress, done, total, features=result.features_sent, eta_s=None)
                continue
            rows: list[_FeatureRow] = []
            for number, line in _lines(path):
                record = _parse(path, number, line)
                index = _index(path, number, record)
                rows.append(_FeatureRow(index, {k: record.get(k) for k in _FEATURE_KEYS}))
            wanted = {r.index for r in rows}
            # Activation lines stay raw bytes until their call is built (see module docstring).
            activations: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
            explanations: dict[int, list[dict[str, Any]]] = defaultdict(list)
            if n in activation_files:
                apath = activation_files[n]
                for number, line in _lines(apath):
                    quick = _quick_index(line)
                    if quick is None:
                        quick = _index(apath, number, _parse(apath, number, line))
                    _check_same_batch(quick, wanted, apath, "activations", path)
                    activations[quick].append((number, line))
            if n in explanation_files:
                epath = explanation_files[n]
                for number, line in _lines(epath):
                    record = _parse(epath, number, line)
                    index = _index(epath, number, record)
                    _check_same_batch(index, wanted, epath, "explanations", path)
                    explanations[index].append(record)
            where = activation_files.get(n, path)
            for offset, batch in enumerate(batches):
                chunk = rows[offset * batch_features : (offset + 1) * batch_features]
                if batch in state.batches:
                    result.batches_resumed += 1
                    done += 1
                    continue
                bodies: list[tuple[int, bytes]] = []
                for row in chunk:
                    if row.index in state.features:
                        continue
                    body = _feature_body(
                        row,
                        activations.pop(row.index, []),
                        explanations.pop(row.index, []),
                        clip,
                        where,
                    )
                    if body is None:
                        result.features_skipped += 1
                    else:
                        bodies.append((row.index, _encode_feature(body)))
                if bodies:
                    send(batch, bodies)
                    result.batches_sent += 1
                    finish_batch(batch, "accepted")
                elif all(r.index in state.features for r in chunk):
                    result.batches_resumed += 1
                    finish_batch(batch, "accepted earlier")
                else:
                    result.batches_empty += 1
                    finish_batch(batch, EMPTY_BATCH)
    finally:
        sender.close()
        for kind, count in clip.total.items():
            result.clipped[kind] = count
        result.seconds = time.monotonic() - started
    if result.features_skipped and not result.features_sent and not state.features:
        raise InvalidInputError(
            f"nothing to upload from {source_dir}: none of its {result.features_skipped} "
            "features has an activation record (Neuronpedia needs at least one per feature)"
        )
    return result


def _check_same_batch(
    index: int, wanted: set[int], path: Path, folder: str, features: Path
) -> None:
    if index not in wanted:
        raise InvalidInputError(
            f"{folder}/{path.name} has a record for feature {index}, which is not in "
            f"features/{features.name}; the upload reads the folders batch by batch, so "
            f"batch-N of features/, activations/ and explanations/ must hold the same features"
        )
