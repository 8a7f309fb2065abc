"""Queue a job from a request: the job row commits with the artifact row, then the message goes.

Sending the Celery message only after the commit means a worker never picks up a job id it
cannot read yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mistudio.jobs.lifecycle import dispatch, new_job
from mistudio.store import Job


def submit_job(
    session: Session,
    kind: str,
    config: dict[str, Any],
    artifact: tuple[str, int] | None = None,
    resources: list[tuple[str, int]] | None = None,
) -> Job:
    job = new_job(session, kind, config, artifact, resources)
    session.commit()
    dispatch(job.id, job.queue, 1)
    return job
