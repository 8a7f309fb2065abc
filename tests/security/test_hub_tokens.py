"""Hub tokens given in a request reach the Hub, and nothing else (issue 13, point 5).

A studio whose worker talks to a fake Hub (``tests.fake_hub``: gated repos refuse file downloads
without ``valid_token``) imports a gated dataset and loads a gated model through the API: without
a token each job fails with one line saying the repo is gated; with one it succeeds and the Hub
saw the token on every request. The token string then appears nowhere the studio writes: not in
a response, a row (the database files are searched byte for byte, WAL included), an event, the
job log, the worker's log or any other file under ``MISTUDIO_HOME`` (its sealed copy is gone
once the job completed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_hub import FakeHub, build_parquet_dataset, build_tiny_gpt2
from tests.security.worker_studio import worker_studio
from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API

pytestmark = pytest.mark.service

DATASET = "org/gated-data"
MODEL = "org/gated-model"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeHub]:
    root = tmp_path_factory.mktemp("hub-repos")
    with FakeHub() as hub:
        hub.add_repo(DATASET, build_parquet_dataset(root / "d"), repo_type="dataset", gated=True)
        hub.add_repo(MODEL, build_tiny_gpt2(root / "m"), gated=True)
        seen: list[tuple[bool, str, str | None]] = []
        handler: Any = hub._hub.RequestHandlerClass
        original = handler._dispatch

        def recording(self: Any) -> None:  # every request the Hub host gets, with its auth
            seen.append((self.is_cdn, self.path, self.headers.get("Authorization")))
            original(self)

        handler._dispatch = recording
        hub.auth_seen = seen  # type: ignore[attr-defined]
        yield hub


@pytest.fixture(scope="module")
def hub_studio(tmp_path_factory: pytest.TempPathFactory, hub: FakeHub) -> Iterator[Studio]:
    root = tmp_path_factory.mktemp("hub-studio")
    hf = root / "hf"
    worker_env: dict[str, str | None] = {
        "HF_ENDPOINT": hub.endpoint,
        "HF_HOME": str(hf),
        "HF_HUB_CACHE": str(hf / "hub"),
        "HF_DATASETS_CACHE": str(hf / "datasets"),
        "HF_TOKEN_PATH": str(hf / "token"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
    }
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_TOKEN"):
        worker_env[name] = None
    worker_env["HUGGING_FACE_HUB_TOKEN"] = None
    with worker_studio(root, {}, worker_only=worker_env) as studio:
        yield studio


def _requests_since(hub: FakeHub, start: int) -> list[tuple[bool, str, str | None]]:
    return [r for r in hub.auth_seen[start:] if not r[0]]  # type: ignore[attr-defined]


def _assert_token_written_nowhere(studio: Studio, token: str, *texts: str) -> None:
    for text in texts:
        assert token not in text
    needle = token.encode()
    leaks = []
    # Every file under MISTUDIO_HOME (database + WAL, broker, artifacts, logs, secrets) and
    # the worker's log; the Hub's download cache lives outside it.
    for path in [*studio.home.rglob("*"), studio.worker.log_path]:
        if path.is_file() and needle in path.read_bytes():
            leaks.append(str(path.relative_to(studio.home.parent)))
    assert leaks == []


def _job_texts(studio: Studio, job_id: str) -> list[str]:
    c = studio.client
    return [
        c.get(f"{API}/jobs/{job_id}").text,
        c.get(f"{API}/jobs/{job_id}/events").text,
        c.get(f"{API}/jobs/{job_id}/log").text,
    ]


def test_gated_dataset_imports_with_the_token_given(hub_studio: Studio, hub: FakeHub) -> None:
    c = hub_studio.client
    source = {"kind": "hub", "repo_id": DATASET, "split": "train"}
    r = c.post(f"{API}/datasets", json={"source": source})
    assert r.status_code == 202, r.text
    job = hub_studio.wait_job(r.json()["job_id"])
    assert job["status"] == "failed"
    assert "gated" in job["error"] and "\n" not in job["error"], job["error"]

    token = hub.valid_token
    start = len(hub.auth_seen)  # type: ignore[attr-defined]
    r = c.post(f"{API}/datasets", json={"source": {**source, "token": token}, "name": "gated"})
    assert r.status_code == 202, r.text
    created = r.text
    job = hub_studio.completed(r.json()["job_id"])
    dataset = c.get(f"{API}/datasets/{r.json()['id']}")
    assert dataset.json()["status"] == "ready" and dataset.json()["n_documents"] == 20
    sent = _requests_since(hub, start)
    assert sent and all(auth == f"Bearer {token}" for _, _, auth in sent), sent
    assert any("/resolve/" in path for _, path, _ in sent)  # the file itself, not only metadata
    samples = c.get(f"{API}/datasets/{r.json()['id']}/samples").text
    _assert_token_written_nowhere(
        hub_studio,
        token,
        created,
        dataset.text,
        samples,
        c.get(f"{API}/datasets").text,
        *_job_texts(hub_studio, job["id"]),
    )


def test_gated_model_loads_with_the_token_given(hub_studio: Studio, hub: FakeHub) -> None:
    c = hub_studio.client
    r = c.post(f"{API}/models", json={"source": MODEL})
    assert r.status_code == 202, r.text
    model_id = r.json()["id"]
    job = hub_studio.wait_job(r.json()["job_id"])
    assert job["status"] == "failed"
    assert "gated" in job["error"] and "\n" not in job["error"], job["error"]

    token = hub.valid_token
    start = len(hub.auth_seen)  # type: ignore[attr-defined]
    r = c.post(f"{API}/models", json={"source": MODEL, "name": "gated", "token": token})
    assert r.status_code == 202, r.text
    created = r.text
    job = hub_studio.completed(r.json()["job_id"])
    model = c.get(f"{API}/models/{r.json()['id']}")
    assert model.json()["status"] == "ready" and model.json()["architecture"]["n_layers"] == 2
    sent = _requests_since(hub, start)
    assert sent and all(auth == f"Bearer {token}" for _, _, auth in sent), sent
    assert any("/resolve/" in path for _, path, _ in sent)

    # later jobs use the downloaded snapshot: no token needed, none kept
    path = str(hub_studio.data_dir / "tiny.jsonl")
    r = c.post(f"{API}/datasets", json={"source": {"kind": "local", "path": path}})
    dataset = hub_studio.completed(r.json()["job_id"])
    r = c.post(
        f"{API}/tokenizations",
        json={
            "dataset_id": dataset["result"]["dataset_id"],
            "model_id": model.json()["id"],
            "config": {"max_length": 16, "stride": 8},
        },
    )
    assert r.status_code == 202, r.text
    hub_studio.completed(r.json()["job_id"])

    # the model that failed without a token loads when one is given to /load
    r = c.post(f"{API}/models/{model_id}/load", json={"token": token})
    assert r.status_code == 202, r.text
    reload = hub_studio.completed(r.json()["job_id"])
    _assert_token_written_nowhere(
        hub_studio,
        token,
        created,
        r.text,
        model.text,
        c.get(f"{API}/models").text,
        *_job_texts(hub_studio, job["id"]),
        *_job_texts(hub_studio, reload["id"]),
    )


def test_a_token_is_never_echoed_when_the_hub_refuses_it(
    hub_studio: Studio, hub: FakeHub, tmp_path: Path
) -> None:
    c = hub_studio.client
    token = hub.no_access_token
    hub.add_repo("org/gated-uncached", build_tiny_gpt2(tmp_path / "m"), gated=True)
    body = {"source": "org/gated-uncached", "token": token}
    r = c.post(f"{API}/models", json=body)
    assert r.status_code == 202, r.text
    job = hub_studio.wait_job(r.json()["job_id"])
    assert job["status"] == "failed" and "gated" in job["error"]
    _assert_token_written_nowhere(hub_studio, token, r.text, *_job_texts(hub_studio, job["id"]))


def test_job_secrets_are_named_and_dropped_together(tmp_home: Path) -> None:
    from mistudio.store import job_secrets

    job_secrets.put_job_secret("job1", "hf_abc", "hub_token")
    job_secrets.put_job_secret("job1", "sk-abc")
    job_secrets.put_job_secret("job10", "hf_other", "hub_token")
    assert job_secrets.get_job_secret("job1", "hub_token") == "hf_abc"
    assert job_secrets.get_job_secret("job1") == "sk-abc"
    assert all(b"hf_abc" not in p.read_bytes() for p in (tmp_home / "secrets").iterdir())
    job_secrets.drop_job_secret("job1")
    assert job_secrets.get_job_secret("job1", "hub_token") is None
    assert job_secrets.get_job_secret("job1") is None
    assert job_secrets.get_job_secret("job10", "hub_token") == "hf_other"
    with pytest.raises(ValueError):
        job_secrets.put_job_secret("job1", "x", "../up")
