"""Extract, then label: the labelling run an extraction queues when it succeeds.

The extraction request may carry a labelling config (the studio's "then label with" choice, the
demo script's one-run flow). The API checks it there, like any labelling request (method,
endpoint, prompt template), and stores it in the extraction job's config under ``then_label``
without its key; a key given with it is sealed for the extraction job as ``labeling_api_key``.
When the extraction has written its arrays and feature rows, its handler calls
:func:`queue_follow_up_labeling`, which adds a ``labeling_jobs`` row and a ``label`` job exactly
as ``POST /labeling`` would (same stored config shape, same queue choice, the key re-sealed for
the new job), and records the run's id in the extraction's ``result["labeling"]``, where the
extraction card finds it. A failed or cancelled extraction queues nothing.

Why not a chain of Celery tasks: the labelling run is an artifact with its own row, status,
retry and history, and a chain would hide it until it starts; queuing it from the finished job
makes it an ordinary run the moment the extraction is ready.
"""

from __future__ import annotations

from typing import Any

from mistudio.core.labeling import LabelingConfig
from mistudio.core.labeling.config import LabelingSelection
from mistudio.jobs.labeling_jobs import queue_for_method
from mistudio.store import Extraction, LabelingJob, session_scope
from mistudio.store.job_secrets import drop_job_secret, get_job_secret, put_job_secret
from mistudio.store.lineage import Lineage, artifact_kind, input_key

SECRET_NAME = "labeling_api_key"
"""Name of the follow-up run's key, sealed for the extraction job until it queues the run."""


def follow_up_plan(config: LabelingConfig, selection: LabelingSelection) -> dict[str, Any]:
    """The ``then_label`` entry of an extraction job's config (the key is never dumped)."""
    return {
        "labeling": config.model_dump(mode="json"),
        "selection": selection.model_dump(mode="json"),
        "api_key_given": config.api_key is not None,
    }


def queue_follow_up_labeling(extraction_id: int, plan: dict[str, Any], job_id: str) -> int:
    """Queue the labelling run ``plan`` describes over the now ready extraction; returns the
    run's id. ``job_id`` is the extraction job (whose sealed key, if any, the run inherits)."""
    # deferred: lifecycle imports every handler module (jobs.kinds), the extraction job among them
    from mistudio.jobs.lifecycle import dispatch, new_job

    config = LabelingConfig.model_validate(plan["labeling"])
    selection = LabelingSelection.model_validate(plan.get("selection") or {})
    key = get_job_secret(job_id, SECRET_NAME) if plan.get("api_key_given") else None
    with session_scope() as session:
        extraction = session.get(Extraction, extraction_id)
        assert extraction is not None
        row = LabelingJob(
            name=f"{config.method} labels of {extraction.name}",
            status="pending",
            extraction_id=extraction.id,
            config={
                "labeling": plan["labeling"],
                "selection": selection.model_dump(mode="json"),
                "api_key_given": bool(key),
            },
            n_labeled=0,
            result={},
            lineage={},
        )
        session.add(row)
        session.flush()
        job = new_job(
            session,
            "label",
            {input_key(row): row.id, "extraction_id": extraction.id, "method": config.method},
            artifact=(artifact_kind(row), row.id),
            resources=[(artifact_kind(extraction), extraction.id)],
            queue=queue_for_method(config.method),
        )
        row.job_id = job.id
        row.lineage = Lineage.of(job.id, [extraction]).as_json()
        extraction.result = {
            **(extraction.result or {}),
            "labeling": {"method": config.method, "run_id": row.id},
        }
        run_id, queued, queue = row.id, job.id, job.queue
    if key:
        put_job_secret(queued, key, "api_key")
    drop_job_secret(job_id)  # the run has its own copy; the extraction's is no longer needed
    dispatch(queued, queue, 1)
    return run_id
