"""The per-device GPU lock: one holder across processes, released by the kernel when the holder
dies (even by SIGKILL), and a dead holder's job id left behind for the next one to see."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mistudio.jobs.device_lock import (
    DeviceLock,
    DeviceLocks,
    gpu_device,
    job_gpu,
    local_cuda_index,
    lock_names,
    lock_path,
    pin_worker_gpu,
)

HOLD = """
import sys, time
from mistudio.jobs.device_lock import DeviceLock
lock = DeviceLock("0")
ok, _ = lock.try_acquire(sys.argv[1])
print("held" if ok else "busy", flush=True)
time.sleep(120)
"""


def _holder(job_id: str) -> subprocess.Popen[str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, job_id], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_process_waits_and_dead_holder_releases(tmp_home: Path) -> None:
    holder = _holder("job-a")
    try:
        lock = DeviceLock("0")
        acquired, other = lock.try_acquire("job-b")
        assert not acquired and other == "job-a"  # busy: and we know who holds it
        assert lock.try_acquire("job-b") == (False, "job-a")
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 5
        while not (result := lock.try_acquire("job-b"))[0] and time.monotonic() < deadline:
            time.sleep(0.05)
        # free again, and the file still names the job whose worker died holding the device
        assert result == (True, "job-a")
        assert lock.holder() == "job-b"
    finally:
        if holder.poll() is None:
            holder.kill()
    lock.release()
    # a clean release leaves no name behind
    again = DeviceLock("0")
    assert again.try_acquire("job-c") == (True, None)
    again.release()


def test_devices_have_their_own_files(tmp_home: Path) -> None:
    a, b = DeviceLock("0"), DeviceLock("1")
    assert a.try_acquire("x")[0] and b.try_acquire("y")[0]
    assert a.path != b.path and a.path.parent == tmp_home / "locks"
    a.release()
    b.release()
    assert lock_path("0").name.startswith("gpu-") and lock_path("0").name.endswith("-0.lock")


def test_gpu_device_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTUDIO_GPU_DEVICE", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert gpu_device() == "0"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    assert gpu_device() == "3"
    monkeypatch.setenv("MISTUDIO_GPU_DEVICE", "2")
    assert gpu_device() == "2"


def test_a_job_naming_a_gpu_takes_that_gpus_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTUDIO_GPU_DEVICE", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert job_gpu("cuda:1") == "1" and job_gpu("cuda:0") == "0"
    for other in (None, "cpu", "cuda", "cuda:x", 3):  # not one GPU: the worker's device
        assert job_gpu(other) == "0"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")  # cuda:1 of this process is GPU 3
    assert job_gpu("cuda:1") == "3" and job_gpu("cuda:0") == "2" and job_gpu("cuda:5") == "5"
    assert job_gpu("cpu") == "2"


def _no_gpu_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTUDIO_GPU_DEVICE", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_a_job_over_several_devices_takes_one_lock_each_in_a_fixed_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_gpu_env(monkeypatch)
    assert lock_names(["cuda:10", "cuda:2", "cuda:1"]) == ["1", "2", "10"]  # numbers, not text
    assert DeviceLocks(["cuda:3", "cuda:1"]).devices == ["1", "3"]
    assert lock_names(["cpu", "cpu"]) == ["0"]  # CPU ranks share the worker's one lock
    assert lock_names([]) == ["0"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    assert lock_names(["cuda:1", "cuda:0"]) == ["4", "6"]


def test_several_locks_are_taken_all_or_none(
    tmp_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_gpu_env(monkeypatch)
    other = DeviceLock("1")  # another job holds GPU 1 (a second open file: flock tells them apart)
    assert other.try_acquire("job-a") == (True, None)
    wants = DeviceLocks(["cuda:0", "cuda:1", "cuda:2"])
    assert wants.try_acquire("job-b") == (False, [("1", "job-a")])
    assert not any(lock.held for lock in wants.locks)  # GPU 0, taken first, was let go
    free = DeviceLock("0")
    assert free.try_acquire("job-c") == (True, None)  # and its file names nobody
    free.release()
    other.release()
    assert wants.try_acquire("job-b") == (True, [])
    assert wants.held and [lock.holder() for lock in wants.locks] == ["job-b"] * 3
    wants.release()
    assert all(DeviceLock(d).holder() is None for d in ("0", "1", "2"))


def test_overlapping_jobs_never_hold_one_device_each(
    tmp_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Job X wants GPUs 0 and 1, job Y GPUs 1 and 2: whatever the interleaving, the one that
    does not get GPU 1 holds nothing (GPU 2 stays free for a third job), and gets both later."""
    _no_gpu_env(monkeypatch)
    x, y = DeviceLocks(["cuda:1", "cuda:0"]), DeviceLocks(["cuda:2", "cuda:1"])
    assert x.try_acquire("x")[0]
    assert y.try_acquire("y") == (False, [("1", "x")])
    third = DeviceLock("2")
    assert third.try_acquire("z") == (True, None)
    third.release()
    x.release()
    assert y.try_acquire("y") == (True, [])
    assert x.try_acquire("x") == (False, [("1", "y")]) and not any(lk.held for lk in x.locks)
    y.release()


def test_a_dead_holder_is_named_for_each_device_it_left(tmp_home: Path) -> None:
    holder = _holder("job-dead")  # holds "0", then dies
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    locks = DeviceLocks(["cuda:0", "cuda:1"])
    deadline = time.monotonic() + 5
    while not (result := locks.try_acquire("job-new"))[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert result == (True, [("0", "job-dead")])
    locks.release()


def test_plain_cuda_means_the_locked_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU a job on plain ``cuda`` locks is the one torch is pointed at: its index among
    the GPUs this process sees (CUDA_VISIBLE_DEVICES), else its own number."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert local_cuda_index("1") == 1
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert local_cuda_index("3") == 1
    assert local_cuda_index("0") is None  # not visible to this process
    monkeypatch.setenv("MISTUDIO_GPU_DEVICE", "3")
    assert job_gpu("cuda") == "3"
    assert local_cuda_index(job_gpu("cuda")) == 1
    # Indexed devices and CPU jobs are left alone; on this CPU machine nothing is pinned.
    assert pin_worker_gpu(["cuda:0"]) is None
    assert pin_worker_gpu(["cpu", "cpu"]) is None
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert pin_worker_gpu(["cuda"]) == (0 if torch.cuda.is_available() else None)
