"""Words, not BPE pieces (issue 19 part 2): a window's tokens grouped into the words a reader
sees, characters split over byte tokens merged, for byte-level BPE (GPT-2, SmolLM2) and
SentencePiece with byte fallback (Llama 2, Gemma, Mistral)."""

from __future__ import annotations

import pytest

from mistudio.core.data.decoding import REPLACEMENT
from mistudio.core.data.words import token_words
from tests.unit.test_data_tokenize import byte_bpe_tokenizer
from tests.unit.test_token_labels import byte_fallback_tokenizer


def _words(tokenizer, text: str) -> list[str]:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return [w.text for w in token_words(tokenizer, ids)]


@pytest.mark.parametrize("make", [byte_bpe_tokenizer, byte_fallback_tokenizer])
def test_split_characters_are_merged_into_their_word(make) -> None:
    tokenizer = make()
    ids = tokenizer("café", add_special_tokens=False)["input_ids"]
    assert len(ids) >= 3  # 'é' is two byte tokens in both vocabularies
    words = token_words(tokenizer, ids)
    assert [w.text.strip() for w in words] == ["café"]
    assert (words[0].start, words[0].end) == (0, len(ids))
    assert REPLACEMENT not in "".join(w.text for w in words)


def test_pieces_of_a_word_join_and_spaces_and_punctuation_split() -> None:
    tokenizer = byte_bpe_tokenizer()  # its vocabulary knows 'hello', 'world', 'the', 'cat'...
    text = "the catamaran, hello_world (x2) spells:"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    words = token_words(tokenizer, ids)
    assert len(words) < len(ids)  # unseen words came in pieces
    assert "".join(w.text for w in words) == text  # nothing lost or doubled
    # 'Ġ' alone is a token of this small vocabulary, so the spaces stand alone.
    assert [w.text for w in words] == (
        ["the", " catamaran", ",", " ", "hello_world", " ", "(", "x2", ")", " ", "spells", ":"]
    )
    # Words cover the tokens in order, each token once.
    assert [w.start for w in words][0] == 0 and words[-1].end == len(ids)
    assert all(a.end == b.start for a, b in zip(words, words[1:], strict=False))


def test_special_tokens_are_words_of_their_own() -> None:
    tokenizer = byte_bpe_tokenizer()
    eos = tokenizer.eos_token_id
    ids = [eos, *tokenizer("hello", add_special_tokens=False)["input_ids"], eos, eos]
    words = token_words(tokenizer, ids)
    assert [w.text for w in words] == ["<|endoftext|>", "hello", "<|endoftext|>", "<|endoftext|>"]


def test_an_emoji_over_four_byte_tokens_is_one_word() -> None:
    tokenizer = byte_bpe_tokenizer()
    text = "cat 😀!"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    words = token_words(tokenizer, ids)
    assert "".join(w.text for w in words) == text
    assert " 😀" in [w.text for w in words] or "😀" in [w.text for w in words]


def test_a_window_cut_inside_a_character_keeps_its_bytes_visible() -> None:
    """A window may start or end in the middle of a character: the lone bytes stay one word and
    show as U+FFFD, as the tokenizer's own decoding shows them."""
    tokenizer = byte_bpe_tokenizer()
    ids = tokenizer("café", add_special_tokens=False)["input_ids"][:-1]  # last byte cut off
    words = token_words(tokenizer, ids)
    assert words[-1].end == len(ids)
    assert [w.start for w in words][0] == 0
    assert token_words(tokenizer, []) == []
