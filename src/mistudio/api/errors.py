"""One place that turns errors into ``{"detail": "readable message"}`` with the right status.

Core raises :class:`~mistudio.errors.MiStudioError` subclasses with one line meant for a person;
the API maps the class to a status code and passes the line through. Anything else is a bug: it is
logged with its traceback and the client gets a 500 with a one-line detail, never a traceback page.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mistudio.errors import (
    HubUnreachableError,
    InvalidInputError,
    MiStudioError,
    NotFoundError,
    ResourceError,
)
from mistudio.jobs.lifecycle import JobStateError

log = logging.getLogger(__name__)


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
    if isinstance(exc, HubUnreachableError):
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MiStudioError)
    async def _mistudio(_: Request, exc: MiStudioError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(
            {"detail": detail}, status_code=exc.status_code, headers=exc.headers or None
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500
        )
