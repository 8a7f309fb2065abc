"""``/jobs``: every long operation's status, progress, log and events; cancel and retry."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from mistudio.api.deps import (
    MAX_ID,
    Page,
    PagingDep,
    SessionDep,
    get_or_404,
    page_response,
)
from mistudio.jobs.events import event_dict
from mistudio.jobs.lifecycle import cancel_job, retry_job
from mistudio.store import Job, JobEvent

router = APIRouter(prefix="/jobs", tags=["jobs"])
JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    queue: str
    status: str
    progress: float
    eta_seconds: float | None
    message: str | None
    config: dict[str, Any]
    result: dict[str, Any]
    error: str | None
    resumable: bool
    cancel_requested: bool
    attempts: int
    heartbeat_at: dt.datetime | None
    worker: str | None
    artifact_kind: str | None
    artifact_id: int | None
    resources: list[dict[str, Any]]
    last_seq: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class JobLog(BaseModel):
    id: str
    log: str


class JobEventOut(BaseModel):
    channel: str
    job_id: str
    seq: int
    type: str
    data: dict[str, Any]
    id: int
    created_at: str | None


@router.get("", operation_id="list_jobs", response_model=Page[JobOut])
def list_jobs(
    session: SessionDep,
    paging: PagingDep,
    status: JobStatus | None = None,
    kind: str | None = None,
    sort: str = "created_at",
    order: Literal["asc", "desc"] = "desc",
) -> Page[JobOut]:
    stmt = select(Job)
    if status:
        stmt = stmt.where(Job.status == status)
    if kind:
        stmt = stmt.where(Job.kind == kind)
    return page_response(
        JobOut,
        session,
        stmt,
        Job,
        paging,
        sort,
        order,
        ("created_at", "status", "kind", "progress"),
    )


@router.get("/{job_id}", operation_id="get_job", response_model=JobOut)
def get_job(job_id: str, session: SessionDep) -> JobOut:
    return JobOut.model_validate(get_or_404(session, Job, job_id, "job"))


@router.get("/{job_id}/log", operation_id="get_job_log", response_model=JobLog)
def get_job_log(job_id: str, session: SessionDep) -> JobLog:
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
