"""The API keeps extraction folders open between requests, but a folder written afresh at the
same path (a re-run, a restore) is opened afresh, never served from the cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mistudio.api import deps
from mistudio.core.features.result import META_FILE


def test_a_rewritten_folder_is_opened_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(deps.ExtractionResult, "open", lambda path: opened.append(path) or object())
    deps._opened.cache_clear()
    meta = tmp_path / META_FILE
    meta.write_text("{}")
    first = deps.open_extraction(str(tmp_path))
    assert deps.open_extraction(str(tmp_path)) is first and len(opened) == 1
    stat = meta.stat()
    os.utime(meta, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # written again
    assert deps.open_extraction(str(tmp_path)) is not first and len(opened) == 2
    deps._opened.cache_clear()
