"""``/tokenizations``: tokenize a dataset with a model's tokenizer into fixed-length sequences."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from mistudio.api.artifact_jobs import ArtifactOut, ready_input, start_artifact_job
from mistudio.api.deps import (
    MAX_DB_INT,
    DbId,
    Listing,
    Page,
    SessionDep,
    delete_artifact,
    get_or_404,
    listing_of,
)
from mistudio.api.errors import ApiError
from mistudio.core.config import DocumentedModel
from mistudio.core.data import Tokenization, TokenizeConfig, load_stats, tokenization_samples
from mistudio.core.language_models import load_tokenizer
from mistudio.store import (
    Dataset,
    LanguageModel,
    TokenizationRow,
)
from mistudio.store.model_load import model_load_config

router = APIRouter(prefix="/tokenizations", tags=["tokenizations"])


class TokenizationOut(ArtifactOut):
    dataset_id: int
    """The dataset tokenized."""
    model_id: int | None
    """The model whose tokenizer was used."""
    tokenizer_fingerprint: str | None
    """Hash of the tokenizer's vocabulary (activations need a matching model)."""
    max_length: int
    """Sequence length in tokens."""
    n_sequences: int | None
    """Sequences written."""
    n_tokens: int | None
    """Tokens written (padding excluded)."""
    config: dict[str, Any]
    """The :class:`TokenizeConfig` it ran with."""
    meta: dict[str, Any]
    """The tokenization's ``meta.json`` (tokenizer, counts, statistics)."""


class TokenizationCreate(DocumentedModel):
    dataset_id: DbId
    """The imported dataset to tokenize."""
    model_id: DbId
    """The model whose tokenizer to use."""
    config: TokenizeConfig = Field(default_factory=TokenizeConfig)
    """Sequence length, stride, packing, filters."""
    name: str | None = None
    """Display name (default: derived from the inputs)."""


@router.get("", operation_id="list_tokenizations", response_model=Page[TokenizationOut])
def list_tokenizations(
    listing: Annotated[
        Listing,
        listing_of(
            TokenizationOut, TokenizationRow, "created_at name n_tokens n_sequences max_length"
        ),
    ],
    dataset_id: DbId | None = None,
    model_id: DbId | None = None,
    status: str | None = None,
) -> Page[TokenizationOut]:
    """List tokenizations, filtered by dataset, model or status."""
    return listing.page(dataset_id=dataset_id, model_id=model_id, status=status)


@router.post(
    "", operation_id="create_tokenization", response_model=TokenizationOut, status_code=202
)
def create_tokenization(body: TokenizationCreate, session: SessionDep) -> TokenizationOut:
    """Tokenize a ready dataset with a model's tokenizer into fixed-length sequences (queues a
    job)."""
    dataset = ready_input(session, Dataset, body.dataset_id, "dataset", "; import it first")
    model = get_or_404(session, LanguageModel, body.model_id, "model")
    row = TokenizationRow(
        name=body.name or f"{dataset.name}-{model.name}-{body.config.max_length}",
        status="pending",
        dataset_id=dataset.id,
        model_id=model.id,
        max_length=body.config.max_length,
        config=body.config.model_dump(mode="json"),
        meta={},
        lineage={},
    )
    config = {"tokenize": body.config.model_dump(mode="json")}
    start_artifact_job(session, row, "tokenize", [dataset, model], config)
    return TokenizationOut.model_validate(row)


@router.get("/{tokenization_id}", operation_id="get_tokenization", response_model=TokenizationOut)
def get_tokenization(tokenization_id: DbId, session: SessionDep) -> TokenizationOut:
    """One tokenization."""
    return TokenizationOut.model_validate(
        get_or_404(session, TokenizationRow, tokenization_id, "tokenization")
    )


@router.get(
    "/{tokenization_id}/stats", operation_id="get_tokenization_stats", response_model=dict[str, Any]
)
def get_stats(tokenization_id: DbId, session: SessionDep) -> dict[str, Any]:
    """Token statistics (lengths, top tokens, coverage) computed at tokenization time."""

    row = get_or_404(session, TokenizationRow, tokenization_id, "tokenization")
    if row.status != "ready" or not row.path:
        raise ApiError(409, f"tokenization {tokenization_id} is {row.status}")
    return load_stats(Tokenization.open(row.path)).model_dump(mode="json")


@router.get(
    "/{tokenization_id}/samples",
    operation_id="list_tokenization_samples",
    response_model=list[dict[str, Any]],
)
def list_samples(
    tokenization_id: DbId,
    session: SessionDep,
    offset: int = Query(0, ge=0, le=MAX_DB_INT),
    limit: int = Query(10, ge=1, le=100),
) -> list[dict[str, Any]]:
    """Sequences with their tokens (loads only the tokenizer)."""

    row = get_or_404(session, TokenizationRow, tokenization_id, "tokenization")
    if row.status != "ready" or not row.path or row.model_id is None:
        raise ApiError(409, f"tokenization {tokenization_id} is {row.status}")
    model = get_or_404(session, LanguageModel, row.model_id, "model")
    tokenizer = load_tokenizer(model_load_config(model))
    return tokenization_samples(Tokenization.open(row.path), tokenizer, offset, limit)


@router.delete("/{tokenization_id}", operation_id="delete_tokenization", status_code=204)
def delete_tokenization(tokenization_id: DbId, session: SessionDep) -> None:
    """Delete a tokenization and its token arrays (409 while a job uses it)."""
    row = get_or_404(session, TokenizationRow, tokenization_id, "tokenization")
    delete_artifact(session, row, "tokenizations", "tokenization")
