"""Words, not BPE pieces: a window's tokens grouped into the words a reader sees.

A latent's examples are stored token by token, so ``▁un`` ``believ`` ``able`` would read as three
fragments and a character split over byte tokens (``<0xC3>`` ``<0xA9>``, or byte-level BPE's
``Ã`` ``©``) as two '�'. :func:`token_words` groups the window's tokens into words and gives each
word's text, while the token-level activations stay where they are (the studio shades a word by
its largest token and lists the pieces on hover; "raw tokens" shows the pieces).

How, using the tokenizer's own vocabulary and decoding:

1. Each token's bytes come from its vocabulary entry (``convert_ids_to_tokens``): byte-level BPE
   entries are written in GPT-2's byte table (``Ġworld``), SentencePiece entries use ``▁`` for a
   space and ``<0xE2>`` for byte fallback. An entry's bytes are trusted only when they decode to
   what the tokenizer's own ``decode`` gives for that token alone (a leading space that
   SentencePiece drops at the start of a text aside; a lone byte of a character decodes to
   U+FFFD both ways); otherwise the token's own decoding stands in for its bytes (its character
   is then not merged with a neighbour's, but words still are). The bytes of each id are worked
   out once per tokenizer and kept, so a page of windows costs dictionary lookups.
2. The joined bytes are decoded token by token with an incremental UTF-8 decoder, which gives
   each token boundary a character offset, and tells when a boundary falls inside a character.
3. Tokens ``i`` and ``i + 1`` belong to one word when the boundary falls inside a character, or
   when the characters on both sides of it are word characters (letters, digits, ``_``):
   ``un|believ|able`` and ``get|_value`` join, ``hello|,`` and ``,| world`` do not, and a space
   starts a new word. Special tokens (``<|im_start|>``) are always words of their own.

Word texts are slices of the decoded window, so the words joined are the window's text.
"""

from __future__ import annotations

import codecs
import contextlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mistudio.core.data.decoding import (
    REPLACEMENT,
    _token_bytes,
    convert_ids_to_tokens,
    decode_each,
)

_SENTENCEPIECE_SPACE = "\u2581"


@dataclass(frozen=True)
class Word:
    """Tokens ``start .. end - 1`` of a window, read as one word."""

    start: int
    """Index of the word's first token."""
    end: int
    """One past its last token."""
    text: str
    """What the tokens read as together (their characters merged)."""


def _piece_bytes(piece: str) -> bytes:
    """The bytes a vocabulary entry stands for (byte-level BPE or SentencePiece)."""
    data = _token_bytes(piece)
    if data is not None:
        return data
    return piece.replace(_SENTENCEPIECE_SPACE, " ").encode("utf-8")


_SPECIAL: weakref.WeakKeyDictionary[Any, frozenset[int]] = weakref.WeakKeyDictionary()


def _special_ids(tokenizer: Any) -> frozenset[int]:
    try:
        return _SPECIAL[tokenizer]
    except (KeyError, TypeError):
        pass
    try:
        ids = frozenset(int(i) for i in tokenizer.all_special_ids)
    except Exception:  # a tokenizer without the attribute has no special tokens we can name
        ids = frozenset()
    with contextlib.suppress(TypeError):  # not weakly referable: no cache
        _SPECIAL[tokenizer] = ids
    return ids


_BYTES: weakref.WeakKeyDictionary[Any, dict[int, bytes]] = weakref.WeakKeyDictionary()
"""Per tokenizer: each id's bytes, as worked out by :func:`_token_bytes_of`."""


def _known_bytes(tokenizer: Any) -> dict[int, bytes]:
    try:
        return _BYTES.setdefault(tokenizer, {})
    except TypeError:  # not weakly referable: no cache
        return {}


def _token_bytes_of(tokenizer: Any, ids: Sequence[int]) -> list[bytes]:
    """Each token's bytes: from the vocabulary where that reproduces the token's own decoding,
    else its own decoding's bytes."""
    known = _known_bytes(tokenizer)
    missing = sorted({i for i in ids if i not in known})
    if missing:
        pieces = convert_ids_to_tokens(tokenizer, missing)
        alone = decode_each(tokenizer, missing)
        for i, piece, own in zip(missing, pieces, alone, strict=True):
            data = _piece_bytes(piece)
            text = data.decode("utf-8", errors="replace")
            agrees = own in (text, text.removeprefix(" ")) or (
                REPLACEMENT in own and REPLACEMENT in text
            )
            known[i] = data if agrees else own.encode("utf-8")
    return [known[i] for i in ids]


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


_WINDOWS: weakref.WeakKeyDictionary[Any, dict[tuple[int, ...], list[Word]]] = (
    weakref.WeakKeyDictionary()
)
"""Per tokenizer, the words of recent windows: labelling reads the same random contexts (shared
by every latent) once per latent."""
WINDOW_CACHE = 4096
"""Windows kept per tokenizer (the oldest half is dropped when full)."""


def token_words(tokenizer: Any, ids: Sequence[int]) -> list[Word]:
    """The words of a window of token ids (see the module docstring); ``[]`` for no tokens."""
    key = tuple(int(i) for i in ids)
    if not key:
        return []
    try:
        cache = _WINDOWS.setdefault(tokenizer, {})
    except TypeError:  # not weakly referable: no cache
        return _token_words(tokenizer, list(key))
    found = cache.get(key)
    if found is None:
        if len(cache) >= WINDOW_CACHE:
            for old in list(cache)[: WINDOW_CACHE // 2]:
                del cache[old]
        found = cache[key] = _token_words(tokenizer, list(key))
    return list(found)


def _token_words(tokenizer: Any, ids: list[int]) -> list[Word]:
    special = _special_ids(tokenizer)
    data = _token_bytes_of(tokenizer, ids)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text_parts: list[str] = []
    ends: list[int] = []  # character offset after each token
    inside: list[bool] = []  # whether the boundary after each token falls inside a character
    length = 0
    for i, chunk in enumerate(data):
        last = i == len(data) - 1
        part = decoder.decode(chunk, final=last)
        text_parts.append(part)
        length += len(part)
        ends.append(length)
        inside.append(bool(decoder.getstate()[0]) and not last)
    text = "".join(text_parts)

    words: list[Word] = []
    start, start_char = 0, 0
    for i in range(len(ids)):
        last = i == len(ids) - 1
        if not last:
            cut = ends[i]
            join = inside[i] or (
                0 < cut < len(text)
                and _is_word_char(text[cut - 1])
                and _is_word_char(text[cut])
                and REPLACEMENT not in text[cut - 1 : cut + 1]
            )
            if ids[i] in special or ids[i + 1] in special:
                join = False
            if join:
                continue
        words.append(Word(start, i + 1, text[start_char : ends[i]]))
        start, start_char = i + 1, ends[i]
    return words
