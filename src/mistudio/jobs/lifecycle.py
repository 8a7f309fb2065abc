"""Job lifecycle seen from outside a worker: create, dispatch, cancel, retry, reap.

A job row is written (status ``queued``) before its Celery message is sent, so the API can
answer for it at once and a lost message is visible as a job that never started. The Celery task
id is ``<job id>.<attempt>`` so a retry is a new message that a revoke of the old one cannot hit.

A send that fails (broker down) fails the job at once with the broker's error, and the caller
gets :class:`BrokerUnreachableError` (503). A row whose message never went at all (the API died
between commit and send) keeps ``dispatched_at`` older than ``queued_at``; the reaper fails it
after ``stale_after_seconds``. A job whose message *was* sent is never reaped while it waits: it
may sit in the queue behind a long training for hours.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from mistudio.errors import InvalidInputError, MiStudioError, NotFoundError
from mistudio.jobs.app import broker_supports_broadcast, celery_app
from mistudio.jobs.events import add_event, event_dict, publish
from mistudio.jobs.kinds import load_handlers, queue_for
from mistudio.settings import get_settings
from mistudio.store import (
    ARTIFACT_TABLES,
    Job,
    JobEvent,
    artifact_dir,
    remove_artifact_files,
    session_scope,
    utcnow,
)

log = logging.getLogger(__name__)
ACTIVE = ("queued", "running")
TERMINAL = ("completed", "failed", "cancelled")


class JobStateError(InvalidInputError):
    """The job is not in a state that allows the request (cancel a finished job, ...)."""


class BrokerUnreachableError(MiStudioError):
    """The job's message could not be sent; the job is already marked failed (API: 503)."""


def new_job(
    session: Session,
    kind: str,
    config: dict[str, Any],
    artifact: tuple[str, int] | None = None,
    resources: list[tuple[str, int]] | None = None,
    queue: str | None = None,
) -> Job:
    """Add a queued job (and its first event) to ``session``; :func:`dispatch` it after commit.

    The job runs on the queue its handler declares (:mod:`mistudio.jobs.handlers`) unless
    ``queue`` overrides it (a labelling run goes to ``gpu`` only for a local model).
    """
    refs = [{"kind": k, "id": i} for k, i in (resources or [])]
    if artifact is not None and {"kind": artifact[0], "id": artifact[1]} not in refs:
        refs.append({"kind": artifact[0], "id": artifact[1]})
    job = Job(
        id=uuid.uuid4().hex,
        kind=kind,
        queue=queue or queue_for(kind),
        status="queued",
        progress=0.0,
        config=config,
        result={},
        log="",
        resources=refs,
        artifact_kind=artifact[0] if artifact else None,
        artifact_id=artifact[1] if artifact else None,
        created_at=utcnow(),
        queued_at=utcnow(),
        last_seq=0,
    )
    session.add(job)
    session.flush()
    add_event(session, job.id, "status", {"status": "queued", "progress": 0.0})
    return job


def dispatch(job_id: str, queue: str, attempt: int) -> None:
    """Send the Celery message that runs ``job_id`` (after the row is committed) and stamp
    ``dispatched_at``; if the broker refuses, fail the job and raise
    :class:`BrokerUnreachableError` with the broker's error in one line."""
    try:
        celery_app().send_task(
            "mistudio.run_job", args=[job_id], queue=queue, task_id=f"{job_id}.{attempt}"
        )
    except Exception as exc:  # kombu raises many kinds (OperationalError, ConnectionError, ...)
        error = f"could not queue the job: broker unreachable ({_one_line(exc)})"
        log.warning("job %s: %s", job_id, error)
        _fail_queued(job_id, error)
        raise BrokerUnreachableError(error) from exc
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == job_id).values(dispatched_at=utcnow()))


_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]*@")


def _one_line(exc: BaseException) -> str:
    """First line of an exception, without any ``user:password@`` of a URL in it."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return _CREDENTIALS.sub(r"\1***@", first)[:300]


def _fail_queued(job_id: str, error: str) -> None:
    """Fail a job that never reached a worker (its artifact too), if it is still queued."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None or job.status != "queued":
            return
        job.status = "failed"
        job.finished_at = utcnow()
        job.error = error
        job.message = error
        set_artifact_status(session, job, "failed", error)
        wire = event_dict(
            add_event(session, job_id, "status", {"status": "failed", "error": error})
        )
    publish(wire)


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id}")
    return job


def set_artifact_status(session: Session, job: Job, status: str, error: str | None = None) -> None:
    """Mirror a job's outcome on the artifact it produces."""
    if job.artifact_kind is None or job.artifact_id is None:
        return
    table = ARTIFACT_TABLES.get(job.artifact_kind)
    if table is None:
        return
    row = session.get(table, job.artifact_id)
    if row is not None:
        row.status = status
        row.error = error
        if row.job_id is None:  # a dispatch that failed before the caller could link them
            row.job_id = job.id


def cancel_job(job_id: str) -> Job:
    """Cancel a queued job at once, or ask a running one to stop at its next progress report."""
    with session_scope() as session:
        job = get_job(session, job_id)
        if job.status in TERMINAL:
            raise JobStateError(f"job {job_id} is already {job.status}")
        job.cancel_requested = True
        if job.status == "queued":
            job.status = "cancelled"
            job.finished_at = utcnow()
            job.message = "cancelled before it started"
            set_artifact_status(session, job, "cancelled")
            wire = event_dict(add_event(session, job.id, "status", {"status": "cancelled"}))
        else:
            wire = event_dict(add_event(session, job.id, "cancelling", {"status": "running"}))
        attempt = job.attempts
    publish(wire)
    _revoke(f"{job_id}.{attempt}")
    return job


def _revoke(task_id: str) -> None:
    if not broker_supports_broadcast(get_settings().celery_broker_url):
        return  # the cooperative stop flag does the work
    try:
        celery_app().control.revoke(task_id)
    except Exception as exc:  # revoke is best effort; the stop flag is authoritative
        log.warning("revoke of %s failed: %s", task_id, exc)


def retry_job(job_id: str) -> Job:
    """Queue a failed or cancelled job again with the same config (resuming where it can)."""
    with session_scope() as session:
        job = get_job(session, job_id)
        if job.status not in ("failed", "cancelled"):
            raise JobStateError(
                f"only failed or cancelled jobs can be retried; {job_id} is {job.status}"
            )
        job.status = "queued"
        job.cancel_requested = False
        job.error = None
        job.eta_seconds = None
        job.finished_at = None
        job.queued_at = utcnow()
        job.dispatched_at = None
        job.heartbeat_at = None
        job.message = "queued again (retry)"
        set_artifact_status(session, job, "pending")
        wire = event_dict(
            add_event(session, job.id, "status", {"status": "queued", "retry": job.attempts + 1})
        )
        queue, attempt = job.queue, job.attempts + 1
    publish(wire)
    dispatch(job_id, queue, attempt)
    return job


def reap_stale_jobs(stale_after: float | None = None) -> list[str]:
    """Deal with running jobs whose worker stopped heart-beating (:func:`worker_lost`: queued
    again to resume elsewhere, or failed), and fail queued jobs whose message was never sent
    (see the module docstring).

    Called periodically by the API and when a worker starts. A worker killed with SIGKILL (or a
    machine that lost power) can never report its own death; its heartbeat just stops.
    """
    stale = stale_after if stale_after is not None else get_settings().stale_after_seconds
    cutoff = utcnow() - dt.timedelta(seconds=stale)
    with session_scope() as session:
        rows = session.execute(
            select(Job.id, Job.attempts)
            .where(Job.status == "running")
            .where(
                or_(
                    Job.heartbeat_at < cutoff,
                    Job.heartbeat_at.is_(None) & (Job.started_at < cutoff),
                )
            )
        ).all()
    reaped = [
        job_id
        for job_id, attempts in rows
        if worker_lost(job_id, f"sent no heartbeat for over {stale:.0f} s", attempts)
    ]
    if reaped:
        log.warning("reaped %d job(s) whose worker was lost: %s", len(reaped), reaped)
    return reaped + _reap_unsent(cutoff)


def worker_lost(job_id: str, why: str, attempt: int | None = None) -> bool:
    """The worker running attempt ``attempt`` of ``job_id`` is gone (``why``: no heartbeat, died
    holding its GPU: a phrase that follows the machine's name). A resumable job started at most
    ``MISTUDIO_JOB_AUTO_RETRIES`` times is queued again, to resume from its last checkpoint on
    whichever worker takes it; any other job fails with one line (resumable ones keep their
    files for a human's retry, the others lose their partial output). Returns whether this call
    dealt with it.

    The API's reaper, a starting worker's reaper and a worker that finds a dead holder's GPU
    lock may all see the same lost job at once. The change is therefore one conditional UPDATE
    (still ``running``, still attempt ``attempt``): on PostgreSQL the second writer waits for the
    first and then matches no row, on SQLite writes are serialised; only the caller whose UPDATE
    matched sends the new message, so a lost job is never queued twice.
    """
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None or job.status != "running":
            return False
        attempt = job.attempts if attempt is None else attempt
        handler = load_handlers().get(job.kind)
        resumable = handler.resumable if handler is not None else True
        retries = get_settings().job_auto_retries
        requeue = resumable and attempt <= retries
        machine = (job.worker or "its worker").rsplit(":", 1)[0]
        step = _last_step(session, job_id)
        at = f" at step {step}" if step is not None else ""
        if requeue:
            message = (
                f"worker {machine} lost{at} ({why}); queued again to resume on another worker "
                f"(automatic retry {attempt} of {retries})"
            )
            values: dict[str, Any] = {
                "status": "queued",
                "queued_at": utcnow(),
                "dispatched_at": None,
                "heartbeat_at": None,
                "finished_at": None,
                "error": None,
            }
        else:
            then = "retry to resume" if resumable else "retry to run it again"
            where = f" (at step {step})" if step is not None else ""
            message = f"worker lost: {machine} {why}{where}; {then}"
            values = {"status": "failed", "finished_at": utcnow(), "error": message}
        claim = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running", Job.attempts == attempt)
            .values(message=message, resumable=resumable, eta_seconds=None, **values)
            .execution_options(synchronize_session=False)
        )
        if cast("CursorResult[Any]", claim).rowcount != 1:
            return False  # another reaper (or the worker itself) got there first
        session.refresh(job)
        set_artifact_status(
            session, job, "pending" if requeue else "failed", None if requeue else message
        )
        data: dict[str, Any] = {"status": job.status, "resumable": resumable}
        if requeue:
            data.update(retry=attempt + 1, automatic=True, message=message, lost_worker=machine)
            data["lost_step"] = step
        else:
            data["error"] = message
        wire = event_dict(add_event(session, job_id, "status", data))
        queue, artifact = job.queue, (job.artifact_kind, job.artifact_id)
    publish(wire)
    log.warning("job %s: %s", job_id, message)
    if requeue:
        with contextlib.suppress(BrokerUnreachableError):  # then dispatch has failed the job
            dispatch(job_id, queue, attempt + 1)
    elif not resumable:
        remove_partial_outputs(*artifact)
    return True


def _last_step(session: Session, job_id: str) -> int | None:
    """The step of the job's latest progress report (training: the SAE step), if any."""
    recent = session.scalars(
        select(JobEvent.data)
        .where(JobEvent.job_id == job_id, JobEvent.type == "progress")
        .order_by(JobEvent.seq.desc())
        .limit(20)
    ).all()
    for data in recent:
        step = (data or {}).get("step")
        if isinstance(step, int | float) and step > 0:
            return int(step)
    return None


def last_loss(session: Session, job_id: str) -> dict[str, Any] | None:
    """The automatic re-queue (``lost_worker``, ``lost_step``) that queued ``job_id`` this time,
    if its latest status event is one; read as a new attempt starts."""
    data = session.scalars(
        select(JobEvent.data)
        .where(JobEvent.job_id == job_id, JobEvent.type == "status")
        .order_by(JobEvent.seq.desc())
        .limit(1)
    ).first()
    return data if data and data.get("automatic") else None


def remove_partial_outputs(artifact_kind: str | None, artifact_id: int | None) -> None:
    """Delete the folder of an artifact whose job failed or was cancelled and cannot resume.

    Its files are partial (a tokenization that died half-written, an extraction's first
    arrays) and nothing will read them: the row never got a ``path``, so deleting the row later
    would not find them either, and a retry writes the folder afresh. Resumable jobs (training,
    labelling) keep theirs: the retry continues from what is there."""
    if artifact_kind is None or artifact_id is None:
        return
    remove_artifact_files(artifact_dir(artifact_kind, artifact_id, create=False))


def _reap_unsent(cutoff: dt.datetime) -> list[str]:
    """Fail queued jobs that can never start: their message never went out, or the worker that
    took it (and beat while waiting for its GPU) died, for over ``stale_after`` seconds."""
    with session_scope() as session:
        unsent = session.scalars(
            select(Job.id)
            .where(Job.status == "queued", Job.queued_at < cutoff)
            .where(or_(Job.dispatched_at.is_(None), Job.dispatched_at < Job.queued_at))
        ).all()
        orphaned = session.scalars(
            select(Job.id).where(Job.status == "queued", Job.heartbeat_at < cutoff)
        ).all()
    for job_id in unsent:
        _fail_queued(
            job_id,
            "never queued: its message was not sent (the API stopped or the broker failed "
            "before queuing it); retry to queue it again",
        )
    for job_id in set(orphaned) - set(unsent):
        _fail_queued(job_id, "worker lost while the job waited for its device; retry it")
    reaped = [*unsent, *(set(orphaned) - set(unsent))]
    if reaped:
        log.warning("reaped %d queued job(s) that could never start: %s", len(reaped), reaped)
    return reaped


def active_jobs_using(session: Session, kind: str, artifact_id: int) -> list[Job]:
    """Queued or running jobs that read or write artifact ``(kind, artifact_id)``."""
    jobs = session.scalars(select(Job).where(Job.status.in_(ACTIVE))).all()
    ref = {"kind": kind, "id": artifact_id}
    return [j for j in jobs if ref in (j.resources or [])]
