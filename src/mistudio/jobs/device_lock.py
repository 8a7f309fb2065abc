"""One GPU job per device, whatever runs it: an OS file lock per device.

One worker per device with concurrency 1 keeps GPU jobs apart only while exactly one worker
consumes for that device. A second consumer appears in practice: an orphaned worker still
finishing its training after ``mistudio serve`` was killed, while the restarted studio's new
worker takes the next GPU job; or two ``mistudio worker`` processes started for one GPU. So the
job runner takes ``MISTUDIO_HOME/locks/gpu-<host>-<device>.lock`` with ``flock`` for the whole of
a ``gpu``-queue job. ``flock`` is released by the kernel when its holder dies (even by SIGKILL),
so a crash can never leave the device locked, and it needs no database or broker support.

The holder writes its job id into the file and empties it when it lets go. A lock acquired over
a file that still names a job therefore tells the new holder that job's worker died holding the
device; the runner fails that job at once instead of waiting for the reaper, so its row never
shows ``running`` beside the new one. The machine's name (``MISTUDIO_WORKER_NAME``, else the
host name) is part of the file name because the home folder may be shared between machines in a
cluster, each with its own GPU 0.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Sequence
from pathlib import Path

from mistudio.settings import get_settings


def gpu_device() -> str:
    """The device this worker's GPU jobs use: ``MISTUDIO_GPU_DEVICE``, else the first entry of
    ``CUDA_VISIBLE_DEVICES``, else ``0`` (also on a CPU-only machine: GPU-queue jobs still take
    turns, which keeps their memory use one job at a time)."""
    device = os.environ.get("MISTUDIO_GPU_DEVICE") or os.environ.get("CUDA_VISIBLE_DEVICES", "")
    first = device.split(",")[0].strip()
    return first or "0"


def job_gpu(job_device: object) -> str:
    """The device lock a job takes: the GPU its config names (``cuda:N``, the job config's
    ``device``, e.g. a training run on the second GPU), else this worker's :func:`gpu_device`.
    ``N`` counts the GPUs this process sees, so under ``CUDA_VISIBLE_DEVICES=2,3`` ``cuda:1``
    is GPU 3, the name the lock file of a worker pinned to it uses."""
    if isinstance(job_device, str) and job_device.startswith("cuda:"):
        index = job_device.split(":", 1)[1].strip()
        if index.isdigit():
            visible = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")]
            visible = [d for d in visible if d]
            return visible[int(index)] if int(index) < len(visible) else index
    return gpu_device()


def local_cuda_index(gpu: str) -> int | None:
    """The index torch gives the GPU numbered ``gpu`` (as :func:`gpu_device` and the lock files
    name it) in this process: its position in ``CUDA_VISIBLE_DEVICES`` when that is set, else
    the number itself; ``None`` when this process cannot see it."""
    visible = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")]
    visible = [d for d in visible if d]
    if visible:
        return visible.index(gpu) if gpu in visible else None
    return int(gpu) if gpu.isdigit() else None


def pin_worker_gpu(devices: Sequence[str]) -> int | None:
    """Make plain ``cuda`` mean the GPU this job locked. A job whose config says ``cuda`` or
    ``auto`` (no index) locks the worker's :func:`gpu_device`, but torch would run it on the
    current CUDA device, 0 unless set: a worker with ``MISTUDIO_GPU_DEVICE=1`` would lock GPU 1
    and compute on GPU 0 beside another job. So the job's process sets its current device to the
    locked GPU before the job runs. Returns the index set (``None``: nothing to do: an indexed
    device, a CPU job, no CUDA here, or a GPU this process does not see)."""
    if any(d.startswith("cuda:") for d in devices) or (devices and set(devices) == {"cpu"}):
        return None
    index = local_cuda_index(gpu_device())
    if index is None:
        return None
    # deferred: torch takes seconds to import and the API imports this module; a GPU-queue job
    # imports torch anyway
    import torch

    if not torch.cuda.is_available() or index >= torch.cuda.device_count():
        return None
    torch.cuda.set_device(index)
    return index


def lock_path(device: str) -> Path:
    name = f"{get_settings().machine_name}-{device}"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return get_settings().home / "locks" / f"gpu-{safe}.lock"


class DeviceLock:
    """An exclusive, non-blocking ``flock`` on one device's lock file."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.path = lock_path(device)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> str | None:
        """The job id written by the current (or a dead) holder, if any."""
        try:
            return self.path.read_text().strip() or None
        except OSError:
            return None

    def try_acquire(self, job_id: str) -> tuple[bool, str | None]:
        """Take the lock for ``job_id`` if it is free. Returns ``(acquired, previous)``:
        ``previous`` is the job id a dead holder left in the file (``None`` after a clean
        release), or, when not acquired, the job that holds the device now."""
        if self._fd is not None:
            return True, None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False, self.holder()
        previous = os.pread(fd, 200, 0).decode(errors="replace").strip() or None
        os.ftruncate(fd, 0)
        os.pwrite(fd, job_id.encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return True, previous

    def release(self) -> None:
        """Empty the file (a clean release) and unlock."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor drops the flock


def lock_names(devices: Sequence[str]) -> list[str]:
    """The device locks a job on ``devices`` (one entry per rank) takes, each once, in one
    fixed order (GPU numbers ascending). A GPU rank takes its GPU's (:func:`job_gpu`); CPU ranks
    share the CPU and take the worker's one lock together, so a job of CPU ranks takes turns
    with the other GPU-queue jobs as a single-process one does."""
    names = {job_gpu(d) for d in devices} or {gpu_device()}
    return sorted(names, key=lambda n: (0, int(n), "") if n.isdigit() else (1, 0, n))


class DeviceLocks:
    """The locks of several devices, held all or none.

    :meth:`try_acquire` takes them in :func:`lock_names`' fixed order without blocking and, when
    one is busy, lets go of those it took. A job waiting for a device therefore never sits on
    another: two jobs wanting overlapping devices cannot hold one each while waiting for the
    other (no deadlock), and the fixed order makes the first shared device the one they contend
    for, so one of them wins instead of both backing off forever."""

    def __init__(self, devices: Sequence[str]) -> None:
        self.locks = [DeviceLock(name) for name in lock_names(devices)]

    @property
    def devices(self) -> list[str]:
        return [lock.device for lock in self.locks]

    @property
    def held(self) -> bool:
        return all(lock.held for lock in self.locks)

    def try_acquire(self, job_id: str) -> tuple[bool, list[tuple[str, str | None]]]:
        """Take every lock for ``job_id`` or none. ``(True, [(device, dead holder's job id),
        ...])`` for the locks a dead holder left its name in; ``(False, [(device, holder)])``
        for the first busy device (its holder's job id, if the file says), holding nothing."""
        dead: list[tuple[str, str | None]] = []
        for lock in self.locks:
            acquired, other = lock.try_acquire(job_id)
            if not acquired:
                self.release()
                return False, [(lock.device, other)]
            if other and other != job_id:
                dead.append((lock.device, other))
        return True, dead

    def release(self) -> None:
        """Let go of every lock held (in reverse order)."""
        for lock in reversed(self.locks):
            lock.release()
