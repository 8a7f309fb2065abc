"""Where each model token lies in the text of its window, in characters.

The analysers (spaCy, :mod:`tokenize`) read text and answer in character offsets; the latent
fired on a model token (a BPE piece, possibly part of a word or of one UTF-8 character). The two
meet on character offsets of one decoded string, never on token strings:

- **Byte-level BPE** (GPT-2, SmolLM2, Llama 3; SentencePiece's ``<0xE2>`` byte fallback too):
  every vocabulary entry stands for known bytes (:func:`mistudio.core.data.decoding._token_bytes`),
  so the window's bytes are their concatenation, the text is those bytes decoded, and a token's
  span is the characters its bytes fall in. A token holding part of a character gets that
  character; the text is exactly what the tokenizer decodes.
- **Any other tokenizer**: spans come from decoding growing prefixes of the window (the prefix
  before a token, and the prefix through it), checked to be prefixes of the whole decoded text;
  a token whose prefix does not line up gets an empty span at its position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mistudio.core.data.decoding import REPLACEMENT, _token_bytes, convert_ids_to_tokens, decode


@dataclass(frozen=True)
class AlignedWindow:
    """A window's text and each token's character span in it."""

    text: str
    """The window decoded as one string."""
    spans: list[tuple[int, int]]
    """``(start, end)`` character offsets of each token in ``text``."""


def _byte_spans(pieces: list[bytes]) -> AlignedWindow:
    data = b"".join(pieces)
    text = data.decode("utf-8", errors="replace")
    # Character index of every byte offset: decode character by character, remembering where
    # each character's bytes started (a replaced invalid byte counts as one character).
    char_at = [0] * (len(data) + 1)
    pos = 0
    chars = 0
    while pos < len(data):
        width = 1
        for w in (1, 2, 3, 4):
            try:
                data[pos : pos + w].decode("utf-8")
                width = w
                break
            except UnicodeDecodeError:
                continue
        for k in range(width):
            char_at[pos + k] = chars
        pos += width
        chars += 1
    char_at[len(data)] = chars
    if chars != len(text):  # the decoder grouped replaced bytes differently: be safe
        text = "".join(data[i : i + 1].decode("utf-8", errors="replace") for i in range(len(data)))
        char_at = list(range(len(data) + 1))
    spans = []
    offset = 0
    for piece in pieces:
        start, end = offset, offset + len(piece)
        begin = char_at[start]
        # A token ending inside a character covers that character.
        finish = char_at[end] + (1 if end < len(data) and char_at[end] == char_at[end - 1] else 0)
        spans.append((begin, max(begin, finish) if piece else begin))
        offset = end
    return AlignedWindow(text, spans)


def _prefix_spans(tokenizer: Any, ids: list[int]) -> AlignedWindow:
    text = decode(tokenizer, ids)
    spans = []
    last = 0
    for i in range(len(ids)):
        # A prefix ending inside a character decodes to U+FFFD there; without it, the prefix is
        # the whole characters so far, and a token adding only part of one covers that one.
        before = decode(tokenizer, ids[:i]).rstrip(REPLACEMENT)
        through = decode(tokenizer, ids[: i + 1]).rstrip(REPLACEMENT)
        if text.startswith(through) and through.startswith(before):
            start, end = len(before), len(through)
            if start == end and start < len(text):
                end = start + 1
        else:
            start = end = last
        start = max(start, last)
        spans.append((start, max(start, end)))
        last = start
    return AlignedWindow(text, spans)


def align_window(tokenizer: Any, ids: Sequence[int]) -> AlignedWindow:
    """The text of ``ids`` and each token's character span in it (see the module docstring)."""
    ids = [int(i) for i in ids]
    pieces = [_token_bytes(p) for p in convert_ids_to_tokens(tokenizer, ids)]
    if all(p is not None for p in pieces):
        aligned = _byte_spans([p for p in pieces if p is not None])
        # The tokenizer's own decoding is the reference: byte pieces must reproduce it.
        if aligned.text == decode(tokenizer, ids):
            return aligned
    return _prefix_spans(tokenizer, ids)
