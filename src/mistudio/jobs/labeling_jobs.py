"""The labelling job: :func:`mistudio.core.labeling.label_features` over an extraction's latents,
each label written into its ``features`` row as it arrives.

Decisions:

* **Where labels go.** ``label``, ``category``, ``description``, ``label_status``,
  ``label_confidence``, ``label_method``, ``label_model``, ``detection_score`` and
  ``fuzzing_score`` of the feature row; ``interpretability`` becomes the label's score when the
  run scored it, else stays the extraction's ``interpretability_proxy``. Failed features leave
  their row untouched (the summary counts them). Rows are updated in small batches (at most a
  second apart), each batch one short transaction, so the browser sees labels while the job
  runs and SQLite never holds a long write lock.
* **Resume.** The run folder ``artifacts/labeling/<id>/labels.jsonl`` is core's resume log: a
  retry skips what it holds, after first replaying it into the database (a worker killed between
  the log and the database write loses nothing). ``only_unlabelled`` selections also skip every
  latent the database already has a label for.
* **API keys** come from the sealed per-job file (:mod:`mistudio.store.job_secrets`) or the
  worker's environment; never from the job's config, which holds the config without its key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Float, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from mistudio.core.features import ExtractionResult
from mistudio.core.labeling import (
    LabelingConfig,
    LabelStore,
    label_features,
    parse_indices,
    select_indices,
)
from mistudio.core.labeling.config import FeatureFilter, LabelingSelection
from mistudio.errors import NotFoundError
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import BatchedWrites, JobCancelled, JobContext, job_row
from mistudio.store import Extraction, Feature, LabelingJob, artifact_dir, session_scope, utcnow
from mistudio.store.job_secrets import drop_job_secret, get_job_secret
from mistudio.store.lineage import Lineage

FLUSH_EVERY_S = 1.0
"""Longest a finished label waits before it is written to its feature row."""
FLUSH_BATCH = 256
"""Labels per database write at most."""


def labelled_indices(session: Session, extraction_id: int) -> set[int]:
    """Latents of ``extraction_id`` whose row has a label (not just an ``unclear`` verdict)."""
    rows = session.scalars(
        select(Feature.index).where(
            Feature.extraction_id == extraction_id, Feature.label_status == "labelled"
        )
    )
    return set(rows)


def choose_indices(
    session: Session, extraction_id: int, result: Any, selection: LabelingSelection
) -> list[int]:
    """The latents a run labels, in index order (used by the job and the cost estimate)."""

    if selection.indices is not None:
        wanted = parse_indices(",".join(str(i) for i in selection.indices), result.d_sae)
    else:
        unlimited = (selection.filter or FeatureFilter()).model_copy(update={"limit": None})
        wanted = select_indices(result, unlimited)
    if selection.only_unlabelled:
        done = labelled_indices(session, extraction_id)
        wanted = [i for i in wanted if i not in done]
    limit = selection.filter.limit if selection.filter is not None else None
    if selection.indices is None and limit:
        wanted = wanted[:limit]
    return wanted


_FEATURES: Table = Feature.__table__  # type: ignore[assignment]
_UPDATE_LABEL = (
    update(_FEATURES)
    .where(
        _FEATURES.c.extraction_id == bindparam("b_extraction"),
        _FEATURES.c.index == bindparam("b_index"),
    )
    .values(
        label=bindparam("b_label"),
        category=bindparam("b_category"),
        description=bindparam("b_description"),
        label_status=bindparam("b_status"),
        label_confidence=bindparam("b_confidence", type_=Float),
        label_method=bindparam("b_method"),
        label_model=bindparam("b_model"),
        detection_score=bindparam("b_detection", type_=Float),
        fuzzing_score=bindparam("b_fuzzing", type_=Float),
        interpretability=func.coalesce(
            bindparam("b_score", type_=Float), _FEATURES.c.interpretability_proxy
        ),
        labeled_at=bindparam("b_at"),
    )
)


class FeatureLabelWriter(BatchedWrites[dict[str, Any]]):
    """Buffers finished labels and writes them to their feature rows in short batches."""

    def __init__(self, extraction_id: int, labeling_id: int) -> None:
        super().__init__(FLUSH_EVERY_S, FLUSH_BATCH)
        self.extraction_id = extraction_id
        self.labeling_id = labeling_id
        self.written: set[int] = set()

    def add(self, label: Any) -> None:
        """``on_label`` for :func:`label_features` (a :class:`FeatureLabel`)."""
        if label.status == "failed":
            return
        scores = label.scores
        row = {
            "b_extraction": self.extraction_id,
            "b_index": label.index,
            "b_label": label.label or None,
            "b_category": label.category[:64] or None,
            "b_description": label.description or None,
            "b_status": label.status,
            "b_confidence": label.confidence,
            "b_method": label.method,
            "b_model": label.model,
            "b_detection": scores.detection if scores is not None else None,
            "b_fuzzing": scores.fuzzing if scores is not None else None,
            "b_score": label.score,
            "b_at": label.created,
        }
        self.extend([row])

    def write(self, session: Session, batch: list[dict[str, Any]]) -> None:
        session.connection().execute(_UPDATE_LABEL, batch)
        self.written.update(p["b_index"] for p in batch)
        session.execute(
            update(LabelingJob)
            .where(LabelingJob.id == self.labeling_id)
            .values(n_labeled=len(self.written))
        )
        # A new updated_at makes the API's cached search totals of this extraction stale.
        session.execute(
            update(Extraction)
            .where(Extraction.id == self.extraction_id)
            .values(updated_at=utcnow())
        )


def queue_for_method(method: str) -> str:
    """The local model wants the accelerator; HTTP backends and rules only wait or count."""
    return "gpu" if method == "local" else "cpu"


@handler("label", resumable=True)
def label_job(ctx: JobContext) -> dict[str, Any]:

    labeling_id = int(ctx.config["labeling_id"])
    with job_row(LabelingJob, labeling_id, "labelling run") as (session, row):
        extraction = session.get(Extraction, row.extraction_id)
        if extraction is None or not extraction.path:
            raise NotFoundError(f"extraction {row.extraction_id} is gone or has no arrays")
        extraction_id, extraction_path = extraction.id, extraction.path
        config = LabelingConfig.model_validate(row.config.get("labeling", {}))
        selection = LabelingSelection.model_validate(row.config.get("selection", {}))
    key = get_job_secret(ctx.job_id)
    if key:
        config = config.model_copy(update={"api_key": SecretStr(key)})
    result = ExtractionResult.open(extraction_path)
    out = artifact_dir("labeling", labeling_id)
    writer = FeatureLabelWriter(extraction_id, labeling_id)
    ctx.stage(0.0, 0.02, "selecting features")
    previous = LabelStore(out).read()
    for label in previous.values():  # replay what an earlier attempt logged (see docstring)
        writer.add(label)
    writer.flush()
    with session_scope() as session:
        indices: Sequence[int] = choose_indices(session, extraction_id, result, selection)
    if selection.only_unlabelled:  # replayed labels are in the database now; keep them counted
        indices = sorted(set(indices) | {i for i in previous if previous[i].status != "failed"})
    with session_scope() as session:
        labeling_row = session.get(LabelingJob, labeling_id)
        if labeling_row is not None:
            labeling_row.path = str(out)
    ctx.log(f"labelling {len(indices)} latent(s) with {config.method}")
    ctx.stage(0.02, 1.0, "labelling")
    try:
        run = label_features(
            result,
            config,
            indices,
            out=out,
            on_label=writer.add,
            progress=ctx.progress,
            should_stop=ctx.stopped,
        )
    finally:
        writer.flush()
    if run.summary.stopped:
        raise JobCancelled("cancelled; retry to label the rest")
    summary = run.summary.model_dump(mode="json")
    with job_row(LabelingJob, labeling_id, "labelling run", "labelling") as (session, row):
        row.status = "ready"
        row.n_labeled = len(writer.written)
        row.result = summary
        row.lineage = Lineage(ctx.job_id, {"extraction_id": extraction_id}, config).as_json()
    drop_job_secret(ctx.job_id)
    ctx.log(run.summary.line())
    return {
        "labeling_id": labeling_id,
        "extraction_id": extraction_id,
        "n_written": len(writer.written),
        "summary": summary,
    }
