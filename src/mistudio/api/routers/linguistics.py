"""Linguistic analysis of an extraction's latents: start it, read one latent's summary.

``POST /extractions/{id}/linguistics`` queues the ``linguistic_analysis`` job
(:mod:`mistudio.jobs.linguistics_jobs`) on a ready extraction and records its job id in the
extraction's ``result.linguistics``, which the studio follows; spaCy missing is one line saying
``pip install mistudio[nlp]`` (422) before anything is queued, and a second request while one
runs is a 409. ``GET /features/{id}/linguistics`` answers one latent's summary from the
extraction folder (one seek, :class:`mistudio.core.linguistics.Linguistics`); the feature list
filters on the columns the job copied into the rows (``GET /features?ling_category=...``).
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import Field

from mistudio.api.artifact_jobs import ready_input
from mistudio.api.deps import BigDbId, DbId, SessionDep, get_or_404
from mistudio.api.errors import ApiError
from mistudio.api.submit import submit_job
from mistudio.core.config import DocumentedModel
from mistudio.core.linguistics import LinguisticConfig, Linguistics, installed_pipeline
from mistudio.jobs.lifecycle import new_job
from mistudio.store import Extraction, Feature, Job

router = APIRouter(tags=["linguistics"])


class LinguisticsStarted(DocumentedModel):
    """The queued analysis."""

    extraction_id: int
    """The extraction analysed."""
    job_id: str
    """The ``linguistic_analysis`` job (follow it under ``/jobs/{id}``)."""
    pipeline: str
    """The spaCy pipeline package that will read prose."""


class LinguisticSummaryOut(DocumentedModel):
    """What a latent's top-activating tokens are (:class:`mistudio.core.linguistics.
    LinguisticSummary`); shares are of ``n_examples``."""

    index: int
    """Latent index."""
    n_examples: int
    """Activating tokens analysed (its top examples)."""
    code_share: float
    """Share of examples whose window reads as code."""
    top_category: str | None
    """Most frequent category: a universal part of speech (``VERB``) or ``code:<class>``."""
    top_share: float
    """Its share."""
    categories: dict[str, float]
    """Share of every category seen, largest first."""
    entities: dict[str, float]
    """Share of examples inside a named entity, per type (``PERSON``, ``GPE``, ...)."""
    stop_share: float
    """Share on an English stop word."""
    punct_share: float
    """Share on punctuation or a code operator."""
    number_share: float
    """Share on a number."""
    top_lemmas: list[tuple[str, float]] = Field(default_factory=list)
    """Most frequent lemmas (prose) or token texts (code), with shares."""
    category_lemmas: list[tuple[str, float]] = Field(default_factory=list)
    """The same among the examples of ``top_category``."""
    text: str
    """One line for people (``82% verbs; lemmas: say/tell/ask``)."""
    pipeline: str
    """The spaCy pipeline that read the prose."""


def _running(session: SessionDep, extraction_id: int) -> Job | None:
    row = session.get(Extraction, extraction_id)
    job_id = ((row.result or {}).get("linguistics") or {}).get("job_id") if row else None
    job = session.get(Job, job_id) if job_id else None
    return job if job is not None and job.status in ("queued", "running") else None


@router.post(
    "/extractions/{extraction_id}/linguistics",
    operation_id="start_linguistic_analysis",
    response_model=LinguisticsStarted,
    status_code=202,
)
def start_linguistic_analysis(
    extraction_id: DbId, body: LinguisticConfig, session: SessionDep
) -> LinguisticsStarted:
    """Read every latent's top examples linguistically (part of speech, lemma, entity, code
    class) and summarise them per latent (queues a job; needs ``mistudio[nlp]``)."""
    row = ready_input(session, Extraction, extraction_id, "extraction", "; wait for it to finish")
    pipeline = installed_pipeline(body.spacy_pipeline)
    if (job := _running(session, extraction_id)) is not None:
        raise ApiError(409, f"a linguistic analysis of this extraction is {job.status} ({job.id})")
    job = new_job(
        session,
        "linguistic_analysis",
        {"extraction_id": row.id, "linguistics": body.model_dump(mode="json")},
        artifact=("extractions", row.id),
    )
    previous = (row.result or {}).get("linguistics") or {}
    row.result = {
        **(row.result or {}),
        "linguistics": {**previous, "job_id": job.id, "ready": bool(previous.get("ready"))},
    }
    submit_job(session, job)
    return LinguisticsStarted(extraction_id=row.id, job_id=job.id, pipeline=pipeline)


@router.get(
    "/features/{feature_id}/linguistics",
    operation_id="get_feature_linguistics",
    response_model=LinguisticSummaryOut,
)
def get_feature_linguistics(feature_id: BigDbId, session: SessionDep) -> LinguisticSummaryOut:
    """One latent's linguistic summary (404 until the extraction was analysed)."""
    feature = get_or_404(session, Feature, feature_id, "feature")
    extraction = get_or_404(session, Extraction, feature.extraction_id, "extraction")
    if not extraction.path or not Linguistics.exists(extraction.path):
        raise ApiError(
            404,
            f"extraction {extraction.id} has no linguistic analysis yet; run it from the "
            "Features panel or POST /extractions/{id}/linguistics",
        )
    ling = Linguistics.open(extraction.path)
    return LinguisticSummaryOut(**asdict(ling.summary(feature.index)), pipeline=ling.meta.pipeline)
