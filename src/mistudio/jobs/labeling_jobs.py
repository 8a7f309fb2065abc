"""The labelling job: :func:`mistudio.core.labeling.label_features` over an extraction's latents,
each label written into its ``features`` row as it arrives.

Decisions:

* **Where labels go.** Each label is a new version in the latent's history
  (:mod:`mistudio.store.label_versions`, with the run's id and prompt template) and, unless the
  latent's current label was edited by hand (and the run has no ``overwrite_manual``), the
  current one: ``label``, ``category``, ``description``, ``label_status``,
  ``label_confidence``, ``label_method``, ``label_model``, ``detection_score`` and
  ``fuzzing_score`` of the feature row follow it; ``interpretability`` becomes the label's score
  when the run scored it, else stays the extraction's ``interpretability_proxy``. The summary
  counts the hand-edited labels kept (``kept_manual``). Failed features leave their row and
  history untouched (the summary counts them). Rows are written in small batches (at most a
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

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select, update
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
from mistudio.store.label_versions import RunLabel, record_run_labels
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


def prompt_fingerprint(config: LabelingConfig) -> tuple[str | None, str | None]:
    """The prompt template a run's labels came from: its name and the first 12 hex digits of
    the SHA-256 of its full text (names are editable, the hash tells two versions apart); none
    for rules, which use no prompt."""
    if config.method == "rules":
        return None, None
    text = json.dumps(config.prompt.model_dump(mode="json"), sort_keys=True)
    return config.prompt.name, hashlib.sha256(text.encode()).hexdigest()[:12]


class FeatureLabelWriter(BatchedWrites[RunLabel]):
    """Buffers finished labels and records them (history + current label) in short batches."""

    def __init__(
        self, extraction_id: int, labeling_id: int, config: LabelingConfig | None = None
    ) -> None:
        super().__init__(FLUSH_EVERY_S, FLUSH_BATCH)
        self.extraction_id = extraction_id
        self.labeling_id = labeling_id
        config = config or LabelingConfig()
        self.overwrite_manual = config.overwrite_manual
        self.template, self.template_hash = prompt_fingerprint(config)
        self.written: set[int] = set()
        self.kept_manual: set[int] = set()

    def add(self, label: Any) -> None:
        """``on_label`` for :func:`label_features` (a :class:`FeatureLabel`)."""
        if label.status == "failed":
            return
        scores = label.scores
        row = RunLabel(
            index=label.index,
            label=label.label or None,
            category=label.category[:64] or None,
            description=label.description or None,
            status=label.status,
            confidence=label.confidence,
            method=label.method,
            model=label.model,
            detection=scores.detection if scores is not None else None,
            fuzzing=scores.fuzzing if scores is not None else None,
            created=label.created,
        )
        self.extend([row])

    def write(self, session: Session, batch: list[RunLabel]) -> None:
        done = record_run_labels(
            session,
            self.extraction_id,
            self.labeling_id,
            batch,
            overwrite_manual=self.overwrite_manual,
            template=self.template,
            template_hash=self.template_hash,
        )
        self.written.update(done.recorded)
        self.kept_manual.update(done.kept_manual)
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
    writer = FeatureLabelWriter(extraction_id, labeling_id, config)
    ctx.stage(0.0, 0.02, "selecting features")
    previous = LabelStore(out).read()
    for label in previous.values():  # replay what an earlier attempt logged (see docstring)
        writer.add(label)
    writer.flush()
    if previous:
        ctx.resumed(len(previous), f"with {len(previous)} latent(s) already labelled")
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
    run.summary.kept_manual = len(writer.kept_manual)
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
