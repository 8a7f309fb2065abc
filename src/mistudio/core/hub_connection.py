"""Reading a HuggingFace Hub exception the same way wherever the Hub is called.

Dataset import (``core/data/hub.py``) and SAE import (``core/sae_import/hub.py``) each turn Hub
exceptions into their own one-line errors, but both first ask the same two things: was this a
failure to connect (then the Hub is unreachable, whatever the exception's type), and what is its
first line. The exception classes are matched by name, never imported: huggingface_hub, httpx,
requests and ``datasets`` each have their own, they move between versions, and importing them
would cost seconds in a module that does not otherwise need them.
"""

from __future__ import annotations

from collections.abc import Iterable

CONNECTION_ERROR_NAMES = frozenset(
    {
        "ConnectError",
        "ConnectTimeout",
        "ConnectionError",
        "NetworkError",
        "TransportError",
        "ReadTimeout",
        "TimeoutException",
        "ProxyError",
        "SSLError",
        "OfflineModeIsEnabled",
    }
)
"""Exception class names (httpx, requests, huggingface_hub) that mean the Hub was not reached."""


def is_connection_error(error: BaseException, also: Iterable[str] = ()) -> bool:
    """Whether ``error``, or an exception it was raised from (its cause or context chain), is a
    failure to connect: a built-in ``ConnectionError``/``TimeoutError``, or a class (or base)
    named in :data:`CONNECTION_ERROR_NAMES` or ``also``."""
    names = CONNECTION_ERROR_NAMES.union(also)
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError):
            return True
        if any(cls.__name__ in names for cls in type(current).__mro__):
            return True
        current = current.__cause__ or current.__context__
    return False


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message (its class name when it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
