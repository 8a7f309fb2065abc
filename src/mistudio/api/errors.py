"""One place that turns errors into ``{"detail": "readable message"}`` with the right status.

Core raises :class:`~mistudio.errors.MiStudioError` subclasses with one line meant for a person;
the API maps the class to a status code and passes the line through. Anything else is a bug: it is
logged with its traceback under a short id, and the client gets a 500 that names only that id
(``internal error, see the server log (id 3f2a9c1e)``): exception text can hold SQL, parameters or
file contents, so it never goes to the client.

The 500 is answered by :class:`InternalErrorMiddleware`, a pure-ASGI layer inside Starlette's
``ServerErrorMiddleware``. That one re-raises after answering (so the server can log it), and
uvicorn then closes the connection: a keep-alive client's next request on it fails. Ours answers
and returns normally, so the connection stays usable.
"""

from __future__ import annotations

import logging
import uuid
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mistudio.errors import (
    HubUnreachableError,
    InvalidInputError,
    MiStudioError,
    NotFoundError,
    ResourceError,
)
from mistudio.jobs.lifecycle import BrokerUnreachableError, JobStateError

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Exception)


class ApiError(MiStudioError):
    """An API-level refusal with its own status (403 outside import roots, 409 in use, 413)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code


def status_for(exc: MiStudioError) -> int:
    """HTTP status of a core error (most specific class first)."""
    if isinstance(exc, ApiError):
        return exc.status_code
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, JobStateError):
        return 409
    if isinstance(exc, InvalidInputError):
        return 422
    if isinstance(exc, HubUnreachableError | BrokerUnreachableError):
        return 503
    if isinstance(exc, ResourceError):
        return 507
    return 400


def validation_detail(exc: RequestValidationError) -> str:
    """Pydantic's error list as one readable line: ``body.limit: must be <= 500; ...``."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def http_error(exc: StarletteHTTPException) -> JSONResponse:
    """An ``HTTPException`` (404 route, 405, 413, ...) as one readable line."""
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse(
        {"detail": detail}, status_code=exc.status_code, headers=exc.headers or None
    )


def internal_error(method: str, path: str, exc: BaseException) -> JSONResponse:
    """Log ``exc`` with its traceback under a fresh short id; the 500 that names only the id."""
    error_id = uuid.uuid4().hex[:8]
    log.error(
        "internal error (id %s) on %s %s",
        error_id,
        method,
        path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return JSONResponse(
        {"detail": f"internal error, see the server log (id {error_id})"}, status_code=500
    )


class _ResponseTracker:
    """Wraps ``send`` and notes whether the response has started."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class HttpMiddleware:
    """A pure-ASGI middleware over HTTP requests (:meth:`handle`); every other scope (WebSocket,
    lifespan) goes to the wrapped app untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    async def run_app(self, scope: Scope, receive: Receive, send: Send, catch: type[E]) -> E | None:
        """Run the wrapped app, returning an exception of type ``catch`` it raised for this
        middleware to answer. Only one raised before the response started is returned: after
        that the status line is gone, so it goes on up (and the connection closes)."""
        tracked = _ResponseTracker(send)
        try:
            await self.app(scope, receive, tracked.send)
        except catch as exc:
            if tracked.started:
                raise
            return exc
        return None


class InternalErrorMiddleware(HttpMiddleware):
    """Turn an unhandled exception into the one-line 500 and return normally (no re-raise), so
    the server keeps the client's keep-alive connection open. A response already under way
    cannot be replaced: then the exception goes on up (and the connection closes)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = await self.run_app(scope, receive, send, Exception)
        if exc is None:
            return
        if isinstance(exc, StarletteHTTPException):  # e.g. a 413 raised while reading a body
            response = http_error(exc)
        else:
            response = internal_error(scope.get("method", ""), scope.get("path", ""), exc)
        await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MiStudioError)
    async def _mistudio(_: Request, exc: MiStudioError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error(exc)

    # The first middleware added is the innermost: it sees a handler's exception first.
    app.add_middleware(InternalErrorMiddleware)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        # Only for errors outside InternalErrorMiddleware (in another middleware).
        return internal_error(request.method, request.url.path, exc)
