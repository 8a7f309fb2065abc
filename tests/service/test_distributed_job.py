"""A studio training job over two CPU ranks, through the API and a real worker.

The job names its ranks' devices (``run.devices``), waits queued while another job holds the
device lock its ranks need, records the devices it holds on its row, and trains the same SAE as
one process on the same config (the unit tests' comparison, tests/unit/test_distributed_training).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mistudio.core.pipeline import TrainingSettings, run_training
from mistudio.jobs.device_lock import DeviceLock
from tests.service.conftest import Studio
from tests.service.test_pipeline import train_body
from tests.service.tiny_artifacts import ensure_model_and_tokenization
from tests.unit.planted import one_thread
from tests.unit.test_distributed_training import _assert_close, _weights

API = "/api/v1"


def test_two_rank_job_equals_one_process(studio: Studio, tmp_path: Path) -> None:
    if studio.backend != "sqlite":  # ~70 s a backend; the lock and launch code is the same
        pytest.skip("run on SQLite only: the ranks do not touch the database")
    c = studio.client
    ensure_model_and_tokenization(studio)
    body: dict[str, Any] = train_body(studio, 128 * 8, cache=False, name="two-ranks")
    body["run"]["devices"] = ["cpu", "cpu"]

    contradicts = {**body, "run": {**body["run"], "nproc": 3}}
    r = c.post(f"{API}/trainings", json=contradicts)
    assert r.status_code == 422 and "nproc (3) contradicts devices" in r.text, r.text

    # Another job holds the CPU ranks' device lock: the job waits queued, holding nothing.
    other = DeviceLock("0")
    assert other.try_acquire("someone-else")[0]
    try:
        r = c.post(f"{API}/trainings", json=body)
        assert r.status_code == 202, r.text
        training = r.json()
        waiting = studio.wait_job(
            training["job_id"], until=lambda j: "held by job someone-else" in (j["message"] or "")
        )
        assert waiting["status"] == "queued" and waiting["devices"] == []
    finally:
        other.release()
    job = studio.completed(training["job_id"], timeout=240)
    assert job["devices"] == ["cpu", "cpu"]
    assert job["config"]["devices"] == ["cpu", "cpu"]
    training = c.get(f"{API}/trainings/{training['id']}").json()
    assert training["status"] == "ready" and training["step"] == 8
    assert training["config"]["run"]["nproc"] == 2

    # The locks are free again, and released cleanly (the file names no holder).
    lock = DeviceLock("0")
    assert lock.try_acquire("after") == (True, None)
    lock.release()

    # One process, the same stored config, the same inputs: the same SAE.
    model = c.get(f"{API}/models/{studio.cache['model_id']}").json()
    tok = c.get(f"{API}/tokenizations/{studio.cache['tokenization_id']}").json()
    settings = TrainingSettings.model_validate(training["config"])
    run = settings.run.model_copy(update={"devices": None, "nproc": 1})
    single = TrainingSettings(train=settings.train, run=run)
    with one_thread():
        run_training(single.with_inputs(model["source"], tok["path"]), tmp_path / "one")
    _assert_close(_weights(tmp_path / "one"), _weights(Path(training["path"])))
