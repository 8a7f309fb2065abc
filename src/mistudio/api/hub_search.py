"""The Hub search behind the model and dataset id fields (``GET /models/hub/search``,
``GET /datasets/hub/search``): one handler, two routes, so each resource's router keeps its
own path and the forms ask the resource they fill in.

It answers synchronously with one short request to the Hub (core/hub_search.py); a Hub that
cannot be reached is a one-line 503 the form shows beside the field, which still accepts any id.
"""

from __future__ import annotations

from fastapi import Query

from mistudio.core.config import DocumentedModel
from mistudio.core.hub_search import HubRepoHit, RepoType, search_hub


class HubSearchResults(DocumentedModel):
    repos: list[HubRepoHit]
    """Repos whose id contains the text, most downloaded first."""


QUERY = Query("", max_length=200, description="Text the repo id contains")
LIMIT = Query(10, ge=1, le=50, description="Most suggestions")


def hub_search(repo_type: RepoType, q: str, limit: int) -> HubSearchResults:
    """Suggestions for a half-typed ``repo_type`` id (uses the server's HF_TOKEN if any)."""
    return HubSearchResults(repos=search_hub(repo_type, q, limit))
