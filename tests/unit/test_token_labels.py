"""Labels for tokens shown on their own (logit lens, top tokens): a token holding part of a UTF-8
character shows its bytes (``<0xC3>``), never a bare '�' or a blank, for both kinds of byte
tokens: GPT-2 style byte-level BPE and SentencePiece's byte fallback (``<0xE2>`` entries)."""

from __future__ import annotations

import pytest

from mistudio.core.data.decoding import (
    REPLACEMENT,
    decode_each,
    escape_partial_utf8,
    token_labels,
)
from tests.unit.test_data_tokenize import byte_bpe_tokenizer


def byte_fallback_tokenizer():
    """A SentencePiece-style BPE whose vocabulary has the 256 ``<0xHH>`` byte entries and no 'é',
    with the ByteFallback decoder (as Llama 2 / Gemma / Mistral tokenizers have)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "▁": 1, "c": 2, "a": 3, "f": 4, "▁caf": 5}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    merges = [("c", "a"), ("ca", "f"), ("▁", "caf")]
    vocab |= {"ca": len(vocab), "caf": len(vocab) + 1}
    backend = Tokenizer(
        models.BPE(vocab=vocab, merges=merges, byte_fallback=True, unk_token="<unk>")
    )
    backend.normalizer = normalizers.Sequence(
        [normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]
    )
    backend.pre_tokenizer = pre_tokenizers.Split("▁", "merged_with_next")
    backend.decoder = decoders.Sequence(
        [
            decoders.Replace("▁", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>")


@pytest.mark.parametrize("make", [byte_bpe_tokenizer, byte_fallback_tokenizer])
def test_partial_characters_show_their_bytes(make) -> None:
    tokenizer = make()
    ids = tokenizer("café", add_special_tokens=False)["input_ids"]
    # The reference: the tokenizer itself decodes the lone bytes of 'é' (C3 A9) to U+FFFD.
    alone = decode_each(tokenizer, ids)
    assert REPLACEMENT in "".join(alone) and tokenizer.decode(ids).endswith("café")

    labels = token_labels(tokenizer, ids)

    assert REPLACEMENT not in "".join(labels) and all(labels)
    assert "<0xC3>" in labels and "<0xA9>" in labels
    # Tokens that decode cleanly keep their text.
    assert [lab for lab, text in zip(labels, alone, strict=True) if REPLACEMENT not in text] == [
        t for t in alone if REPLACEMENT not in t
    ]


def test_escape_partial_utf8() -> None:
    assert escape_partial_utf8("é".encode()) == "é"
    assert escape_partial_utf8(b"\xe2\x82") == "<0xE2><0x82>"
    assert escape_partial_utf8(b"caf\xc3") == "caf<0xC3>"
    assert escape_partial_utf8(b"\xa9ok") == "<0xA9>ok"
    assert escape_partial_utf8(b"") == ""


def test_logit_lens_labels_bytes(tmp_path) -> None:
    """The extraction result's logit lens names byte tokens by their bytes."""
    import numpy as np

    from mistudio.core.features.result import ExtractionMeta, ExtractionResult

    tokenizer = byte_bpe_tokenizer()
    ids = tokenizer("é", add_special_tokens=False)["input_ids"]
    assert len(ids) == 2

    arrays = {
        "logit_pos_ids": np.array([ids]),
        "logit_neg_ids": np.array([ids[::-1]]),
        "logit_pos_values": np.array([[2.0, 1.0]]),
        "logit_neg_values": np.array([[-2.0, -1.0]]),
        "logit_hist_range": np.array([[-2.0, 2.0]]),
        "logit_hist_counts": np.array([[1, 1]]),
    }
    for name, values in arrays.items():
        np.save(tmp_path / f"{name}.npy", values)
    # The arrays of a one-latent extraction; the meta only needs its width here.
    result = ExtractionResult(tmp_path, ExtractionMeta.model_construct(d_sae=1))
    lens = result.logit_lens(0, tokenizer)
    assert lens.positive_text == ["<0xC3>", "<0xA9>"]
    assert lens.negative_text == ["<0xA9>", "<0xC3>"]
