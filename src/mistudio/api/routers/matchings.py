"""``/lab/matchings``: the latents of one SAE matched to another's by decoder cosine.

``POST /lab/matchings`` takes two SAE ids and a :class:`MatchingConfig` and queues the
``matching`` job (:mod:`mistudio.jobs.matching_jobs`). Any two ready SAEs whose decoders write
the same width can be matched (different widths, architectures, layers, trained or imported);
an unknown SAE is a 404, one not ready a 409, different widths a 422, each one line, before any
row is written. ``GET /lab/matchings/{id}/pairs`` pages the pairs (sortable, filterable),
``GET /lab/matchings/{id}/download?form=csv|json`` streams them as a file.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field

from mistudio.api.artifact_jobs import ArtifactOut, ready_input, start_artifact_job
from mistudio.api.deps import DbId, Listing, SessionDep, delete_artifact, get_or_404, listing_of
from mistudio.api.deps import Page as ListPage
from mistudio.api.errors import ApiError
from mistudio.core.config import DocumentedModel
from mistudio.core.matching import MatchingConfig
from mistudio.core.matching_files import pairs_csv, pairs_json, read_pairs, read_summary
from mistudio.store import MatchingRow, SAERow

router = APIRouter(prefix="/lab/matchings", tags=["lab"])


class MatchingOut(ArtifactOut):
    sae_a_id: int
    """SAE A (each of its latents gets its best match in B)."""
    sae_b_id: int
    """SAE B."""
    config: dict[str, Any]
    """The :class:`MatchingConfig` it ran with."""
    result: dict[str, Any]
    """Summary once ready: ``n_a``, ``n_b``, ``d_in``, ``threshold``, ``share_matched``,
    ``share_b_covered``, ``matched``, ``mean_best_cosine``, ``histogram`` (``edges``,
    ``counts`` of the best cosines), ``n_splits``, ``seconds``, ``peak_block_bytes``,
    ``correlation`` (``tokens``, ``tokenization_id``, ``pairs``, ``mean`` of the activation
    correlations, or ``skipped`` with the reason: both SAEs need an extraction on the same
    tokenization)."""


class MatchingCreate(DocumentedModel):
    sae_a_id: DbId
    """SAE A (ready)."""
    sae_b_id: DbId
    """SAE B (ready; its decoder writes the same width as A's)."""
    config: MatchingConfig = Field(default_factory=MatchingConfig)
    """Thresholds and block sizes."""
    name: str | None = Field(default=None, min_length=1, max_length=200)
    """Display name (default: ``<A> ~ <B>``)."""


class MatchPair(DocumentedModel):
    a: int
    """Latent of A."""
    b: int
    """Its best match in B."""
    cosine: float
    """Their decoder cosine."""
    b_best_a_cosine: float
    """B latent's best cosine over all of A (below ``cosine`` never; equal when the pair is
    mutual best)."""
    split: bool
    """Whether ``a`` splits into several B latents (see ``splits``)."""
    act_corr: float | None = None
    """Pearson correlation of the two latents' activations on shared tokens (null: not measured,
    see ``result.correlation``, or one of them never fired there)."""


class SplitOut(DocumentedModel):
    a: int
    """The A latent."""
    parts: list[int]
    """B latents it splits into, best first."""
    cosines: list[float]
    """Their decoder cosines with ``a``."""
    weights: list[float]
    """Nonnegative least-squares weights of their unit directions."""
    r2_parts: float
    """Share of ``a``'s direction the parts explain together."""
    r2_best: float
    """Share the best single B latent explains."""


class PairPage(DocumentedModel):
    items: list[MatchPair]
    """This page's pairs."""
    total: int
    """Pairs matching the filters."""
    offset: int
    """Pairs skipped."""
    limit: int
    """Most pairs per page."""
    splits: list[SplitOut]
    """Every split of the matching (at most a few per cent of A)."""


def _width(sae: SAERow) -> int | None:
    cfg = sae.cfg or {}
    out = cfg.get("d_out") or cfg.get("d_in") or sae.d_in
    return int(out) if out else None


@router.post("", operation_id="create_matching", response_model=MatchingOut, status_code=202)
def create_matching(body: MatchingCreate, session: SessionDep) -> MatchingOut:
    """Match the latents of SAE A to SAE B's by decoder cosine (queues a ``matching`` job)."""
    a = ready_input(session, SAERow, body.sae_a_id, "SAE")
    b = ready_input(session, SAERow, body.sae_b_id, "SAE")
    wa, wb = _width(a), _width(b)
    if wa is not None and wb is not None and wa != wb:
        raise ApiError(
            422,
            f"SAE {a.id} writes width {wa} and SAE {b.id} width {wb}; "
            "only SAEs of the same activation width can be matched",
        )
    row = MatchingRow(
        name=body.name or f"{a.name} ~ {b.name}"[:200],
        status="pending",
        sae_a_id=a.id,
        sae_b_id=b.id,
        config=body.config.model_dump(mode="json"),
        result={},
        lineage={},
    )
    start_artifact_job(session, row, "matching", [a, b])
    return MatchingOut.model_validate(row)


@router.get("", operation_id="list_matchings", response_model=ListPage[MatchingOut])
def list_matchings(
    listing: Annotated[Listing, listing_of(MatchingOut, MatchingRow, "created_at name")],
    sae_id: DbId | None = None,
    status: str | None = None,
) -> ListPage[MatchingOut]:
    """List matchings, optionally those with ``sae_id`` on either side."""
    where = (
        (MatchingRow.sae_a_id == sae_id) | (MatchingRow.sae_b_id == sae_id)
        if sae_id is not None
        else None
    )
    return listing.page(where, status=status)


@router.get("/{matching_id}", operation_id="get_matching", response_model=MatchingOut)
def get_matching(matching_id: DbId, session: SessionDep) -> MatchingOut:
    """One matching: its SAEs, settings and summary."""
    return MatchingOut.model_validate(get_or_404(session, MatchingRow, matching_id, "matching"))


@router.delete("/{matching_id}", operation_id="delete_matching", status_code=204)
def delete_matching(matching_id: DbId, session: SessionDep) -> None:
    """Delete a matching and its files (refused while its job runs)."""
    row = get_or_404(session, MatchingRow, matching_id, "matching")
    delete_artifact(session, row, "matchings", "matching")


@router.get("/{matching_id}/pairs", operation_id="list_matching_pairs", response_model=PairPage)
def list_matching_pairs(
    matching_id: DbId,
    session: SessionDep,
    sort: Literal["a", "b", "cosine", "-cosine"] = Query(
        "-cosine", description="Order: latent of A, of B, cosine ascending or descending"
    ),
    offset: int = Query(0, ge=0, le=10_000_000, description="Pairs to skip"),
    limit: int = Query(100, ge=1, le=1000, description="Pairs per page"),
    min_cosine: float | None = Query(None, ge=-1, le=1, description="Only pairs at or above"),
    splits_only: bool = Query(False, description="Only A latents that split"),
) -> PairPage:
    """One page of the pairs (each A latent and its best B latent), and every split."""
    row = ready_input(session, MatchingRow, matching_id, "matching")
    assert row.path is not None
    total, items = read_pairs(row.path, sort, offset, limit, min_cosine, splits_only)
    splits = read_summary(row.path).get("splits", [])
    return PairPage(
        items=[MatchPair(**r) for r in items],
        total=total,
        offset=offset,
        limit=limit,
        splits=[SplitOut(**s) for s in splits],
    )


@router.get(
    "/{matching_id}/download",
    operation_id="download_matching",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def download_matching(
    matching_id: DbId,
    session: SessionDep,
    form: Literal["csv", "json"] = Query(
        "csv", description="csv: one row per pair; json: the summary, splits and pairs"
    ),
) -> Response:
    """Every pair as CSV, or the whole matching as JSON."""
    row = ready_input(session, MatchingRow, matching_id, "matching")
    assert row.path is not None
    stem = f"matching-{matching_id}"
    if form == "csv":
        body, media = pairs_csv(row.path), "text/csv"
    else:
        body, media = json.dumps(pairs_json(row.path)), "application/json"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{form}"'},
    )
