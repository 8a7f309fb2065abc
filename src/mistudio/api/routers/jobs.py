"""``/jobs``: every long operation's status, progress, log and events; cancel and retry."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field, field_validator
from sqlalchemy import select

from mistudio.api.deps import (
    MAX_ID,
    Listing,
    Page,
    SessionDep,
    get_or_404,
    listing_of,
)
from mistudio.core.config import DocumentedModel
from mistudio.jobs.events import event_dict
from mistudio.jobs.lifecycle import cancel_job, retry_job
from mistudio.store import Job, JobEvent

router = APIRouter(prefix="/jobs", tags=["jobs"])
JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]


class JobOut(DocumentedModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    """The job's id (a UUID)."""
    kind: str
    """What the job does (``tokenize``, ``train``, ``extract``, ...)."""
    queue: str
    """Worker queue it runs on (``cpu`` or ``gpu``)."""
    status: str
    """``queued``, ``running``, ``completed``, ``failed`` or ``cancelled``."""
    progress: float
    """Fraction done, 0..1."""
    eta_seconds: float | None
    """Estimated seconds left, once measurable."""
    message: str | None
    """Latest progress message (stage, step)."""
    config: dict[str, Any]
    """What the job was asked to do (the ids of its artifact and inputs)."""
    result: dict[str, Any]
    """What the job reported when it finished."""
    error: str | None
    """Why the job failed (one line)."""
    resumable: bool
    """Whether a retry continues from its last checkpoint."""
    cancel_requested: bool
    """A cancel was asked for and the worker has not stopped yet."""
    attempts: int
    """Times the job has started (retries included)."""
    heartbeat_at: dt.datetime | None
    """When the worker last reported the job alive."""
    worker: str | None
    """Name of the worker running it."""
    artifact_kind: str | None
    """Kind of artifact the job produces (``trainings``, ``saes``, ...)."""
    artifact_id: int | None
    """Id of that artifact."""
    resources: list[dict[str, Any]]
    """Artifacts the job reads or writes (``[{kind, id}]``); they cannot be deleted under it."""
    devices: list[str] = Field(default_factory=list)
    """Devices the job holds or held, one per rank (``["cuda:0", "cuda:1"]``, ``["cpu",
    "cpu"]``); empty for a job that names no device."""
    last_seq: int
    """Sequence number of its latest event (to resume a live stream)."""
    created_at: dt.datetime
    """When the job was queued first."""
    started_at: dt.datetime | None
    """When a worker started it."""
    finished_at: dt.datetime | None
    """When it ended."""

    @field_validator("devices", mode="before")
    @classmethod
    def _no_devices(cls, value: Any) -> Any:
        return value or []  # rows from before jobs recorded devices hold NULL


class JobLog(DocumentedModel):
    id: str
    """The job's id."""
    log: str
    """The job's log text."""


class JobEventOut(DocumentedModel):
    channel: str
    """WebSocket channel (``jobs/{id}``)."""
    job_id: str
    """The job the event belongs to."""
    seq: int
    """Per-job sequence number (increasing)."""
    type: str
    """What happened: ``status``, ``progress``, ``metric``, ``log``, ``cancelling``..."""
    data: dict[str, Any]
    """The event's payload."""
    id: int
    """The event row's id."""
    created_at: str | None
    """When the event was written (ISO 8601)."""


@router.get("", operation_id="list_jobs", response_model=Page[JobOut])
def list_jobs(
    listing: Annotated[Listing, listing_of(JobOut, Job, "created_at status kind progress")],
    status: JobStatus | None = None,
    kind: str | None = None,
) -> Page[JobOut]:
    """List jobs, filtered by status or kind."""
    return listing.page(status=status, kind=kind)


@router.get("/{job_id}", operation_id="get_job", response_model=JobOut)
def get_job(job_id: str, session: SessionDep) -> JobOut:
    """One job: status, progress, ETA and result."""
    return JobOut.model_validate(get_or_404(session, Job, job_id, "job"))


@router.get("/{job_id}/log", operation_id="get_job_log", response_model=JobLog)
def get_job_log(job_id: str, session: SessionDep) -> JobLog:
    """One job's log text."""
    job = get_or_404(session, Job, job_id, "job")
    return JobLog(id=job.id, log=job.log or "")


@router.get("/{job_id}/events", operation_id="list_job_events", response_model=list[JobEventOut])
def list_job_events(
    job_id: str,
    session: SessionDep,
    after: int = Query(0, ge=0, le=MAX_ID, description="Return events with seq greater than this"),
    limit: int = Query(500, ge=1, le=5000),
) -> list[JobEventOut]:
    """The same events the WebSocket pushes, for clients that poll (and for catching up)."""
    get_or_404(session, Job, job_id, "job")
    rows = session.scalars(
        select(JobEvent)
        .where(JobEvent.job_id == job_id, JobEvent.seq > after)
        .order_by(JobEvent.seq)
        .limit(limit)
    ).all()
    return [JobEventOut.model_validate(event_dict(r)) for r in rows]


@router.post("/{job_id}/cancel", operation_id="cancel_job", response_model=JobOut)
def cancel(job_id: str, session: SessionDep) -> JobOut:
    """Cancel a queued job now, or ask a running one to stop (it stops at its next report)."""
    cancel_job(job_id)
    session.expire_all()
    return JobOut.model_validate(get_or_404(session, Job, job_id, "job"))


@router.post("/{job_id}/retry", operation_id="retry_job", response_model=JobOut)
def retry(job_id: str, session: SessionDep) -> JobOut:
    """Run a failed or cancelled job again with the same config (training resumes)."""
    retry_job(job_id)
    session.expire_all()
    return JobOut.model_validate(get_or_404(session, Job, job_id, "job"))
