"""The one Celery task, ``mistudio.run_job``: run a job row's handler with a live context.

The task takes only the job id; everything else (kind, config) is read from the row, so a retry
re-sends the same id and a queued message never carries stale settings.

A ``gpu``-queue job holds its devices' locks (:mod:`mistudio.jobs.device_lock`) from before it
is marked running until its outcome is written; while another process holds one of them, the
job holds none and stays ``queued`` with the message "waiting for gpu 0 held by job ...". The
devices are the ones the job's config names (``devices``: one per rank of a training over
several GPUs; ``device: "cuda:1"``, a training run on the second GPU), else the worker's; the
row records them (``devices``) once it holds them. A job that ends failed or cancelled without
being resumable loses its partial files (:func:`~mistudio.jobs.lifecycle.remove_partial_outputs`).
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from celery.signals import worker_ready

from mistudio.errors import MiStudioError
from mistudio.jobs.app import app
from mistudio.jobs.device_lock import DeviceLocks, pin_worker_gpu
from mistudio.jobs.events import add_event, event_dict, publish
from mistudio.jobs.handlers import Handler
from mistudio.jobs.kinds import load_handlers
from mistudio.jobs.lifecycle import (
    last_loss,
    reap_stale_jobs,
    remove_partial_outputs,
    set_artifact_status,
    worker_lost,
)
from mistudio.jobs.runtime import JobCancelled, JobContext, worker_name
from mistudio.store import Job, init_db, session_scope, utcnow

log = logging.getLogger(__name__)
DEVICE_POLL_SECONDS = 1.0
"""How often a job waiting for its GPU tries the lock again (and checks for a cancel)."""


def _finish(
    job_id: str,
    status: str,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    resumable: bool = False,
    log_text: str | None = None,
    attempt: int | None = None,
) -> None:
    """Write the outcome of attempt ``attempt``, unless the row has moved on without it (its
    worker was taken for lost and the job queued again, or another worker runs it now)."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        if attempt is not None and (job.attempts != attempt or job.status != "running"):
            log.warning("job %s: attempt %s ended after it was taken for lost", job_id, attempt)
            return
        job.status = status
        job.finished_at = utcnow()
        job.heartbeat_at = utcnow()
        job.resumable = resumable
        job.eta_seconds = None
        if result is not None:
            job.result = result
        if status == "completed":
            job.progress = 1.0
            job.message = "done"
        job.error = error
        if error:
            job.message = error
        if log_text:
            job.log = ((job.log or "") + log_text)[-200_000:]
        if status != "completed":  # a completed handler has already marked its artifact ready
            set_artifact_status(session, job, status, error)
        data: dict[str, Any] = {"status": status, "progress": job.progress}
        if error:
            data["error"] = error
            data["resumable"] = resumable
        if result is not None:
            data["result"] = result
        wire = event_dict(add_event(session, job_id, "status", data))
        artifact = (job.artifact_kind, job.artifact_id)
    publish(wire)
    if status != "completed" and not resumable:
        remove_partial_outputs(*artifact)


def job_devices(config: dict[str, Any]) -> list[str]:
    """The devices a job's config names: ``devices`` (one per rank), else ``device``."""
    devices = config.get("devices")
    if isinstance(devices, list) and all(isinstance(d, str) for d in devices):
        return list(devices)
    device = config.get("device")
    return [device] if isinstance(device, str) else []


def _wait_for_devices(job_id: str, devices: list[str]) -> DeviceLocks | None:
    """Take the locks of ``devices`` for ``job_id``, all or none, waiting (queued) while
    another process holds one of them; then record the devices on the row. ``None`` when the
    job stopped being queued meanwhile (cancelled)."""
    locks = DeviceLocks(devices)
    announced: tuple[str, str] | None = None
    while True:
        acquired, others = locks.try_acquire(job_id)
        if acquired:
            for device, dead in others:
                if dead:
                    _fail_dead_holder(dead, device)
            with session_scope() as session:
                job = session.get(Job, job_id)
                if job is not None:
                    job.devices = devices
            return locks
        with session_scope() as session:
            job = session.get(Job, job_id)
            if job is None or job.status != "queued" or job.cancel_requested:
                return None
            # A waiting worker beats too, so the reaper can tell if it dies while waiting.
            job.heartbeat_at = utcnow()
            job.worker = worker_name()
            wire: dict[str, Any] | None = None
            device, other = others[0]
            busy = (device, other or "another worker")
            if busy != announced:
                announced = busy
                job.message = f"waiting for gpu {busy[0]} held by job {busy[1]}"
                wire = event_dict(
                    add_event(
                        session,
                        job_id,
                        "progress",
                        {"progress": job.progress, "message": job.message},
                    )
                )
        if wire is not None:
            publish(wire)
        time.sleep(DEVICE_POLL_SECONDS)


def _fail_dead_holder(job_id: str, device: str) -> None:
    """The lock was free yet names ``job_id``: its worker died holding the device, so a row
    still ``running`` is a lost job (queued again or failed now, rather than when the reaper
    notices; :func:`~mistudio.jobs.lifecycle.worker_lost`)."""
    worker_lost(job_id, f"died holding gpu {device}")


def execute(job_id: str) -> str:
    """Run job ``job_id`` in this process; returns its final status."""
    init_db()
    handlers = load_handlers()
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            log.warning("job %s does not exist; dropping its message", job_id)
            return "missing"
        if job.status != "queued":
            return job.status  # cancelled before it started, or a duplicate message
        queue = job.queue
        devices = job_devices(job.config or {})
    lock = _wait_for_devices(job_id, devices) if queue == "gpu" else None
    if queue == "gpu" and lock is None:
        with session_scope() as session:
            job = session.get(Job, job_id)
            return job.status if job is not None else "missing"
    if lock is not None:
        pin_worker_gpu(devices)
    try:
        return _start_and_run(job_id, handlers)
    finally:
        if lock is not None:
            lock.release()


def _start_and_run(job_id: str, handlers: dict[str, Handler]) -> str:
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            return "missing"
        if job.status != "queued":
            return job.status
        if job.cancel_requested:
            job.status = "cancelled"
            job.finished_at = utcnow()
            return "cancelled"
        job.status = "running"
        job.attempts = (job.attempts or 0) + 1
        job.started_at = utcnow()
        job.heartbeat_at = utcnow()
        job.worker = worker_name()
        job.error = None
        kind, config, attempt = job.kind, dict(job.config or {}), job.attempts
        lost = last_loss(session, job_id)
        wire = event_dict(
            add_event(session, job_id, "status", {"status": "running", "attempt": attempt})
        )
    publish(wire)
    handler = handlers.get(kind)
    if handler is None:
        _finish(job_id, "failed", error=f"unknown job kind {kind!r}", attempt=attempt)
        return "failed"
    ctx = JobContext(job_id, kind, config, attempt=attempt, lost=lost)
    ctx.start_heartbeat()
    try:
        result = handler.run(ctx)
    except JobCancelled as exc:
        _finish(
            job_id,
            "cancelled",
            resumable=handler.resumable,
            log_text=f"{exc}\n",
            attempt=attempt,
        )
        return "cancelled"
    except MiStudioError as exc:
        _finish(job_id, "failed", error=str(exc), resumable=handler.resumable, attempt=attempt)
        return "failed"
    except Exception as exc:  # a bug: keep the traceback in the job log, show one line
        _finish(
            job_id,
            "failed",
            error=f"{type(exc).__name__}: {exc}",
            resumable=handler.resumable,
            log_text=traceback.format_exc(),
            attempt=attempt,
        )
        log.exception("job %s (%s) failed", job_id, kind)
        return "failed"
    finally:
        ctx.stop_heartbeat()
    _finish(job_id, "completed", result=result, attempt=attempt)
    return "completed"


@app.task(name="mistudio.run_job", ignore_result=True)
def run_job(job_id: str) -> str:
    return execute(job_id)


@worker_ready.connect
def _on_worker_ready(**_: Any) -> None:
    # Workers migrate too (a cluster worker may start before the API) and reap jobs that a
    # previous incarnation of this worker left "running". Connected here, not in the app module,
    # because the app (imported by the lifecycle) must not import the lifecycle back.
    init_db()
    reap_stale_jobs()
