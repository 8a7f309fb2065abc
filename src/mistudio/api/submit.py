"""Queue a job from a request: the job row commits with the artifact row, then the message goes.

Sending the Celery message only after the commit means a worker never picks up a job id it
cannot read yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mistudio.jobs.lifecycle import dispatch, new_job
from mistudio.store import Job
from mistudio.store.job_secrets import put_job_secret


def submit_job(
    session: Session,
    kind: str,
    config: dict[str, Any],
    artifact: tuple[str, int] | None = None,
    resources: list[tuple[str, int]] | None = None,
    queue: str | None = None,
    secret: str | None = None,
) -> Job:
    """``secret`` (an API key) is sealed for the worker (:mod:`mistudio.store.job_secrets`)
    before the message goes, and never stored with the job."""
    job = new_job(session, kind, config, artifact, resources, queue)
    if secret:
        put_job_secret(job.id, secret)
    session.commit()
    dispatch(job.id, job.queue, 1)
    return job
