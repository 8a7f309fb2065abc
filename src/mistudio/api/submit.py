"""Queue a job from a request: the job row commits with the artifact row, then the message goes.

Sending the Celery message only after the commit means a worker never picks up a job id it
cannot read yet.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from mistudio.jobs.lifecycle import dispatch
from mistudio.store import Job
from mistudio.store.job_secrets import put_job_secret


def submit_job(session: Session, job: Job, secrets: Mapping[str, str | None] | None = None) -> Job:
    """Commit ``job`` (added to ``session`` by :func:`~mistudio.jobs.lifecycle.new_job`), then
    send its message. ``secrets`` (credentials by name: ``api_key``, ``hub_token``; empty values
    are skipped) are sealed for the worker (:mod:`mistudio.store.job_secrets`) before the message
    goes, and never stored with the job; the handler reads them with
    ``get_job_secret(job_id, name)``."""
    for name, value in (secrets or {}).items():
        if value:
            put_job_secret(job.id, value, name)
    session.commit()
    dispatch(job.id, job.queue, 1)
    return job
