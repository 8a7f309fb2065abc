"""The monitor's GPU sources: ``nvidia-smi``'s CSV parsed field by field (``[N/A]`` left out),
the fake ``nvidia-smi`` of the tests found on ``PATH`` and sampled like the real one, and
``MISTUDIO_GPU_SOURCE`` choosing the source."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mistudio.gpu_sources import MIB, NoGpus, NvidiaSmi, open_gpu_source, parse_smi_csv
from mistudio.monitor import SystemMonitor

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "fake_nvidia_smi"


def test_csv_fields_and_units() -> None:
    fields = ["index", "name", "memory.used", "memory.total", "power.draw", "temperature.gpu"]
    text = (
        "0, NVIDIA A100-SXM4-40GB, 1024, 40960, 61.52, 33\n"
        "1, Tesla T4, 0, 15360, [N/A], [Not Supported]\n"
        "\n"
        "WARNING: infoROM is corrupted at gpu 0000:00:04.0\n"
    )
    a, b = parse_smi_csv(text, fields)
    assert a == {
        "index": 0,
        "name": "NVIDIA A100-SXM4-40GB",
        "memory_used_bytes": 1024 * MIB,
        "memory_total_bytes": 40960 * MIB,
        "power_watts": 61.52,
        "temperature_c": 33.0,
    }
    assert b["index"] == 1 and "power_watts" not in b and "temperature_c" not in b


@pytest.fixture
def fake_smi(monkeypatch: pytest.MonkeyPatch, tmp_home: Path) -> None:
    monkeypatch.setenv("PATH", f"{FAKE}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MISTUDIO_GPU_SOURCE", "nvidia-smi")


def test_fake_nvidia_smi_on_path_gives_two_gpus(fake_smi: None) -> None:
    smi = NvidiaSmi()
    assert smi.exe == str(FAKE / "nvidia-smi") and smi.count == 2
    gpus = smi.sample()
    assert [g["index"] for g in gpus] == [0, 1]
    for gpu in gpus:
        assert set(gpu) == {
            "index",
            "name",
            "utilization_percent",
            "memory_utilization_percent",
            "memory_used_bytes",
            "memory_total_bytes",
            "temperature_c",
            "power_watts",
            "power_limit_watts",
        }
        assert 0 <= gpu["utilization_percent"] <= 100 and gpu["power_limit_watts"] == 700.0
    assert gpus[0]["memory_used_bytes"] > gpus[1]["memory_used_bytes"]
    sample = SystemMonitor(interval=1.0).sample()
    assert [g["index"] for g in sample["gpus"]] == [0, 1]


def test_source_setting(fake_smi: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert open_gpu_source("nvidia-smi").name == "nvidia-smi"
    assert isinstance(open_gpu_source("none"), NoGpus)
    monkeypatch.setenv("PATH", "/nonexistent")
    missing = open_gpu_source("auto")  # no NVML here, no nvidia-smi: no GPUs, no error
    assert missing.count == 0 and missing.sample() == []


def test_gpus_can_come_and_go(
    fake_smi: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    count = tmp_path / "gpus"
    monkeypatch.setenv("FAKE_NVIDIA_SMI_GPUS_FILE", str(count))
    smi = open_gpu_source("nvidia-smi")  # no file: "No devices were found", exit 6
    assert smi.name == "nvidia-smi" and smi.sample() == [] and smi.count == 0
    count.write_text("3")
    assert [g["index"] for g in smi.sample()] == [0, 1, 2] and smi.count == 3
