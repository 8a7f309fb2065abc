"""Issue 18 points 7, 8 and 16 through the real API (and worker): Hub search behind the model
and dataset id fields, the model options of the dialog (quantization, token, memory estimate
before download) and the dataset ones (truncation, special-token-only documents, progress).

The API runs in this process, so pointing huggingface_hub at the fake Hub
(``tests/fake_hub.redirect_clients``) is enough for what the API answers by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_hub import FakeHub, redirect_clients
from tests.service.conftest import Studio

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
