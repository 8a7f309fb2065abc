"""The fake Hub (tests/fake_hub.py) against the real clients: huggingface_hub, transformers,
datasets. If these pass, tests of our Hub code against the fake Hub mean something."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.fake_hub import FakeHub

# The fixture lives in tests/fake_hub.py; helpers from it are imported inside the tests so that
# pytest imports the plugin first (and rewrites its asserts).
pytest_plugins = ["tests.fake_hub"]
N_ROWS = 20  # rows of the train split written by fake_hub.build_parquet_dataset


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.fake_hub import build_tiny_gpt2

    return build_tiny_gpt2(tmp_path_factory.mktemp("tiny_gpt2"))


def test_snapshot_download_and_from_pretrained(fake_hub: FakeHub, tiny_gpt2: Path) -> None:
    from huggingface_hub import HfApi, constants, snapshot_download
    from transformers import AutoModelForCausalLM, AutoTokenizer

    sha = fake_hub.add_repo("org/tiny-gpt2", tiny_gpt2)
    files = HfApi().list_repo_files("org/tiny-gpt2")
    assert {"config.json", "model.safetensors", "tokenizer.json", ".gitattributes"} <= set(files)

    local = Path(snapshot_download("org/tiny-gpt2"))
    assert local.name == sha  # the snapshot folder is named after the commit main resolved to
    assert local.is_relative_to(constants.HF_HUB_CACHE)  # the tmp cache, not ~/.cache
    assert (local / "model.safetensors").read_bytes() == (
        tiny_gpt2 / "model.safetensors"
    ).read_bytes()

    model = AutoModelForCausalLM.from_pretrained(local)
    assert model.config.n_layer == 2 and model.config.vocab_size == 97
    tokenizer = AutoTokenizer.from_pretrained(local)
    assert tokenizer("w3 w4 nope")["input_ids"] == [5, 6, 0]

    # Weights came from the "CDN" (another origin) after a 302; small files via resolve-cache.
    assert any(r[0] == "GET" and "model.safetensors" in r[1] for r in fake_hub.requests)
    assert fake_hub.requests_to("/api/resolve-cache/models/org/tiny-gpt2/")
    heads = [r for r in fake_hub.requests_to("/resolve/") if r[0] == "HEAD"]
    assert {r[2] for r in heads} <= {302, 307}


def test_hf_hub_download_metadata_and_range(fake_hub: FakeHub, tiny_gpt2: Path) -> None:
    import httpx2
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    sha = fake_hub.add_repo("org/tiny-gpt2", tiny_gpt2)
    path = hf_hub_download("org/tiny-gpt2", "config.json")
    assert json.loads(Path(path).read_text())["n_layer"] == 2

    meta = get_hf_file_metadata(hf_hub_url("org/tiny-gpt2", "model.safetensors"))
    data = (tiny_gpt2 / "model.safetensors").read_bytes()
    assert meta.commit_hash == sha and meta.size == len(data)
    assert meta.location.startswith(fake_hub.cdn_endpoint)
    assert len(meta.etag) == 64  # LFS files: the sha256, from X-Linked-Etag

    url = fake_hub.url("org/tiny-gpt2", "model.safetensors")
    r = httpx2.get(url, headers={"Range": "bytes=8-15"}, follow_redirects=True)
    assert r.status_code == 206 and r.content == data[8:16]
    r = httpx2.get(url, headers={"Range": "bytes=-4"}, follow_redirects=True)
    assert r.content == data[-4:]
    r = httpx2.get(url, headers={"Range": f"bytes={len(data)}-"}, follow_redirects=True)
    assert r.status_code == 416

    with pytest.raises(Exception) as info:
        hf_hub_download("org/tiny-gpt2", "nope.json")
    assert type(info.value).__name__ == "RemoteEntryNotFoundError"
    with pytest.raises(Exception) as info:
        hf_hub_download("org/tiny-gpt2", "config.json", revision="v9")
    assert type(info.value).__name__ == "RevisionNotFoundError"


def test_gated_repo(fake_hub: FakeHub, tiny_gpt2: Path) -> None:
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError

    fake_hub.add_repo("org/gated", tiny_gpt2, gated=True)
    # Info and listings are public for gated repos, as on the Hub.
    info = HfApi().model_info("org/gated")
    assert info.gated == "manual"
    assert "config.json" in HfApi().list_repo_files("org/gated")

    with pytest.raises(GatedRepoError) as no_token:
        snapshot_download("org/gated")
    assert no_token.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as no_access:
        hf_hub_download("org/gated", "config.json", token=fake_hub.no_access_token)
    assert no_access.value.response.status_code == 403

    # An unknown token is refused everywhere with 401 "Invalid credentials" (not GatedRepo).
    with pytest.raises(HfHubHTTPError) as bad:
        hf_hub_download("org/gated", "config.json", token="hf_wrong")
    assert not isinstance(bad.value, GatedRepoError)
    assert bad.value.response.status_code == 401
    assert "Invalid credentials" in str(bad.value)

    local = Path(snapshot_download("org/gated", token=fake_hub.valid_token))
    assert (local / "model.safetensors").exists()
    auth = [r for r in fake_hub.requests if "model.safetensors" in r[1] and r[2] == 302]
    assert auth  # the gated weights were only redirected to the CDN with the token


def test_missing_and_private_repo(fake_hub: FakeHub, tiny_gpt2: Path) -> None:
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    with pytest.raises(RepositoryNotFoundError) as missing:
        snapshot_download("org/does-not-exist")
    assert not isinstance(missing.value, GatedRepoError)
    with pytest.raises(RepositoryNotFoundError):
        HfApi().list_repo_files("org/does-not-exist", token=fake_hub.valid_token)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("org/does-not-exist", "config.json", repo_type="dataset")

    fake_hub.add_repo("org/private", tiny_gpt2, private=True)
    with pytest.raises(RepositoryNotFoundError):
        HfApi().model_info("org/private", token=fake_hub.no_access_token)
    assert HfApi().model_info("org/private", token=fake_hub.valid_token).private is True


def test_tree_pagination_and_paths_info(fake_hub: FakeHub, tmp_path: Path) -> None:
    from huggingface_hub import HfApi, HfFileSystem
    from huggingface_hub.hf_api import RepoFile, RepoFolder

    fake_hub.page_size = 3
    folder = tmp_path / "many"
    (folder / "sub/deeper").mkdir(parents=True)
    for i in range(5):
        (folder / f"f{i}.txt").write_text(str(i))
    (folder / "sub/deeper/x.bin").write_bytes(b"\0" * 10)
    fake_hub.add_repo("org/many", folder)

    api = HfApi()
    files = api.list_repo_files("org/many")
    assert sorted(files) == sorted(
        [".gitattributes", "sub/deeper/x.bin"] + [f"f{i}.txt" for i in range(5)]
    )
    assert any("cursor=" in r[1] for r in fake_hub.requests_to("/tree/"))

    infos = api.get_paths_info("org/many", ["f1.txt", "sub", "missing"])
    assert [type(i) for i in infos] == [RepoFile, RepoFolder]
    (x,) = api.get_paths_info("org/many", "sub/deeper/x.bin")
    assert x.lfs is not None and x.lfs.size == 10

    fs = HfFileSystem()
    assert fs.ls("org/many/sub", detail=False) == ["org/many/sub/deeper"]
    assert fs.cat("org/many/f3.txt") == b"3"
    with fs.open("org/many/sub/deeper/x.bin", "rb", block_size=4) as f:
        f.seek(6)
        assert f.read(4) == b"\0" * 4


def test_load_dataset_parquet(fake_hub: FakeHub, tmp_path: Path) -> None:
    import datasets

    from tests.fake_hub import build_parquet_dataset

    fake_hub.add_repo("org/tiny-data", build_parquet_dataset(tmp_path / "d"), repo_type="dataset")

    train = datasets.load_dataset("org/tiny-data", split="train")
    assert isinstance(train, datasets.Dataset)
    assert train.num_rows == N_ROWS and train[3]["text"] == "train document 3"
    assert datasets.load_dataset("org/tiny-data", split="test").num_rows == 5

    stream = datasets.load_dataset("org/tiny-data", split="train", streaming=True)
    assert isinstance(stream, datasets.IterableDataset)
    assert [r["idx"] for r in stream.take(5)] == [0, 1, 2, 3, 4]
    # Streaming parquet reads the file by byte ranges (footer first).
    assert any(r[3] for r in fake_hub.requests if "train-00000-of-00001.parquet" in r[1])


def test_load_dataset_configs(fake_hub: FakeHub, tmp_path: Path) -> None:
    import datasets

    from tests.fake_hub import build_config_dataset

    fake_hub.add_repo("org/configs", build_config_dataset(tmp_path / "c"), repo_type="dataset")

    fr = datasets.load_dataset("org/configs", name="fr", split="train")
    assert fr.num_rows == 7 and fr[0]["text"] == "fr document 0"
    en = datasets.load_dataset("org/configs", name="en", split="train", streaming=True)
    assert [r["text"] for r in en.take(2)] == ["en document 0", "en document 1"]


def test_gated_and_missing_dataset(fake_hub: FakeHub, tmp_path: Path) -> None:
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    from tests.fake_hub import build_parquet_dataset

    fake_hub.add_repo(
        "org/gated-data", build_parquet_dataset(tmp_path / "d"), repo_type="dataset", gated=True
    )
    with pytest.raises(DatasetNotFoundError, match="gated"):
        datasets.load_dataset("org/gated-data", split="train")
    ds = datasets.load_dataset("org/gated-data", split="train", token=fake_hub.valid_token)
    assert ds.num_rows == N_ROWS
    with pytest.raises(DatasetNotFoundError):
        datasets.load_dataset("org/nothing-here", split="train")


def test_fixture_isolates_clients(fake_hub: FakeHub) -> None:
    import datasets.config
    from huggingface_hub import constants, get_token

    assert constants.ENDPOINT == fake_hub.endpoint == datasets.config.HF_ENDPOINT
    assert constants.HF_HUB_OFFLINE is False and datasets.config.HF_HUB_OFFLINE is False
    assert get_token() is None
    assert constants.HF_HUB_CACHE.startswith(str(Path(constants.HF_HOME)))
