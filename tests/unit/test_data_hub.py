"""Hub import end to end against the local fake Hub (tests/fake_hub.py): real ``datasets`` and
``huggingface_hub`` clients, no network."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mistudio.core.data import DatasetSource, import_dataset
from mistudio.errors import InvalidInputError, NotFoundError

if importlib.util.find_spec("tests.fake_hub") is None:
    pytest.skip("tests/fake_hub.py is not available", allow_module_level=True)
pytest_plugins = ["tests.fake_hub"]


def texts(folder: Path) -> list[str]:
    return pq.read_table(folder / "data.parquet").column("text").to_pylist()


@pytest.mark.parametrize("streaming", [False, True])
def test_hub_split_with_limit(fake_hub, tmp_path, streaming):
    from tests.fake_hub import build_parquet_dataset

    fake_hub.add_repo("org/tiny-data", build_parquet_dataset(tmp_path / "d"), repo_type="dataset")
    source = DatasetSource.hub("org/tiny-data", streaming=streaming, max_documents=7)
    info = import_dataset(source, tmp_path / "ds")
    assert info.n_documents == 7 and info.text_column == "text"
    assert texts(tmp_path / "ds")[:2] == ["train document 0", "train document 1"]
    assert info.source["repo_id"] == "org/tiny-data" and info.source["streaming"] is streaming
    test = import_dataset(DatasetSource.hub("org/tiny-data", split="test"), tmp_path / "t")
    assert test.n_documents == 5


def test_hub_config(fake_hub, tmp_path):
    from tests.fake_hub import build_config_dataset

    fake_hub.add_repo("org/configs", build_config_dataset(tmp_path / "c"), repo_type="dataset")
    info = import_dataset(DatasetSource.hub("org/configs", config="fr"), tmp_path / "ds")
    assert info.n_documents == 7 and texts(tmp_path / "ds")[0] == "fr document 0"


def test_hub_gated_needs_a_token_which_is_never_stored(fake_hub, tmp_path):
    from tests.fake_hub import build_parquet_dataset

    fake_hub.add_repo(
        "org/gated-data", build_parquet_dataset(tmp_path / "d"), repo_type="dataset", gated=True
    )
    with pytest.raises(InvalidInputError, match="'org/gated-data' is gated"):
        import_dataset(DatasetSource.hub("org/gated-data"), tmp_path / "a")
    with pytest.raises(InvalidInputError, match="is gated"):
        source = DatasetSource.hub("org/gated-data", token=fake_hub.no_access_token)
        import_dataset(source, tmp_path / "b")
    source = DatasetSource.hub("org/gated-data", token=fake_hub.valid_token)
    info = import_dataset(source, tmp_path / "ok")
    assert info.n_documents == 20
    for name in ("dataset.json", "stats.json"):
        assert fake_hub.valid_token not in (tmp_path / "ok" / name).read_text()


def test_hub_missing_repo(fake_hub, tmp_path):
    with pytest.raises(NotFoundError, match="'org/nothing-here' not found on the Hub"):
        import_dataset(DatasetSource.hub("org/nothing-here"), tmp_path / "ds")
