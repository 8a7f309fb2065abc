"""Turning token ids back into text without ever raising or emitting invalid UTF-8.

A single byte-level BPE token may hold part of a multi-byte character; decoded on its own it must
show as U+FFFD, not crash or produce a lone surrogate that breaks JSON. Tokenizers differ in how
they fail (slow tokenizers raise on unknown ids, fast ones may return ``None`` tokens), so every
path here catches, falls back, and finally re-encodes with ``errors="replace"``.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from typing import Any

REPLACEMENT = "\ufffd"


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _replace_surrogates(text: str) -> str:
    return "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def safe_text(text: Any) -> str:
    """Any value as a valid UTF-8 string (surrogates replaced)."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        return text.decode("utf-8", errors="replace")
    text = str(text)
    return _replace_surrogates(text) if _has_surrogates(text) else text


def convert_ids_to_tokens(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """Vocabulary strings of ``ids`` (e.g. ``Ġworld``); ``<id>`` where the tokenizer has none."""
    try:
        tokens = tokenizer.convert_ids_to_tokens([int(i) for i in ids])
    except Exception:
        tokens = [None] * len(ids)
        for position, index in enumerate(ids):
            try:
                tokens[position] = tokenizer.convert_ids_to_tokens(int(index))
            except Exception:
                tokens[position] = None
    return [
        safe_text(t) if t is not None else f"<{int(i)}>" for t, i in zip(tokens, ids, strict=True)
    ]


def decode(tokenizer: Any, ids: Sequence[int]) -> str:
    """The text of ``ids`` (special tokens kept); never raises, always valid UTF-8."""
    ids = [int(i) for i in ids]
    try:
        return safe_text(
            tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        )
    except Exception:
        return "".join(decode_each(tokenizer, ids))


_SINGLE_TOKENS: weakref.WeakKeyDictionary[Any, dict[int, str]] = weakref.WeakKeyDictionary()
"""Per tokenizer, each id's text decoded on its own: the same for every call, and labelling a
latent decodes thousands of ids (its examples, samples, and the random contexts every latent
shares), most of them seen before; the first run's rules pass spent half its time here."""


def decode_each(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """Each id decoded on its own (a token holding part of a UTF-8 character shows U+FFFD)."""
    ids = [int(i) for i in ids]
    try:
        cache = _SINGLE_TOKENS.setdefault(tokenizer, {})
    except TypeError:  # not weak-referenceable: decode every time
        return _decode_each(tokenizer, ids)
    missing = sorted({i for i in ids if i not in cache})
    if missing:
        cache.update(zip(missing, _decode_each(tokenizer, missing), strict=True))
    return [cache[i] for i in ids]


def _decode_each(tokenizer: Any, ids: list[int]) -> list[str]:
    try:
        texts = tokenizer.batch_decode(
            [[i] for i in ids], skip_special_tokens=False, clean_up_tokenization_spaces=False
        )
        return [safe_text(t) for t in texts]
    except Exception:
        pass
    out: list[str] = []
    for index in ids:
        try:
            out.append(
                safe_text(
                    tokenizer.decode(
                        [index], skip_special_tokens=False, clean_up_tokenization_spaces=False
                    )
                )
            )
        except Exception:
            out.append(REPLACEMENT)
    return out


# ---------------------------------------------------------------------------------------------
# Labels for tokens shown one at a time


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (openai/gpt-2 ``encoder.py``; transformers'
    ``bytes_to_unicode``), which byte-level BPE vocabularies (GPT-2, SmolLM2, Llama 3) are written
    in: printable Latin-1 bytes stand for themselves, the rest map to U+0100 onwards (``Ġ`` is a
    space, ``Ċ`` a newline)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_BYTE_OF_CHAR = {c: b for b, c in _bytes_to_unicode().items()}
_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")


def _token_bytes(piece: str) -> bytes | None:
    """The bytes a vocabulary entry stands for: SentencePiece's byte fallback ``<0xE2>``, or a
    byte-level BPE entry written in GPT-2's table; None for any other kind of vocabulary."""
    if m := _BYTE_TOKEN.fullmatch(piece):
        return bytes([int(m[1], 16)])
    if piece and all(c in _BYTE_OF_CHAR for c in piece):
        return bytes(_BYTE_OF_CHAR[c] for c in piece)
    return None


def escape_partial_utf8(data: bytes) -> str:
    """``data`` as text, each byte that is not part of a whole UTF-8 character written ``<0xE2>``
    (``b"\\xe2\\x82"`` -> ``<0xE2><0x82>``, ``b"caf\\xc3"`` -> ``caf<0xC3>``)."""
    out: list[str] = []
    rest = data
    while rest:
        try:
            out.append(rest.decode("utf-8"))
            break
        except UnicodeDecodeError as err:
            out.append(rest[: err.start].decode("utf-8"))
            out.extend(f"<0x{b:02X}>" for b in rest[err.start : err.end])
            rest = rest[err.end :]
    return "".join(out)


def token_labels(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """A label for each token on its own (logit lens, top tokens): its decoded text, except that
    a token holding part of a UTF-8 character (a byte-level ``\\xe2`` or a ``<0xE2>`` byte
    fallback), which decodes to U+FFFD or nothing, shows its bytes as ``<0xE2>`` instead of a
    '�' or a blank that says nothing about which token it is."""
    texts = decode_each(tokenizer, ids)
    unclear = [i for i, t in enumerate(texts) if REPLACEMENT in t or t == ""]
    if not unclear:
        return texts
    pieces = convert_ids_to_tokens(tokenizer, [int(ids[i]) for i in unclear])
    for i, piece in zip(unclear, pieces, strict=True):
        data = _token_bytes(piece)
        if data is not None:
            texts[i] = escape_partial_utf8(data)
    return texts
