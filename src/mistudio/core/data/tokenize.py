"""Tokenize a dataset folder into fixed-length sequences (:func:`tokenize_dataset`).

Decisions:

- Texts go to the tokenizer in chunks of ``batch_documents`` with ``add_special_tokens=False``:
  a fast (Rust) tokenizer encodes a chunk in parallel, and special tokens are placed by us, not
  by the tokenizer's template, so BOS/EOS handling is the same for every tokenizer.
- A document longer than a window's content (``max_length`` minus BOS) is cut into overlapping
  windows starting at ``0, stride, 2*stride, ...``; the last window is the first that reaches
  the document's end, so every token is seen with context and none is dropped.
- With ``long_documents="truncate"`` a long document keeps only its first window's content
  (``max_length`` minus BOS tokens); the rest is never stored, and ``meta.n_tokens`` counts the
  kept tokens. The cut happens as each document is encoded, so the windowing below sees only
  documents that fit and the flat array holds no token no sequence reads.
- With ``pack`` (default), consecutive documents that each fit in one window are greedily
  concatenated, separated by EOS (else BOS), into windows of up to ``max_length`` tokens; a long
  document closes the current pack. Without ``pack`` each short document is its own window.
- BOS is not stored in the flat array but put in front of every window when reading (see
  the folder layout in :mod:`mistudio.core.data.tokenized_folder`). A tokenizer without BOS gives
  ``meta.prepend_bos = False``; one without a pad token pads with EOS, else 0 (the attention mask,
  not the pad id, marks padding).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mistudio.core.data.dataset import iter_texts, open_dataset
from mistudio.core.data.fingerprint import tokenizer_fingerprint
from mistudio.core.data.stats import compute_stats, save_stats
from mistudio.core.data.tokenize_config import TokenizeConfig
from mistudio.core.data.tokenized_folder import (
    DOC_OFFSETS_FILE,
    META_FILE,
    TOKEN_STATS_FILE,
    TOKENS_FILE,
    WINDOWS_FILE,
    Tokenization,
    TokenizationMeta,
)
from mistudio.core.progress import Progress, report
from mistudio.errors import InvalidInputError

CHUNK_CHARS = 1_000_000
"""Characters per tokenizer call at most (besides ``batch_documents``): a code corpus has
300 kB files, and smaller calls keep progress moving and memory flat."""


def _chunks(batches: Iterable[list[str]], max_chars: int) -> Iterator[list[str]]:
    """Split each batch of texts further so one chunk holds at most ``max_chars`` characters
    (or a single longer text)."""
    for batch in batches:
        chunk: list[str] = []
        size = 0
        for text in batch:
            if chunk and size + len(text) > max_chars:
                yield chunk
                chunk, size = [], 0
            chunk.append(text)
            size += len(text)
        if chunk:
            yield chunk


def _encode(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """Token ids of each text, without special tokens added by the tokenizer."""
    if not texts:
        return []
    encoded = tokenizer(
        texts,
        add_special_tokens=False,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,
    )
    ids: list[list[int]] = encoded["input_ids"]
    return ids


def compute_windows(
    doc_lengths: np.ndarray,
    doc_offsets: np.ndarray,
    content_length: int,
    stride: int,
    pack: bool,
    separator_length: int,
) -> np.ndarray:
    """Windows over documents: int64 ``[n_windows, 2]`` of (start, length) into the flat array.

    ``doc_lengths`` int64 [n_docs] (document tokens), ``doc_offsets`` int64 [n_docs + 1] (starts
    in the flat array, each document followed by ``separator_length`` separator tokens).
    """
    starts: list[int] = []
    lengths: list[int] = []
    pack_start = -1
    pack_length = 0
    for index, length in enumerate(doc_lengths.tolist()):
        offset = int(doc_offsets[index])
        if length > content_length:
            if pack_start >= 0:
                starts.append(pack_start)
                lengths.append(pack_length)
                pack_start = -1
            n_windows = math.ceil((length - content_length) / stride) + 1
            for k in range(n_windows):
                starts.append(offset + k * stride)
                lengths.append(min(content_length, length - k * stride))
        elif not pack:
            starts.append(offset)
            lengths.append(length)
        elif pack_start >= 0 and pack_length + separator_length + length <= content_length:
            pack_length += separator_length + length
        else:
            if pack_start >= 0:
                starts.append(pack_start)
                lengths.append(pack_length)
            pack_start, pack_length = offset, length
    if pack_start >= 0:
        starts.append(pack_start)
        lengths.append(pack_length)
    windows = np.empty((len(starts), 2), dtype=np.int64)
    windows[:, 0] = starts
    windows[:, 1] = lengths
    return windows


def tokenize_dataset(
    dataset_folder: str | Path,
    tokenizer: Any,
    config: TokenizeConfig | None = None,
    dest_folder: str | Path | None = None,
    progress: Progress | None = None,
    *,
    name: str | None = None,
    tokenizer_name: str | None = None,
) -> Tokenization:
    """Tokenize the dataset in ``dataset_folder`` with any HF tokenizer into ``dest_folder``.

    Writes ``tokens.npy``, ``doc_offsets.npy``, ``windows.npy``, ``stats.json`` and last
    ``meta.json``; returns the opened :class:`Tokenization`. Progress is reported in documents.
    """
    config = config or TokenizeConfig()
    if dest_folder is None:
        raise InvalidInputError("tokenize_dataset needs a destination folder")
    dataset_folder = Path(dataset_folder)
    dest = Path(dest_folder)
    info = open_dataset(dataset_folder)

    bos_id = _optional_id(getattr(tokenizer, "bos_token_id", None))
    eos_id = _optional_id(getattr(tokenizer, "eos_token_id", None))
    pad_id = _optional_id(getattr(tokenizer, "pad_token_id", None))
    pad_id = pad_id if pad_id is not None else (eos_id if eos_id is not None else 0)
    prepend_bos = config.prepend_bos and bos_id is not None
    content_length = config.max_length - int(prepend_bos)
    stride = min(config.stride, content_length)
    separator_id = (eos_id if eos_id is not None else bos_id) if config.pack else None
    separator = [separator_id] if separator_id is not None else []
    special_ids = frozenset(int(i) for i in getattr(tokenizer, "all_special_ids", []) or [])
    needles = [s.lower() for s in config.drop_if_contains if s]

    total = info.n_documents
    chunks: list[np.ndarray] = []  # uint32 token arrays, one per tokenizer call
    doc_lengths: list[int] = []
    dropped = {"too_short": 0, "special_only": 0, "contains": 0}
    truncate = config.long_documents == "truncate"
    n_truncated = 0
    n_read = 0
    n_flat = 0
    done = False
    report(progress, 0, total, documents=0, tokens=0)
    for texts in _chunks(iter_texts(dataset_folder, config.batch_documents), CHUNK_CHARS):
        pieces: list[list[int]] = []
        chunk_size = 0
        wanted = [not _contains_any(t, needles) for t in texts]
        encoded = iter(_encode(tokenizer, [t for t, w in zip(texts, wanted, strict=True) if w]))
        for want in wanted:
            n_read += 1
            if not want:
                dropped["contains"] += 1
                continue
            ids = next(encoded)
            if len(ids) < max(config.min_tokens, 1):
                dropped["too_short"] += 1
                continue
            if config.drop_special_only and all(i in special_ids for i in ids):
                dropped["special_only"] += 1
                continue
            if truncate and len(ids) > content_length:
                ids = ids[:content_length]
                n_truncated += 1
            pieces.append(ids)
            if separator:
                pieces.append(separator)
            doc_lengths.append(len(ids))
            chunk_size += len(ids) + len(separator)
            if config.max_documents is not None and len(doc_lengths) >= config.max_documents:
                done = True
                break
            if config.max_tokens is not None and n_flat + chunk_size >= config.max_tokens:
                done = True
                break
        # Python ints cost ~36 bytes each; keep only 4-byte arrays between chunks.
        chunks.append(
            np.fromiter(itertools.chain.from_iterable(pieces), dtype=np.uint32, count=chunk_size)
        )
        n_flat += chunk_size
        report(
            progress,
            n_read,
            total,
            documents=len(doc_lengths),
            tokens=n_flat,
            truncated=n_truncated,
        )
        if done:
            break
    if not doc_lengths:
        reasons = ", ".join(f"{k}: {v}" for k, v in dropped.items() if v) or "none"
        raise InvalidInputError(
            f"no documents left to tokenize in dataset '{info.name}' "
            f"({n_read} read; dropped {reasons})"
        )

    tokens = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]  # uint32 [n_flat]
    del chunks
    lengths = np.asarray(doc_lengths, dtype=np.int64)  # [n_docs]
    doc_offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int64)  # [n_docs + 1]
    np.cumsum(lengths + len(separator), out=doc_offsets[1:])
    windows = compute_windows(
        lengths, doc_offsets, content_length, stride, config.pack, len(separator)
    )

    if dest.exists():
        (dest / META_FILE).unlink(missing_ok=True)  # the folder is incomplete until meta.json
        (dest / TOKEN_STATS_FILE).unlink(missing_ok=True)
    dest.mkdir(parents=True, exist_ok=True)
    np.save(dest / TOKENS_FILE, tokens)
    np.save(dest / DOC_OFFSETS_FILE, doc_offsets)
    np.save(dest / WINDOWS_FILE, windows)

    meta = TokenizationMeta(
        name=name or dest.name,
        dataset_name=info.name,
        dataset_path=str(dataset_folder.resolve()),
        tokenizer_name=tokenizer_name
        or str(getattr(tokenizer, "name_or_path", "") or "")
        or type(tokenizer).__name__,
        tokenizer_fingerprint=tokenizer_fingerprint(tokenizer),
        vocab_size=len(tokenizer),
        max_length=config.max_length,
        stride=stride,
        prepend_bos=prepend_bos,
        packed=config.pack,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        separator_token_id=separator_id,
        separator_stored=bool(separator),
        special_token_ids=sorted(special_ids),
        config=config,
        n_documents=int(lengths.shape[0]),
        n_documents_read=n_read,
        n_dropped={k: v for k, v in dropped.items() if v},
        n_tokens=int(lengths.sum()),
        n_sequences=int(windows.shape[0]),
        n_sequence_tokens=int(windows[:, 1].sum()) + int(prepend_bos) * int(windows.shape[0]),
    )
    tokenization = Tokenization(dest, meta, tokens, doc_offsets, windows)
    save_stats(compute_stats(tokenization, tokenizer), dest)
    (dest / META_FILE).write_text(meta.model_dump_json(indent=2))
    report(
        progress,
        total,
        total,
        documents=meta.n_documents,
        tokens=meta.n_tokens,
        truncated=n_truncated,
    )
    return Tokenization.open(dest)


def _contains_any(text: str, lowered_needles: list[str]) -> bool:
    if not lowered_needles:
        return False
    lowered = text.lower()
    return any(needle in lowered for needle in lowered_needles)


def _optional_id(value: Any) -> int | None:
    return int(value) if isinstance(value, int | np.integer) else None
