"""The artifact-job kit: what every "start a job that turns these ready inputs into this new
artifact" endpoint does, written once.

A create endpoint reads its inputs (:func:`ready_input`: 404 when missing, 409 until ready),
checks what only it knows (hook points, widths, tokenizers), builds its pending row and hands it
to :func:`start_artifact_job`, which adds the row, queues the job with the row's id under its
usual key (``tokenization_id``, ...), lists the inputs as the job's resources (so they cannot be
deleted under it), records the :class:`~mistudio.store.lineage.Lineage` of inputs, and commits
before the message goes (:func:`~mistudio.api.submit.submit_job`). Responses share
:class:`ArtifactOut`, the columns every artifact row has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import ConfigDict
from sqlalchemy.orm import Session

from mistudio.api.deps import get_or_404
from mistudio.api.errors import ApiError
from mistudio.api.submit import submit_job
from mistudio.core.config import DocumentedModel
from mistudio.jobs.lifecycle import new_job
from mistudio.store import Job
from mistudio.store.lineage import Lineage, artifact_kind, input_key
from mistudio.store.tables import ArtifactMixin

A = TypeVar("A", bound=ArtifactMixin)


class ArtifactOut(DocumentedModel):
    """The columns every artifact row has; each resource's response adds its own."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    """The artifact's id (its files live under ``artifacts/<kind>/<id>/``)."""
    name: str
    """Display name."""
    status: str
    """``available`` (built-in, not fetched yet), ``pending``, ``ready`` or ``failed``."""
    path: str | None
    """Where its files are, once ready."""
    job_id: str | None
    """The job that produces (or produced) it."""
    lineage: dict[str, Any]
    """The job, input artifact ids and config that produced it."""
    error: str | None
    """Why its job failed."""
    created_at: dt.datetime
    """When it was requested."""


def ready_input(session: Session, table: type[A], item_id: Any, what: str, hint: str = "") -> A:
    """Input ``item_id`` of ``table``: 404 when there is none, 409 until it is ready (its
    message ends with ``hint``, e.g. ``"; import it first"``)."""
    row = get_or_404(session, table, item_id, what)
    if row.status != "ready":
        raise ApiError(409, f"{what} {row.id} is {row.status}{hint}")
    return row


def start_artifact_job(
    session: Session,
    row: A,
    job_kind: str,
    inputs: Sequence[ArtifactMixin] = (),
    config: Mapping[str, Any] | None = None,
    queue: str | None = None,
    secrets: Mapping[str, str | None] | None = None,
) -> Job:
    """Add ``row`` (a pending artifact), queue ``job_kind`` to produce it and commit.

    The job's config is ``config`` plus the row's id under its key; ``inputs`` become the job's
    resources and, when given, the row's lineage (a row without inputs, such as a model or a
    dataset being imported, keeps the lineage it has until its job writes one)."""
    session.add(row)
    session.flush()
    kind = artifact_kind(row)
    job = new_job(
        session,
        job_kind,
        {input_key(row): row.id, **(config or {})},
        artifact=(kind, row.id),
        resources=[(artifact_kind(i), i.id) for i in inputs] or None,
        queue=queue,
    )
    submit_job(session, job, secrets)
    row.job_id = job.id
    if inputs:
        row.lineage = Lineage.of(job.id, inputs).as_json()
    session.commit()
    return job
