"""``/features``: browse an extraction's latents: search, sort, favourites, labels.

One row per latent in ``features``; the list is answered by indexed SQL (see
:mod:`mistudio.store.features`), so a 65k-latent SAE pages as fast as a 4k one.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from mistudio.api.deps import Page, PagingDep, SessionDep, get_or_404
from mistudio.store import Extraction, Feature
from mistudio.store.features import FeatureSort, list_features

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
    label: str | None
    category: str | None
    description: str | None
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
    get_or_404(session, Extraction, extraction_id, "extraction")
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
    )
    return Page(
        items=[FeatureOut.model_validate(r) for r in rows],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )


@router.get("/{feature_id}", operation_id="get_feature", response_model=FeatureOut)
def get_feature(feature_id: int, session: SessionDep) -> FeatureOut:
    return FeatureOut.model_validate(get_or_404(session, Feature, feature_id, "feature"))


@router.patch("/{feature_id}", operation_id="update_feature", response_model=FeatureOut)
def update_feature(feature_id: int, body: FeatureUpdate, session: SessionDep) -> FeatureOut:
    row = get_or_404(session, Feature, feature_id, "feature")
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(row, field, value)
    session.commit()
    return FeatureOut.model_validate(row)


@router.post("/{feature_id}/star", operation_id="toggle_feature_star", response_model=FeatureOut)
def toggle_star(feature_id: int, session: SessionDep) -> FeatureOut:
    """Flip the favourite flag."""
    row = get_or_404(session, Feature, feature_id, "feature")
    row.starred = not row.starred
    session.commit()
    return FeatureOut.model_validate(row)
