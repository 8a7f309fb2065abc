"""deploy/docker-compose.yml as a YAML document: the services, the settings they share with the
README's MISTUDIO_* table, GPU reservations for workers, one shared artifacts volume, and a token
required by the API's non-local bind. (``docker compose config`` is the fuller check; it needs
docker's compose, which the suite does not.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_api_host_and_gpu_workers_share_settings_and_artifacts() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "redis", "api", "worker-0", "worker-1"} <= services.keys()
    assert services["api"]["profiles"] == ["api"] and services["postgres"]["profiles"] == ["api"]
    workers = [s for name, s in services.items() if name.startswith("worker-")]
    for service in (services["api"], *workers):
        env = service["environment"]
        assert env["MISTUDIO_HOME"] == "/data"
        assert env["MISTUDIO_DATABASE_URL"].startswith("postgresql://")
        assert env["MISTUDIO_BROKER_URL"].startswith("redis://")
        assert service["volumes"] == ["artifacts:/data"]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    for worker in workers:
        assert worker["profiles"] == ["worker"]
        assert worker["command"][:2] == ["mistudio", "worker"]
        assert worker["environment"]["MISTUDIO_WORKER_NAME"]
        (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    api = services["api"]
    assert api["command"] == ["mistudio", "serve", "--no-worker"]
    assert api["environment"]["MISTUDIO_HOST"] == "0.0.0.0"
    assert api["environment"]["MISTUDIO_TOKEN"].startswith("${MISTUDIO_TOKEN:?")  # required
    assert "artifacts" in compose["volumes"]


def test_every_setting_it_uses_is_documented() -> None:
    text = (ROOT / "deploy" / "docker-compose.yml").read_text()
    readme = (ROOT / "README.md").read_text()
    used = set(re.findall(r"^\s+(MISTUDIO_[A-Z_]+):", text, re.M))
    assert used, "the compose file sets no MISTUDIO_ variables"
    undocumented = sorted(v for v in used - {"MISTUDIO_API_HOST"} if f"`{v}" not in readme)
    assert not undocumented, undocumented


def test_the_image_installs_torch_before_the_product() -> None:
    lines = (ROOT / "deploy" / "Dockerfile").read_text().splitlines()
    torch = next(i for i, line in enumerate(lines) if '"$TORCH_PIN"' in line)
    product = next(i for i, line in enumerate(lines) if '".[nlp]"' in line)
    assert torch < product
