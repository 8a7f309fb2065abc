"""A local HTTP server that speaks Neuronpedia's per-user upload API, for offline tests.

``POST /api/feature/upload-batch`` behaves as Neuronpedia's
``apps/webapp/app/api/feature/upload-batch/route.tsx`` does, inside the wrappers it runs in
(``lib/with-user.ts``, ``lib/api-error.ts``), read at the mirror's HEAD:

* header ``x-api-key``: a key no user has -> 401 ``{error: "This endpoint requires
  authorization. ..."}`` (``withAuthedUser``; ``getAuthenticatedUserFromApiKey`` returns null);
* the yup schema, first failure only (``abortEarly``), with yup's default messages -> 400
  ``{error, path}``: ``features`` 1..128; ``index`` an integer 0..10,000,000; ``density`` 0..1;
  ``topLogits``/``bottomLogits`` <= 20 of ``{token (non-empty), value}``; explanations' ``text``
  1..512 characters (UTF-16 units); ``activations`` >= 1, each ``tokens`` 1..1,024 non-empty
  strings and ``values`` 1..1,024 numbers; ``quantileFraction`` 0..1; ``modelId``, ``source``
  and explanation method/model names lower-cased (yup's ``lowercase()`` transform);
* what the handler ``throw``s as a plain ``Error`` -> **500** ``{error, message}`` with the
  fixed "Something went wrong on our end" text (``api-error.ts`` hides unclassified errors): a
  source set that does not exist, one whose creator is not the key's user, a source not in it,
  tokens and values of different lengths, duplicate indexes, an explanation method or model
  name missing from the configured sets. ``ownership_status = 403`` makes the ownership failure
  a 403 instead, for a deployment that classifies it;
* a body that is not JSON -> 500 as well (``request.json()`` throws);
* success -> 200 ``{message: "N features created."}``; feature rows are
  ``createMany(skipDuplicates)`` on (modelId, layer, index), while activations and explanations
  get fresh ids, so sending a feature twice duplicates its examples, as on the real instance.

Faults a test can plan: :meth:`FakeNeuronpedia.reject_request` (the n-th upload request gets a
4xx once), :meth:`fail_next` (the next n requests answer 500/429/503, optionally with
``Retry-After``), :meth:`close_next` (the next n requests are read and the connection closed
without an answer, nothing stored), and :attr:`max_body_bytes` (413 above it, as Vercel does).

Usage::

    pytest_plugins = ["tests.fake_neuronpedia"]

    def test_x(fake_neuronpedia):
        fake_neuronpedia.add_source("smollm2-135m", "6-mistudio-res-4k")
        upload_bulk(folder, fake_neuronpedia.endpoint, fake_neuronpedia.api_key, ...)
        fake_neuronpedia.features("smollm2-135m", "6-mistudio-res-4k")
"""

from __future__ import annotations

import itertools
import json
import math
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

UPLOAD_PATH = "/api/feature/upload-batch"
AUTH_REQUIRED = (
    "This endpoint requires authorization. Specify your API key in the header x-api-key. "
    "Your API key is under Settings on neuronpedia.org."
)
SERVER_FAULT = "Something went wrong on our end. The error has been reported."
TOO_LARGE = "Request Entity Too Large"


@dataclass
class UploadRequest:
    """One request to the upload route, as logged."""

    number: int
    """1-based count of upload requests since the server started."""
    status: int
    features: list[int]
    """The feature indexes in the body (empty when it was not readable)."""
    body_bytes: int
    api_key: str | None


@dataclass
class _Fault:
    status: int = 0
    message: str = ""
    close: bool = False
    retry_after: str | None = None


class _Reply(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def _fault() -> _Reply:
    return _Reply(500, {"error": SERVER_FAULT, "message": SERVER_FAULT})


@dataclass
class FakeNeuronpedia:
    """The server, its users, source sets and what was uploaded. A context manager."""

    api_key: str = "np-fake-owner-key-0123456789abcdef"
    """Key of ``owner``, the creator of every source set added without ``owner=``."""
    other_key: str = "np-fake-other-key-0123456789abcdef"
    """Key of ``other``, a real user who owns nothing."""
    users: dict[str, str] = field(default_factory=dict)
    """API key -> user id."""
    source_sets: dict[tuple[str, str], str] = field(default_factory=dict)
    """(modelId, source set name) -> creator's user id."""
    sources: set[tuple[str, str]] = field(default_factory=set)
    """(modelId, source id) of every source."""
    explanation_types: set[str] | None = None
    """Known explanation method names (None: any)."""
    explanation_models: set[str] | None = None
    """Known explanation model names (None: any)."""
    ownership_status: int = 500
    """Status when the source set is not the key user's (500 at Neuronpedia's HEAD)."""
    max_body_bytes: int | None = None
    """Bodies above this get 413 (None: no limit)."""
    neurons: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    activations: list[dict[str, Any]] = field(default_factory=list)
    explanations: list[dict[str, Any]] = field(default_factory=list)
    requests: list[UploadRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.users = {self.api_key: "owner", self.other_key: "other", **self.users}
        self._faults: dict[int, _Fault] = {}
        self._count = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> FakeNeuronpedia:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="fake-np"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeNeuronpedia:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # set-up

    def add_source(self, model_id: str, source_id: str, owner: str = "owner") -> None:
        """A source set ``{source_id after the first '-'}`` of ``model_id`` created by
        ``owner`` (a user id), holding ``source_id``."""
        with self._lock:
            self.source_sets[(model_id, source_id.split("-", 1)[1])] = owner
            self.sources.add((model_id, source_id))

    def reject_request(self, number: int, status: int = 400, message: str = "rejected") -> None:
        """The ``number``-th upload request (1-based, counting all so far) gets ``status``
        ``{error: message}`` once; nothing of it is stored."""
        self._faults[number] = _Fault(status, message)

    def fail_next(self, times: int, status: int = 500, retry_after: str | None = None) -> None:
        """The next ``times`` upload requests answer ``status`` (nothing stored)."""
        message = "Too many requests" if status == 429 else SERVER_FAULT
        for number in range(self._count + 1, self._count + times + 1):
            self._faults[number] = _Fault(status, message, retry_after=retry_after)

    def close_next(self, times: int = 1) -> None:
        """The next ``times`` upload requests are read and the connection closed unanswered."""
        for number in range(self._count + 1, self._count + times + 1):
            self._faults[number] = _Fault(close=True)

    # reading back

    def features(self, model_id: str, source: str) -> dict[int, dict[str, Any]]:
        """index -> ``{neuron, activations, explanations}`` of one source, as stored."""
        with self._lock:
            out: dict[int, dict[str, Any]] = {
                int(key[2]): {"neuron": n, "activations": [], "explanations": []}
                for key, n in self.neurons.items()
                if key[:2] == (model_id, source)
            }
            for kind in ("activations", "explanations"):
                for row in getattr(self, kind):
                    if (row["modelId"], row["layer"]) == (model_id, source):
                        out[int(row["index"])][kind].append(row)
        return out

    def upload_requests(self) -> list[UploadRequest]:
        with self._lock:
            return list(self.requests)

    # the route

    def _next_number(self) -> tuple[int, _Fault | None]:
        with self._lock:
            self._count += 1
            return self._count, self._faults.pop(self._count, None)

    def handle(self, number: int, fault: _Fault | None, key: str | None, raw: bytes) -> None:
        """Answer one upload request (raises :class:`_Reply`); stores accepted features."""
        if fault is not None and (fault.status >= 500 or fault.status == 429):
            # infrastructure faults (a rate limiter, a crashed function) come before the route
            extra = {"retry-after": fault.retry_after} if fault.retry_after else {}
            raise _Reply(fault.status, {"error": fault.message, "message": fault.message, **extra})
        user = self.users.get(key or "")
        if user is None:
            raise _Reply(401, {"error": AUTH_REQUIRED})
        if self.max_body_bytes is not None and len(raw) > self.max_body_bytes:
            raise _Reply(413, {"error": TOO_LARGE})
        try:
            body = json.loads(raw)
        except ValueError:
            raise _fault() from None
        error = validate(body)
        if error is not None:
            raise _Reply(400, {"error": error[0], "path": error[1]})
        if fault is not None:
            raise _Reply(fault.status, {"error": fault.message, "message": fault.message})
        model_id, source = body["modelId"].lower(), body["source"].lower()
        set_name = source.split("-", 1)[1] if "-" in source else source
        with self._lock:
            creator = self.source_sets.get((model_id, set_name))
            if creator is None:
                raise _fault()  # 'Source set not found.'
            if creator != user:
                if self.ownership_status == 500:
                    raise _fault()  # 'User is not the creator of this source set.'
                raise _Reply(self.ownership_status, {"error": "not the creator"})
            if (model_id, source) not in self.sources:
                raise _fault()  # 'Source not found.'
        features = body["features"]
        for feature in features:
            for act in feature["activations"]:
                if len(act["tokens"]) != len(act["values"]):
                    raise _fault()
        if len({f["index"] for f in features}) != len(features):
            raise _fault()  # 'All indexes must be unique.'
        for names, attr in (
            (self.explanation_types, "methodName"),
            (self.explanation_models, "modelName"),
        ):
            if names is None:
                continue
            for feature in features:
                for e in feature.get("explanations") or []:
                    if e.get(attr) is not None and e[attr].lower() not in names:
                        raise _fault()  # 'Invalid Explanation ... Names'
        with self._lock:
            for feature in features:
                index = str(int(feature["index"]))
                key3 = (model_id, source, index)
                top, bottom = feature.get("topLogits") or [], feature.get("bottomLogits") or []
                maxima = [max(a["values"]) for a in feature["activations"]]
                self.neurons.setdefault(  # createMany(skipDuplicates)
                    key3,
                    {
                        "modelId": model_id,
                        "layer": source,
                        "index": index,
                        "creatorId": user,
                        "sourceSetName": set_name,
                        "frac_nonzero": feature.get("density", -1),
                        "maxActApprox": max(0.0, *maxima),
                        "pos_str": [t["token"] for t in top],
                        "pos_values": [t["value"] for t in top],
                        "neg_str": [t["token"] for t in bottom],
                        "neg_values": [t["value"] for t in bottom],
                    },
                )
                for e in feature.get("explanations") or []:
                    self.explanations.append(
                        {
                            "id": f"e{next(self._ids)}",
                            "modelId": model_id,
                            "layer": source,
                            "index": index,
                            "authorId": user,
                            "description": e["text"],
                            "typeName": (e.get("methodName") or "").lower() or None,
                            "modelName": (e.get("modelName") or "").lower() or None,
                        }
                    )
                for a in feature["activations"]:
                    self.activations.append(
                        {
                            "id": f"a{next(self._ids)}",
                            "modelId": model_id,
                            "layer": source,
                            "index": index,
                            "tokens": a["tokens"],
                            "values": a["values"],
                            "maxValue": max(a["values"]),
                            "binMin": a.get("quantileMin"),
                            "binMax": a.get("quantileMax"),
                            "binContains": a.get("quantileFraction"),
                        }
                    )
        raise _Reply(200, {"message": f"{len(features)} features created."})


# ------------------------------------------------------------------------------------------
# The route's yup schema, with yup's default messages (first failure wins)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _string(value: Any, path: str, *, required: bool, max_len: int | None = None) -> str | None:
    if value is None:
        return f"{path} is a required field" if required else None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return f"{path} must be a `string` type, but the final value was: `{value!r}`."
    text = str(value)
    if required and text == "":
        return f"{path} is a required field"
    if max_len is not None and _utf16_len(text) > max_len:
        return f"{path} must be at most {max_len} characters"
    return None


def _num(
    value: Any, path: str, *, required: bool, lo: float | None, hi: float | None
) -> str | None:
    if value is None:
        return f"{path} is a required field" if required else None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            value = math.nan
    if not _is_number(value):
        return f"{path} must be a `number` type, but the final value was: `NaN`."
    if lo is not None and value < lo:
        return f"{path} must be greater than or equal to {lo:g}"
    if hi is not None and value > hi:
        return f"{path} must be less than or equal to {hi:g}"
    return None


def _array(
    value: Any, path: str, *, required: bool, lo: int = 0, hi: int | None = None
) -> str | None:
    if value is None:
        return f"{path} is a required field" if required else None
    if not isinstance(value, list):
        return f"{path} must be a `array` type, but the final value was: `{value!r}`."
    if len(value) < lo:
        return f"{path} field must have at least {lo} items"
    if hi is not None and len(value) > hi:
        return f"{path} field must have less than or equal to {hi} items"
    return None


def validate(body: Any) -> tuple[str, str] | None:
    """(message, path) of the first schema failure of an upload body, or None."""

    def first(*checks: tuple[str | None, str]) -> tuple[str, str] | None:
        return next(((m, p) for m, p in checks if m is not None), None)

    if not isinstance(body, dict):
        return ("this must be a `object` type", "")
    if e := first(
        (_string(body.get("modelId"), "modelId", required=True), "modelId"),
        (_string(body.get("source"), "source", required=True), "source"),
        (_array(body.get("features"), "features", required=True, lo=1, hi=128), "features"),
    ):
        return e
    for i, feature in enumerate(body["features"]):
        at = f"features[{i}]"
        if not isinstance(feature, dict):
            return (f"{at} must be a `object` type", at)
        index = feature.get("index")
        if e := first(
            (_num(index, f"{at}.index", required=True, lo=0, hi=10_000_000), f"{at}.index"),
            (
                _num(feature.get("density"), f"{at}.density", required=False, lo=0, hi=1),
                f"{at}.density",
            ),
        ):
            return e
        if isinstance(index, float) and not index.is_integer():
            return (f"{at}.index must be an integer", f"{at}.index")
        for kind in ("topLogits", "bottomLogits"):
            logits = feature.get(kind)
            if e := first((_array(logits, f"{at}.{kind}", required=False, hi=20), f"{at}.{kind}")):
                return e
            for j, logit in enumerate(logits or []):
                p = f"{at}.{kind}[{j}]"
                if not isinstance(logit, dict):
                    return (f"{p} must be a `object` type", p)
                if e := first(
                    (_string(logit.get("token"), f"{p}.token", required=True), f"{p}.token"),
                    (
                        _num(logit.get("value"), f"{p}.value", required=True, lo=None, hi=None),
                        f"{p}.value",
                    ),
                ):
                    return e
        explanations = feature.get("explanations")
        if e := first(
            (_array(explanations, f"{at}.explanations", required=False), f"{at}.explanations")
        ):
            return e
        for j, item in enumerate(explanations or []):
            p = f"{at}.explanations[{j}]"
            if not isinstance(item, dict):
                return (f"{p} must be a `object` type", p)
            if e := first(
                (_string(item.get("text"), f"{p}.text", required=True, max_len=512), f"{p}.text"),
                (
                    _string(item.get("methodName"), f"{p}.methodName", required=False),
                    f"{p}.methodName",
                ),
                (
                    _string(item.get("modelName"), f"{p}.modelName", required=False),
                    f"{p}.modelName",
                ),
            ):
                return e
        activations = feature.get("activations")
        if e := first(
            (_array(activations, f"{at}.activations", required=True, lo=1), f"{at}.activations")
        ):
            return e
        for j, act in enumerate(activations or []):
            p = f"{at}.activations[{j}]"
            if not isinstance(act, dict):
                return (f"{p} must be a `object` type", p)
            tokens, values = act.get("tokens"), act.get("values")
            if e := first(
                (_array(tokens, f"{p}.tokens", required=True, lo=1, hi=1024), f"{p}.tokens"),
                (_array(values, f"{p}.values", required=True, lo=1, hi=1024), f"{p}.values"),
            ):
                return e
            for k, token in enumerate(tokens or []):
                if m := _string(token, f"{p}.tokens[{k}]", required=True):
                    return (m, f"{p}.tokens[{k}]")
            for k, value in enumerate(values or []):
                if m := _num(value, f"{p}.values[{k}]", required=True, lo=None, hi=None):
                    return (m, f"{p}.values[{k}]")
            for name, lo, hi in (
                ("quantileMax", None, 99_999_999),
                ("quantileMin", None, 99_999_999),
                ("quantileFraction", 0, 1),
            ):
                if m := _num(act.get(name), f"{p}.{name}", required=False, lo=lo, hi=hi):
                    return (m, f"{p}.{name}")
    return None


# ------------------------------------------------------------------------------------------
# HTTP plumbing


def _handler(server: FakeNeuronpedia) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pass

    Handler.np = server
    return Handler


class _Handler(BaseHTTPRequestHandler):
    np: FakeNeuronpedia
    protocol_version = "HTTP/1.1"
    server_version = "FakeNeuronpedia/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._send(404, {"error": "Not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if urlsplit(self.path).path != UPLOAD_PATH:
            self._send(404, {"error": "Not found"})
            return
        number, fault = self.np._next_number()
        key = self.headers.get("x-api-key")
        try:
            indexes = [int(f["index"]) for f in json.loads(raw)["features"]]
        except (ValueError, KeyError, TypeError):
            indexes = []
        if fault is not None and fault.close:
            self._log(number, 0, indexes, raw, key)
            self.close_connection = True
            self.connection.shutdown(
                socket.SHUT_RDWR
            )  # no status line: the client sees the connection drop
            return
        try:
            self.np.handle(number, fault, key, raw)
        except _Reply as reply:
            self._log(number, reply.status, indexes, raw, key)
            headers = {}
            body = dict(reply.body)
            if "retry-after" in body:
                headers["Retry-After"] = str(body.pop("retry-after"))
            self._send(reply.status, body, headers)
        except Exception as exc:  # a bug in the fake: say so
            self._log(number, 599, indexes, raw, key)
            self._send(500, {"error": f"fake neuronpedia: {exc!r}"})

    def _log(self, number: int, status: int, indexes: list[int], raw: bytes, key: str | None):
        with self.np._lock:
            self.np.requests.append(UploadRequest(number, status, indexes, len(raw), key))

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_neuronpedia() -> Iterator[FakeNeuronpedia]:
    """A running :class:`FakeNeuronpedia` (no source sets yet)."""
    with FakeNeuronpedia() as server:
        yield server
