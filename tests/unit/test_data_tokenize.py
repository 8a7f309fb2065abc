"""Tokenization: windows, packing, filters, BOS, batches, stats, fingerprints, samples.

Documents are written as ``w<k>`` words for a word-level tokenizer built here, so word ``w<k>``
is token id ``k + 4`` and every expected window can be written down by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from mistudio.core.data import (
    DatasetSource,
    Tokenization,
    TokenizeConfig,
    check_compatible,
    compute_stats,
    compute_windows,
    import_dataset,
    load_stats,
    tokenization_samples,
    tokenize_dataset,
    tokenizer_fingerprint,
)
from mistudio.errors import InvalidInputError, NotFoundError

UNK, BOS, EOS, PAD = 0, 1, 2, 3
N_WORDS = 200


def word_tokenizer(bos: bool = True, eos: bool = True, pad: bool = True) -> PreTrainedTokenizerFast:
    vocab = {"<unk>": UNK, "<bos>": BOS, "<eos>": EOS, "<pad>": PAD}
    vocab |= {f"w{k}": k + 4 for k in range(N_WORDS)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    specials = {"unk_token": "<unk>"}
    if bos:
        specials["bos_token"] = "<bos>"
    if eos:
        specials["eos_token"] = "<eos>"
    if pad:
        specials["pad_token"] = "<pad>"
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, **specials)
    tokenizer.name_or_path = "tiny-words"
    return tokenizer


def doc(*word_ids: int) -> str:
    return " ".join(f"w{k}" for k in word_ids)


def ids(*word_ids: int) -> list[int]:
    return [k + 4 for k in word_ids]


def make_dataset(tmp_path: Path, texts: list[str]) -> Path:
    src = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"text": texts}), src)
    folder = tmp_path / "dataset"
    import_dataset(DatasetSource.local(src), folder)
    return folder


def tokenize(tmp_path: Path, texts: list[str], tokenizer=None, **config) -> Tokenization:
    folder = make_dataset(tmp_path, texts)
    return tokenize_dataset(
        folder, tokenizer or word_tokenizer(), TokenizeConfig(**config), tmp_path / "tok"
    )


def rows(tok: Tokenization) -> list[list[int]]:
    """Each sequence's non-padding ids, from get_batch."""
    batch = tok.get_batch(0, len(tok))
    return [
        list(map(int, r[m])) for r, m in zip(batch.input_ids, batch.attention_mask, strict=True)
    ]


def test_long_document_windows_start_every_stride_and_end_at_the_document_end(tmp_path):
    words = list(range(23))
    tok = tokenize(tmp_path, [doc(*words)], max_length=8, stride=3, prepend_bos=True)
    # 7 content tokens after BOS; starts 0, 3, ..., 18: the first window reaching token 22.
    assert rows(tok) == [[BOS, *ids(*words[s : s + 7])] for s in range(0, 19, 3)]
    assert tok.windows[:, 0].tolist() == list(range(0, 19, 3))
    assert tok.windows[-1].tolist() == [18, 5]


def test_windows_exact_layout(tmp_path):
    words = list(range(20))
    tok = tokenize(tmp_path, [doc(*words)], max_length=8, stride=4, prepend_bos=True, pack=False)
    # content 7: starts 0, 4, 8, 12 (12 + 7 = 19 < 20), 16 (16 + 4 = 20 reaches the end)
    assert tok.windows.tolist() == [[0, 7], [4, 7], [8, 7], [12, 7], [16, 4]]
    assert rows(tok) == [[BOS, *ids(*words[s : s + 7])] for s in (0, 4, 8, 12, 16)]
    assert tok.meta.stride == 4 and tok.meta.prepend_bos


def test_short_document_gives_one_window_and_exact_fit(tmp_path):
    tok = tokenize(tmp_path, [doc(*range(7)), doc(1, 2)], max_length=8, stride=4, pack=False)
    assert rows(tok) == [[BOS, *ids(*range(7))], [BOS, *ids(1, 2)]]


def test_stride_equal_to_max_length_is_clamped_so_no_token_is_skipped(tmp_path):
    tok = tokenize(tmp_path, [doc(*range(10))], max_length=4, stride=4, pack=False)
    assert tok.meta.stride == 3
    assert rows(tok) == [
        [BOS, *ids(0, 1, 2)],
        [BOS, *ids(3, 4, 5)],
        [BOS, *ids(6, 7, 8)],
        [BOS, *ids(9)],
    ]


def test_without_bos_windows_use_the_full_length(tmp_path):
    tok = tokenize(tmp_path, [doc(*range(10))], max_length=4, stride=4, prepend_bos=False)
    assert rows(tok) == [ids(0, 1, 2, 3), ids(4, 5, 6, 7), ids(8, 9)]
    assert not tok.meta.prepend_bos


def test_tokenizer_without_bos_makes_prepend_bos_a_no_op(tmp_path):
    tokenizer = word_tokenizer(bos=False)
    tok = tokenize(tmp_path, [doc(1, 2, 3)], tokenizer=tokenizer, max_length=8, stride=4)
    assert tok.meta.prepend_bos is False and tok.meta.bos_token_id is None
    assert rows(tok) == [ids(1, 2, 3)]


def test_packing_joins_consecutive_short_documents_with_eos(tmp_path):
    long = list(range(10, 22))  # 12 tokens -> windows at 0, 4, 8 (content 7)
    texts = [doc(1, 2), doc(3), doc(4, 5, 6), doc(*long), doc(7), doc(8)]
    tok = tokenize(tmp_path, texts, max_length=8, stride=4, pack=True)
    assert (
        rows(tok)
        == [
            [BOS, *ids(1, 2), EOS, *ids(3)],  # adding "4 5 6" would need 4 + 1 + 3 = 8 > 7
            [BOS, *ids(4, 5, 6)],  # a long document closes the pack
            [BOS, *ids(*long[0:7])],
            [BOS, *ids(*long[4:11])],
            [BOS, *ids(*long[8:12])],
            [BOS, *ids(7), EOS, *ids(8)],
        ]
    )
    assert tok.meta.separator_token_id == EOS and tok.meta.separator_stored
    assert [tok.document(i).tolist() for i in range(tok.n_documents)] == [
        ids(1, 2),
        ids(3),
        ids(4, 5, 6),
        ids(*long),
        ids(7),
        ids(8),
    ]
    assert tok.meta.n_tokens == 2 + 1 + 3 + 12 + 1 + 1


def test_packing_uses_bos_as_separator_without_eos(tmp_path):
    tokenizer = word_tokenizer(eos=False, pad=False)
    tok = tokenize(tmp_path, [doc(1), doc(2)], tokenizer=tokenizer, max_length=8, stride=4)
    assert rows(tok) == [[BOS, *ids(1), BOS, *ids(2)]]
    assert tok.meta.pad_token_id == 0  # no pad and no eos
    assert tok.get_batch(0, 1).input_ids[0, 4:].tolist() == [0, 0, 0, 0]


def test_no_packing_gives_one_window_per_short_document(tmp_path):
    tok = tokenize(tmp_path, [doc(1), doc(2), doc(3)], max_length=8, stride=4, pack=False)
    assert rows(tok) == [[BOS, *ids(1)], [BOS, *ids(2)], [BOS, *ids(3)]]
    assert not tok.meta.separator_stored


def test_filters_min_tokens_special_only_contains_and_max_documents(tmp_path):
    texts = [
        doc(1),  # too short with min_tokens=2
        "<bos> <eos>",  # only special tokens
        doc(2, 3) + " w150",  # dropped by drop_if_contains "W150" (case-insensitive)
        doc(4, 5),
        doc(6, 7),
        doc(8, 9),  # beyond max_documents=2
    ]
    tok = tokenize(
        tmp_path,
        texts,
        max_length=16,
        stride=8,
        min_tokens=2,
        drop_if_contains=["W150"],
        max_documents=2,
    )
    assert [tok.document(i).tolist() for i in range(tok.n_documents)] == [ids(4, 5), ids(6, 7)]
    assert tok.meta.n_dropped == {"too_short": 1, "special_only": 1, "contains": 1}
    assert tok.meta.n_documents == 2 and tok.meta.n_documents_read == 5


def test_everything_filtered_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInputError, match="no documents left"):
        tokenize(tmp_path, [doc(1)], min_tokens=5, max_length=8, stride=4)


def brute_force_sequences(
    docs: list[list[int]], content: int, stride: int, bos: int | None, sep: int | None
) -> list[list[int]]:
    """Independent reference: windows per document, then greedy packing of short ones."""
    out: list[list[int]] = []
    pack: list[int] | None = None
    head = [bos] if bos is not None else []
    for d in docs:
        if len(d) > content:
            if pack is not None:
                out.append(head + pack)
                pack = None
            start = 0
            while True:
                out.append(head + d[start : start + content])
                if start + content >= len(d):
                    break
                start += stride
        elif sep is None:
            out.append(head + d)
        elif pack is not None and len(pack) + 1 + len(d) <= content:
            pack = pack + [sep] + d
        else:
            if pack is not None:
                out.append(head + pack)
            pack = list(d)
    if pack is not None:
        out.append(head + pack)
    return out


@pytest.mark.parametrize("pack", [True, False])
@pytest.mark.parametrize("prepend_bos", [True, False])
def test_get_batch_matches_brute_force(tmp_path, pack, prepend_bos):
    rng = np.random.default_rng(1)
    docs = [list(rng.integers(0, N_WORDS, size=int(n))) for n in rng.integers(1, 60, size=40)]
    tok = tokenize(
        tmp_path,
        [doc(*d) for d in docs],
        max_length=16,
        stride=5,
        pack=pack,
        prepend_bos=prepend_bos,
    )
    content = 16 - int(prepend_bos)
    expected = brute_force_sequences(
        [ids(*d) for d in docs], content, 5, BOS if prepend_bos else None, EOS if pack else None
    )
    assert len(tok) == len(expected) == tok.meta.n_sequences
    batch = tok.get_batch(0, len(tok))
    assert batch.input_ids.dtype == np.int64 and batch.input_ids.shape == (len(tok), 16)
    assert batch.attention_mask.dtype == np.bool_ and batch.attention_mask.shape == (len(tok), 16)
    for row, mask, want in zip(batch.input_ids, batch.attention_mask, expected, strict=True):
        assert row[: len(want)].tolist() == want
        assert mask.tolist() == [True] * len(want) + [False] * (16 - len(want))
        assert (row[len(want) :] == PAD).all()  # right-padded with the pad id
    # slices agree with the whole, and stop is clamped
    part = tok.get_batch(3, 7)
    assert np.array_equal(part.input_ids, batch.input_ids[3:7])
    assert len(tok.get_batch(len(tok) - 2, len(tok) + 10)) == 2
    assert tok.meta.n_sequence_tokens == int(batch.attention_mask.sum())


def test_open_round_trip_and_iter_batches(tmp_path):
    tok = tokenize(tmp_path, [doc(*range(k, k + 9)) for k in range(30)], max_length=8, stride=4)
    opened = Tokenization.open(tmp_path / "tok")
    assert len(opened) == len(tok)
    assert opened.meta == tok.meta
    whole = opened.get_batch(0, len(opened))
    batches = list(opened.iter_batches(7))
    assert [len(b) for b in batches][:-1] == [7] * (len(batches) - 1)
    assert np.array_equal(np.concatenate([b.input_ids for b in batches]), whole.input_ids)
    shuffled = list(opened.iter_batches(7, shuffle=True, seed=3))
    order = np.concatenate([b.sequence_index for b in shuffled])
    assert sorted(order.tolist()) == list(range(len(opened)))
    assert order.tolist() != list(range(len(opened)))
    assert np.array_equal(np.concatenate([b.input_ids for b in shuffled]), whole.input_ids[order])
    again = np.concatenate([b.sequence_index for b in opened.iter_batches(7, True, 3)])
    assert np.array_equal(order, again)
    files = sorted(p.name for p in (tmp_path / "tok").iterdir())
    assert files == ["doc_offsets.npy", "meta.json", "stats.json", "tokens.npy", "windows.npy"]
    assert np.load(tmp_path / "tok" / "tokens.npy").dtype == np.uint32
    assert np.load(tmp_path / "tok" / "windows.npy").shape == (len(tok), 2)
    meta = json.loads((tmp_path / "tok" / "meta.json").read_text())
    assert meta["tokenizer_name"] == "tiny-words" and meta["vocab_size"] == N_WORDS + 4


def test_stats_counts_and_histograms(tmp_path):
    texts = [doc(1, 1, 1, 2), doc(2, 3), doc(*range(30))]
    tok = tokenize(tmp_path, texts, max_length=8, stride=4)
    stats = compute_stats(tok, word_tokenizer())
    lengths = [4, 2, 30]
    assert stats.n_documents == 3 and stats.n_tokens == 36
    assert stats.n_sequences == len(tok)
    assert stats.max_document_length == 30
    assert stats.mean_document_length == pytest.approx(12.0)
    assert stats.median_document_length == 4
    assert sum(stats.sequence_length_histogram.counts) == len(tok)
    assert (
        len(stats.sequence_length_histogram.bins) == len(stats.sequence_length_histogram.counts) + 1
    )
    assert sum(stats.document_length_histogram.counts) == len(lengths)
    top = stats.top_tokens[0]
    assert (top.id, top.token, top.text, top.count) == (ids(1)[0], "w1", "w1", 4)
    assert all(t.id != EOS for t in stats.top_tokens)  # separators are not document tokens
    assert stats.n_distinct_tokens == 30
    assert stats.vocab_coverage == pytest.approx(30 / (N_WORDS + 4))
    real = int(tok.get_batch(0, len(tok)).attention_mask.sum())
    assert stats.padding_fraction == pytest.approx(1 - real / (len(tok) * 8))
    saved = tok.stats()  # stats.json written at tokenize time
    assert saved.top_tokens[0].token == "w1" and saved.n_tokens == 36


def test_fingerprint_and_check_compatible(tmp_path):
    a, b = word_tokenizer(), word_tokenizer()
    assert tokenizer_fingerprint(a) == tokenizer_fingerprint(b)
    assert len(tokenizer_fingerprint(a)) == 64
    other = word_tokenizer()
    other.add_tokens(["extra"])
    assert tokenizer_fingerprint(other) != tokenizer_fingerprint(a)
    tok = tokenize(tmp_path, [doc(1, 2)], tokenizer=a, max_length=8, stride=4)
    check_compatible(tok.meta, b)
    other.name_or_path = "other-model"
    with pytest.raises(
        InvalidInputError,
        match=r"made with tokenizer tiny-words \(vocab 204\); "
        r"model other-model uses a different vocabulary \(205\)",
    ):
        check_compatible(tok.meta, other)


def byte_bpe_tokenizer() -> PreTrainedTokenizerFast:
    """A GPT-2 style byte-level BPE trained here on a few lines (no merges for 'é' bytes)."""
    from tokenizers import decoders, trainers

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(["hello world", "the cat sat on the mat"] * 20, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<|endoftext|>", eos_token="<|endoftext|>"
    )


def test_tokenization_samples_are_bytes_safe(tmp_path):
    tokenizer = byte_bpe_tokenizer()
    tok = tokenize(
        tmp_path, ["hello café 😀 world", "the cat"], tokenizer=tokenizer, max_length=64, stride=32
    )
    samples = tokenization_samples(tok, tokenizer, 0, 10)
    assert len(samples) == 1  # packed into one sequence
    sample = samples[0]
    assert sample["input_ids"][0] == tokenizer.bos_token_id
    assert len(sample["tokens"]) == len(sample["strings"]) == len(sample["input_ids"])
    assert "\ufffd" in sample["strings"]  # a byte of 'é' or the emoji on its own
    assert "café 😀" in sample["text"]
    json.dumps(samples, ensure_ascii=False).encode("utf-8")  # valid UTF-8 throughout
    # out-of-vocabulary ids never raise
    from mistudio.core.data import convert_ids_to_tokens, decode, decode_each

    assert convert_ids_to_tokens(tokenizer, [10**6]) == ["<1000000>"]
    assert isinstance(decode(tokenizer, [10**6]), str)
    assert isinstance(decode_each(tokenizer, [10**6, 5])[0], str)


def test_compute_windows_directly():
    lengths = np.array([3, 10, 2], dtype=np.int64)
    offsets = np.array([0, 4, 15, 18], dtype=np.int64)  # one separator after each document
    windows = compute_windows(
        lengths, offsets, content_length=4, stride=3, pack=True, separator_length=1
    )
    assert windows.tolist() == [[0, 3], [4, 4], [7, 4], [10, 4], [15, 2]]


def test_config_validation():
    with pytest.raises(ValueError, match="stride"):
        TokenizeConfig(max_length=8, stride=9)
    with pytest.raises(ValueError):
        TokenizeConfig(max_length=1)


def test_tokenize_reports_progress_in_documents(tmp_path):
    folder = make_dataset(tmp_path, [doc(k) for k in range(25)])
    steps: list[tuple[float, float | None, dict]] = []
    tokenize_dataset(
        folder,
        word_tokenizer(),
        TokenizeConfig(max_length=8, stride=4, batch_documents=10),
        tmp_path / "tok",
        lambda s, t, **m: steps.append((s, t, m)),
    )
    assert [s for s, _, _ in steps] == [0, 10, 20, 25, 25]
    assert all(t == 25 for _, t, _ in steps)
    assert steps[-1][2]["documents"] == 25 and steps[-1][2]["tokens"] == 25


def test_decoding_never_raises_with_a_failing_tokenizer():
    from mistudio.core.data import convert_ids_to_tokens, decode, decode_each

    class Broken:
        def decode(self, ids, **kwargs):
            raise ValueError("bad id")

        def batch_decode(self, ids, **kwargs):
            raise ValueError("bad id")

        def convert_ids_to_tokens(self, ids):
            raise IndexError("bad id")

    broken = Broken()
    assert decode(broken, [1, 2]) == "\ufffd\ufffd"
    assert decode_each(broken, [1]) == ["\ufffd"]
    assert convert_ids_to_tokens(broken, [7]) == ["<7>"]


def test_chunking_by_characters_does_not_change_the_result(tmp_path, monkeypatch):
    import mistudio.core.data.tokenize as tokenize_module

    rng = np.random.default_rng(2)
    texts = [doc(*rng.integers(0, N_WORDS, size=int(n))) for n in rng.integers(1, 40, size=30)]
    folder = make_dataset(tmp_path, texts)
    config = TokenizeConfig(max_length=16, stride=8, batch_documents=7)
    whole = tokenize_dataset(folder, word_tokenizer(), config, tmp_path / "a")
    monkeypatch.setattr(tokenize_module, "CHUNK_CHARS", 50)
    steps: list[float] = []
    chunked = tokenize_dataset(
        folder, word_tokenizer(), config, tmp_path / "b", lambda s, t, **m: steps.append(s)
    )
    assert len(steps) > 10  # progress after every small chunk
    assert np.array_equal(whole.tokens, chunked.tokens)
    assert np.array_equal(whole.windows, chunked.windows)
    assert np.array_equal(whole.doc_offsets, chunked.doc_offsets)


def test_reader_reads_saved_stats_and_load_stats_computes_missing(tmp_path):
    """The tokenize operation writes stats.json; the reader only reads it, and ``load_stats``
    computes the statistics of a folder made without them."""
    tok = tokenize(tmp_path, [doc(1, 1, 2), doc(3)], max_length=8, stride=4)
    saved = tok.stats()
    assert load_stats(tok) == saved
    (tmp_path / "tok" / "stats.json").unlink()
    reopened = Tokenization.open(tmp_path / "tok")
    with pytest.raises(NotFoundError, match="stats.json"):
        reopened.stats()
    computed = load_stats(reopened)
    assert (computed.n_tokens, computed.n_documents) == (saved.n_tokens, saved.n_documents)
