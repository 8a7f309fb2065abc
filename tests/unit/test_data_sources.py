"""Dataset import: local files of each type, folders, text columns, built-in corpora, the Hub
offline, and the one-line errors for bad input; plus dataset statistics and samples."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mistudio.core.data import (
    DatasetSource,
    compute_dataset_stats,
    dataset_samples,
    import_dataset,
    iter_texts,
    load_dataset_stats,
    open_dataset,
)
from mistudio.errors import HubUnreachableError, InvalidInputError, NotFoundError

RECORDS = [
    {"id": 1, "content": "first document", "label": "a"},
    {"id": 2, "content": "second document", "label": "b"},
    {"id": 3, "content": "", "label": "c"},  # empty: dropped
]


def texts_of(folder: Path) -> list[str]:
    return [t for batch in iter_texts(folder) for t in batch]


def write(path: Path, kind: str) -> Path:
    if kind == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n")
    elif kind == "json":
        path.write_text(json.dumps(RECORDS))
    elif kind == "parquet":
        pq.write_table(pa.Table.from_pylist(RECORDS), path)
    elif kind == "csv":
        path.write_text("id,content,label\n1,first document,a\n2,second document,b\n3,,c\n")
    return path


@pytest.mark.parametrize("kind", ["jsonl", "json", "parquet", "csv"])
def test_local_table_files_autodetect_content_and_keep_metadata(tmp_path, kind):
    src = write(tmp_path / f"data.{kind}", kind)
    info = import_dataset(DatasetSource.local(src), tmp_path / "ds")
    assert info.text_column == "content"
    assert info.n_documents == 2 and info.n_dropped_empty == 1
    assert info.n_bytes == len("first document") + len("second document")
    assert texts_of(tmp_path / "ds") == ["first document", "second document"]
    table = pq.read_table(tmp_path / "ds" / "data.parquet")
    assert table.column_names[0] == "text" and {"id", "label"} <= set(table.column_names)
    assert open_dataset(tmp_path / "ds") == info
    saved = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    assert saved["source_kind"] == "local" and saved["n_documents"] == 2


def test_txt_modes(tmp_path):
    src = tmp_path / "notes.txt"
    src.write_text("line one\nline two\n\npara two\n")
    import_dataset(DatasetSource.local(src), tmp_path / "a")
    assert texts_of(tmp_path / "a") == ["line one\nline two\n\npara two\n"]
    import_dataset(DatasetSource.local(src, txt_mode="line"), tmp_path / "b")
    assert texts_of(tmp_path / "b") == ["line one", "line two", "para two"]
    import_dataset(DatasetSource.local(src, txt_mode="paragraph"), tmp_path / "c")
    assert texts_of(tmp_path / "c") == ["line one\nline two", "para two"]


def test_folder_of_mixed_files_records_source_file(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha")
    write(folder / "sub" / "b.jsonl", "jsonl")
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    info = import_dataset(DatasetSource.local(folder), tmp_path / "ds")
    assert info.n_documents == 3
    table = pq.read_table(tmp_path / "ds" / "data.parquet")
    assert table.column("text").to_pylist() == ["alpha", "first document", "second document"]
    assert table.column("source_file").to_pylist() == ["a.txt", "sub/b.jsonl", "sub/b.jsonl"]


def test_named_text_column_and_missing_column_error(tmp_path):
    src = write(tmp_path / "d.jsonl", "jsonl")
    info = import_dataset(DatasetSource.local(src, text_column="label"), tmp_path / "ok")
    assert info.text_column == "label" and texts_of(tmp_path / "ok") == ["a", "b", "c"]
    with pytest.raises(InvalidInputError) as error:
        import_dataset(DatasetSource.local(src, text_column="body"), tmp_path / "bad")
    message = str(error.value)
    assert (
        "'body' not found" in message and "content (string)" in message and "id (int64)" in message
    )
    assert "\n" not in message


def test_no_string_column_lists_the_columns(tmp_path):
    src = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"x": [1, 2], "y": [0.5, 1.5]}), src)
    with pytest.raises(InvalidInputError, match=r"no text column .*x \(int64\), y \(double\)"):
        import_dataset(DatasetSource.local(src), tmp_path / "ds")


def test_text_preferred_over_other_string_columns(tmp_path):
    src = tmp_path / "d.parquet"
    pq.write_table(pa.table({"title": ["t1"], "body": ["b1"], "text": ["x1"]}), src)
    assert import_dataset(DatasetSource.local(src), tmp_path / "ds").text_column == "text"


def test_unsupported_type_lists_supported_ones(tmp_path):
    src = tmp_path / "data.xlsx"
    src.write_bytes(b"PK")
    with pytest.raises(InvalidInputError, match=r"unsupported file type '\.xlsx'.*\.txt, \.jsonl"):
        import_dataset(DatasetSource.local(src), tmp_path / "ds")
    with pytest.raises(NotFoundError, match="no such file"):
        import_dataset(DatasetSource.local(tmp_path / "missing.txt"), tmp_path / "ds")


def test_empty_dataset_is_an_error(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"text": ""}) + "\n" + json.dumps({"text": None}) + "\n")
    with pytest.raises(InvalidInputError, match="is empty"):
        import_dataset(DatasetSource.local(empty), tmp_path / "ds")
    assert not (tmp_path / "ds" / "dataset.json").exists()


def test_max_documents_on_local_files(tmp_path):
    src = tmp_path / "many.jsonl"
    src.write_text("".join(json.dumps({"text": f"doc {i}"}) + "\n" for i in range(50)))
    info = import_dataset(DatasetSource.local(src, max_documents=7), tmp_path / "ds")
    assert info.n_documents == 7 and texts_of(tmp_path / "ds")[-1] == "doc 6"


def test_builtin_python_stdlib(tmp_path):
    info = import_dataset(
        DatasetSource.builtin_corpus("python-stdlib", max_documents=5), tmp_path / "ds"
    )
    assert info.n_documents == 5 and info.source_kind == "builtin"
    table = pq.read_table(tmp_path / "ds" / "data.parquet")
    paths = table.column("path").to_pylist()
    assert all(p.endswith(".py") and "site-packages" not in p for p in paths)
    assert paths == sorted(paths)
    assert info.source == {
        "kind": "builtin",
        "builtin": "python-stdlib",
        "include_tests": False,
        "max_documents": 5,
    }


def test_builtin_stdlib_skips_tests_unless_asked():
    from mistudio.core.data.builtin_corpora import stdlib_files, stdlib_root

    root = stdlib_root()
    plain = {p.relative_to(root).as_posix() for p in stdlib_files()}
    assert "os.py" in plain and not any(p.startswith("test/") for p in plain)
    assert not any("site-packages" in p for p in plain)


def test_builtin_kjv(tmp_path):
    info = import_dataset(DatasetSource.parse("kjv"), tmp_path / "ds")
    assert 31_000 < info.n_documents < 31_200  # 31,102 verses (+/- edition)
    first = dataset_samples(tmp_path / "ds", 0, 1)[0]
    assert first["text"].startswith("In the beginning God created")
    assert first["metadata"]["citation"] == "Genesis 1:1"
    small = import_dataset(DatasetSource.builtin_corpus("kjv", max_documents=10), tmp_path / "s")
    assert small.n_documents == 10


def test_builtin_unknown_name():
    with pytest.raises(ValueError, match="unknown built-in corpus"):
        DatasetSource.builtin_corpus("shakespeare")


def test_hub_offline_says_the_hub_cannot_be_reached(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    source = DatasetSource.hub("someone/nothing-here", token="hf_secret")
    with pytest.raises(HubUnreachableError, match="HuggingFace Hub cannot be reached") as error:
        import_dataset(source, tmp_path / "ds")
    assert "\n" not in str(error.value)


def test_hub_token_is_never_stored():
    source = DatasetSource.hub("a/b", token="hf_secret", streaming=True, max_documents=5)
    assert "hf_secret" not in source.model_dump_json()
    assert "hf_secret" not in json.dumps(source.details()) and "hf_secret" not in repr(source)
    assert source.details() == {
        "kind": "hub",
        "repo_id": "a/b",
        "split": "train",
        "streaming": True,
        "max_documents": 5,
    }


def test_parse_source_specs(tmp_path):
    assert DatasetSource.parse("python-stdlib").kind == "builtin"
    assert DatasetSource.parse("owner/name").repo_id == "owner/name"
    assert DatasetSource.parse("hub:owner/name").kind == "hub"
    (tmp_path / "f.txt").write_text("x")
    assert DatasetSource.parse(str(tmp_path / "f.txt")).kind == "local"
    # Canonical Hub ids have no owner (issue 18); a missing file or a malformed id is refused.
    assert DatasetSource.parse("wikitext").repo_id == "wikitext"
    for spec in ("missing.txt", "not a thing", "a/b/c"):
        with pytest.raises(InvalidInputError):
            DatasetSource.parse(spec)


def test_map_hub_errors():
    from huggingface_hub.errors import OfflineModeIsEnabled

    from mistudio.core.data.hub import map_hub_error

    class GatedRepoError(Exception):
        pass

    class DatasetNotFoundError(Exception):
        pass

    assert isinstance(map_hub_error(GatedRepoError("x"), "a/b"), InvalidInputError)
    assert "gated" in str(map_hub_error(GatedRepoError("x"), "a/b"))
    assert isinstance(map_hub_error(DatasetNotFoundError("x"), "a/b"), NotFoundError)
    assert isinstance(map_hub_error(OfflineModeIsEnabled("x"), "a/b"), HubUnreachableError)
    wrapped = ValueError("outer")
    wrapped.__cause__ = ConnectionError("refused")
    assert isinstance(map_hub_error(wrapped, "a/b"), HubUnreachableError)


def test_dataset_stats_and_samples_are_utf8_safe(tmp_path):
    texts = ["a" * 10, "é" * 5 + "😀" * 3, "short"]
    src = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": texts, "n": [1, 2, 3]}), src)
    import_dataset(DatasetSource.local(src), tmp_path / "ds")
    stats = compute_dataset_stats(tmp_path / "ds")
    assert stats.n_documents == 3
    assert stats.n_chars == 10 + 8 + 5
    assert stats.n_bytes == 10 + 5 * 2 + 3 * 4 + 5
    assert stats.max_chars == 10 and stats.min_chars == 5
    assert sum(stats.chars_histogram.counts) == 3
    assert load_dataset_stats(tmp_path / "ds") == stats  # stats.json written at import
    samples = dataset_samples(tmp_path / "ds", offset=1, limit=5, max_chars=6)
    assert [s["index"] for s in samples] == [1, 2]
    assert samples[0]["text"] == "é" * 5 + "😀" and samples[0]["truncated"]
    assert samples[0]["n_chars"] == 8 and samples[0]["metadata"] == {"n": 2}
    assert samples[1] == {
        "index": 2,
        "text": "short",
        "n_chars": 5,
        "truncated": False,
        "metadata": {"n": 3},
    }
    json.dumps(samples, ensure_ascii=False).encode("utf-8")
    assert dataset_samples(tmp_path / "ds", offset=10, limit=5) == []


def test_dataset_samples_page_across_row_groups(tmp_path, monkeypatch):
    import mistudio.core.data.dataset as dataset_module

    monkeypatch.setattr(dataset_module, "ROW_GROUP_SIZE", 4)
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"text": f"doc {i}"}) + "\n" for i in range(19)))
    import_dataset(DatasetSource.local(src), tmp_path / "ds")
    assert pq.ParquetFile(tmp_path / "ds" / "data.parquet").metadata.num_row_groups == 5
    page = dataset_samples(tmp_path / "ds", offset=3, limit=6)
    assert [s["text"] for s in page] == [f"doc {i}" for i in range(3, 9)]


@pytest.mark.parametrize("streaming", [False, True])
def test_hub_import_through_load_dataset(tmp_path, monkeypatch, streaming):
    """The Hub path end to end with ``load_dataset`` replaced by a local one (no network)."""
    import datasets

    calls: list[dict] = []
    rows = {"sentence": [f"row {i}" for i in range(30)], "idx": list(range(30))}

    def fake_load_dataset(path, **kwargs):
        calls.append({"path": path, **kwargs})
        ds = datasets.Dataset.from_dict(rows)
        return ds.to_iterable_dataset() if kwargs["streaming"] else ds

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # skips the metadata request
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    steps: list[float] = []
    source = DatasetSource.hub(
        "owner/data",
        config="small",
        split="validation",
        token="hf_secret",
        streaming=streaming,
        max_documents=12,
    )
    info = import_dataset(source, tmp_path / "ds", progress=lambda s, t, **m: steps.append(s))
    assert calls[0]["path"] == "owner/data" and calls[0]["name"] == "small"
    assert calls[0]["split"] == "validation" and calls[0]["token"] == "hf_secret"
    assert info.n_documents == 12 and info.text_column == "sentence"
    assert info.name == "owner/data:small:validation"
    assert texts_of(tmp_path / "ds")[:2] == ["row 0", "row 1"]
    assert "hf_secret" not in (tmp_path / "ds" / "dataset.json").read_text()
    assert steps and steps[-1] == 12


def test_hub_errors_from_load_dataset_are_mapped(tmp_path, monkeypatch):
    import datasets

    def missing_config(path, **kwargs):
        raise ValueError("BuilderConfig 'nope' not found. Available: ['a', 'b']\nmore detail")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets, "load_dataset", missing_config)
    with pytest.raises(InvalidInputError, match=r"^dataset 'o/d': BuilderConfig 'nope'.*'b'\]$"):
        import_dataset(DatasetSource.hub("o/d", config="nope"), tmp_path / "ds")


def test_import_reports_progress(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(5):
        (folder / f"{i}.txt").write_text(f"file {i}")
    steps: list[tuple[float, float | None]] = []
    import_dataset(
        DatasetSource.local(folder),
        tmp_path / "ds",
        progress=lambda s, t, **m: steps.append((s, t)),
    )
    assert steps == [(i, 5) for i in range(1, 6)]


def test_hub_metadata_check_maps_unreachable_gated_and_missing(tmp_path, monkeypatch):
    """Online path with the metadata request replaced (no network in unit tests)."""
    import huggingface_hub
    import huggingface_hub.constants as hub_constants
    from huggingface_hub.errors import RepositoryNotFoundError

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    outcome: dict = {}

    def dataset_info(self, repo_id, **kwargs):
        if "error" in outcome:
            raise outcome["error"]
        return type("Info", (), {"gated": outcome.get("gated", False)})()

    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", dataset_info)

    outcome["error"] = ConnectionError("[Errno -2] Name or service not known")
    with pytest.raises(HubUnreachableError, match=r"cannot be reached .*\(no network"):
        import_dataset(DatasetSource.hub("o/d"), tmp_path / "a")

    missing = RepositoryNotFoundError.__new__(RepositoryNotFoundError)  # needs no HTTP response
    Exception.__init__(missing, "404 Client Error")
    outcome["error"] = missing
    with pytest.raises(NotFoundError, match="dataset 'o/d' not found on the Hub"):
        import_dataset(DatasetSource.hub("o/d"), tmp_path / "b")

    outcome.clear()
    outcome["gated"] = "manual"
    with pytest.raises(InvalidInputError, match="gated: accept its conditions .* token"):
        import_dataset(DatasetSource.hub("o/d"), tmp_path / "c")
