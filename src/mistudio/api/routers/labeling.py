"""``/labeling``: label an extraction's latents (rules, a local model, Ollama or an
OpenAI-compatible server), estimate what a run costs and how long it takes first, and list
past runs.

A run is a ``labeling_jobs`` row plus a ``label`` job (:mod:`mistudio.jobs.labeling_jobs`) that
writes each label into its ``features`` row. Prompts come from ``config.prompt`` or from a saved
``labeling_prompt`` template (``template_id``; a default one is seeded at start-up).

API keys: ``config.api_key`` is accepted in the request, sealed for the worker
(:mod:`mistudio.store.job_secrets`) and never stored in a row, an event, a log or a response;
without one the worker's environment (``MISTUDIO_OPENAI_API_KEY``) is used, but only for the
endpoint configured beside it (``MISTUDIO_OPENAI_BASE_URL``): a request naming another
``base_url`` must bring its own key (422 otherwise), and every ``base_url`` must be an http(s)
address that is not link-local or a cloud metadata service
(:meth:`~mistudio.core.labeling.LabelingConfig.check_endpoint`). Both are checked here, before
any row is written, and again by the worker.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from mistudio.api.deps import (
    DbId,
    Listing,
    Page,
    SessionDep,
    get_or_404,
    listing_of,
    open_extraction,
)
from mistudio.api.errors import ApiError
from mistudio.api.labeling_runs import (
    LabelingJobOut,
    checked_config,
    ready_extraction,
    start_labeling,
)
from mistudio.core.config import DocumentedModel
from mistudio.core.labeling import CostEstimate, LabelingConfig, estimate_cost
from mistudio.core.labeling.config import LabelingSelection
from mistudio.core.labeling.methods import uses_patterns
from mistudio.core.labeling.time_estimate import (
    PastRun,
    TimeEstimate,
    estimate_time,
    rate_from_runs,
    time_rules,
)
from mistudio.jobs.labeling_jobs import choose_indices
from mistudio.store import LabelingJob

router = APIRouter(prefix="/labeling", tags=["labeling"])


class LabelingCreate(DocumentedModel):
    extraction_id: DbId
    """Whose latents to label."""
    config: LabelingConfig = Field(default_factory=LabelingConfig)
    """Method, backend, prompt, scoring, pacing, prices; ``api_key`` is write-only."""
    selection: LabelingSelection = Field(default_factory=LabelingSelection)
    """Which latents (default: every live latent without a label)."""
    template_id: DbId | None = None
    """A ``labeling_prompt`` template whose config replaces ``config.prompt``."""
    name: str | None = None
    """Display name (default: derived from the inputs)."""


@router.post("", operation_id="create_labeling_job", response_model=LabelingJobOut, status_code=202)
def create_labeling_job(body: LabelingCreate, session: SessionDep) -> LabelingJobOut:
    """Label latents of an extraction; labels appear in ``/features`` as they arrive."""
    extraction = ready_extraction(session, body.extraction_id)
    config = checked_config(session, body.config, body.template_id)
    if body.selection.indices is not None and extraction.n_features is not None:
        bad = [i for i in body.selection.indices if not 0 <= i < extraction.n_features]
        if bad:
            raise ApiError(
                422, f"latent {bad[0]} does not exist; this SAE has 0..{extraction.n_features - 1}"
            )
    row = start_labeling(session, extraction, config, body.selection, body.name)
    return LabelingJobOut.model_validate(row)


@router.get("", operation_id="list_labeling_jobs", response_model=Page[LabelingJobOut])
def list_labeling_jobs(
    listing: Annotated[
        Listing, listing_of(LabelingJobOut, LabelingJob, "created_at name n_labeled")
    ],
    extraction_id: DbId | None = None,
    status: str | None = None,
) -> Page[LabelingJobOut]:
    """List labelling runs, filtered by extraction or status."""
    return listing.page(extraction_id=extraction_id, status=status)


class LabelingEstimate(CostEstimate):
    """Requests, tokens and money a run would spend, and how long it would take."""

    time: TimeEstimate
    """The run's time and what the estimate rests on (core/labeling/time_estimate.py)."""


PAST_RUNS = 50
"""Newest finished runs read for a measured rate (enough to find a few of one method)."""


def _past_runs(session: Session, config: LabelingConfig) -> list[PastRun]:
    """This studio's finished runs of the same method, model and scoring, newest first."""
    rows = session.scalars(
        select(LabelingJob)
        .where(LabelingJob.status == "ready")
        .order_by(LabelingJob.id.desc())
        .limit(PAST_RUNS)
    )
    runs = []
    for row in rows:
        cfg = (row.config or {}).get("labeling") or {}
        if (cfg.get("method"), cfg.get("model"), bool(cfg.get("score"))) != (
            config.method,
            config.model,
            config.score,
        ):
            continue
        summary = row.result or {}
        done = sum(int(summary.get(k) or 0) for k in ("labelled", "unclear", "failed"))
        runs.append(
            PastRun(
                seconds=float(summary.get("seconds") or 0.0),
                latents=done,
                requests=0,  # summaries do not count requests; tokens and latents are kept
                completion_tokens=int(summary.get("completion_tokens") or 0),
            )
        )
    return runs


@router.post("/estimate", operation_id="estimate_labeling_cost", response_model=LabelingEstimate)
def estimate_labeling_cost(body: LabelingCreate, session: SessionDep) -> LabelingEstimate:
    """Requests, tokens and money the run would spend (prompts of a sample of the selected
    latents rendered and extrapolated; ``rules`` costs nothing), and its time: rules timed now
    on a sample, other methods from this studio's past runs of the same method and model, else
    a typical rate (the answer says which). Nothing is sent anywhere."""

    extraction = ready_extraction(session, body.extraction_id)
    config = checked_config(session, body.config, body.template_id, count_use=False)
    assert extraction.path is not None
    result = open_extraction(extraction.path)
    indices = choose_indices(session, extraction.id, result, body.selection)
    cost = estimate_cost(result, indices, config)
    timed_now = config.method == "rules" or uses_patterns(config)
    rules_rate = time_rules(result, indices, config) if timed_now else None
    past = None if config.method == "rules" else rate_from_runs(_past_runs(session, config))
    return LabelingEstimate(**cost.model_dump(), time=estimate_time(cost, config, past, rules_rate))


@router.get("/{labeling_id}", operation_id="get_labeling_job", response_model=LabelingJobOut)
def get_labeling_job(labeling_id: DbId, session: SessionDep) -> LabelingJobOut:
    """One labelling run and its summary."""
    return LabelingJobOut.model_validate(
        get_or_404(session, LabelingJob, labeling_id, "labelling run")
    )
