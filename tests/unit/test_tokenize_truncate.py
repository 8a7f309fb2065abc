"""Tokenization's truncation mode (``long_documents="truncate"``, issue 18 point 16): a long
document keeps its first ``max_length`` tokens (BOS included) instead of being cut into windows;
expected sequences are written by hand with the word tokenizer of test_data_tokenize."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mistudio.core.data import TokenizeConfig, tokenize_dataset
from tests.unit.test_data_tokenize import (
    BOS,
    EOS,
    doc,
    ids,
    make_dataset,
    rows,
    tokenize,
    word_tokenizer,
)


def test_truncate_keeps_the_first_window_of_a_long_document(tmp_path: Path) -> None:
    long = list(range(10, 30))  # 20 tokens; windows would give 5 sequences at stride 4
    tok = tokenize(
        tmp_path,
        [doc(*long), doc(1, 2), doc(3)],
        max_length=8,
        stride=4,
        long_documents="truncate",
    )
    assert rows(tok) == [[BOS, *ids(*long[:7])], [BOS, *ids(1, 2), EOS, *ids(3)]]
    assert tok.meta.n_tokens == 7 + 2 + 1  # the cut tokens are not stored
    assert tok.meta.config.long_documents == "truncate"


def test_truncate_without_packing_or_bos(tmp_path: Path) -> None:
    tok = tokenize(
        tmp_path,
        [doc(*range(10)), doc(5, 6)],
        max_length=4,
        prepend_bos=False,
        pack=False,
        stride=4,
        long_documents="truncate",
    )
    assert rows(tok) == [ids(0, 1, 2, 3), ids(5, 6)]


def test_windows_stay_the_default(tmp_path: Path) -> None:
    tok = tokenize(tmp_path, [doc(*range(10))], max_length=4, stride=3, pack=False)
    assert len(rows(tok)) == 4 and TokenizeConfig().long_documents == "windows"


def test_progress_counts_tokens_and_truncated_documents(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path, [doc(*range(12)), doc(1), doc(*range(9))])
    steps: list[dict] = []
    tokenize_dataset(
        folder,
        word_tokenizer(),
        TokenizeConfig(max_length=6, stride=5, long_documents="truncate", pack=False),
        tmp_path / "tok",
        lambda s, t, **m: steps.append(m),
    )
    last_chunk = [m for m in steps if "truncated" in m][-1]
    assert last_chunk["truncated"] == 2
    assert last_chunk["tokens"] == 5 + 1 + 5  # kept tokens (no separators without packing)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValidationError):
        TokenizeConfig(long_documents="cut")  # type: ignore[arg-type]
