"""Where the system monitor reads GPUs from: NVML, else the ``nvidia-smi`` command, else nothing.

NVML (``nvidia-ml-py``) is the first choice: a library call, no process per sample. A machine
with the NVIDIA driver but without the Python package (a cluster image that ships only the
driver tools) still has ``nvidia-smi``, so the monitor asks it instead, once per sample, for the
same fields in its CSV form (``--query-gpu=... --format=csv,noheader,nounits``: memory in MiB,
power in W, ``[N/A]`` or ``[Not Supported]`` for a field a card does not report, which is then
simply left out of that GPU's sample).

``MISTUDIO_GPU_SOURCE`` picks one: ``auto`` (the default: NVML, then ``nvidia-smi``), ``nvml``,
``nvidia-smi`` or ``none``. It is also the seam the tests use: a machine without a GPU runs the
studio with ``MISTUDIO_GPU_SOURCE=nvidia-smi`` and a fake ``nvidia-smi`` first on ``PATH``
(``tests/fixtures/fake_nvidia_smi/``) that prints two GPUs in the real CSV format, so the monitor,
the API, the system panel and the training form's GPU choice run the same code as with real cards.

Each GPU sample is a dict: ``index``, ``name``, ``utilization_percent``,
``memory_utilization_percent``, ``memory_used_bytes``, ``memory_total_bytes``, ``temperature_c``,
``power_watts``, ``power_limit_watts`` (any but ``index`` may be missing).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from typing import Any, Protocol

MIB = 1 << 20
SMI_FIELDS: dict[str, tuple[str, float]] = {
    "index": ("index", 1),
    "name": ("name", 1),
    "utilization.gpu": ("utilization_percent", 1),
    "utilization.memory": ("memory_utilization_percent", 1),
    "memory.used": ("memory_used_bytes", MIB),
    "memory.total": ("memory_total_bytes", MIB),
    "temperature.gpu": ("temperature_c", 1),
    "power.draw": ("power_watts", 1),
    "power.limit": ("power_limit_watts", 1),
}
"""``nvidia-smi --query-gpu`` fields, the sample key each becomes and the factor to its unit."""
INT_KEYS = frozenset({"index", "memory_used_bytes", "memory_total_bytes"})
SMI_TIMEOUT_SECONDS = 5.0


class GpuSource(Protocol):
    name: str
    count: int

    def sample(self) -> list[dict[str, Any]]: ...


class NoGpus:
    name = "none"
    count = 0

    def sample(self) -> list[dict[str, Any]]:
        return []


class Nvml:
    """NVML handles, opened once; ``count`` is 0 without a driver or the package."""

    name = "nvml"

    def __init__(self) -> None:
        self.handles: list[Any] = []
        try:
            # deferred: NVML exists only on machines with an NVIDIA driver
            import pynvml

            pynvml.nvmlInit()
            self.pynvml = pynvml
            self.handles = [
                pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())
            ]
        except Exception:  # no driver, no GPU, or no package: report no GPUs
            self.handles = []
        self.count = len(self.handles)

    def sample(self) -> list[dict[str, Any]]:
        if not self.handles:
            return []
        nv = self.pynvml
        gpus = []
        for i, handle in enumerate(self.handles):
            gpu: dict[str, Any] = {"index": i}
            with contextlib.suppress(Exception):
                name = nv.nvmlDeviceGetName(handle)
                gpu["name"] = name.decode() if isinstance(name, bytes) else str(name)
            with contextlib.suppress(Exception):
                util = nv.nvmlDeviceGetUtilizationRates(handle)
                gpu["utilization_percent"] = float(util.gpu)
                gpu["memory_utilization_percent"] = float(util.memory)
            with contextlib.suppress(Exception):
                mem = nv.nvmlDeviceGetMemoryInfo(handle)
                gpu["memory_used_bytes"] = int(mem.used)
                gpu["memory_total_bytes"] = int(mem.total)
            with contextlib.suppress(Exception):
                gpu["temperature_c"] = float(
                    nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU)
                )
            with contextlib.suppress(Exception):
                gpu["power_watts"] = nv.nvmlDeviceGetPowerUsage(handle) / 1000.0
            with contextlib.suppress(Exception):
                gpu["power_limit_watts"] = nv.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
            gpus.append(gpu)
        return gpus


def parse_smi_csv(text: str, fields: list[str]) -> list[dict[str, Any]]:
    """GPU samples from ``nvidia-smi``'s ``csv,noheader,nounits`` output for ``fields``."""
    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        values = [v.strip() for v in line.split(",")]
        if len(values) != len(fields):
            continue  # a warning line, not a GPU
        gpu: dict[str, Any] = {}
        for field, raw in zip(fields, values, strict=True):
            key, factor = SMI_FIELDS[field]
            if key == "name":
                gpu[key] = raw
            elif raw and not raw.startswith("["):  # [N/A], [Not Supported]
                with contextlib.suppress(ValueError):
                    number = float(raw) * factor
                    gpu[key] = int(number) if key in INT_KEYS else number
        if "index" in gpu:
            gpus.append(gpu)
    return gpus


class NvidiaSmi:
    """``nvidia-smi`` on ``PATH``, asked once per sample; ``count`` from the first answer."""

    name = "nvidia-smi"

    def __init__(self) -> None:
        self.exe = shutil.which("nvidia-smi")
        self.fields = list(SMI_FIELDS)
        self.count = 0
        self.sample()

    def sample(self) -> list[dict[str, Any]]:
        if not self.exe:
            return []
        try:
            out = subprocess.run(
                [self.exe, f"--query-gpu={','.join(self.fields)}", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=SMI_TIMEOUT_SECONDS,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):  # also "No devices were found" (exit 6)
            self.count = 0
            return []
        gpus = parse_smi_csv(out, self.fields)
        self.count = len(gpus)  # the latest answer's (a GPU can fall off the bus)
        return gpus


def open_gpu_source(kind: str) -> GpuSource:
    """The source ``MISTUDIO_GPU_SOURCE`` names (see the module docstring)."""
    if kind == "none":
        return NoGpus()
    if kind in ("auto", "nvml"):
        nvml = Nvml()
        if nvml.count or kind == "nvml":
            return nvml
    smi = NvidiaSmi()
    return smi if smi.count or kind == "nvidia-smi" else NoGpus()
