"""``/activations``: cache a model's activations at hook points over a tokenization."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import ConfigDict

from mistudio.api.artifact_jobs import ArtifactOut, ready_input, start_artifact_job
from mistudio.api.deps import (
    DbId,
    Listing,
    Page,
    SessionDep,
    delete_artifact,
    get_or_404,
    listing_of,
)
from mistudio.api.validation import check_hooks, check_tokenizer
from mistudio.core.activations import ActivationCacheConfig
from mistudio.store import (
    ActivationCacheRow,
    LanguageModel,
    TokenizationRow,
)

router = APIRouter(prefix="/activations", tags=["activations"])


class ActivationCacheOut(ArtifactOut):
    model_id: int
    """The model the activations come from."""
    tokenization_id: int
    """The tokenization they were computed over."""
    hook_points: list[str]
    """Hook points cached (every shard holds all of them)."""
    n_tokens: int | None
    """Tokens cached."""
    config: dict[str, Any]
    """The stream config and shard size it was built with."""
    manifest: dict[str, Any]
    """The cache's ``manifest.json`` (shards, dtype, widths)."""


class ActivationCacheCreate(ActivationCacheConfig):
    """The core :class:`ActivationCacheConfig` (``stream``, ``shard_tokens``) plus the inputs."""

    # As every request body: keys added by a newer client are ignored, not refused.
    model_config = ConfigDict(extra="ignore")

    model_id: DbId
    """The model whose activations to cache."""
    tokenization_id: DbId
    """The tokenization to run it over."""
    name: str | None = None
    """Display name (default: derived from the inputs)."""


@router.get("", operation_id="list_activation_caches", response_model=Page[ActivationCacheOut])
def list_caches(
    listing: Annotated[
        Listing, listing_of(ActivationCacheOut, ActivationCacheRow, "created_at name n_tokens")
    ],
    model_id: DbId | None = None,
    tokenization_id: DbId | None = None,
) -> Page[ActivationCacheOut]:
    """List activation caches, filtered by model or tokenization."""
    return listing.page(model_id=model_id, tokenization_id=tokenization_id)


@router.post(
    "", operation_id="create_activation_cache", response_model=ActivationCacheOut, status_code=202
)
def create_cache(body: ActivationCacheCreate, session: SessionDep) -> ActivationCacheOut:
    """Cache a model's activations over a ready tokenization to disk shards (queues a job)."""
    model = get_or_404(session, LanguageModel, body.model_id, "model")
    tok = ready_input(session, TokenizationRow, body.tokenization_id, "tokenization")
    check_tokenizer(model, tok)
    check_hooks(model, body.stream.hook_points)
    row = ActivationCacheRow(
        name=body.name or f"{tok.name}-{'+'.join(body.stream.hook_points)}",
        status="pending",
        model_id=model.id,
        tokenization_id=tok.id,
        hook_points=list(body.stream.hook_points),
        config=body.model_dump(mode="json", exclude={"name"}),
        manifest={},
        lineage={},
    )
    # The core config's own fields of the body (a subclass instance would pass through whole).
    config = ActivationCacheConfig.model_validate(
        body.model_dump(include=set(ActivationCacheConfig.model_fields))
    )
    start_artifact_job(
        session, row, "cache_activations", [model, tok], config.model_dump(mode="json")
    )
    return ActivationCacheOut.model_validate(row)


@router.get("/{cache_id}", operation_id="get_activation_cache", response_model=ActivationCacheOut)
def get_cache(cache_id: DbId, session: SessionDep) -> ActivationCacheOut:
    """One activation cache."""
    return ActivationCacheOut.model_validate(
        get_or_404(session, ActivationCacheRow, cache_id, "activation cache")
    )


@router.delete("/{cache_id}", operation_id="delete_activation_cache", status_code=204)
def delete_cache(cache_id: DbId, session: SessionDep) -> None:
    """Delete an activation cache and its shards (409 while a job uses it)."""
    row = get_or_404(session, ActivationCacheRow, cache_id, "activation cache")
    delete_artifact(session, row, "activations", "activation cache")
