"""Errors of labelling backends, split by what a run does with them.

*Fatal* errors (:class:`BackendUnreachableError`, :class:`AuthenticationError`, a model that is
not found) would fail every feature the same way, so they stop the run with one line; the labels
written so far stay and the run resumes later. *Per-feature* errors (a malformed reply, a rate
limit or server error that outlasted its retries) are recorded on that feature's label and the
run goes on. Messages never carry an API key (:func:`~mistudio.core.http_retry.redact`).
"""

from __future__ import annotations

from mistudio.errors import InvalidInputError, MiStudioError, NotFoundError


class BackendError(MiStudioError):
    """A labelling backend failed on one request (after its retries)."""


class BackendUnreachableError(BackendError):
    """Nothing answers at the backend's address (fatal for the run)."""


class AuthenticationError(BackendError, InvalidInputError):
    """The backend refused the API key (HTTP 401/403; fatal for the run)."""


class ModelNotFoundError(BackendError, NotFoundError):
    """The backend does not serve the named model (fatal for the run)."""


class BadRequestError(BackendError, InvalidInputError):
    """The backend rejected the request itself (HTTP 400/422; fatal for the run)."""


class RefusedEndpointError(BackendError, InvalidInputError):
    """The backend's address is one the server may not connect to (fatal for the run; see
    :mod:`mistudio.core.outbound`)."""


class RateLimitedError(BackendError):
    """HTTP 429 on every retry (per feature)."""


class TransientBackendError(BackendError):
    """Timeouts or 5xx on every retry (per feature)."""


class MalformedReplyError(BackendError):
    """The reply could not be parsed (per feature, after retries)."""


FATAL_ERRORS: tuple[type[Exception], ...] = (
    BackendUnreachableError,
    AuthenticationError,
    ModelNotFoundError,
    BadRequestError,
    RefusedEndpointError,
)
