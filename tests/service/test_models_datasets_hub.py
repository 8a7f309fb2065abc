"""Issue 18 points 7, 8 and 16 through the real API (and worker): Hub search behind the model
and dataset id fields, the model options of the dialog (quantization, token, memory estimate
before download) and the dataset ones (truncation, special-token-only documents, progress).

The API runs in this process, so pointing huggingface_hub at the fake Hub
(``tests/fake_hub.redirect_clients``) is enough for what the API answers by itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_hub import FakeHub, build_tiny_gpt2, redirect_clients
from tests.service.conftest import Studio
from tests.service.tiny_artifacts import ensure_model_and_tokenization

pytestmark = pytest.mark.service
API = "/api/v1"


def _readme(root: Path, name: str) -> Path:
    folder = root / name.replace("/", "--")
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(f"# {name}\n")
    return folder


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeHub]:
    root = tmp_path_factory.mktemp("hub-search")
    with FakeHub() as hub:
        for repo_id, downloads in [("openai-community/gpt2", 900), ("gpt2", 50), ("x/llama", 7)]:
            hub.add_repo(repo_id, _readme(root, repo_id), downloads=downloads)
        tiny = build_tiny_gpt2(root / "tiny-gpt2")
        hub.add_repo("org/tiny-lm", tiny)
        hub.add_repo("org/gated-lm", tiny, gated=True)
        for repo_id, downloads in [("Salesforce/wikitext", 70), ("wikitext", 2)]:
            hub.add_repo(repo_id, _readme(root / "d", repo_id), "dataset", downloads=downloads)
        yield hub


@pytest.fixture
def online(hub: FakeHub, tmp_path: Path) -> Iterator[FakeHub]:
    with pytest.MonkeyPatch.context() as mp:
        redirect_clients(mp, hub.endpoint, tmp_path / "hf")
        yield hub


def test_hub_search_suggests_models_and_datasets(studio: Studio, online: FakeHub) -> None:
    c = studio.client
    r = c.get(f"{API}/models/hub/search", params={"q": "gpt2"})
    assert r.status_code == 200, r.text
    repos = r.json()["repos"]
    assert [x["repo_id"] for x in repos] == ["openai-community/gpt2", "gpt2"]
    assert repos[0]["downloads"] == 900 and repos[0]["gated"] is False
    r = c.get(f"{API}/datasets/hub/search", params={"q": "WIKI", "limit": 1})
    assert [x["repo_id"] for x in r.json()["repos"]] == ["Salesforce/wikitext"]
    assert c.get(f"{API}/datasets/hub/search", params={"q": "llama"}).json() == {"repos": []}
    assert c.get(f"{API}/models/hub/search", params={"limit": 0}).status_code == 422


def test_hub_search_offline_is_one_line(studio: Studio) -> None:
    # The studio runs with HF_HUB_OFFLINE=1: no request, a 503 with one line.
    for kind in ("models", "datasets"):
        r = studio.client.get(f"{API}/{kind}/hub/search", params={"q": "gpt2"})
        assert r.status_code == 503, r.text
        detail = r.json()["detail"]
        assert "type the full id" in detail and "\n" not in detail


def test_quantization_where_the_device_has_it(studio: Studio) -> None:
    """8-bit/4-bit are offered as this machine allows; asking where bitsandbytes cannot load is
    one 422 line and no row."""
    import importlib.util

    from mistudio.core.language_models import quantization_problem

    c = studio.client
    options = {o["name"]: o for o in c.get(f"{API}/models/quantization").json()}
    assert options["none"] == {"name": "none", "available": True, "reason": None}
    for name in ("8bit", "4bit"):
        assert options[name]["reason"] == quantization_problem(name)  # type: ignore[arg-type]
        assert options[name]["available"] is (options[name]["reason"] is None)
    if importlib.util.find_spec("bitsandbytes") is None:
        assert not options["8bit"]["available"] and "bitsandbytes" in options["8bit"]["reason"]
    before = c.get(f"{API}/models").json()["total"]
    body = {"source": str(studio.tiny_model_dir), "quantization": "4bit", "load": False}
    r = c.post(f"{API}/models", json=body)
    if options["4bit"]["available"]:
        assert r.status_code == 202 and r.json()["config"]["quantization"] == "4bit"
    else:
        assert r.status_code == 422 and r.json()["detail"] == options["4bit"]["reason"]
        assert c.get(f"{API}/models").json()["total"] == before
    r = c.post(f"{API}/models", json={**body, "quantization": "2bit"})
    assert r.status_code == 422 and "quantization" in r.json()["detail"]


def test_memory_estimate_before_download(studio: Studio, online: FakeHub) -> None:
    c = studio.client
    start = len(online.requests)
    r = c.post(f"{API}/models/estimate", json={"source": "org/tiny-lm", "dtype": "float16"})
    assert r.status_code == 200, r.text
    est = r.json()
    assert est["params_source"] == "safetensors" and est["n_layers"] == 2
    assert est["weight_bytes"] == 2 * est["n_params"]
    assert est["total_bytes"] == est["weight_bytes"] + est["activation_bytes"] + est["logits_bytes"]
    assert est["batch_size"] == 8 and est["seq_len"] == 512
    # No weight file was downloaded whole: its GETs are header Range requests.
    deadline = time.monotonic() + 3  # the fake Hub logs a request after answering it
    while not [q for q in online.requests[start:] if q[0] == "GET" and "safetensors" in q[1]]:
        assert time.monotonic() < deadline, online.requests[start:]
        time.sleep(0.02)
    gets = [q for q in online.requests[start:] if q[0] == "GET" and "safetensors" in q[1]]
    assert gets and all(q[3] is not None for q in gets)
    # The folder the studio registered gives the same counts as the Hub copy.
    local = c.post(f"{API}/models/estimate", json={"source": str(studio.tiny_model_dir)})
    assert local.status_code == 200 and local.json()["download_bytes"] == 0

    # Gated: one line without a token; with one it answers, and the token is nowhere after.
    r = c.post(f"{API}/models/estimate", json={"source": "org/gated-lm"})
    assert r.status_code == 422 and "gated" in r.json()["detail"]
    token = online.valid_token
    r = c.post(f"{API}/models/estimate", json={"source": "org/gated-lm", "token": token})
    assert r.status_code == 200 and r.json()["gated"] is True
    assert token not in r.text
    for bad, status in [
        ({"source": "smollm2-135m"}, 422),
        ({"source": "org/nothing-here"}, 404),
        ({"source": "org/tiny-lm", "batch_size": 0}, 422),
        ({"source": "/etc"}, 403),
    ]:
        r = c.post(f"{API}/models/estimate", json=bad)
        assert r.status_code == status, (bad, r.text)
        assert "\n" not in r.json()["detail"]


def _tokenize(studio: Studio, dataset_id: int, model_id: int, **config: object) -> dict:
    c = studio.client
    r = c.post(
        f"{API}/tokenizations",
        json={"dataset_id": dataset_id, "model_id": model_id, "config": config},
    )
    assert r.status_code == 202, r.text
    job = studio.completed(r.json()["job_id"])
    return {"row": c.get(f"{API}/tokenizations/{r.json()['id']}").json(), "job": job}


def test_tokenize_truncates_and_counts_tokens(studio: Studio) -> None:
    """Truncation through the API and a real worker: one sequence per document, none longer
    than max_length, fewer tokens than windows keep; the job's progress events count tokens."""
    model_id, _ = ensure_model_and_tokenization(studio)
    c = studio.client
    dataset_id = studio.cache["dataset_id"]
    common = {"max_length": 8, "stride": 4, "pack": False, "drop_special_only": False}
    windows = _tokenize(studio, dataset_id, model_id, **common)["row"]
    cut = _tokenize(studio, dataset_id, model_id, long_documents="truncate", **common)
    row = cut["row"]
    assert row["config"]["long_documents"] == "truncate"
    assert row["config"]["drop_special_only"] is False
    assert row["n_sequences"] == row["meta"]["n_documents"] < windows["n_sequences"]
    assert row["n_tokens"] < windows["n_tokens"]
    assert row["n_tokens"] <= row["meta"]["n_documents"] * 7  # 8 minus BOS per document
    events = c.get(f"{API}/jobs/{cut['job']['id']}/events").json()
    counts = [e["data"]["metrics"] for e in events if "tokens" in e["data"].get("metrics", {})]
    assert counts and counts[-1]["tokens"] == row["n_tokens"]
    assert counts[-1]["truncated"] > 0
    r = c.post(
        f"{API}/tokenizations",
        json={"dataset_id": dataset_id, "model_id": model_id, "config": {"long_documents": "cut"}},
    )
    assert r.status_code == 422 and "long_documents" in r.json()["detail"]


def _big_dataset(folder: Path, mb: int = 25) -> Path:
    """``mb`` MB of incompressible text in one parquet file: huggingface_hub writes downloads in
    10 MB chunks, so a download this size shows two counts between 0 and the end."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    (folder / "data").mkdir(parents=True)
    texts = [os.urandom(1000).hex() for _ in range(mb * 500)]
    pq.write_table(
        pa.table({"text": texts}), folder / "data/train-00000-of-00001.parquet", compression="none"
    )
    return folder


@pytest.fixture(scope="module")
def hub_worker(
    tmp_path_factory: pytest.TempPathFactory, hub: FakeHub
) -> Iterator[tuple[Studio, FakeHub]]:
    """A studio whose worker (a subprocess) downloads from the fake Hub (SQLite)."""
    from tests.security.worker_studio import worker_studio

    root = tmp_path_factory.mktemp("hub-worker")
    hub.add_repo("org/big-text", _big_dataset(root / "big"), "dataset")
    hf = root / "hf-worker"
    worker_env: dict[str, str | None] = {
        "HF_ENDPOINT": hub.endpoint,
        "HF_HOME": str(hf),
        "HF_HUB_CACHE": str(hf / "hub"),
        "HF_DATASETS_CACHE": str(hf / "datasets"),
        "HF_TOKEN_PATH": str(hf / "token"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "HF_HUB_OFFLINE": None,
        "HF_DATASETS_OFFLINE": None,
        "HF_TOKEN": None,
        "HUGGING_FACE_HUB_TOKEN": None,
    }
    with worker_studio(root, {}, worker_only=worker_env) as studio:
        yield studio, hub


def test_hub_import_reports_bytes_while_downloading(hub_worker: tuple[Studio, FakeHub]) -> None:
    studio, hub = hub_worker
    c = studio.client
    hub.bytes_per_second = 8_000_000  # ~3 s for 25 MB
    try:
        r = c.post(
            f"{API}/datasets",
            json={"source": {"kind": "hub", "repo_id": "org/big-text", "split": "train"}},
        )
        assert r.status_code == 202, r.text
        studio.completed(r.json()["job_id"], timeout=180)
    finally:
        hub.bytes_per_second = None
    size = hub.repos[("dataset", "org/big-text")].files["data/train-00000-of-00001.parquet"]
    total = len(size.data)
    events = c.get(f"{API}/jobs/{r.json()['job_id']}/events").json()
    metrics = [e["data"].get("metrics", {}) for e in events if e["type"] == "progress"]
    downloads = [m for m in metrics if m.get("stage") == "downloading"]
    assert downloads and all(m["bytes_total"] == total for m in downloads)
    moving = [m["bytes"] for m in downloads if 0 < m["bytes"] < total]
    assert len(moving) >= 2, downloads  # not "0 then done"
    assert moving == sorted(moving)
    assert metrics[-1]["rows"] == 25 * 500
    row = c.get(f"{API}/datasets/{r.json()['id']}").json()
    assert row["status"] == "ready" and row["n_documents"] == 25 * 500
