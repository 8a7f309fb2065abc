"""The first run's labelling passes as ordinary labelling runs of the studio.

The first run labels its extraction twice (rules with scores, then the ``local`` pattern
labeller on the most frequent latents the rules leave unlabelled: :mod:`mistudio.core.first_run`).
Each pass becomes a ``labeling_jobs`` row, its labels written into the feature rows (history and
current label) by the same :class:`~mistudio.jobs.labeling_jobs.FeatureLabelWriter` a ``label``
job uses, so the Labeling panel lists both runs and the Features panel shows their labels, whether
the ``first_run`` job made them (live, as they arrive) or ``mistudio demo`` (after the fact).
"""

from __future__ import annotations

from typing import Any

from mistudio.core.labeling import LabelingConfig
from mistudio.jobs.labeling_jobs import FeatureLabelWriter
from mistudio.store import Extraction, LabelingJob, session_scope
from mistudio.store.lineage import Lineage


class LabelPassRecorder:
    """One pass: its row (made at once, ``labelling``) and the writer its labels go through."""

    def __init__(
        self, extraction_id: int, config: LabelingConfig, folder: str, job_id: str | None = None
    ) -> None:
        self.extraction_id = extraction_id
        self.config = config
        self.job_id = job_id
        with session_scope() as session:
            extraction = session.get(Extraction, extraction_id)
            assert extraction is not None
            row = LabelingJob(
                name=f"{config.method} labels of {extraction.name} (first run)",
                status="labelling",
                extraction_id=extraction_id,
                path=folder,
                job_id=job_id,
                config={
                    "labeling": config.model_dump(mode="json"),
                    "selection": {"only_unlabelled": config.method != "rules"},
                    "api_key_given": False,
                },
                n_labeled=0,
                result={},
                lineage={},
            )
            session.add(row)
            session.flush()
            self.labeling_id = row.id
        self.writer = FeatureLabelWriter(extraction_id, self.labeling_id, config)

    def add(self, label: Any) -> None:
        """``on_label`` for :func:`~mistudio.core.labeling.label_features`."""
        self.writer.add(label)

    def finish(self, run: Any) -> None:
        """Write what is held and mark the run ready with its summary."""
        self.writer.flush()
        with session_scope() as session:
            row = session.get(LabelingJob, self.labeling_id)
            if row is None:
                return
            row.status = "ready"
            row.n_labeled = len(self.writer.written)
            row.result = run.summary.model_dump(mode="json")
            inputs = {"extraction_id": self.extraction_id}
            row.lineage = Lineage(self.job_id, inputs, self.config).as_json()
            extraction = session.get(Extraction, self.extraction_id)
            if extraction is not None:
                extraction.result = {
                    **(extraction.result or {}),
                    "labeling": {"method": self.config.method, "run_id": self.labeling_id},
                }

    def stop(self, error: str, cancelled: bool) -> None:
        """The pass ended early (the job failed or was cancelled): keep the labels written so
        far and mark the run failed or cancelled with one line, never left ``labelling``."""
        try:
            self.writer.flush()
        finally:
            with session_scope() as session:
                row = session.get(LabelingJob, self.labeling_id)
                if row is not None and row.status == "labelling":
                    row.status = "cancelled" if cancelled else "failed"
                    row.error = error
                    row.n_labeled = len(self.writer.written)


def record_label_passes(extraction_id: int, passes: Any) -> list[int]:
    """Record finished passes (a :class:`~mistudio.core.first_run.LabelPasses`); returns the
    labelling runs' ids."""
    ids = []
    done = [(passes.rules, passes.rules_config)]
    if passes.local is not None:
        done.append((passes.local, passes.local_config))
    for run, config in done:
        recorder = LabelPassRecorder(extraction_id, config, str(run.folder))
        for label in run.labels:
            recorder.add(label)
        recorder.finish(run)
        ids.append(recorder.labeling_id)
    return ids
