"""Which vocabulary a tokenizer has, as one hash, and the check that a model fits a tokenization.

The fingerprint is sha256 over the sorted ``(token, id)`` pairs of ``tokenizer.get_vocab()``,
which includes added tokens, so two tokenizers with equal fingerprints map every token string to
the same id. (It does not hash merges or normalisers: the question it answers is "can token ids
from one be fed to a model built for the other", which the vocabulary decides.) Hashing a 50k
vocabulary takes tens of milliseconds, so results are cached per tokenizer object and
recomputed when its size changes (``add_tokens``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import weakref
from typing import Any

from mistudio.core.data.tokenized_folder import TokenizationMeta
from mistudio.errors import InvalidInputError

_CACHE: weakref.WeakKeyDictionary[Any, tuple[int, str]] = weakref.WeakKeyDictionary()


def _compute(tokenizer: Any) -> str:
    vocab: dict[str, int] = tokenizer.get_vocab()
    pairs = sorted((str(token), int(index)) for token, index in vocab.items())
    payload = json.dumps(pairs, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """sha256 hex digest of the tokenizer's sorted ``(token, id)`` vocabulary."""
    size = len(tokenizer)
    try:
        cached = _CACHE.get(tokenizer)
    except TypeError:  # unhashable or not weak-referenceable: no caching
        return _compute(tokenizer)
    if cached is not None and cached[0] == size:
        return cached[1]
    fingerprint = _compute(tokenizer)
    with contextlib.suppress(TypeError):
        _CACHE[tokenizer] = (size, fingerprint)
    return fingerprint


def check_compatible(meta: TokenizationMeta, tokenizer: Any, model_name: str | None = None) -> None:
    """Raise :class:`InvalidInputError` unless ``tokenizer`` has the vocabulary the tokenization
    ``meta`` was made with."""
    fingerprint = tokenizer_fingerprint(tokenizer)
    if fingerprint == meta.tokenizer_fingerprint:
        return
    name = model_name or str(getattr(tokenizer, "name_or_path", "") or "the model")
    raise InvalidInputError(
        f"tokenization {meta.name} was made with tokenizer {meta.tokenizer_name} "
        f"(vocab {meta.vocab_size}); model {name} uses a different vocabulary "
        f"({len(tokenizer)}); tokenize the dataset again with the model's tokenizer"
    )
