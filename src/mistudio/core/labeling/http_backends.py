"""HTTP chat clients: any OpenAI-compatible server and Ollama's native API (FORMATS.md §5).

Both use one ``httpx.Client`` (thread-safe, keeps connections alive) and one retry loop:

- 429, 5xx, timeouts and refused connections are retried with back-off; when retries run out a
  refused connection is fatal (:class:`BackendUnreachableError`), the others fail the feature;
- 401/403 -> :class:`AuthenticationError`, 404 -> :class:`ModelNotFoundError`, 400/422 ->
  :class:`BadRequestError` (fatal: every feature would fail the same way);
- a 200 whose body is not the expected JSON -> :class:`MalformedReplyError` (per feature).

The API key lives in a ``SecretStr`` and is only unwrapped into the request header; every error
message passes through :func:`~mistudio.core.http_retry.redact` in case the server echoes it.

Before every attempt the address passes :func:`~mistudio.core.outbound.check_outbound_url`
(http(s) only, no link-local or cloud-metadata address, the host name resolved again each time);
redirects are not followed, so a server cannot send the request (and its key) elsewhere.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
from pydantic import SecretStr

from mistudio.core.http_retry import backoff_delay, redact
from mistudio.core.labeling.clients import ChatReply, RateLimiter
from mistudio.core.labeling.errors import (
    AuthenticationError,
    BackendUnreachableError,
    BadRequestError,
    MalformedReplyError,
    ModelNotFoundError,
    RateLimitedError,
    RefusedEndpointError,
    TransientBackendError,
)
from mistudio.core.labeling.prompts import Message
from mistudio.core.outbound import check_outbound_url
from mistudio.errors import InvalidInputError

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
"""The public OpenAI API (the default of ``MISTUDIO_OPENAI_BASE_URL``)."""
OLLAMA_BASE_URL = "http://127.0.0.1:11434"
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class HttpChatClient:
    """Shared request/retry/error logic of the HTTP backends."""

    concurrent = True
    kind = "http"

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: SecretStr | None = None,
        *,
        temperature: float = 0.0,
        max_tokens: int = 256,
        seed: int | None = 0,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.limiter = limiter or RateLimiter(None)
        self.name = f"{self.kind}:{model}"
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)), follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def _headers(self) -> dict[str, str]:
        if self._key is None or not self._key.get_secret_value():
            return {}
        return {"Authorization": f"Bearer {self._key.get_secret_value()}"}

    def _safe(self, text: str) -> str:
        return redact(text, [self._key.get_secret_value() if self._key else None])

    def _server_message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return self._safe(response.text.strip()[:200])
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            error = error.get("message")
        return self._safe(str(error or body)[:200])

    def _fatal_for_status(self, response: httpx.Response) -> Exception | None:
        status = response.status_code
        message = self._server_message(response)
        where = f"{self.kind} at {self.base_url}"
        if status in (401, 403):
            return AuthenticationError(
                f"{where} refused the API key (HTTP {status}): {message}; check the key"
            )
        if status == 404:
            return ModelNotFoundError(f"{where} has no model {self.model!r} (HTTP 404): {message}")
        if status in (400, 413, 422):
            return BadRequestError(f"{where} rejected the request (HTTP {status}): {message}")
        return None

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Send one request with retries; the parsed JSON body of the 2xx reply."""
        url = f"{self.base_url}{path}"
        last = ""
        refused = False
        retry_after: str | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(backoff_delay(attempt - 1, self.backoff_s, retry_after=retry_after))
            retry_after = None
            self.limiter.wait()
            try:
                check_outbound_url(url)
            except InvalidInputError as exc:
                raise RefusedEndpointError(f"{self.kind}: {exc}") from None
            try:
                response = self._http.request(method, url, json=body, headers=self._headers())
            except httpx.TimeoutException:
                last, refused = f"timed out after {self._http.timeout.read} s", False
                log.info("%s %s: %s (attempt %d)", self.kind, url, last, attempt + 1)
                continue
            except httpx.TransportError as exc:
                last, refused = self._safe(f"{type(exc).__name__}: {exc}"), True
                log.info("%s %s unreachable (attempt %d)", self.kind, url, attempt + 1)
                continue
            if response.status_code < 300:
                try:
                    return response.json()
                except ValueError:
                    raise MalformedReplyError(
                        f"{self.kind} replied with something that is not JSON "
                        f"({self._safe(response.text[:80])!r})"
                    ) from None
            fatal = self._fatal_for_status(response)
            if fatal is not None:
                raise fatal
            refused = False
            last = f"HTTP {response.status_code}: {self._server_message(response)}"
            retry_after = response.headers.get("retry-after")
            log.info("%s %s: %s (attempt %d)", self.kind, url, last, attempt + 1)
            if response.status_code not in RETRY_STATUS:
                break
        tries = f"after {self.max_retries + 1} attempts"
        if refused:
            raise BackendUnreachableError(
                f"cannot reach {self.kind} at {self.base_url} {tries} ({last}); is it running?"
            )
        if last.startswith("HTTP 429"):
            raise RateLimitedError(f"{self.kind} rate limit persisted {tries} ({last})")
        raise TransientBackendError(f"{self.kind} failed {tries} ({last})")


class OpenAIClient(HttpChatClient):
    """``POST {base}/chat/completions`` of any OpenAI-compatible server."""

    kind = "openai"

    def chat(self, messages: list[Message], json_mode: bool = False) -> ChatReply:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_completion_tokens": self.max_tokens,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        data = self.request("POST", "/chat/completions", body)
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise MalformedReplyError(
                f"openai reply has no choices[0].message.content ({str(data)[:80]!r})"
            ) from None
        if not isinstance(content, str):
            raise MalformedReplyError("openai reply content is not text")
        usage = data.get("usage") or {}
        return ChatReply(content, usage.get("prompt_tokens"), usage.get("completion_tokens"))

    def check(self) -> None:
        """Nothing to check cheaply for every compatible server; the first request tells."""


class OllamaClient(HttpChatClient):
    """Ollama's native ``POST /api/chat`` (stream off) and ``GET /api/tags``."""

    kind = "ollama"

    def chat(self, messages: list[Message], json_mode: bool = False) -> ChatReply:
        options: dict[str, Any] = {"temperature": self.temperature, "num_predict": self.max_tokens}
        if self.seed is not None:
            options["seed"] = self.seed
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": False,
            "options": options,
        }
        if json_mode:
            body["format"] = "json"
        data = self.request("POST", "/api/chat", body)
        try:
            content = data["message"]["content"]
        except (KeyError, TypeError):
            raise MalformedReplyError(
                f"ollama reply has no message.content ({str(data)[:80]!r})"
            ) from None
        if not isinstance(content, str):
            raise MalformedReplyError("ollama reply content is not text")
        return ChatReply(content, data.get("prompt_eval_count"), data.get("eval_count"))

    def models(self) -> list[str]:
        """Names of the models the server has pulled."""
        data = self.request("GET", "/api/tags")
        try:
            return [str(m["name"]) for m in data["models"]]
        except (KeyError, TypeError):
            raise MalformedReplyError("ollama /api/tags reply has no models list") from None

    def check(self) -> None:
        have = self.models()
        wanted = {self.model, f"{self.model}:latest"}
        if not wanted & set(have):
            raise ModelNotFoundError(
                f"ollama at {self.base_url} has no model {self.model!r} (have: "
                f"{', '.join(have) or 'none'}); pull it with `ollama pull {self.model}`"
            )
