"""``/labeling``: label an extraction's latents (rules, a local model, Ollama or an
OpenAI-compatible server), estimate what a paid run costs first, and list past runs.

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

import datetime as dt
from functools import lru_cache
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from mistudio.api.artifact_jobs import ArtifactOut, ready_input, start_artifact_job
from mistudio.api.deps import DbId, Page, PagingDep, SessionDep, get_or_404, page_response
from mistudio.api.errors import ApiError
from mistudio.core.config import DocumentedModel
from mistudio.core.labeling import METHODS, CostEstimate, LabelingConfig, PromptTemplate
from mistudio.core.labeling.config import LabelingSelection
from mistudio.jobs.labeling_jobs import choose_indices, queue_for_method
from mistudio.store import Extraction, LabelingJob, Template

router = APIRouter(prefix="/labeling", tags=["labeling"])


class LabelingJobOut(ArtifactOut):
    extraction_id: int
    """The extraction whose latents are labelled."""
    config: dict[str, Any]
    """``{"labeling": LabelingConfig without its key, "selection": ..., "api_key_given": bool}``."""
    n_labeled: int
    """Latents labelled so far."""
    result: dict[str, Any]
    """The run's summary (labelled, unclear, failed, scores, tokens, cost) once it is done."""
    updated_at: dt.datetime
    """When the row last changed."""


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


class RelabelRequest(DocumentedModel):
    """How to label one feature again (its old label is replaced)."""

    config: LabelingConfig = Field(default_factory=LabelingConfig)
    """Method, backend, prompt and scoring for this one feature."""
    template_id: DbId | None = None
    """A ``labeling_prompt`` template whose config replaces ``config.prompt``."""


def _prompt_from_template(session: Session, template_id: int, count_use: bool) -> PromptTemplate:
    template = get_or_404(session, Template, template_id, "template")
    if template.kind != "labeling_prompt":
        raise ApiError(422, f"template {template_id} is a {template.kind} template, not a prompt")
    if count_use:
        template.usage_count = (template.usage_count or 0) + 1
    return PromptTemplate.model_validate(template.config or {})


def checked_config(
    session: Session, config: LabelingConfig, template_id: int | None, count_use: bool = True
) -> LabelingConfig:
    """Refuse unknown methods, endpoints the server may not reach or may not send its key to
    (422), and apply a prompt template."""
    if config.method not in METHODS:
        raise ApiError(
            422, f"unknown labelling method {config.method!r}; have: {', '.join(sorted(METHODS))}"
        )
    if config.method in ("ollama", "openai") and not config.model:
        raise ApiError(422, f"the {config.method} method needs a model name")
    config.check_endpoint()
    if template_id is not None:
        prompt = _prompt_from_template(session, template_id, count_use)
        config = config.model_copy(update={"prompt": prompt})
    return config


def ready_extraction(session: Session, extraction_id: int) -> Extraction:
    extraction = ready_input(session, Extraction, extraction_id, "extraction", ", not ready")
    if not extraction.path:
        raise ApiError(409, f"extraction {extraction_id} has no arrays")
    return extraction


def start_labeling(
    session: Session,
    extraction: Extraction,
    config: LabelingConfig,
    selection: LabelingSelection,
    name: str | None = None,
) -> LabelingJob:
    """Queue a labelling run; the key (if any) is sealed for the worker, never stored."""
    key = config.api_key.get_secret_value() if config.api_key is not None else ""
    stored = {
        "labeling": config.model_dump(mode="json"),  # api_key is excluded from dumps
        "selection": selection.model_dump(mode="json"),
        "api_key_given": bool(key),
    }
    row = LabelingJob(
        name=name or f"{config.method} labels of {extraction.name}",
        status="pending",
        extraction_id=extraction.id,
        config=stored,
        n_labeled=0,
        result={},
        lineage={},
    )
    start_artifact_job(
        session,
        row,
        "label",
        [extraction],
        {"extraction_id": extraction.id, "method": config.method},
        queue=queue_for_method(config.method),
        secrets={"api_key": key},
    )
    return row


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
    session: SessionDep,
    paging: PagingDep,
    extraction_id: DbId | None = None,
    status: str | None = None,
    sort: str = "created_at",
    order: Literal["asc", "desc"] = "desc",
) -> Page[LabelingJobOut]:
    """List labelling runs, filtered by extraction or status."""
    stmt = select(LabelingJob)
    if extraction_id is not None:
        stmt = stmt.where(LabelingJob.extraction_id == extraction_id)
    if status:
        stmt = stmt.where(LabelingJob.status == status)
    return page_response(
        LabelingJobOut,
        session,
        stmt,
        LabelingJob,
        paging,
        sort,
        order,
        ("created_at", "name", "n_labeled"),
    )


@lru_cache(maxsize=4)
def _open_result(path: str) -> Any:
    from mistudio.core.features import ExtractionResult

    return ExtractionResult.open(path)


@router.post("/estimate", operation_id="estimate_labeling_cost", response_model=CostEstimate)
def estimate_labeling_cost(body: LabelingCreate, session: SessionDep) -> CostEstimate:
    """Requests, tokens and money the run would spend (prompts of a sample of the selected
    latents rendered and extrapolated; ``rules`` costs nothing). Nothing is sent anywhere."""
    from mistudio.core.labeling import estimate_cost

    extraction = ready_extraction(session, body.extraction_id)
    config = checked_config(session, body.config, body.template_id, count_use=False)
    assert extraction.path is not None
    result = _open_result(extraction.path)
    indices = choose_indices(session, extraction.id, result, body.selection)
    return estimate_cost(result, indices, config)


@router.get("/{labeling_id}", operation_id="get_labeling_job", response_model=LabelingJobOut)
def get_labeling_job(labeling_id: DbId, session: SessionDep) -> LabelingJobOut:
    """One labelling run and its summary."""
    return LabelingJobOut.model_validate(
        get_or_404(session, LabelingJob, labeling_id, "labelling run")
    )
