"""Our Hub code (model loading, dataset import) against the fake Hub of tests/fake_hub.py, which
speaks the real wire format to the real huggingface_hub / datasets clients."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mistudio.core.language_models import ModelLoadConfig, load_model
from mistudio.errors import HubUnreachableError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from tests.fake_hub import FakeHub

# The fixture lives in tests/fake_hub.py; helpers from it are imported inside the tests so that
# pytest imports the plugin first (and rewrites its asserts).
pytest_plugins = ["tests.fake_hub"]


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.fake_hub import build_tiny_gpt2

    return build_tiny_gpt2(tmp_path_factory.mktemp("tiny_gpt2"))


@pytest.fixture
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """huggingface_hub retries connection errors with sleeps; record them instead of waiting."""
    import huggingface_hub.utils._http as hf_http

    sleeps: list[float] = []

    class _Time:
        def __getattr__(self, name: str) -> object:
            import time

            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            sleeps.append(seconds)

    monkeypatch.setattr(hf_http, "time", _Time())
    return sleeps


def closed_port_endpoint() -> str:
    """An endpoint on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _config(source: str, tmp_path: Path, **kw: object) -> ModelLoadConfig:
    return ModelLoadConfig(source=source, device="cpu", cache_dir=tmp_path / "cache", **kw)


# Models


def test_load_model_from_hub(fake_hub: FakeHub, tiny_gpt2: Path, tmp_path: Path) -> None:
    sha = fake_hub.add_repo("org/tiny-gpt2", tiny_gpt2)

    loaded = load_model(_config("org/tiny-gpt2", tmp_path))

    assert loaded.source_kind == "hub"
    assert loaded.local_path.name == sha
    assert loaded.local_path.is_relative_to(tmp_path / "cache" / "hub")
    arch = loaded.architecture()
    assert (arch.family, arch.n_layers, arch.d_model, arch.n_heads) == ("gpt2", 2, 32, 4)
    assert arch.vocab_size == 97 and arch.context_length == 64
    assert loaded.tokenizer("w3 w4")["input_ids"] == [5, 6]
    # Only what loading needs: no .gitattributes (allow_patterns).
    assert not (loaded.local_path / ".gitattributes").exists()


@pytest.mark.parametrize("repo_id", ["tiny-gpt2", "bert-base-uncased"])
def test_load_model_canonical_hub_id(
    fake_hub: FakeHub, tiny_gpt2: Path, tmp_path: Path, repo_id: str
) -> None:
    """Canonical Hub ids have no organisation (``gpt2``, ``bert-base-uncased``): downloaded like
    ``org/name``, not refused as 'not a Hub id'."""
    sha = fake_hub.add_repo(repo_id, tiny_gpt2)

    loaded = load_model(_config(repo_id, tmp_path))

    assert loaded.source_kind == "hub"
    assert loaded.local_path.name == sha
    assert loaded.architecture().n_layers == 2


@pytest.mark.parametrize(
    "source", ["a/b/c", "has space", "-leading-dash", "double--dash", "name.git", "x.gguf"]
)
def test_load_model_not_a_hub_id(fake_hub: FakeHub, tmp_path: Path, source: str) -> None:
    """What can be neither a local file nor a Hub id is one line naming both, before any request."""
    with pytest.raises(NotFoundError, match="not a Hub id"):
        load_model(_config(source, tmp_path))
    assert not fake_hub.requests


def test_load_model_gated(fake_hub: FakeHub, tiny_gpt2: Path, tmp_path: Path) -> None:
    fake_hub.add_repo("org/gated", tiny_gpt2, gated=True)

    with pytest.raises(InvalidInputError, match="gated") as no_token:
        load_model(_config("org/gated", tmp_path))
    assert "none was given" in str(no_token.value)
    with pytest.raises(InvalidInputError, match="gated"):
        load_model(_config("org/gated", tmp_path, token=fake_hub.no_access_token))

    loaded = load_model(_config("org/gated", tmp_path, token=fake_hub.valid_token))
    assert loaded.architecture().n_layers == 2


def test_load_model_not_found(fake_hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        load_model(_config("org/does-not-exist", tmp_path))
    with pytest.raises(NotFoundError, match="not found"):
        load_model(_config("org/does-not-exist", tmp_path, token=fake_hub.valid_token))


def test_load_model_unknown_revision(fake_hub: FakeHub, tiny_gpt2: Path, tmp_path: Path) -> None:
    fake_hub.add_repo("org/tiny-gpt2", tiny_gpt2)
    with pytest.raises(NotFoundError, match="revision 'v9'"):
        load_model(_config("org/tiny-gpt2", tmp_path, revision="v9"))


def test_load_model_invalid_token(fake_hub: FakeHub, tiny_gpt2: Path, tmp_path: Path) -> None:
    """The Hub answers 401 "Invalid credentials" to a wrong token, even for a public repo: the
    Hub *was* reached, so the error must say the token is wrong, not "cannot reach"."""
    fake_hub.add_repo("org/tiny-gpt2", tiny_gpt2)
    with pytest.raises(InvalidInputError, match="token"):
        load_model(_config("org/tiny-gpt2", tmp_path, token="hf_expired_or_wrong"))


def test_load_model_hub_unreachable(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_retry_sleep: list[float]
) -> None:
    from tests.fake_hub import redirect_clients

    redirect_clients(monkeypatch, closed_port_endpoint(), tmp_path / "hf_home_closed")

    with pytest.raises(HubUnreachableError, match="cannot reach"):
        load_model(_config("org/tiny-gpt2", tmp_path))
    # Fail fast: no backoff-and-retry of the connection error (that would be ~23 s for real).
    assert sum(no_retry_sleep) < 2, f"retried with sleeps {no_retry_sleep}"


def test_load_model_cached_then_offline(
    fake_hub: FakeHub, tiny_gpt2: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Once downloaded, a Hub model loads with HF_HUB_OFFLINE set (from the local cache)."""
    import huggingface_hub.constants

    fake_hub.add_repo("org/tiny-gpt2", tiny_gpt2)
    first = load_model(_config("org/tiny-gpt2", tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    n_requests = len(fake_hub.requests)

    again = load_model(_config("org/tiny-gpt2", tmp_path))
    assert again.local_path == first.local_path
    assert len(fake_hub.requests) == n_requests


# Datasets


def test_import_dataset_from_hub(fake_hub: FakeHub, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from mistudio.core.data.sources import DatasetSource, import_dataset
    from tests.fake_hub import build_parquet_dataset

    fake_hub.add_repo("org/tiny-data", build_parquet_dataset(tmp_path / "d"), repo_type="dataset")

    info = import_dataset(DatasetSource.hub("org/tiny-data", split="train"), tmp_path / "out")
    assert info.source_kind == "hub" and info.n_documents == 20
    assert info.text_column == "text"
    table = pq.read_table(tmp_path / "out" / "data.parquet")
    assert table.column("text").to_pylist()[:2] == ["train document 0", "train document 1"]
    assert "token" not in info.source

    test = import_dataset(DatasetSource.hub("org/tiny-data", split="test"), tmp_path / "out2")
    assert test.n_documents == 5


def test_import_dataset_canonical_hub_id(fake_hub: FakeHub, tmp_path: Path) -> None:
    """A canonical dataset id (``wikitext``, which the Hub now redirects to
    ``Salesforce/wikitext``) imports, whether given as a source or as a spec; the import records
    the id that was asked for and the one it was read from."""
    from mistudio.core.data.sources import DatasetSource, import_dataset
    from tests.fake_hub import build_parquet_dataset

    fake_hub.add_repo("org/tinydata", build_parquet_dataset(tmp_path / "d"), repo_type="dataset")
    fake_hub.move_repo("tinydata", "org/tinydata", repo_type="dataset")

    info = import_dataset(DatasetSource.hub("tinydata", split="test"), tmp_path / "out")
    assert info.source_kind == "hub" and info.n_documents == 5
    assert DatasetSource.parse("tinydata").repo_id == "tinydata"


def test_import_dataset_single_segment_not_moved(fake_hub: FakeHub, tmp_path: Path) -> None:
    """A Hub that serves a dataset under a bare name (datasets 5 reads namespace/name only): one
    line saying so, not the datasets library's 'Invalid HF URI'."""
    from mistudio.core.data.sources import DatasetSource, import_dataset
    from tests.fake_hub import build_parquet_dataset

    fake_hub.add_repo("baredata", build_parquet_dataset(tmp_path / "d"), repo_type="dataset")

    with pytest.raises(InvalidInputError, match="namespace/name") as err:
        import_dataset(DatasetSource.hub("baredata", split="test"), tmp_path / "out")
    assert "Invalid HF URI" not in str(err.value)


def test_import_dataset_streaming_and_config(fake_hub: FakeHub, tmp_path: Path) -> None:
    from mistudio.core.data.sources import DatasetSource, import_dataset
    from tests.fake_hub import build_config_dataset, build_parquet_dataset

    fake_hub.add_repo("org/tiny-data", build_parquet_dataset(tmp_path / "d"), repo_type="dataset")
    fake_hub.add_repo("org/configs", build_config_dataset(tmp_path / "c"), repo_type="dataset")

    streamed = import_dataset(
        DatasetSource.hub("org/tiny-data", streaming=True, max_documents=5), tmp_path / "s"
    )
    assert streamed.n_documents == 5

    fr = import_dataset(DatasetSource.hub("org/configs", config="fr"), tmp_path / "fr")
    assert fr.n_documents == 7 and fr.source["config"] == "fr"


def test_import_dataset_gated(fake_hub: FakeHub, tmp_path: Path) -> None:
    from mistudio.core.data.sources import DatasetSource, import_dataset
    from tests.fake_hub import build_parquet_dataset

    data = build_parquet_dataset(tmp_path / "d")
    fake_hub.add_repo("org/gated-data", data, repo_type="dataset", gated=True)

    with pytest.raises(InvalidInputError, match="gated"):
        import_dataset(DatasetSource.hub("org/gated-data"), tmp_path / "a")
    source = DatasetSource.hub("org/gated-data", token=fake_hub.valid_token)
    assert import_dataset(source, tmp_path / "c").n_documents == 20


def test_import_dataset_gated_token_without_access(fake_hub: FakeHub, tmp_path: Path) -> None:
    """A signed-in user who has not accepted the conditions gets 403 GatedRepo from the Hub;
    datasets wraps it in DatasetNotFoundError, which must still read as gated, not missing."""
    from mistudio.core.data.sources import DatasetSource, import_dataset
    from tests.fake_hub import build_parquet_dataset

    data = build_parquet_dataset(tmp_path / "d")
    fake_hub.add_repo("org/gated-data", data, repo_type="dataset", gated=True)
    source = DatasetSource.hub("org/gated-data", token=fake_hub.no_access_token)
    with pytest.raises(InvalidInputError, match="gated"):
        import_dataset(source, tmp_path / "b")


def test_import_dataset_not_found(fake_hub: FakeHub, tmp_path: Path) -> None:
    from mistudio.core.data.sources import DatasetSource, import_dataset

    with pytest.raises(NotFoundError, match="not found"):
        import_dataset(DatasetSource.hub("org/nothing-here"), tmp_path / "a")


def test_import_dataset_invalid_token(fake_hub: FakeHub, tmp_path: Path) -> None:
    from mistudio.core.data.sources import DatasetSource, import_dataset
    from tests.fake_hub import build_parquet_dataset

    fake_hub.add_repo("org/tiny-data", build_parquet_dataset(tmp_path / "d"), repo_type="dataset")
    with pytest.raises(InvalidInputError, match="401"):
        import_dataset(DatasetSource.hub("org/tiny-data", token="hf_wrong"), tmp_path / "a")


def test_import_dataset_hub_unreachable(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_retry_sleep: list[float]
) -> None:
    from mistudio.core.data.sources import DatasetSource, import_dataset
    from tests.fake_hub import redirect_clients

    redirect_clients(monkeypatch, closed_port_endpoint(), tmp_path / "hf_home_closed")
    with pytest.raises(HubUnreachableError, match="cannot be reached"):
        import_dataset(DatasetSource.hub("org/tiny-data"), tmp_path / "a")
    assert sum(no_retry_sleep) < 2, f"retried with sleeps {no_retry_sleep}"
