"""A lost worker's job on SQLite (the laptop database and broker), without a worker: a resumable
job is queued again once with a new message on the broker, then fails; a job that cannot
resume fails at once; two reapers seeing the same lost job queue it once."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from mistudio.jobs.events import add_event
from mistudio.jobs.lifecycle import new_job, reap_stale_jobs, worker_lost
from mistudio.settings import get_settings
from mistudio.store import Job, JobEvent, dispose_all, init_db, session_scope, utcnow


@pytest.fixture
def db(tmp_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The laptop defaults whatever an earlier test left in the environment (in the full suite
    # these tests once saw no re-queue at all: no broker message, no 'automatic' event).
    for key in ("MISTUDIO_DATABASE_URL", "MISTUDIO_BROKER_URL", "MISTUDIO_BROKER_KEY_PREFIX"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MISTUDIO_JOB_AUTO_RETRIES", "1")
    monkeypatch.setenv("MISTUDIO_STALE_AFTER_SECONDS", "30")
    get_settings.cache_clear()
    dispose_all()
    init_db()
    return tmp_home


def _lost_job(kind: str, attempts: int = 1, step: int | None = 40) -> str:
    """A job ``running`` on worker ``w1`` whose heartbeat stopped a minute ago."""
    old = utcnow() - dt.timedelta(seconds=60)
    with session_scope() as session:
        job = new_job(session, kind, {"training_id": 0})
        job.status = "running"
        job.attempts = attempts
        job.worker = "w1:4242"
        job.started_at = job.heartbeat_at = old
        if step is not None:
            add_event(session, job.id, "progress", {"progress": 0.4, "step": step})
        return job.id


def _job(job_id: str) -> tuple[Job, list[dict[str, Any]]]:
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        events = session.scalars(
            JobEvent.__table__.select()
            .with_only_columns(JobEvent.data)
            .where(JobEvent.job_id == job_id, JobEvent.type == "status")
            .order_by(JobEvent.seq)
        ).all()
    return job, list(events)


def _broker_messages(home: Path) -> list[str]:
    with sqlite3.connect(home / "broker.db") as conn:
        rows = conn.execute("SELECT payload FROM kombu_message").fetchall()
    return [r[0] for r in rows]


def test_resumable_job_is_queued_again_once_then_fails(db: Path) -> None:
    job_id = _lost_job("train")
    assert reap_stale_jobs(stale_after=5) == [job_id]
    job, events = _job(job_id)
    assert job.status == "queued" and job.resumable and job.error is None
    assert job.message == (
        "worker w1 lost at step 40 (sent no heartbeat for over 5 s); queued again to resume on "
        "another worker (automatic retry 1 of 1)"
    )
    assert job.dispatched_at is not None and job.dispatched_at >= job.queued_at
    assert events[-1]["automatic"] and events[-1]["lost_worker"] == "w1"
    assert events[-1]["lost_step"] == 40 and events[-1]["retry"] == 2
    # the new message names the second attempt (task id <job>.2) so a revoke of the first
    # cannot hit it
    assert [m for m in _broker_messages(db) if f"{job_id}.2" in m]

    # the second attempt's worker dies too: out of automatic retries, failed and resumable
    with session_scope() as session:
        row = session.get(Job, job_id)
        assert row is not None
        row.status, row.attempts = "running", 2
        row.heartbeat_at = utcnow() - dt.timedelta(seconds=60)
    assert reap_stale_jobs(stale_after=5) == [job_id]
    job, events = _job(job_id)
    assert job.status == "failed" and job.resumable
    assert job.error == (
        "worker lost: w1 sent no heartbeat for over 5 s (at step 40); retry to resume"
    )
    assert events[-1]["status"] == "failed" and "automatic" not in events[-1]


def test_job_that_cannot_resume_fails_at_once(db: Path) -> None:
    job_id = _lost_job("tokenize", step=None)
    assert reap_stale_jobs(stale_after=5) == [job_id]
    job, _ = _job(job_id)
    assert job.status == "failed" and not job.resumable
    assert job.error == "worker lost: w1 sent no heartbeat for over 5 s; retry to run it again"


def test_no_automatic_retry_when_set_to_zero(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTUDIO_JOB_AUTO_RETRIES", "0")
    job_id = _lost_job("train")
    assert worker_lost(job_id, "died holding gpu 0") is True
    job, _ = _job(job_id)
    assert job.status == "failed"
    assert job.error == "worker lost: w1 died holding gpu 0 (at step 40); retry to resume"


def test_two_reapers_queue_a_lost_job_once(db: Path) -> None:
    job_id = _lost_job("train")
    start = threading.Barrier(4)
    outcomes: list[bool] = []

    def reap() -> None:
        start.wait()
        outcomes.append(worker_lost(job_id, "sent no heartbeat for over 5 s", 1))

    threads = [threading.Thread(target=reap) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == [False, False, False, True]
    job, events = _job(job_id)
    assert job.status == "queued"
    assert sum(1 for e in events if e.get("automatic")) == 1
    assert len([m for m in _broker_messages(db) if f"{job_id}.2" in m]) == 1
    # a reaper that read the row before the requeue (attempt 1) cannot touch the next attempt
    with session_scope() as session:
        row = session.get(Job, job_id)
        assert row is not None
        row.status, row.attempts = "running", 2
    assert worker_lost(job_id, "sent no heartbeat for over 5 s", 1) is False
