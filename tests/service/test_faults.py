"""Faults through the real API and worker, on SQLite and on PostgreSQL + Redis: a broker that is
down at submit, messages that never went out, a GPU job waiting for a busy device, and the files
a failed job or a delete leaves behind (none)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.service.conftest import Studio

pytestmark = pytest.mark.service
API = "/api/v1"


def _model_and_dataset(studio: Studio) -> tuple[int, int]:
    """A loaded tiny model and an imported dataset (made once per backend)."""
    c = studio.client
    if "faults_model" not in studio.cache:
        r = c.post(f"{API}/models", json={"source": str(studio.tiny_model_dir), "name": "tiny"})
        assert r.status_code == 202, r.text
        model = r.json()
        r = c.post(
            f"{API}/datasets",
            json={"source": {"kind": "local", "path": str(studio.data_dir / "tiny.jsonl")}},
        )
        assert r.status_code == 202, r.text
        dataset = r.json()
        studio.completed(model["job_id"])
        studio.completed(dataset["job_id"])
        studio.cache["faults_model"], studio.cache["faults_dataset"] = model["id"], dataset["id"]
    return studio.cache["faults_model"], studio.cache["faults_dataset"]


def _set_broker(url: str | None) -> None:
    from mistudio.settings import get_settings

    if url is None:
        os.environ.pop("MISTUDIO_BROKER_URL", None)
    else:
        os.environ["MISTUDIO_BROKER_URL"] = url
    get_settings.cache_clear()


def test_submit_with_broker_down_fails_the_job_visibly(studio: Studio) -> None:
    c = studio.client
    saved = os.environ.get("MISTUDIO_BROKER_URL")
    # Redis on a closed port; a SQLite broker file that cannot be created.
    down = (
        "redis://127.0.0.1:1/0"
        if studio.backend == "postgres"
        else "sqla+sqlite:////proc/no-such-dir/broker.db"
    )
    _set_broker(down)
    try:
        t0 = time.monotonic()
        r = c.post(
            f"{API}/datasets",
            json={
                "source": {"kind": "local", "path": str(studio.data_dir / "tiny.jsonl")},
                "name": "broker-down",
            },
        )
        elapsed = time.monotonic() - t0
    finally:
        _set_broker(saved)
    assert r.status_code == 503, r.text
    detail = r.json()["detail"]
    assert detail.startswith("could not queue the job: broker unreachable ("), detail
    assert "\n" not in detail and "Traceback" not in detail
    assert elapsed < 30
    rows = c.get(f"{API}/datasets", params={"q": "broker-down"}).json()["items"]
    assert len(rows) == 1
    dataset = rows[0]
    assert dataset["status"] == "failed" and dataset["error"] == detail
    job = c.get(f"{API}/jobs/{dataset['job_id']}").json()
    assert job["status"] == "failed" and job["error"] == detail
    # with the broker back, the same job can be retried and runs
    r = c.post(f"{API}/jobs/{dataset['job_id']}/retry")
    assert r.status_code == 200, r.text
    studio.completed(dataset["job_id"])
    assert c.get(f"{API}/datasets/{dataset['id']}").json()["status"] == "ready"


def test_reaper_fails_jobs_whose_message_never_went(studio: Studio) -> None:
    from mistudio.jobs.lifecycle import cancel_job, new_job, reap_stale_jobs
    from mistudio.store import Job, session_scope, utcnow

    old = utcnow() - dt.timedelta(hours=2)
    with session_scope() as session:
        # never sent (the API died between commit and send) ...
        unsent = new_job(session, "tokenize", {"tokenization_id": 0})
        unsent.queued_at = old
        # ... and sent long ago, still waiting its turn behind a long training
        waiting = new_job(session, "tokenize", {"tokenization_id": 0})
        waiting.queued_at = old
        waiting.dispatched_at = old
        ids = unsent.id, waiting.id
    reaped = reap_stale_jobs(stale_after=60)
    assert ids[0] in reaped and ids[1] not in reaped
    with session_scope() as session:
        first, second = session.get(Job, ids[0]), session.get(Job, ids[1])
        assert first is not None and second is not None
        assert first.status == "failed" and "never queued" in (first.error or "")
        assert second.status == "queued"
    cancel_job(ids[1])


def test_gpu_job_waits_for_a_busy_device(studio: Studio) -> None:
    from mistudio.jobs.device_lock import DeviceLock, gpu_device

    c = studio.client
    _model_and_dataset(studio)
    lock = DeviceLock(gpu_device())
    acquired, _ = lock.try_acquire("someone-else")
    assert acquired
    try:
        # loading a model is a gpu-queue job
        r = c.post(f"{API}/models", json={"source": str(studio.tiny_model_dir), "name": "wait"})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        job = studio.wait_job(
            job_id, until=lambda j: "waiting for gpu" in (j.get("message") or ""), timeout=60
        )
        assert job["status"] == "queued"
        assert job["message"] == f"waiting for gpu {lock.device} held by job someone-else"
        time.sleep(1.5)
        assert c.get(f"{API}/jobs/{job_id}").json()["status"] == "queued"
    finally:
        lock.release()
    studio.completed(job_id, timeout=60)


def _tokenization_folder(studio: Studio, tok_id: int) -> Path:
    return studio.home / "artifacts" / "tokenizations" / str(tok_id)


def test_failed_tokenization_leaves_no_files_and_delete_removes_the_folder(
    studio: Studio,
) -> None:
    c = studio.client
    model_id, dataset_id = _model_and_dataset(studio)
    # passes the API's checks, fails in the worker: every document is too short
    body: dict[str, Any] = {
        "dataset_id": dataset_id,
        "model_id": model_id,
        "config": {"max_length": 32, "stride": 16, "min_tokens": 1_000_000},
    }
    r = c.post(f"{API}/tokenizations", json=body)
    assert r.status_code == 202, r.text
    tok = r.json()
    job = studio.wait_job(tok["job_id"])
    assert job["status"] == "failed" and "no documents left" in job["error"]
    folder = _tokenization_folder(studio, tok["id"])
    assert not folder.exists(), sorted(p.name for p in folder.iterdir())
    row = c.get(f"{API}/tokenizations/{tok['id']}").json()
    assert row["status"] == "failed" and row["path"] is None

    # files a dead worker left in the folder of a row without a path go with the row
    folder.mkdir(parents=True)
    (folder / "tokens.npy").write_bytes(b"\0" * 1000)
    assert c.delete(f"{API}/tokenizations/{tok['id']}").status_code == 204
    assert not folder.exists()

    # a ready one's folder goes too
    body["config"] = {"max_length": 32, "stride": 16}
    tok = c.post(f"{API}/tokenizations", json=body).json()
    studio.completed(tok["job_id"])
    folder = _tokenization_folder(studio, tok["id"])
    assert (folder / "meta.json").exists()
    assert c.delete(f"{API}/tokenizations/{tok['id']}").status_code == 204
    assert not folder.exists()


def test_deleting_an_uploaded_dataset_removes_the_upload(studio: Studio) -> None:
    c = studio.client
    text = "\n".join(f"line {i} of an uploaded file" for i in range(20))
    r = c.post(
        f"{API}/datasets/upload",
        files={"file": ("notes.txt", io.BytesIO(text.encode()), "text/plain")},
        data={"name": "uploaded-then-deleted"},
    )
    assert r.status_code == 202, r.text
    dataset = r.json()
    studio.completed(dataset["job_id"])
    upload = Path(dataset["source"]["path"])
    assert upload.exists() and upload.parent.parent.name == "uploads"
    dataset = c.get(f"{API}/datasets/{dataset['id']}").json()
    assert dataset["path"] and Path(dataset["path"]).exists()
    assert c.delete(f"{API}/datasets/{dataset['id']}").status_code == 204
    assert not upload.parent.exists()
    assert not Path(dataset["path"]).exists()


def test_a_free_lock_naming_a_running_job_fails_that_job(studio: Studio) -> None:
    """The device lock is free, yet its file names a job still marked running: that job's
    worker died holding the GPU (flock went with it). The next GPU job fails it at once
    instead of running beside a row that still says running."""
    from mistudio.jobs.device_lock import DeviceLock, gpu_device
    from mistudio.jobs.lifecycle import new_job
    from mistudio.store import Job, session_scope, utcnow

    c = studio.client
    _model_and_dataset(studio)
    with session_scope() as session:
        ghost = new_job(session, "train", {"training_id": 0})
        ghost.status = "running"
        ghost.attempts = 2  # its automatic retry spent: failed, not queued again
        ghost.started_at = ghost.heartbeat_at = utcnow()  # fresh: the reaper would not touch it
        ghost_id = ghost.id
    done = threading.Event()

    def keep_fresh() -> None:  # so only the lock, never the reaper, can tell it is dead
        while not done.wait(0.5):
            with session_scope() as session:
                session.execute(
                    update(Job)
                    .where(Job.id == ghost_id, Job.status == "running")
                    .values(heartbeat_at=utcnow())
                )

    beat = threading.Thread(target=keep_fresh, daemon=True)
    beat.start()
    path = DeviceLock(gpu_device()).path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ghost_id)  # what a holder killed by SIGKILL leaves behind
    try:
        r = c.post(f"{API}/models", json={"source": str(studio.tiny_model_dir), "name": "next"})
        assert r.status_code == 202, r.text
        studio.completed(r.json()["job_id"], timeout=60)
    finally:
        done.set()
        beat.join()
    ghost_job = c.get(f"{API}/jobs/{ghost_id}").json()
    assert ghost_job["status"] == "failed" and ghost_job["resumable"], ghost_job
    assert ghost_job["error"].startswith("worker lost: its worker died holding gpu")


def test_two_reapers_queue_a_lost_job_once(studio: Studio) -> None:
    """Four reapers find the same lost training at once (the API's, a starting worker's, a GPU
    lock's dead-holder check): on PostgreSQL as on SQLite exactly one queues it again."""
    from mistudio.jobs.lifecycle import JobStateError, cancel_job, new_job, worker_lost
    from mistudio.store import JobEvent, session_scope, utcnow

    with session_scope() as session:
        ghost = new_job(session, "train", {"training_id": 0})
        ghost.status, ghost.attempts, ghost.worker = "running", 1, "gone:1"
        # A fresh heartbeat: the studio's own reaper, which runs beside this test, must not
        # claim the job before the four callers do (it did in a clean-clone run: four False).
        ghost.started_at = ghost.heartbeat_at = utcnow()
        ghost_id = ghost.id
    start = threading.Barrier(4)
    outcomes: list[bool] = []

    def reap() -> None:
        start.wait()
        outcomes.append(worker_lost(ghost_id, "sent no heartbeat for over 4 s", 1))

    threads = [threading.Thread(target=reap) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with contextlib.suppress(JobStateError):  # the worker may have failed it already
        cancel_job(ghost_id)  # its training does not exist; keep the worker out of it
    assert sorted(outcomes) == [False, False, False, True]
    with session_scope() as session:
        requeues = [
            data
            for data in session.scalars(
                select(JobEvent.data).where(JobEvent.job_id == ghost_id, JobEvent.type == "status")
            )
            if data.get("automatic")
        ]
    assert len(requeues) == 1 and requeues[0]["lost_worker"] == "gone"
