"""Which Neuronpedia instance an upload goes to, and with whose key: the labelling keys' rules.

The server may hold a key of its own (``MISTUDIO_NEURONPEDIA_API_KEY``, read from the
environment when needed, never stored in :class:`~mistudio.settings.Settings`, a row or a log).
That key goes only to the instance configured beside it (``MISTUDIO_NEURONPEDIA_URL``, default
``https://www.neuronpedia.org``); an upload to any other URL must bring its own key, and is
refused in one line without one rather than sent with none. Every URL also passes
:func:`~mistudio.core.outbound.check_outbound_url` (http(s) only, no link-local or cloud
metadata addresses).
"""

from __future__ import annotations

import os

from mistudio.core.outbound import check_outbound_url, same_endpoint
from mistudio.errors import InvalidInputError
from mistudio.settings import Settings

KEY_ENV = "MISTUDIO_NEURONPEDIA_API_KEY"


def server_url() -> str:
    """The configured instance (read now: a test or notebook may change it)."""
    return Settings().neuronpedia_url.rstrip("/")


def server_key() -> str | None:
    """The server's own key, if it has one."""
    return os.environ.get(KEY_ENV) or None


def upload_target(url: str | None, api_key: str | None) -> tuple[str, str]:
    """(URL, key) of an upload: ``url`` (default the configured instance) and ``api_key``, else
    the server's key when the URL is the configured one. InvalidInputError (one line) when the
    URL may not be reached or there is no key for it."""
    target = check_outbound_url(url or server_url(), resolve=False).rstrip("/")
    if api_key and api_key.strip():
        return target, api_key.strip()
    configured = server_url()
    if not same_endpoint(target, configured):
        raise InvalidInputError(
            f"{target} is not the configured Neuronpedia instance ({configured}): give an API "
            "key for it (the server's own key is only sent to its configured instance)"
        )
    key = server_key()
    if not key:
        raise InvalidInputError(
            f"no Neuronpedia API key: give one, or set {KEY_ENV} (the key is under Settings "
            "on the Neuronpedia instance)"
        )
    return target, key
