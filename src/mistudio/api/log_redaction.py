"""Keep secrets that ride in URLs out of the server's logs.

uvicorn writes every request's path *with its query string*: HTTP requests to ``uvicorn.access``,
WebSocket handshakes (``"WebSocket /api/v1/ws?token=..." [accepted]``) to ``uvicorn.error``. The
studio's own UI no longer puts its token in a URL (the socket authenticates with its first
message), but old scripts may still connect with ``?token=``, and a caller may put an API key in
any query. So a filter on both loggers rewrites the value of every query parameter whose name
says it is a credential to ``[redacted]`` before any handler formats the record.

A logger's filters see only records logged on that logger itself, which is how uvicorn logs;
:func:`install_log_redaction` is idempotent, so building several apps in one process (tests)
adds the filter once.
"""

from __future__ import annotations

import logging
import re

SECRET_PARAMS = ("token", "access_token", "api_key", "apikey", "password", "secret")
"""Query parameter names whose values are never logged."""
UVICORN_LOGGERS = ("uvicorn.access", "uvicorn.error")
"""Where uvicorn writes request paths (HTTP, and WebSocket handshakes)."""

_SECRET_QUERY = re.compile(
    r"(?P<name>[?&;](?:" + "|".join(SECRET_PARAMS) + r")=)[^&;\s\"']*",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with the value of every credential query parameter replaced by ``[redacted]``."""
    return _SECRET_QUERY.sub(r"\g<name>[redacted]", text)


class RedactQuerySecrets(logging.Filter):
    """Rewrites a record's message and string arguments so no credential query value survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        elif isinstance(args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in args.items()}
        return True


def install_log_redaction(names: tuple[str, ...] = UVICORN_LOGGERS) -> None:
    """Add :class:`RedactQuerySecrets` to each named logger that does not have it yet."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQuerySecrets) for f in logger.filters):
            logger.addFilter(RedactQuerySecrets())
