"""The one Celery task, ``mistudio.run_job``: run a job row's handler with a live context.

The task takes only the job id; everything else (kind, config) is read from the row, so a retry
re-sends the same id and a queued message never carries stale settings.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from mistudio.errors import MiStudioError
from mistudio.jobs.app import app
from mistudio.jobs.events import add_event, event_dict, publish
from mistudio.jobs.lifecycle import set_artifact_status
from mistudio.jobs.registry import load_handlers
from mistudio.jobs.runtime import JobCancelled, JobContext, worker_name
from mistudio.store import Job, init_db, session_scope, utcnow

log = logging.getLogger(__name__)


def _finish(
    job_id: str,
    status: str,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    resumable: bool = False,
    log_text: str | None = None,
) -> None:
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
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
    publish(wire)


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
        kind, config = job.kind, dict(job.config or {})
        wire = event_dict(
            add_event(session, job_id, "status", {"status": "running", "attempt": job.attempts})
        )
    publish(wire)
    handler = handlers.get(kind)
    if handler is None:
        _finish(job_id, "failed", error=f"unknown job kind {kind!r}")
        return "failed"
    ctx = JobContext(job_id, kind, config)
    ctx.start_heartbeat()
    try:
        result = handler.run(ctx)
    except JobCancelled as exc:
        _finish(job_id, "cancelled", error=None, resumable=handler.resumable, log_text=f"{exc}\n")
        return "cancelled"
    except MiStudioError as exc:
        _finish(job_id, "failed", error=str(exc), resumable=handler.resumable)
        return "failed"
    except Exception as exc:  # a bug: keep the traceback in the job log, show one line
        _finish(
            job_id,
            "failed",
            error=f"{type(exc).__name__}: {exc}",
            resumable=handler.resumable,
            log_text=traceback.format_exc(),
        )
        log.exception("job %s (%s) failed", job_id, kind)
        return "failed"
    finally:
        ctx.stop_heartbeat()
    _finish(job_id, "completed", result=result)
    return "completed"


@app.task(name="mistudio.run_job", ignore_result=True)
def run_job(job_id: str) -> str:
    return execute(job_id)
