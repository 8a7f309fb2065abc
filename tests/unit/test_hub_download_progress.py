"""Progress of a Hub dataset import while it downloads (issue 18 point 16): bytes as they land
in huggingface_hub's cache, against the size of the split's data files, then rows; a streamed
import reports rows as they arrive. The fake Hub serves the files slowly so the download lasts
long enough to be watched."""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mistudio.core.data import hub as data_hub
from mistudio.core.data.hub import _expected_bytes, read_hub

if TYPE_CHECKING:
    from tests.fake_hub import FakeHub

pytest_plugins = ["tests.fake_hub"]
N_ROWS = 600


def _noisy_dataset(folder: Path) -> Path:
    """~1.2 MB of incompressible text in a train split, and a small test split."""
    rng = random.Random(0)
    letters = string.ascii_letters + string.digits

    def rows(n: int) -> pa.Table:
        return pa.table({"text": ["".join(rng.choices(letters, k=2000)) for _ in range(n)]})

    (folder / "data").mkdir(parents=True)
    pq.write_table(rows(N_ROWS), folder / "data/train-00000-of-00001.parquet", compression="none")
    pq.write_table(rows(5), folder / "data/test-00000-of-00001.parquet")
    return folder


def test_download_reports_bytes_then_rows(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    folder = _noisy_dataset(tmp_path / "noisy")
    fake_hub.add_repo("org/noisy", folder, repo_type="dataset")
    fake_hub.bytes_per_second = 600_000  # ~2 s for the train file
    monkeypatch.setattr(data_hub, "WATCH_SECONDS", 0.1)
    # huggingface_hub writes downloads in 10 MB chunks; a 1 MB file stands for a large one.
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 32 * 1024)
    calls: list[tuple[float, float | None, dict[str, Any]]] = []
    table = read_hub("org/noisy", split="train", progress=lambda s, t, **m: calls.append((s, t, m)))
    assert table.num_rows == N_ROWS

    # Every split of the config is fetched (load_dataset prepares them all).
    train_size = sum(p.stat().st_size for p in (folder / "data").iterdir())
    downloads = [(s, t, m) for s, t, m in calls if m.get("stage") == "downloading"]
    assert downloads[0][0] == 0 and downloads[0][2]["bytes_total"] == train_size
    moving = [m["bytes"] for _, _, m in downloads if 0 < m["bytes"] < train_size]
    assert len(moving) >= 3, downloads  # not "0 then done"
    assert moving == sorted(moving)
    assert all(t == train_size for _, t, _ in downloads)
    assert calls[-1][2] == {"stage": "rows read", "rows": N_ROWS, "documents": N_ROWS}


def test_streaming_reports_rows_as_they_arrive(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.add_repo("org/noisy", _noisy_dataset(tmp_path / "noisy"), repo_type="dataset")
    calls: list[dict[str, Any]] = []
    read_hub(
        "org/noisy",
        split="train",
        streaming=True,
        max_documents=350,
        progress=lambda s, t, **m: calls.append(m),
    )
    assert [m["rows"] for m in calls if m.get("stage") == "streaming"] == [100, 200, 300]
    assert calls[-1]["rows"] == 350


def test_expected_bytes_narrow_to_the_config() -> None:
    files = {
        "README.md": 10,
        ".gitattributes": 5,
        "en/train.jsonl": 100,
        "en/test.jsonl": 20,
        "fr/train.jsonl": 70,
    }
    assert _expected_bytes(files, "en") == 120
    assert _expected_bytes(files, "fr") == 70
    assert _expected_bytes(files, None) == 190
    assert _expected_bytes({"data.parquet": 9}, "x") == 9  # no folder names the config
