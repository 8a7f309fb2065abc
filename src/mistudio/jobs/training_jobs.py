"""The training job: wires a training row to :func:`mistudio.core.pipeline.run_training`.

The run folder is ``artifacts/trainings/<id>/``, the same for every attempt, so a retry of a job
whose worker died finds the last checkpoint there and resumes exactly (the core refuses a resume
whose config differs). Metrics reported through progress go to ``training_metrics`` in batches;
each finished SAE becomes an ``saes`` row with its lineage.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from mistudio.core.pipeline import TrainingSettings, run_training
from mistudio.core.training import latest_checkpoint
from mistudio.errors import NotFoundError
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import BatchedWrites, JobCancelled, JobContext, job_row
from mistudio.store import (
    ActivationCacheRow,
    LanguageModel,
    TokenizationRow,
    Training,
    TrainingMetric,
    artifact_dir,
    session_scope,
)
from mistudio.store.artifact_rows import jsonable, metric_rows, record_checkpoints, trained_sae_row
from mistudio.store.lineage import Lineage
from mistudio.store.model_load import model_load_config

FLUSH_SECONDS = 0.5


class _MetricWriter(BatchedWrites[dict[str, Any]]):
    """Collects ``progress(step, total, sae=..., **metrics)`` calls into metric rows."""

    def __init__(self, training_id: int) -> None:
        super().__init__(FLUSH_SECONDS)
        self.training_id = training_id
        self.last_step = 0

    def __call__(self, step: float, metrics: dict[str, Any]) -> None:
        self.last_step = int(step)
        sae = str(metrics.get("sae", ""))
        self.extend(metric_rows(self.training_id, sae, int(step), metrics, skip=("sae",)))

    def write(self, session: Session, batch: list[dict[str, Any]]) -> None:
        session.bulk_insert_mappings(TrainingMetric.__mapper__, batch)
        training = session.get(Training, self.training_id)
        if training is not None:
            training.step = max(training.step or 0, self.last_step)


@handler("train", queue="gpu", resumable=True)
def train_job(ctx: JobContext) -> dict[str, Any]:

    training_id = int(ctx.config["training_id"])
    with job_row(Training, training_id, "training") as (session, training):
        model = session.get(LanguageModel, training.model_id) if training.model_id else None
        tok = (
            session.get(TokenizationRow, training.tokenization_id)
            if training.tokenization_id
            else None
        )
        cache = (
            session.get(ActivationCacheRow, training.activation_cache_id)
            if training.activation_cache_id
            else None
        )
        if model is None or tok is None or tok.path is None:
            raise NotFoundError("the model or tokenization of this training is gone")
        model_source = model_load_config(model).source
        tok_path = tok.path
        cache_path = cache.path if cache is not None else None
        model_id = model.id
        settings = TrainingSettings.model_validate(training.config)
    run_config = settings.with_inputs(model_source, tok_path, cache_path)
    run_dir = artifact_dir("trainings", training_id)
    before = latest_checkpoint(run_dir)
    resumed_from = before.step if before is not None else 0
    if resumed_from:
        ctx.resumed(resumed_from)
        with session_scope() as session:  # metrics past the checkpoint will be reported again
            session.execute(
                delete(TrainingMetric)
                .where(TrainingMetric.training_id == training_id)
                .where(TrainingMetric.step > resumed_from)
            )
    writer = _MetricWriter(training_id)
    ctx.metric_sink = writer
    ctx.raise_on_cancel = False
    ctx.stage(0.0, 1.0, "training")
    result = run_training(run_config, run_dir, progress=ctx.progress, stop=ctx.stopped)
    writer.flush()

    sae_ids: list[int] = []
    with job_row(Training, training_id, "training", "training") as (session, training):
        training.step = result.steps
        training.total_steps = result.total_steps
        training.tokens_seen = result.tokens_seen
        training.path = str(run_dir)
        if not result.stopped:
            training.status = "ready"
        record_checkpoints(session, training_id, run_dir)
        if not result.stopped:
            inputs = {
                "training_id": training_id,
                "model_id": model_id,
                "tokenization_id": training.tokenization_id,
                "activation_cache_id": training.activation_cache_id,
            }
            lineage = Lineage(ctx.job_id, inputs).as_json()
            for name, sae in result.saes.items():
                row = trained_sae_row(f"{training.name}/{name}", sae, model_id, lineage)
                session.add(row)
                session.flush()
                sae_ids.append(row.id)
        training.result = jsonable(
            {
                "steps": result.steps,
                "total_steps": result.total_steps,
                "tokens_seen": result.tokens_seen,
                "stopped": result.stopped,
                "data_exhausted": result.data_exhausted,
                "resumed_from_step": resumed_from,
                "sae_ids": sae_ids,
            }
        )
        out = dict(training.result)
    if result.stopped:
        raise JobCancelled(f"stopped at step {result.steps}; retry to resume")
    return out
