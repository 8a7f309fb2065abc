"""``/features``: browse an extraction's latents: search, sort, favourites, labels.

One row per latent in ``features``; the list is answered by indexed SQL (see
:mod:`mistudio.store.features`), so a 65k-latent SAE pages as fast as a 4k one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from functools import lru_cache
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from mistudio.api.deps import Page, PagingDep, SessionDep, get_or_404
from mistudio.api.errors import ApiError
from mistudio.api.routers.labeling import (
    LabelingJobOut,
    RelabelRequest,
    checked_config,
    ready_extraction,
    start_labeling,
)
from mistudio.jobs.labeling_jobs import LabelingSelection
from mistudio.store import Extraction, Feature, utcnow
from mistudio.store.features import FeatureSort, invalidate_counts, list_features

router = APIRouter(prefix="/features", tags=["features"])


class FeatureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    extraction_id: int
    sae_id: int
    index: int
    frequency: float | None
    max_activation: float | None
    mean_activation: float | None
    interpretability: float | None
    """The label's score (mean detection/fuzzing balanced accuracy) when a labelling run scored
    it, else ``interpretability_proxy``."""
    interpretability_proxy: float | None
    """The extraction's label-free estimate."""
    label: str | None
    category: str | None
    description: str | None
    label_status: str | None
    """``labelled`` / ``unclear``; None when never labelled."""
    label_confidence: float | None
    label_method: str | None
    """``rules``, ``local``, ``ollama``, ``openai``, or ``manual`` for a hand edit."""
    label_model: str | None
    detection_score: float | None
    fuzzing_score: float | None
    labeled_at: dt.datetime | None
    starred: bool
    top_tokens: str | None


class FeatureUpdate(BaseModel):
    """Fields a researcher edits; omitted fields are left as they are."""

    label: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=5000)
    category: str | None = Field(default=None, max_length=64)
    starred: bool | None = None


@router.get("", operation_id="list_features", response_model=Page[FeatureOut])
def list_features_route(
    session: SessionDep,
    paging: PagingDep,
    extraction_id: int = Query(..., description="Whose features"),
    q: str | None = Query(
        None, description="Words in label, description or top tokens, or an index"
    ),
    sort: FeatureSort = "index",
    order: Literal["asc", "desc"] = "asc",
    starred: bool | None = Query(None, description="Only favourites (true) or only others"),
    category: str | None = None,
) -> Page[FeatureOut]:
    extraction = get_or_404(session, Extraction, extraction_id, "extraction")
    rows, total = list_features(
        session,
        extraction_id,
        search=q,
        starred=starred,
        category=category,
        sort=sort,
        descending=order == "desc",
        offset=paging.offset,
        limit=paging.limit,
        cache_total=extraction.status == "ready",
        cache_version=extraction.updated_at,
    )
    return Page(
        items=[FeatureOut.model_validate(r) for r in rows],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )


class SemanticHit(BaseModel):
    feature: FeatureOut
    similarity: float
    """Cosine similarity of the query to the feature's "label. category. description"."""


@router.get("/semantic", operation_id="semantic_search_features", response_model=list[SemanticHit])
def semantic_search_features(
    session: SessionDep,
    extraction_id: int = Query(..., description="Whose labelled features"),
    q: str = Query(..., min_length=1, max_length=500, description="What the feature is about"),
    k: int = Query(20, ge=1, le=200, description="Hits to return"),
) -> list[SemanticHit]:
    """Labelled features ranked by meaning (all-MiniLM-L6-v2 embeddings of their labels). The
    index is built on the first search of an extraction and rebuilt when its labels change."""
    from mistudio.store.semantic_search import semantic_search

    extraction = get_or_404(session, Extraction, extraction_id, "extraction")
    return [
        SemanticHit(feature=FeatureOut.model_validate(row), similarity=similarity)
        for row, similarity in semantic_search(session, extraction, q, k)
    ]


@router.get("/{feature_id}", operation_id="get_feature", response_model=FeatureOut)
def get_feature(feature_id: int, session: SessionDep) -> FeatureOut:
    return FeatureOut.model_validate(get_or_404(session, Feature, feature_id, "feature"))


class FeatureDetail(BaseModel):
    """One latent's page, sliced from the extraction's arrays."""

    feature: FeatureOut
    stats: dict[str, Any]
    examples: list[dict[str, Any]]
    histogram: dict[str, Any]
    logit_lens: dict[str, Any]
    correlated: dict[str, Any]


@lru_cache(maxsize=8)
def _open_extraction(path: str) -> Any:
    # Opening memory-maps arrays and loads the saved tokenizer; keep a few open.
    from mistudio.core.features import ExtractionResult

    return ExtractionResult.open(path)


@router.get("/{feature_id}/detail", operation_id="get_feature_detail", response_model=FeatureDetail)
def get_feature_detail(
    feature_id: int,
    session: SessionDep,
    examples: int = Query(20, ge=0, le=200, description="Top examples to include"),
) -> FeatureDetail:
    """Statistics, top examples (text as token strings; render as text), activation histogram,
    logit lens and correlated latents of one latent."""
    row = get_or_404(session, Feature, feature_id, "feature")
    extraction = get_or_404(session, Extraction, row.extraction_id, "extraction")
    if not extraction.path:
        raise ApiError(
            409, f"extraction {extraction.id} has no arrays (status {extraction.status})"
        )
    result = _open_extraction(extraction.path)
    tokenizer = result.tokenizer()
    hist = result.histogram(row.index)
    lens = result.logit_lens(row.index, tokenizer)
    return FeatureDetail(
        feature=FeatureOut.model_validate(row),
        stats=asdict(result.stats(row.index, tokenizer)),
        examples=[asdict(e) for e in result.examples(row.index, tokenizer, limit=examples)],
        histogram={"edges": hist.edges.tolist(), "counts": hist.counts.tolist()},
        logit_lens={
            "positive": [[t, v] for t, v in lens.positive],
            "negative": [[t, v] for t, v in lens.negative],
            "positive_text": lens.positive_text,
            "negative_text": lens.negative_text,
            "hist_counts": lens.hist_counts.tolist(),
            "hist_range": list(lens.hist_range),
        },
        correlated={
            k: [[i, v] for i, v in pairs]
            for k, pairs in asdict(result.correlated(row.index)).items()
        },
    )


@router.patch("/{feature_id}", operation_id="update_feature", response_model=FeatureOut)
def update_feature(feature_id: int, body: FeatureUpdate, session: SessionDep) -> FeatureOut:
    row = get_or_404(session, Feature, feature_id, "feature")
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(row, field, value)
    if changes.keys() & {"label", "description", "category"}:
        # A hand edit: the label is the researcher's now (and the semantic index is stale).
        row.label_method, row.label_model, row.labeled_at = "manual", None, utcnow()
        row.label_status = "labelled" if row.label else None
    session.commit()
    invalidate_counts(row.extraction_id)
    return FeatureOut.model_validate(row)


@router.post("/{feature_id}/star", operation_id="toggle_feature_star", response_model=FeatureOut)
def toggle_star(feature_id: int, session: SessionDep) -> FeatureOut:
    """Flip the favourite flag."""
    row = get_or_404(session, Feature, feature_id, "feature")
    row.starred = not row.starred
    session.commit()
    invalidate_counts(row.extraction_id)
    return FeatureOut.model_validate(row)


@router.post(
    "/{feature_id}/relabel",
    operation_id="relabel_feature",
    response_model=LabelingJobOut,
    status_code=202,
)
def relabel_feature(feature_id: int, body: RelabelRequest, session: SessionDep) -> LabelingJobOut:
    """Label one feature again (a one-latent ``label`` job; its row changes when it is done)."""
    row = get_or_404(session, Feature, feature_id, "feature")
    extraction = ready_extraction(session, row.extraction_id)
    config = checked_config(session, body.config, body.template_id)
    selection = LabelingSelection(indices=[row.index], only_unlabelled=False)
    run = start_labeling(
        session, extraction, config, selection, f"relabel {row.index} ({config.method})"
    )
    return LabelingJobOut.model_validate(run)
