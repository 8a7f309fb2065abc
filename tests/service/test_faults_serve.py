"""Killing ``mistudio serve`` mid-training: its embedded worker dies with it (no orphan that
trains on), and after a restart two GPU jobs are never running at once.

This runs the real ``mistudio serve`` (API + embedded worker) as a subprocess on a free port
with its own ``MISTUDIO_HOME`` (SQLite database and broker, the laptop default), drives it over
HTTP, and SIGKILLs it: the signal nothing can catch, so only the kernel's parent-death signal
and the worker's parent watchdog can stop the worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.servers import free_port, wait_answering
from tests.service.conftest import SERVICE_ENV, _save_tiny_model, _write_corpus
from tests.service.test_pipeline import HOOK

pytestmark = pytest.mark.service
API = "/api/v1"


class Serve:
    """One ``mistudio serve`` process; ``start`` again after a kill is a restart."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("MISTUDIO_") or k == "MISTUDIO_HOME"
        }
        env.update(SERVICE_ENV)
        src = str(Path(__file__).resolve().parents[2] / "src")
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
        env["MISTUDIO_HOME"] = str(self.home)
        env["MISTUDIO_IMPORT_ROOTS"] = f"{root},{self.home}"
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        self.log = root / "serve.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mistudio", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_answering(f"http://127.0.0.1:{self.port}{API}/health", self.proc, self.log, 90)

    def worker_procs(self) -> list[psutil.Process]:
        assert self.proc is not None
        return psutil.Process(self.proc.pid).children(recursive=True)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self.client.get(f"{API}/jobs/{job_id}").json())

    def wait(self, job_id: str, until: Any, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if until(job):
                return job
            assert job["status"] not in ("failed", "cancelled"), job
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} is {job}\n{self.log.read_text()[-3000:]}")

    def completed(self, job_id: str) -> dict[str, Any]:
        return self.wait(job_id, lambda j: j["status"] == "completed")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    data = tmp_path / "data"
    data.mkdir()
    _save_tiny_model(data / "tiny-llama")
    _write_corpus(data)
    studio = Serve(tmp_path)
    try:
        yield studio
    finally:
        studio.stop()
        for proc in psutil.process_iter(["environ"]):  # never leave a worker behind
            try:
                if (proc.info["environ"] or {}).get("MISTUDIO_HOME") == str(studio.home):
                    proc.kill()
            except psutil.Error:
                pass


def _training(model_id: int, tok_id: int, total_tokens: int, name: str) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "tokenization_id": tok_id,
        "name": name,
        "train": {
            "saes": [
                {
                    "hook_name": HOOK,
                    "sae": {"architecture": "topk", "d_in": 32, "d_sae": 64, "k": 4},
                }
            ],
            "total_tokens": total_tokens,
            "batch_tokens": 128,
            "log_every": 5,
            "init_batches": 2,
            "final_eval_tokens": 512,
            "threads": 1,
        },
        "run": {"buffer_tokens": 1024, "eval_sequences": 4, "eval_splice": False},
    }


def test_killed_serve_leaves_no_worker_and_never_two_gpu_jobs(serve: Serve) -> None:
    serve.start()
    c = serve.client
    data = serve.root / "data"
    model = c.post(f"{API}/models", json={"source": str(data / "tiny-llama"), "name": "tiny"})
    dataset = c.post(
        f"{API}/datasets", json={"source": {"kind": "local", "path": str(data / "tiny.jsonl")}}
    )
    assert model.status_code == dataset.status_code == 202, (model.text, dataset.text)
    serve.completed(model.json()["job_id"])
    serve.completed(dataset.json()["job_id"])
    model_id, dataset_id = model.json()["id"], dataset.json()["id"]
    r = c.post(
        f"{API}/tokenizations",
        json={
            "dataset_id": dataset_id,
            "model_id": model_id,
            "config": {"max_length": 32, "stride": 16},
        },
    )
    assert r.status_code == 202, r.text
    serve.completed(r.json()["job_id"])
    tok_id = r.json()["id"]

    # a training that would run for a long time, and a short one queued behind it
    long = c.post(f"{API}/trainings", json=_training(model_id, tok_id, 128 * 500_000, "long"))
    assert long.status_code == 202, long.text
    long_job = long.json()["job_id"]
    serve.wait(long_job, lambda j: j["status"] == "running" and j["progress"] > 0.0)
    short = c.post(f"{API}/trainings", json=_training(model_id, tok_id, 128 * 30, "short"))
    assert short.status_code == 202, short.text
    short_job = short.json()["job_id"]

    workers = serve.worker_procs()
    assert workers, "serve has no embedded worker"
    assert serve.proc is not None
    serve.proc.send_signal(signal.SIGKILL)
    serve.proc.wait(timeout=10)
    t_kill = time.monotonic()
    gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, f"orphan worker(s) still running after SIGKILL of serve: {alive}"
    print(f"\nworker gone {time.monotonic() - t_kill:.2f}s after serve was killed")

    # restart: the short training runs, the long one is queued again (worker lost) behind it to
    # resume, and two GPU jobs never run at once
    serve.start()
    deadline = time.monotonic() + 180
    seen_running: set[str] = set()
    while time.monotonic() < deadline:
        running = c.get(f"{API}/jobs", params={"status": "running", "limit": 50}).json()["items"]
        gpu = [j["id"] for j in running if j["queue"] == "gpu"]
        assert len(gpu) <= 1, f"two GPU jobs running at once: {running}"
        seen_running.update(gpu)
        if serve.job(short_job)["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.1)
    short_final = serve.job(short_job)
    assert short_final["status"] == "completed", short_final
    long_after = serve.job(long_job)
    assert long_after["status"] in ("queued", "running") and long_after["resumable"], long_after
    events = c.get(f"{API}/jobs/{long_job}/events", params={"limit": 5000}).json()
    (requeue,) = [e["data"] for e in events if e["type"] == "status" and e["data"].get("automatic")]
    assert " lost at step " in requeue["message"], requeue
    # stop it: a cancel reaches it whether it waits or already resumed
    assert c.post(f"{API}/jobs/{long_job}/cancel").status_code == 200
    serve.wait(long_job, lambda j: j["status"] == "cancelled", timeout=120)
