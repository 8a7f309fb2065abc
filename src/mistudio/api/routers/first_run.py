"""``/first-run``: "Try it on the built-in model", the studio's path from empty to labelled
features (issue 22).

``POST`` queues one ``first_run`` job (:mod:`mistudio.jobs.first_run_jobs`), refused with a 409
while another is queued or running; ``GET`` says whether the studio is empty (no model or dataset
of one's own yet: the Home view then offers the button) and which first-run job is the latest.
Both sit behind the same token and Host/Origin guard as every other route (``api.app``).
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from mistudio.api.deps import SessionDep, check_import_path
from mistudio.api.errors import ApiError
from mistudio.api.submit import submit_job
from mistudio.core.config import DocumentedModel
from mistudio.core.first_run import FirstRunConfig
from mistudio.jobs.first_run_jobs import KIND
from mistudio.jobs.lifecycle import new_job
from mistudio.settings import get_settings
from mistudio.store import Extraction, Job, LanguageModel, Training

router = APIRouter(prefix="/first-run", tags=["first-run"])

ACTIVE = ("queued", "running")


class FirstRunStart(DocumentedModel):
    """The request body: empty for the real first run."""

    quick: bool = False
    """Tiny token counts and SAE (seconds instead of minutes: tests and smoke runs)."""
    config: FirstRunConfig | None = None
    """Settings other than the defaults (``quick`` then only shrinks what this leaves unset);
    a model given as a path must lie under the import roots, as for ``POST /models``."""


class FirstRunState(DocumentedModel):
    empty: bool
    """No trained or imported work yet (no ready model besides the built-in rows, no training,
    no extraction): the studio offers the first run."""
    job_id: str | None
    """The latest first-run job, if any."""
    status: str | None
    """Its status (``queued``, ``running``, ``completed``, ``failed``, ``cancelled``)."""
    extraction_id: int | None
    """The labelled extraction a completed first run made (the Features panel opens it)."""


class FirstRunStarted(DocumentedModel):
    job_id: str
    """The queued ``first_run`` job (follow it on ``jobs/{id}``)."""


def _latest(session: SessionDep) -> Job | None:
    return session.scalar(
        select(Job).where(Job.kind == KIND).order_by(Job.created_at.desc()).limit(1)
    )


@router.get("", operation_id="get_first_run", response_model=FirstRunState)
def get_first_run(session: SessionDep) -> FirstRunState:
    """Whether the studio is empty, and the latest first run."""
    ready_models = session.scalar(
        select(func.count()).select_from(LanguageModel).where(LanguageModel.status == "ready")
    )
    trainings = session.scalar(select(func.count()).select_from(Training))
    extractions = session.scalar(select(func.count()).select_from(Extraction))
    job = _latest(session)
    extraction_id = (job.result or {}).get("extraction_id") if job is not None else None
    return FirstRunState(
        empty=not (ready_models or trainings or extractions),
        job_id=job.id if job is not None else None,
        status=job.status if job is not None else None,
        extraction_id=extraction_id if isinstance(extraction_id, int) else None,
    )


@router.post("", operation_id="start_first_run", response_model=FirstRunStarted, status_code=202)
def start_first_run(body: FirstRunStart, session: SessionDep) -> FirstRunStarted:
    """Queue the first run: the built-in model, a top-k SAE on layer 6 trained on the Python
    standard library, its features extracted and labelled (rules with scores, then patterns)."""
    busy = session.scalar(select(Job).where(Job.kind == KIND, Job.status.in_(ACTIVE)).limit(1))
    if busy is not None:
        raise ApiError(409, f"a first run is already {busy.status} (job {busy.id})")
    given = body.config.model_dump(exclude_unset=True) if body.config is not None else {}
    configured = get_settings().first_run_config
    if configured is not None and not given:
        given = FirstRunConfig.model_validate_json(configured.read_text()).model_dump()
    config = FirstRunConfig.quick(**given) if body.quick else FirstRunConfig(**given)
    for path in (config.model, config.corpus):
        if path.startswith(("/", "~", ".")):
            check_import_path(path)
    job = new_job(session, KIND, {"first_run": config.model_dump(mode="json")})
    submit_job(session, job)
    return FirstRunStarted(job_id=job.id)
