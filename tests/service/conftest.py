"""Service tests: the real API (in-process, lifespan included) + a real Celery worker subprocess,
over SQLite (+ SQLite broker) and PostgreSQL (+ Redis broker).

Each backend gets a fresh ``MISTUDIO_HOME`` and, for PostgreSQL, a fresh database created on
127.0.0.1 and dropped afterwards; Redis keys get a per-session prefix so a shared Redis is safe.
PostgreSQL tests are skipped (not failed) only when the servers cannot be reached.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.studio_client import StudioClient

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"
SERVICE_ENV = {
    "MISTUDIO_HEARTBEAT_SECONDS": "0.5",
    "MISTUDIO_STALE_AFTER_SECONDS": "4",
    "MISTUDIO_MONITOR_INTERVAL_SECONDS": "0.5",
    "MISTUDIO_UPLOAD_MAX_BYTES": "4000",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Worker:
    """A ``celery worker`` subprocess consuming both queues, like the one ``serve`` embeds."""

    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        from mistudio.cli.service_cmd import worker_argv

        argv = worker_argv(name=f"test-{uuid.uuid4().hex[:6]}@%h", loglevel="INFO")
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mistudio.jobs.app", *argv],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to report anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@dataclass
class Studio:
    backend: str
    home: Path
    client: Any
    worker: Worker
    data_dir: Path
    tiny_model_dir: Path
    env: dict[str, str]
    cache: dict[str, Any] = field(default_factory=dict)
    """Artifacts made by one test and reused by later ones (ids), per backend."""

    def wait_job(
        self,
        job_id: str,
        statuses: tuple[str, ...] = ("completed", "failed", "cancelled"),
        timeout: float = 120.0,
        until: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = self.client.get(f"/api/v1/jobs/{job_id}").json()
            if job["status"] in statuses or (until is not None and until(job)):
                return job
            time.sleep(0.2)
        log = self.worker.log_path.read_text()[-3000:] if self.worker.log_path.exists() else ""
        raise AssertionError(f"job {job_id} still {job.get('status')} after {timeout}s\n{log}")

    def completed(self, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
        job = self.wait_job(job_id, timeout=timeout)
        assert job["status"] == "completed", (
            job["error"],
            self.client.get(f"/api/v1/jobs/{job_id}/log").json()["log"][-2000:],
        )
        return job


def _save_tiny_model(folder: Path) -> None:
    from tests.unit.tiny_models import tiny_model, tiny_tokenizer

    tiny_model("llama").save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)


def _write_corpus(folder: Path) -> Path:
    from tests.unit.tiny_models import random_texts

    path = folder / "tiny.jsonl"
    import json

    with path.open("w") as f:
        for text in random_texts(300, seed=1, min_len=10, max_len=60):
            f.write(json.dumps({"text": text}) + "\n")
    return path


@pytest.fixture(
    scope="session",
    params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)],
)
def studio(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Studio]:
    backend: str = request.param
    root = tmp_path_factory.mktemp(f"studio-{backend}")
    home = root / "home"
    data = root / "data"
    home.mkdir()
    data.mkdir()
    env_updates = dict(SERVICE_ENV)
    env_updates["MISTUDIO_HOME"] = str(home)
    env_updates["MISTUDIO_IMPORT_ROOTS"] = f"{root},{home}"
    dbname = None
    if backend == "postgres":
        if not (_reachable("127.0.0.1", 5432) and _reachable("127.0.0.1", 6379)):
            pytest.skip("PostgreSQL or Redis is not reachable on 127.0.0.1")
        import psycopg

        dbname = f"mistudio_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        env_updates["MISTUDIO_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{dbname}"
        env_updates["MISTUDIO_BROKER_URL"] = REDIS
        env_updates["MISTUDIO_BROKER_KEY_PREFIX"] = f"mistudio-test-{uuid.uuid4().hex[:8]}:"
    saved = {
        k: os.environ.get(k)
        for k in [
            *env_updates,
            "MISTUDIO_DATABASE_URL",
            "MISTUDIO_BROKER_URL",
            "MISTUDIO_BROKER_KEY_PREFIX",
            "MISTUDIO_TOKEN",
        ]
    }
    for key in (
        "MISTUDIO_DATABASE_URL",
        "MISTUDIO_BROKER_URL",
        "MISTUDIO_BROKER_KEY_PREFIX",
        "MISTUDIO_TOKEN",
    ):
        os.environ.pop(key, None)
    os.environ.update(env_updates)

    from mistudio.settings import get_settings
    from mistudio.store import dispose_all, init_db

    get_settings.cache_clear()
    dispose_all()
    init_db()
    tiny = data / "tiny-llama"
    _save_tiny_model(tiny)
    _write_corpus(data)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    worker = Worker(env=env, log_path=root / "worker.log")
    worker.start()
    from mistudio.api.app import create_app

    try:
        with StudioClient(create_app()) as client:
            yield Studio(backend, home, client, worker, data, tiny, env)
    finally:
        worker.stop()
        dispose_all()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        prefix = env_updates.get("MISTUDIO_BROKER_KEY_PREFIX")
        if prefix:
            import redis

            client = redis.Redis.from_url(REDIS)
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)
        if dbname is not None:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (dbname,),
                )
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
