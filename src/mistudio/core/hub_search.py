"""Suggest Hub model and dataset repos while a person types an id (``HfApi.list_models`` /
``list_datasets`` with ``search=``, most downloaded first).

Decisions:

- It is a suggestion, never a gate: the forms accept any id whatever the search says, so every
  failure here is one line (:class:`~mistudio.errors.HubUnreachableError` for a Hub that cannot
  be reached or answers with an error, :class:`~mistudio.errors.InvalidInputError` for a token it
  refuses) and the caller shows it beside the field.
- One request with a short timeout (``timeout`` seconds, 5 by default), not ``list_models``
  itself: its listing goes through ``http_backoff``, which retries a refused connection five times
  with waits of 1, 2, 4, 8 and 8 seconds (23 s), takes no timeout, and closes the process's shared
  client on each connection error. A search box cannot wait that long. The request is the one
  ``HfApi.list_models`` / ``list_datasets`` send (``GET /api/{models,datasets}?search=&sort=
  downloads&limit=``, the same headers and token), read back into the same ``ModelInfo`` /
  ``DatasetInfo``; ``tests/unit/test_hub_search.py`` checks the query matches theirs.
- ``HF_HUB_OFFLINE`` answers at once, without a request.
- ``limit`` results in one request: the next page the Hub's ``Link`` header offers is never
  fetched (``list_models`` does the same, slicing its paginated iterator at ``limit``).
"""

from __future__ import annotations

from typing import Any, Literal

from mistudio.core.config import DocumentedModel
from mistudio.core.data.hub import hub_offline
from mistudio.core.hub_connection import first_line, is_connection_error
from mistudio.errors import HubUnreachableError, InvalidInputError, MiStudioError

RepoType = Literal["model", "dataset"]

DEFAULT_TIMEOUT = 5.0
"""Seconds a search may take before the caller is told the Hub did not answer."""
MAX_RESULTS = 50
"""Most suggestions one search returns."""


class HubRepoHit(DocumentedModel):
    """One repo the Hub's search found."""

    repo_id: str
    """Its id as the Hub spells it now (``openai-community/gpt2``, ``wikitext``...)."""
    downloads: int
    """Downloads in the last 30 days, as the Hub counts them."""
    likes: int
    """Likes on the Hub."""
    gated: bool
    """Whether its files need a token with access (accepting its conditions on the Hub)."""
    private: bool
    """Whether it is private (only shown to a token that can read it)."""


def _hit(info: Any) -> HubRepoHit:
    return HubRepoHit(
        repo_id=str(info.id),
        downloads=int(getattr(info, "downloads", 0) or 0),
        likes=int(getattr(info, "likes", 0) or 0),
        gated=bool(getattr(info, "gated", False)),
        private=bool(getattr(info, "private", False)),
    )


def search_params(query: str, limit: int) -> dict[str, Any]:
    """The query string ``HfApi.list_models(search=query, sort="downloads", limit=limit)`` sends
    (``list_datasets`` sends the same)."""
    params: dict[str, Any] = {"search": query.strip()} if query.strip() else {}
    return params | {"sort": "downloads", "limit": limit}


def _search(
    repo_type: RepoType, query: str, limit: int, token: str | None, timeout: float
) -> list[HubRepoHit]:
    # deferred: a heavy library (seconds to import), needed only when this runs
    from huggingface_hub import DatasetInfo, HfApi, ModelInfo
    from huggingface_hub.utils import get_session, hf_raise_for_status

    api = HfApi()
    response = get_session().get(
        f"{api.endpoint}/api/{repo_type}s",
        params=search_params(query, limit),
        headers=api._build_hf_headers(token=token),
        timeout=timeout,
    )
    hf_raise_for_status(response)
    items = response.json()
    if not isinstance(items, list):
        raise HubUnreachableError(f"the HuggingFace Hub answered a {repo_type} search oddly")
    info_class = ModelInfo if repo_type == "model" else DatasetInfo
    hits = []
    for item in items[:limit]:
        item.setdefault("siblings", None)  # as list_models does: a search has no file list
        hits.append(_hit(info_class(**item)))
    return hits


def _one_line(error: BaseException, repo_type: RepoType, timeout: float) -> MiStudioError:
    if type(error).__name__ in {"ReadTimeout", "WriteTimeout", "PoolTimeout", "TimeoutException"}:
        return HubUnreachableError(
            f"the HuggingFace Hub did not answer a {repo_type} search within {timeout:g} s "
            "(slow or offline); type the full id"
        )
    if is_connection_error(error):
        return HubUnreachableError(
            f"cannot reach the HuggingFace Hub to search {repo_type}s (offline?); type the full id"
        )
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if status in (401, 403):
        return InvalidInputError(
            f"the HuggingFace Hub refused the token for a {repo_type} search ({first_line(error)})"
        )
    return HubUnreachableError(
        f"the HuggingFace Hub failed a {repo_type} search: {first_line(error)}"
    )


def search_hub(
    repo_type: RepoType,
    query: str,
    limit: int = 10,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[HubRepoHit]:
    """Repos of ``repo_type`` whose id contains ``query`` (case-insensitive, the Hub's rule),
    most downloaded first, at most ``limit``; a one-line error when the Hub does not answer
    within ``timeout`` seconds, is offline or refuses the token."""
    if repo_type not in ("model", "dataset"):
        raise InvalidInputError(f"a Hub search is of models or datasets, not {repo_type!r}")
    limit = max(1, min(int(limit), MAX_RESULTS))
    if hub_offline():
        raise HubUnreachableError(
            f"offline mode (HF_HUB_OFFLINE) is on: no Hub search of {repo_type}s; type the full id"
        )
    try:
        return _search(repo_type, query, limit, token, timeout)
    except MiStudioError:
        raise
    except Exception as error:
        raise _one_line(error, repo_type, timeout) from None
