"""System metrics for the studio: CPU per core, memory, disk and network I/O rates, GPUs.

psutil covers the host; GPUs come from NVML, else ``nvidia-smi``, else there are none
(:mod:`mistudio.gpu_sources`, which explains ``MISTUDIO_GPU_SOURCE`` and the tests' fake GPUs).
The API samples every ``MISTUDIO_MONITOR_INTERVAL_SECONDS`` (2 s) into a ring buffer holding one
hour, serves the latest sample and the history, and pushes each sample on
the ``system`` WebSocket channel. Rates (bytes/s) are differences between consecutive samples, so
the first sample reports none.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any

import psutil

from mistudio.gpu_sources import GpuSource, open_gpu_source
from mistudio.settings import get_settings

log = logging.getLogger(__name__)
HISTORY_SECONDS = 3600


class SystemMonitor:
    """Samples the machine and keeps one hour of samples."""

    def __init__(self, interval: float | None = None) -> None:
        self.interval = interval or get_settings().monitor_interval_seconds
        self.history: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=max(1, int(HISTORY_SECONDS / self.interval))
        )
        self._lock = threading.Lock()
        self._gpus: GpuSource | None = None
        self._last: tuple[float, Any, Any] | None = None
        psutil.cpu_percent(percpu=True)  # prime: the first call has no interval to measure

    @property
    def gpus(self) -> GpuSource:
        """The GPU source, opened on first use (NVML init or one ``nvidia-smi`` call)."""
        if self._gpus is None:
            self._gpus = open_gpu_source(get_settings().gpu_source)
        return self._gpus

    def sample(self) -> dict[str, Any]:
        """Take one sample, store it and return it."""
        now = time.time()
        per_core = psutil.cpu_percent(percpu=True)
        mem = psutil.virtual_memory()
        swap = psutil.swap_memory()
        disk_io = psutil.disk_io_counters()
        net_io = psutil.net_io_counters()
        home = get_settings().home
        try:
            usage = psutil.disk_usage(str(home if home.exists() else home.parent))
            disk = {"total_bytes": usage.total, "used_bytes": usage.used, "free_bytes": usage.free}
        except OSError:
            disk = {}
        rates: dict[str, float | None] = {
            "disk_read_bytes_per_s": None,
            "disk_write_bytes_per_s": None,
            "net_sent_bytes_per_s": None,
            "net_recv_bytes_per_s": None,
        }
        if self._last is not None:
            then, last_disk, last_net = self._last
            dt = max(now - then, 1e-6)
            if disk_io is not None and last_disk is not None:
                rates["disk_read_bytes_per_s"] = (disk_io.read_bytes - last_disk.read_bytes) / dt
                rates["disk_write_bytes_per_s"] = (disk_io.write_bytes - last_disk.write_bytes) / dt
            if net_io is not None and last_net is not None:
                rates["net_sent_bytes_per_s"] = (net_io.bytes_sent - last_net.bytes_sent) / dt
                rates["net_recv_bytes_per_s"] = (net_io.bytes_recv - last_net.bytes_recv) / dt
        self._last = (now, disk_io, net_io)
        sample: dict[str, Any] = {
            "timestamp": now,
            "cpu": {
                "percent": sum(per_core) / len(per_core) if per_core else 0.0,
                "per_core_percent": per_core,
                "count": psutil.cpu_count() or len(per_core),
            },
            "memory": {
                "total_bytes": mem.total,
                "used_bytes": mem.total - mem.available,
                "available_bytes": mem.available,
                "percent": mem.percent,
                "swap_total_bytes": swap.total,
                "swap_used_bytes": swap.used,
                "swap_percent": swap.percent,
            },
            "disk": disk,
            "io": rates,
            "gpus": self.gpus.sample(),
        }
        with self._lock:
            self.history.append(sample)
        return sample

    def latest(self) -> dict[str, Any]:
        with self._lock:
            if self.history:
                return self.history[-1]
        return self.sample()

    def since(self, seconds: float) -> list[dict[str, Any]]:
        cutoff = time.time() - seconds
        with self._lock:
            return [s for s in self.history if s["timestamp"] >= cutoff]
