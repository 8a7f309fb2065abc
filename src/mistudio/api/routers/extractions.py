"""``/extractions``: run an SAE over a tokenization to collect per-latent statistics and examples.

The job (:mod:`mistudio.jobs.extraction_jobs`) writes the arrays and one ``features`` row per
latent; ``/features`` pages them. With ``labeling`` the request also plans a labelling run, checked
here like ``POST /labeling`` and queued by the job once the extraction is ready
(:mod:`mistudio.jobs.extraction_labeling`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy import select

from mistudio.api.artifact_jobs import ArtifactOut, start_artifact_job
from mistudio.api.deps import (
    DbId,
    Listing,
    Page,
    SessionDep,
    delete_artifact,
    ensure_not_in_use,
    get_or_404,
    listing_of,
)
from mistudio.api.errors import ApiError
from mistudio.api.labeling_runs import checked_config
from mistudio.api.validation import check_hooks, check_tokenizer, check_width
from mistudio.core.config import DocumentedModel
from mistudio.core.features import ExtractionConfig
from mistudio.core.labeling import LabelingConfig
from mistudio.core.labeling.config import LabelingSelection
from mistudio.jobs.extraction_jobs import extraction_available
from mistudio.jobs.extraction_labeling import SECRET_NAME as FOLLOW_UP_SECRET
from mistudio.jobs.extraction_labeling import follow_up_plan
from mistudio.store import (
    Extraction,
    LabelingJob,
    LanguageModel,
    SAERow,
    TokenizationRow,
    remove_artifact_files,
)

router = APIRouter(prefix="/extractions", tags=["extractions"])


class ExtractionOut(ArtifactOut):
    sae_id: int
    """The SAE measured."""
    model_id: int | None
    """The model run."""
    tokenization_id: int | None
    """The evaluation tokens."""
    config: dict[str, Any]
    """The :class:`ExtractionConfig` it ran with."""
    n_features: int | None
    """Latents measured (the SAE's d_sae)."""
    result: dict[str, Any]
    """Summary of the run (tokens read, sequences); ``labeling``: ``{method, run_id}`` of the
    follow-up labelling run asked for with it (``run_id`` null until the extraction is ready)."""


class FollowUpLabeling(DocumentedModel):
    """A labelling run to queue when the extraction is ready (extract, then label)."""

    config: LabelingConfig = Field(default_factory=LabelingConfig)
    """Method, backend, prompt, scoring, as in ``POST /labeling``; ``api_key`` is write-only."""
    selection: LabelingSelection = Field(default_factory=LabelingSelection)
    """Which latents (default: every live latent)."""
    template_id: DbId | None = None
    """A ``labeling_prompt`` template whose config replaces ``config.prompt``."""


class ExtractionCreate(DocumentedModel):
    sae_id: DbId
    """The SAE whose latents to measure."""
    model_id: DbId
    """The model to run."""
    tokenization_id: DbId
    """The evaluation tokens."""
    config: ExtractionConfig = Field(default_factory=ExtractionConfig)
    """Evaluation tokens, top-k examples, context, histograms, co-activation."""
    name: str | None = None
    """Display name (default: derived from the inputs)."""
    labeling: FollowUpLabeling | None = None
    """Label the latents once extracted: the run is queued when the extraction succeeds and
    recorded in its ``result["labeling"]`` (``{method, run_id}``; ``run_id`` null until then)."""


@router.get("", operation_id="list_extractions", response_model=Page[ExtractionOut])
def list_extractions(
    listing: Annotated[
        Listing, listing_of(ExtractionOut, Extraction, "created_at name n_features")
    ],
    sae_id: DbId | None = None,
    status: str | None = None,
) -> Page[ExtractionOut]:
    """List feature extractions, filtered by SAE or status."""
    return listing.page(sae_id=sae_id, status=status)


@router.post("", operation_id="create_extraction", response_model=ExtractionOut, status_code=202)
def create_extraction(body: ExtractionCreate, session: SessionDep) -> ExtractionOut:
    """Measure an SAE's latents over evaluation tokens: statistics, top examples, histograms,
    logit lens (queues a job)."""
    sae = get_or_404(session, SAERow, body.sae_id, "SAE")
    model = get_or_404(session, LanguageModel, body.model_id, "model")
    tok = get_or_404(session, TokenizationRow, body.tokenization_id, "tokenization")
    check_tokenizer(model, tok)
    if sae.hook_name:
        check_hooks(model, [sae.hook_name])
        if sae.d_in is not None:
            check_width(model, sae.hook_name, sae.d_in, f"SAE {sae.name}")
    if not extraction_available():
        raise ApiError(501, "feature extraction is not available in this build yet")
    job_config: dict[str, Any] = {}
    secrets: dict[str, str | None] = {}
    result: dict[str, Any] = {}
    if body.labeling is not None:
        follow = body.labeling
        labeling = checked_config(session, follow.config, follow.template_id)
        job_config["then_label"] = follow_up_plan(labeling, follow.selection)
        if labeling.api_key is not None:
            secrets[FOLLOW_UP_SECRET] = labeling.api_key.get_secret_value()
        result["labeling"] = {"method": labeling.method, "run_id": None}
    row = Extraction(
        name=body.name or f"{sae.name}@{tok.name}",
        status="pending",
        sae_id=sae.id,
        model_id=model.id,
        tokenization_id=tok.id,
        config=body.config.model_dump(mode="json"),
        result=result,
        lineage={},
    )
    start_artifact_job(session, row, "extract", [sae, model, tok], job_config, secrets=secrets)
    return ExtractionOut.model_validate(row)


@router.get("/{extraction_id}", operation_id="get_extraction", response_model=ExtractionOut)
def get_extraction(extraction_id: DbId, session: SessionDep) -> ExtractionOut:
    """One extraction."""
    return ExtractionOut.model_validate(
        get_or_404(session, Extraction, extraction_id, "extraction")
    )


@router.delete("/{extraction_id}", operation_id="delete_extraction", status_code=204)
def delete_extraction(extraction_id: DbId, session: SessionDep) -> None:
    """Delete an extraction, its feature rows (cascade), its labelling runs and its arrays."""
    row = get_or_404(session, Extraction, extraction_id, "extraction")
    ensure_not_in_use(session, "extractions", extraction_id, "extraction")
    runs = session.scalars(select(LabelingJob).where(LabelingJob.extraction_id == extraction_id))
    paths = []
    for run in runs.all():
        paths.append(run.path)
        session.delete(run)
    session.flush()
    delete_artifact(session, row, "extractions", "extraction")
    for path in paths:
        remove_artifact_files(path)
