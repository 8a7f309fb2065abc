"""``/saes/hub``: SAEs on the HuggingFace Hub and in SAELens' release registry, before import.

``GET /saes/hub/search`` finds repos by the ``saelens`` library tag (or any tag) and text, and
releases of the registry by name; ``POST /saes/hub/browse`` lists the SAEs of one repo or
release, a page at a time, with what their folder names and small configs say (hook, width, L0,
size) so a person picks one of 400 before anything large downloads. Browse is a POST because it
may carry a token for a gated repo's configs (write-only, never stored or logged). Both answer
synchronously from the Hub's listing and a few KB of configs; the import itself is
``POST /saes`` (a job).
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field, SecretStr

from mistudio.core.config import DocumentedModel
from mistudio.core.sae_import import (
    HubRepo,
    ReleaseSummary,
    browse,
    release_registry,
    search_repos,
)
from mistudio.core.sae_import.hub import SAE_LIBRARY_TAG
from mistudio.errors import MiStudioError
from mistudio.settings import get_settings

router = APIRouter(prefix="/saes/hub", tags=["saes"])


class HubRepoOut(HubRepo):
    model_config = ConfigDict(from_attributes=True)


class ReleaseOut(ReleaseSummary):
    model_config = ConfigDict(from_attributes=True)


class HubSearchOut(DocumentedModel):
    repos: list[HubRepoOut]
    """Hub repos, most downloaded first."""
    releases: list[ReleaseOut]
    """SAELens releases whose name, repo or model contains every word of the query."""
    registry: str | None
    """Where the release registry was read from (the installed sae-lens, or the copy shipped
    with miStudio and the sae-lens version it came from)."""
    hub_error: str | None
    """Why the Hub could not be searched (the releases still are), when it could not."""


class HubBrowseRequest(DocumentedModel):
    """Which repo or release to list, and which page."""

    model_config = ConfigDict(extra="ignore")

    source: str = Field(min_length=1, max_length=4096)
    """``org/name`` (``org/name/folder`` for the SAEs under a folder), a SAELens release name,
    or one ``release/sae_id``."""
    revision: str | None = Field(default=None, max_length=200)
    """Hub branch, tag or commit (default: main)."""
    token: SecretStr | None = None
    """Hub token for a gated or private repo; write-only, never stored."""
    offset: int = Field(default=0, ge=0)
    """First SAE of the page."""
    limit: int = Field(default=100, ge=1, le=500)
    """SAEs per page."""
    read_configs: int = Field(default=40, ge=0, le=100)
    """How many SAEs of the page have their small config file read (hook, d_in, width, k)."""


class HubSAEOut(DocumentedModel):
    model_config = ConfigDict(from_attributes=True)

    path: str
    """Its folder inside the repo (empty: the repo root); import it as ``repo/path``."""
    format: str | None
    """Format its files are in (none: no reader recognises them)."""
    size_bytes: int
    """Total size of its files."""
    n_files: int
    """How many files it has."""
    hook_name: str | None
    """The hook it reads, from its config or folder names."""
    layer: int | None
    """Layer, from its config or folder names."""
    d_in: int | None
    """Input width, from its config."""
    d_sae: int | None
    """Number of latents (width)."""
    l0: float | str | None
    """L0 (SAELens' registry, the config or the folder name; Gemma Scope 2 names it small,
    medium or big)."""
    k: int | None
    """Active latents per token of a top-k SAE."""
    architecture: str | None
    """Architecture as its config names it."""
    model_name: str | None
    """The model its config names."""
    release_sae: str | None
    """``release/sae_id`` when SAELens' registry lists this folder."""
    neuronpedia: str | None
    """Its Neuronpedia id, when the registry gives one."""
    config_read: bool
    """Whether its config file was read (else the facts come from names only)."""


class HubBrowseOut(DocumentedModel):
    model_config = ConfigDict(from_attributes=True)

    repo_id: str
    """The repo listed."""
    sha: str
    """The commit listed (an import pins it)."""
    gated: bool
    """Whether its files need a token with access."""
    private: bool
    """Whether it is private."""
    n_files: int
    """Files in the listing."""
    total: int
    """SAEs found (the page holds at most ``limit``)."""
    release: str | None
    """The release browsed, when a release name was given."""
    config_error: str | None
    """Why configs could not be read, when they could not."""
    entries: list[HubSAEOut]
    """This page of SAEs, by folder."""


@router.get("/search", operation_id="search_hub_saes", response_model=HubSearchOut)
def search_hub_saes(
    q: str = Query("", max_length=200, description="Text the repo id or release contains"),
    library: str = Query(
        SAE_LIBRARY_TAG,
        max_length=64,
        description="Library tag repos must carry (empty: any repo whose name matches)",
    ),
    limit: int = Query(20, ge=1, le=100, description="Most results of each kind"),
) -> HubSearchOut:
    """SAE repos on the Hub (by library tag and text, most downloaded first) and SAELens
    releases by name. The Hub being unreachable is reported beside the releases, not as an
    error."""
    hub_error = None
    repos: list[HubRepoOut] = []
    try:
        repos = [HubRepoOut.model_validate(r) for r in search_repos(q, library or None, limit)]
    except MiStudioError as exc:
        hub_error = str(exc)
    try:
        registry = release_registry()
    except MiStudioError:
        return HubSearchOut(repos=repos, releases=[], registry=None, hub_error=hub_error)
    releases = [ReleaseOut.model_validate(r) for r in registry.search(q, limit)]
    return HubSearchOut(
        repos=repos, releases=releases, registry=registry.source, hub_error=hub_error
    )


@router.post("/browse", operation_id="browse_hub_saes", response_model=HubBrowseOut)
def browse_hub_saes(body: HubBrowseRequest) -> HubBrowseOut:
    """The SAEs of a Hub repo or SAELens release, a page at a time: folder, format, hook, width,
    L0 and size, from the repo's listing and the first ``read_configs`` configs (a few KB each);
    nothing large is downloaded."""
    token = body.token.get_secret_value() if body.token is not None else None
    result = browse(
        body.source,
        revision=body.revision,
        token=token,
        offset=body.offset,
        limit=body.limit,
        read_configs=body.read_configs,
        cache_dir=get_settings().cache_dir / "hub",
    )
    return HubBrowseOut.model_validate(result)
