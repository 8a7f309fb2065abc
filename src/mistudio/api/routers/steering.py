"""``/steering``: generate with SAE feature interventions beside the unsteered baseline.

A run is a ``steering_runs`` row plus a ``steer`` job (:mod:`mistudio.jobs.steering_jobs`). The
request names features by ``sae_id`` and latent index; a relative strength is a multiple of the
feature's max activation, read here from an extraction of that SAE (the one given, else the
newest ready one), so the job gets a complete, validated
:class:`~mistudio.core.steering.SteeringConfig`. A strength sweep is one job. Saved prompt sets
are templates of kind ``steering_prompt``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from mistudio.api.artifact_jobs import ArtifactOut, start_artifact_job
from mistudio.api.deps import (
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
from mistudio.core.steering import (
    MAX_PROMPTS,
    FeatureIntervention,
    InterventionOptions,
    SteeringConfig,
    SteeringOptions,
)
from mistudio.jobs.steering_jobs import EXPORT_FILE
from mistudio.store import (
    Extraction,
    Feature,
    LanguageModel,
    SAERow,
    SteeringRun,
)

router = APIRouter(prefix="/steering", tags=["steering"])


class SteeringFeature(InterventionOptions):
    """One feature to push on: the core :class:`InterventionOptions` plus its SAE's id (and the
    extraction a relative strength is read from)."""

    # As every request body: keys added by a newer client are ignored, not refused.
    model_config = ConfigDict(extra="ignore")

    sae_id: DbId
    """The SAE the latent belongs to."""
    extraction_id: DbId | None = None
    """Extraction giving the max activation (default: the SAE's newest ready extraction)."""


class SteeringCreate(SteeringOptions):
    """The core :class:`SteeringOptions` plus the prompts, the features (SAEs named by id) and
    the model; the router resolves them into the job's :class:`SteeringConfig`."""

    model_config = ConfigDict(extra="ignore")

    # A request's sizes are bounded (a sweep is one job, run serially on one GPU).
    strengths: list[float] | None = Field(default=None, max_length=32)
    """A sweep: one steered continuation per value; None uses each feature's own strength."""
    prompts: list[str] = Field(default_factory=list, max_length=MAX_PROMPTS)
    """Prompts to continue; each gets its own baseline (may be empty with a
    ``prompt_template``; together at most :data:`MAX_PROMPTS`)."""
    features: list[SteeringFeature] = Field(min_length=1, max_length=32)
    """Features applied together (one combined hook per hook point)."""
    model_id: DbId | None = None
    """Model to generate with (default: the first feature's SAE's model)."""
    name: str | None = None
    """Display name (default: derived from the inputs)."""


class SteeringRunOut(ArtifactOut):
    sae_id: int | None
    """The first feature's SAE."""
    model_id: int | None
    """The model generated with."""
    config: dict[str, Any]
    """The :class:`SteeringConfig` the job ran (SAEs named by id)."""
    result: dict[str, Any]
    """The whole run (``SteeringRun`` JSON: per prompt the baseline and one steered output per
    strength with KL, perplexity and similarity); empty until the job is done."""
    updated_at: dt.datetime
    """When the row last changed."""


class SteeringRunSummary(DocumentedModel):
    """A history row: the run without its outputs."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    """The run's id."""
    name: str
    """Display name."""
    status: str
    """``pending``, ``ready`` or ``failed``."""
    sae_id: int | None
    """The first feature's SAE."""
    model_id: int | None
    """The model generated with."""
    config: dict[str, Any]
    """The :class:`SteeringConfig` the job ran (SAEs named by id)."""
    job_id: str | None
    """The job that ran it."""
    error: str | None
    """Why its job failed."""
    created_at: dt.datetime
    """When it was requested."""


def _max_act(session: Session, feature: SteeringFeature) -> float:
    if feature.extraction_id is not None:
        extraction = get_or_404(session, Extraction, feature.extraction_id, "extraction")
        if extraction.sae_id != feature.sae_id:
            raise ApiError(
                422,
                f"extraction {extraction.id} is of SAE {extraction.sae_id}, not {feature.sae_id}",
            )
        extraction_id = extraction.id
    else:
        found = session.scalar(
            select(Extraction.id)
            .where(Extraction.sae_id == feature.sae_id, Extraction.status == "ready")
            .order_by(Extraction.created_at.desc(), Extraction.id.desc())
        )
        if found is None:
            raise ApiError(
                422,
                f"a relative strength needs the max activation of feature {feature.index}: "
                f"extract features of SAE {feature.sae_id} first (or use an absolute strength)",
            )
        extraction_id = found
    value = session.scalar(
        select(Feature.max_activation).where(
            Feature.extraction_id == extraction_id, Feature.index == feature.index
        )
    )
    if value is None:
        raise ApiError(422, f"extraction {extraction_id} has no feature {feature.index}")
    return float(value)


def _fields(body: DocumentedModel, base: type[DocumentedModel]) -> dict[str, Any]:
    """The values of ``body``'s fields that it inherits from the core class ``base``."""
    return {name: getattr(body, name) for name in base.model_fields}


def _config(session: Session, body: SteeringCreate) -> tuple[SteeringConfig, LanguageModel]:
    saes: dict[int, SAERow] = {}
    for f in body.features:
        if f.sae_id not in saes:
            saes[f.sae_id] = get_or_404(session, SAERow, f.sae_id, "SAE")
        sae = saes[f.sae_id]
        if sae.status != "ready" or not sae.path:
            raise ApiError(409, f"SAE {sae.id} is {sae.status}, not ready")
        if sae.d_sae is not None and f.index >= sae.d_sae:
            raise ApiError(
                422, f"feature {f.index} does not exist; SAE {sae.name} has 0..{sae.d_sae - 1}"
            )
    model_id = body.model_id or saes[body.features[0].sae_id].model_id
    if model_id is None:
        raise ApiError(422, "say which model to steer (model_id): the SAE records none")
    model = get_or_404(session, LanguageModel, model_id, "model")
    if model.status not in ("ready", "available"):
        raise ApiError(409, f"model {model.id} is {model.status}")
    for sae in saes.values():
        width = (model.hook_dims or {}).get(sae.hook_name or "")
        if width is not None and sae.d_in is not None and int(width) != sae.d_in:
            raise ApiError(
                422,
                f"SAE {sae.name} has d_in {sae.d_in} but {sae.hook_name} of model "
                f"{model.name} has width {width}",
            )
    interventions = [
        FeatureIntervention(
            sae=str(f.sae_id),
            max_act=_max_act(session, f) if f.relative and f.mode != "suppress" else None,
            **_fields(f, InterventionOptions),
        )
        for f in body.features
    ]
    config = SteeringConfig(
        prompts=body.prompts, interventions=interventions, **_fields(body, SteeringOptions)
    )
    return config, model


@router.post("", operation_id="create_steering_run", response_model=SteeringRunOut, status_code=202)
def create_steering_run(body: SteeringCreate, session: SessionDep) -> SteeringRunOut:
    """Queue a steering run (one job for every prompt and every strength of a sweep)."""
    config, model = _config(session, body)
    first = body.features[0]
    sweep = f" sweep x{len(body.strengths)}" if body.strengths else ""
    row = SteeringRun(
        name=body.name or f"steer {first.sae_id}:{first.index}{sweep}",
        status="pending",
        sae_id=first.sae_id,
        model_id=model.id,
        config=config.model_dump(mode="json"),
        result={},
        lineage={},
    )
    # Already read (and checked) by _config: these come from the session, not the database.
    saes = [get_or_404(session, SAERow, i, "SAE") for i in {f.sae_id for f in body.features}]
    start_artifact_job(session, row, "steer", [model, *saes])
    return SteeringRunOut.model_validate(row)


@router.get("", operation_id="list_steering_runs", response_model=Page[SteeringRunSummary])
def list_steering_runs(
    listing: Annotated[Listing, listing_of(SteeringRunSummary, SteeringRun, "created_at name")],
    model_id: DbId | None = None,
    sae_id: DbId | None = None,
    status: str | None = None,
) -> Page[SteeringRunSummary]:
    """History of steering runs (without their outputs; GET one for those)."""
    return listing.page(model_id=model_id, sae_id=sae_id, status=status)


@router.get("/{run_id}", operation_id="get_steering_run", response_model=SteeringRunOut)
def get_steering_run(run_id: DbId, session: SessionDep) -> SteeringRunOut:
    """One steering run with its outputs."""
    return SteeringRunOut.model_validate(get_or_404(session, SteeringRun, run_id, "steering run"))


@router.get(
    "/{run_id}/export",
    operation_id="export_steering_run",
    response_class=FileResponse,
    responses={200: {"content": {"application/json": {}}, "description": "The run as JSON"}},
)
def export_steering_run(run_id: DbId, session: SessionDep) -> FileResponse:
    """The run's JSON file (readable by ``SteeringRun.load`` and ``mistudio steer``'s tools)."""
    row = get_or_404(session, SteeringRun, run_id, "steering run")
    path = Path(row.path) / EXPORT_FILE if row.path else None
    if path is None or not path.is_file():
        raise ApiError(409, f"steering run {run_id} has no export yet (status {row.status})")
    return FileResponse(path, media_type="application/json", filename=f"steering-run-{run_id}.json")


@router.delete("/{run_id}", operation_id="delete_steering_run", status_code=204)
def delete_steering_run(run_id: DbId, session: SessionDep) -> None:
    """Delete a steering run."""
    row = get_or_404(session, SteeringRun, run_id, "steering run")
    delete_artifact(session, row, "steering", "steering run")
