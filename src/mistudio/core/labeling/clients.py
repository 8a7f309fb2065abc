"""The chat-client interface every LLM backend implements, and the shared request pacing.

A client turns a list of chat messages into one reply. HTTP clients are called from several
threads at once (the run's concurrency); they share one :class:`RateLimiter` (requests per minute)
and retry 429, 5xx, timeouts and refused connections with exponential back-off
(:func:`~mistudio.core.http_retry.backoff_delay`, honouring ``Retry-After``), as openai-python
does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from mistudio.core.labeling.prompts import Message


@dataclass
class ChatReply:
    """One reply of a chat backend."""

    content: str
    """The assistant message text."""
    prompt_tokens: int | None = None
    """Tokens the backend counted in the request (None if it did not say)."""
    completion_tokens: int | None = None
    """Tokens it generated."""


class ChatClient(Protocol):
    """What labelling and scoring need of an LLM backend."""

    name: str
    """``method:model``, for records and messages."""
    concurrent: bool
    """Whether several requests may run at once (HTTP) or must queue (a local model)."""

    def chat(self, messages: list[Message], json_mode: bool = False) -> ChatReply:
        """Send ``messages``; ask for a JSON object when ``json_mode``."""
        ...

    def check(self) -> None:
        """Fail early with one line when the backend cannot serve the run (no-op if unknown)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class BinaryListChooser(Protocol):
    """A backend that can force a scoring answer's shape (FORMATS §4's ``[0,1,...]``) instead of
    hoping the model writes it: an in-process model choosing ``0`` or ``1`` at each slot from
    its own logits, as llama.cpp grammars and structured outputs do. Scoring uses it whenever
    the client implements it, so such a client never returns a malformed answer."""

    def choose_binary_list(self, messages: list[Message], n: int) -> tuple[list[int], int, int]:
        """``n`` answers 0/1; returns (answers, prompt tokens, completion tokens)."""
        ...


class RateLimiter:
    """At most ``per_minute`` request starts per minute, evenly spaced, shared by threads."""

    def __init__(self, per_minute: float | None) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)
