"""The first run's labelling rows when the job stops in the labelling stage: the labels written
so far stay, and the row says it failed (or was cancelled) instead of staying ``labelling``."""

from __future__ import annotations

import pytest

from mistudio.core.labeling import LabelingConfig
from mistudio.core.labeling.records import FeatureLabel
from mistudio.jobs.first_run_labels import LabelPassRecorder
from mistudio.store import Extraction, Feature, LabelingJob, SAERow, init_db, session_scope


@pytest.fixture
def extraction_id(tmp_home) -> int:
    init_db()
    with session_scope() as session:
        sae = SAERow(name="s", status="ready", origin="imported", d_in=4, d_sae=3)
        session.add(sae)
        session.flush()
        ex = Extraction(name="e", status="ready", sae_id=sae.id, n_features=3)
        session.add(ex)
        session.flush()
        for i in range(3):
            session.add(Feature(extraction_id=ex.id, sae_id=sae.id, index=i))
        return ex.id


@pytest.mark.parametrize(("cancelled", "status"), [(False, "failed"), (True, "cancelled")])
def test_a_stopped_pass_keeps_its_labels_and_says_why(extraction_id, cancelled, status):
    recorder = LabelPassRecorder(extraction_id, LabelingConfig(method="rules"), "/tmp/none")
    recorder.add(FeatureLabel(index=1, status="labelled", label="commas", method="rules"))
    recorder.stop("worker lost at step 3", cancelled)
    with session_scope() as session:
        row = session.get(LabelingJob, recorder.labeling_id)
        assert row is not None
        assert (row.status, row.error, row.n_labeled) == (status, "worker lost at step 3", 1)
        labels = {
            f.index: f.label for f in session.query(Feature).filter_by(extraction_id=extraction_id)
        }
    assert labels == {0: None, 1: "commas", 2: None}
    recorder.stop("again", cancelled)  # a second call changes nothing
    with session_scope() as session:
        assert session.get(LabelingJob, recorder.labeling_id).error == "worker lost at step 3"
