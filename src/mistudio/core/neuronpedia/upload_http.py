"""Sending upload calls to a Neuronpedia instance: retries, body-size splits, one-line errors.

How the route answers was read from Neuronpedia's ``upload-batch/route.tsx`` and the wrappers
it runs in (``lib/with-user.ts``, ``lib/api-error.ts``), and decided the shape of this client:

- **Answers.** A key it does not know is a 401 (``withAuthedUser``); a schema violation is a 400
  ``{error, path}``. Everything else the route refuses it ``throw``s as a plain ``Error``, which
  ``api-error.ts`` turns into an opaque 500 "Something went wrong on our end": a source set that
  does not exist *or does not belong to the key's user*, a source missing from it, tokens and
  values of different lengths, duplicate indexes, an explanation method/model name missing from
  its config tables. So a 500 is retried like any server fault, and when it persists the message
  names those causes (:data:`SERVER_FAULT_CAUSES`); a deployment that answers 403 instead gets
  the ownership message at once.
- **Body size.** neuronpedia.org runs on Vercel, whose functions refuse request bodies over
  4.5 MB (413); 128 features of 20 examples of 128 tokens are about 5.5 MB of JSON. A call is
  therefore also kept under a byte limit (``MAX_BODY_BYTES`` of the caller): a batch whose JSON
  is larger is sent in as few parts as fit (features are joined as encoded bytes, never encoded
  again), and a part the instance still refuses with 413 is halved until it fits; nothing
  changes on the server.
- **HTTP** follows the labelling clients (:mod:`mistudio.core.labeling.http_backends`): one
  ``httpx.Client``, no redirects followed (the key must not travel elsewhere), the URL checked by
  :func:`~mistudio.core.outbound.check_outbound_url` before every attempt, back-off with jitter
  honouring ``Retry-After`` (:func:`~mistudio.core.http_retry.backoff_delay`) on connection
  errors, timeouts, 429 and 5xx, and messages passed through
  :func:`~mistudio.core.http_retry.redact` so the key never appears in one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from mistudio.core.http_retry import backoff_delay, redact
from mistudio.core.neuronpedia.upload_limits import API_KEY_HEADER, UPLOAD_PATH
from mistudio.core.outbound import check_outbound_url
from mistudio.errors import InvalidInputError, MiStudioError

# The name the upload has always logged under (one logger for the whole client).
log = logging.getLogger("mistudio.core.neuronpedia.upload")

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
SERVER_FAULT_CAUSES = (
    "on this route that is also the answer when the source set does not exist or does not "
    "belong to the key's user, when the source is not in it, or when an explanation method or "
    "model name is unknown to the instance"
)

Encoded = tuple[int, bytes]
"""A feature's index and its JSON bytes (:func:`~.upload_body.encode_feature`)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call is tried (the upload's default is ``upload.RETRY``)."""

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


class NeuronpediaUploadError(MiStudioError):
    """An upload stopped (a server fault or rate limit that outlasted the retries)."""


class NeuronpediaUnreachableError(NeuronpediaUploadError):
    """Nothing answered at the instance's address."""


class NeuronpediaAuthError(NeuronpediaUploadError, InvalidInputError):
    """The instance refused the API key (401) or the source set is not the key user's (403)."""


class BatchRejectedError(NeuronpediaUploadError, InvalidInputError):
    """The instance rejected one batch with a 4xx; the batches before it stay accepted."""


class BatchSender:
    """One instance, one key, one model and source: sends batches of encoded features with
    retries and splits, and counts what that took."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model_id: str,
        source: str,
        *,
        policy: RetryPolicy,
        body_limit: int,
    ) -> None:
        self.base_url = base_url
        self.url = base_url + UPLOAD_PATH
        self._key = api_key
        self.policy = policy
        self.body_limit = body_limit
        """Most bytes of a body's features (the ids around them are not counted)."""
        # The call's body up to its feature list, encoded once.
        head = json.dumps({"modelId": model_id, "source": source}, ensure_ascii=False)[:-1]
        self._head = head.encode() + b',"features":['
        self.requests = 0
        """HTTP calls made, retries and parts included."""
        self.retries = 0
        self.splits = 0
        """Batches sent in parts (by our limit, or halved after a 413)."""
        self.seconds_waiting = 0.0
        self._http = httpx.Client(
            timeout=httpx.Timeout(policy.timeout_s, connect=policy.connect_timeout_s),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def send(
        self,
        batch: int,
        total: int,
        features: list[Encoded],
        accepted: str,
        on_accepted: Callable[[list[int]], None],
    ) -> None:
        """Send batch ``batch`` of ``total`` in as few parts as fit ``body_limit``, calling
        ``on_accepted(indexes)`` after each accepted part; ``accepted`` says (in an error) what
        stays accepted. Raises the one-line errors above."""

        def send_part(part: list[Encoded]) -> None:
            body = self._head + b",".join(f for _, f in part) + b"]}"
            if self._post(body, batch, total, accepted):
                on_accepted([index for index, _ in part])
                return
            if len(part) == 1:
                raise BatchRejectedError(
                    f"Neuronpedia at {self.base_url} refused batch {batch} of {total} as too "
                    f"large (HTTP 413) even for feature {part[0][0]} alone ({len(body):,} "
                    f"bytes); {accepted}"
                )
            self.splits += 1  # the instance's limit is below ours: halve until it fits
            half = len(part) // 2
            send_part(part[:half])
            send_part(part[half:])

        parts = _pack(features, self.body_limit)
        if len(parts) > 1:
            self.splits += 1
        for part in parts:
            send_part(part)

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

    def _post(self, body: bytes, batch: int, total: int, accepted: str) -> bool:
        """Send one body; True when accepted, False on 413 (too large: the caller splits)."""
        what = f"batch {batch} of {total}"
        last, unreachable = "", False
        retry_after: str | None = None
        for attempt in range(self.policy.attempts):
            if attempt:
                self.retries += 1
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
            self.requests += 1
            asked = time.monotonic()
            try:
                response = self._http.post(
                    self.url,
                    content=body,
                    headers={"content-type": "application/json", API_KEY_HEADER: self._key},
                )
            except httpx.TimeoutException:
                self.seconds_waiting += time.monotonic() - asked
                last, unreachable = f"no answer within {self.policy.timeout_s:g} s", False
                log.info("neuronpedia %s: %s (attempt %d)", self.url, last, attempt + 1)
                continue
            except httpx.TransportError as exc:
                self.seconds_waiting += time.monotonic() - asked
                last = self._safe(f"{type(exc).__name__}: {exc}".rstrip(": "))
                unreachable = isinstance(exc, httpx.ConnectError)
                log.info("neuronpedia %s: %s (attempt %d)", self.url, last, attempt + 1)
                continue
            self.seconds_waiting += time.monotonic() - asked
            status = response.status_code
            if status < 300:
                return True
            message = self._server_message(response)
            if status == 413:
                return False
            self._refuse(status, message, response, what, accepted)
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

    def _refuse(
        self, status: int, message: str, response: httpx.Response, what: str, accepted: str
    ) -> None:
        """Raise for an answer that retrying cannot change (auth, redirect, other 4xx)."""
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


def _pack(features: list[Encoded], limit: int) -> list[list[Encoded]]:
    """``features`` in order, in as few parts as keep each body under ``limit`` bytes (a
    feature larger than that alone goes in a part of its own)."""
    parts: list[list[Encoded]] = [[]]
    size = 0
    for feature in features:
        if parts[-1] and size + len(feature[1]) + 1 > limit:
            parts.append([])
            size = 0
        parts[-1].append(feature)
        size += len(feature[1]) + 1
    return parts
