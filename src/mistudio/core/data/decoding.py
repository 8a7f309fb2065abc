"""Turning token ids back into text without ever raising or emitting invalid UTF-8.

A single byte-level BPE token may hold part of a multi-byte character; decoded on its own it must
show as U+FFFD, not crash or produce a lone surrogate that breaks JSON. Tokenizers differ in how
they fail (slow tokenizers raise on unknown ids, fast ones may return ``None`` tokens), so every
path here catches, falls back, and finally re-encodes with ``errors="replace"``.
"""

from __future__ import annotations

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


def decode_each(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """Each id decoded on its own (a token holding part of a UTF-8 character shows U+FFFD)."""
    ids = [int(i) for i in ids]
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
