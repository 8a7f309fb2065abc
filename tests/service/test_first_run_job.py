"""The studio's first run (issue 22) through a real worker on a tiny model: one ``first_run``
job goes from the model to labelled features with a record of every stage, a second request
while it runs is refused in one line, and what it made opens like studio work (SAE, extraction
with indexed features, two labelling runs whose labels reached the feature rows)."""

from __future__ import annotations

import shutil

import pytest

from mistudio.core.first_run import STAGES
from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, ensure_model_and_tokenization
from tests.unit.tiny_models import TINY_FIRST_RUN

pytestmark = pytest.mark.service

TINY = {**TINY_FIRST_RUN, "local_labels": 8}


def test_first_run_job_labels_features_stage_by_stage(studio: Studio) -> None:
    c = studio.client
    # Its own copy of the tiny model, so the run's model row is its own.
    model = studio.data_dir / "first-run-llama"
    if not model.exists():
        shutil.copytree(studio.tiny_model_dir, model)
    # The tiny model's word-level tokenizer reads the tiny corpus the other tests imported.
    ensure_model_and_tokenization(studio)
    tok = c.get(f"{API}/tokenizations/{studio.cache['tokenization_id']}").json()
    corpus = c.get(f"{API}/datasets/{tok['dataset_id']}").json()["path"]
    body = {"quick": True, "config": {"model": str(model), "corpus": corpus, **TINY}}
    r = c.post(f"{API}/first-run", json=body)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    again = c.post(f"{API}/first-run", json={"quick": True})
    assert again.status_code == 409, again.text
    assert again.json()["detail"].startswith("a first run is already ")
    assert job_id in again.json()["detail"]

    job = studio.completed(job_id, timeout=300)
    result = job["result"]
    names = [s["name"] for s in result["stages"]]
    assert names == list(STAGES)  # every stage, in run order
    assert all(s["seconds"] >= 0 for s in result["stages"])
    assert sum(s["share"] for s in result["stages"]) == pytest.approx(1.0, abs=0.01)
    assert result["d_sae"] == 64 and 0 < result["labelled"] <= 64
    assert result["evals"]["held_out"]["fvu"] >= 0

    state = c.get(f"{API}/first-run").json()
    assert state["job_id"] == job_id and state["status"] == "completed"
    assert state["extraction_id"] == result["extraction_id"] and state["empty"] is False

    extraction = c.get(f"{API}/extractions/{result['extraction_id']}").json()
    assert extraction["status"] == "ready" and extraction["n_features"] == 64
    sae = c.get(f"{API}/saes/{result['sae_id']}").json()
    assert sae["hook_name"] == "blocks.1.hook_resid_post" and sae["d_sae"] == 64
    # The one LM pass is a ready activation cache that the training row points at.
    training = c.get(f"{API}/trainings/{result['training_id']}").json()
    cache = c.get(f"{API}/activations/{training['activation_cache_id']}").json()
    assert cache["status"] == "ready" and cache["hook_points"] == ["blocks.1.hook_resid_post"]
    assert cache["n_tokens"] >= extraction["result"]["n_tokens"] > 0

    # The two passes are labelling runs of that extraction; their labels are in the rows.
    runs = [c.get(f"{API}/labeling/{i}").json() for i in result["labeling_ids"]]
    assert [run["status"] for run in runs] == ["ready", "ready"]
    assert [run["config"]["labeling"]["method"] for run in runs] == ["rules", "local"]
    labelled = c.get(
        f"{API}/features",
        params={"extraction_id": result["extraction_id"], "limit": 200},
    ).json()["items"]
    with_label = {f["index"] for f in labelled if f["label_status"] == "labelled"}
    assert len(with_label) == result["labelled"]

    # The job's log names each stage as it started.
    log = c.get(f"{API}/jobs/{job_id}/log").json()["log"]
    assert all(f"stage {name}" in log for name in names)
