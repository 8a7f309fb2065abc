"""Request body size limits, enforced before any handler reads a body.

A pure-ASGI middleware, so it sees every byte as it arrives: a body whose ``Content-Length``
is over the limit is refused (413) before it is read, and a body streamed without one (chunked)
is counted as it arrives and cut off with the same 413 when it passes the limit. Multipart
uploads get ``MISTUDIO_UPLOAD_MAX_BYTES`` (plus room for the form's own parts, since the upload
route checks the file itself); every other body (JSON) gets the small
``MISTUDIO_JSON_MAX_BYTES``, so one request cannot make the server parse, store and then serve
back tens of megabytes.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from mistudio.api.errors import HttpMiddleware
from mistudio.settings import get_settings

MULTIPART_OVERHEAD = 1 << 20
"""Allowance over the upload limit for a multipart body's boundaries and small form fields."""


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit. An ``HTTPException``, so
    FastAPI's body parsing re-raises it as it is and the 413 handler answers."""

    def __init__(self, limit: int, what: str) -> None:
        # The rest of the body is never read: the connection closes after the answer.
        super().__init__(
            413,
            f"{what} is larger than the limit of {limit:,} bytes",
            headers={"Connection": "close"},
        )


def body_limit(scope: Scope) -> tuple[int, str]:
    """The byte limit for this request's body, and what to call the body in the 413."""
    settings = get_settings()
    content_type = ""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            content_type = value.decode("latin-1").lower()
            break
    if content_type.startswith("multipart/form-data"):
        return settings.upload_max_bytes + MULTIPART_OVERHEAD, "upload"
    return settings.json_max_bytes, "request body"


class BodyLimitMiddleware(HttpMiddleware):
    """Answer 413 to a request body over :func:`body_limit`, declared or streamed."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit, what = body_limit(scope)
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                declared = value
                break
        if declared is not None:
            if not declared.isdigit():
                await _refuse(scope, receive, send, 400, "Content-Length is not a number")
                return
            if int(declared) > limit:
                await _refuse(
                    scope, receive, send, 413, f"{what} is larger than the limit of {limit:,} bytes"
                )
                return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, what)
            return message

        exc = await self.run_app(scope, counted_receive, send, BodyTooLarge)
        if exc is not None:
            # A handler that read the stream itself let it through: answer here.
            await _refuse(scope, receive, send, 413, str(exc.detail))


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    response = JSONResponse({"detail": detail}, status_code=status, headers={"Connection": "close"})
    await response(scope, receive, send)
