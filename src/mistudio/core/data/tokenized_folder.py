"""A tokenized dataset folder on disk and its reader (:class:`Tokenization`).

The settings that made it are a :class:`~mistudio.core.data.tokenize_config.TokenizeConfig`,
recorded in ``meta.json``; the operation that writes the folder is
:func:`mistudio.core.data.tokenize.tokenize_dataset`.

Layout of a tokenization folder (one folder per dataset x tokenizer x settings):

- ``tokens.npy`` uint32 ``[n_flat]``: all kept documents' tokens, in order. When packing is on
  and the tokenizer has a separator (EOS, else BOS), **every document is followed by one
  separator token**, so a packed window over documents ``a..b`` is the contiguous slice from the
  start of ``a`` to the end of ``b`` (separators included, the one after ``b`` excluded).
- ``doc_offsets.npy`` int64 ``[n_documents + 1]``: document ``i`` starts at ``doc_offsets[i]``;
  its tokens are ``tokens[doc_offsets[i] : doc_offsets[i + 1] - n_sep]`` with ``n_sep`` =
  ``meta.separator_stored`` (0 or 1).
- ``windows.npy`` int64 ``[n_windows, 2]``: ``(start, length)`` of each sequence's content in
  ``tokens``. BOS is *not* stored: :meth:`Tokenization.get_batch` puts it in front of every
  window when ``meta.prepend_bos``, so overlapping windows can share the flat array. A window's
  content length is at most ``max_length - prepend_bos``.
- ``meta.json``: :class:`TokenizationMeta`, written last (a folder without it is incomplete).
- ``stats.json``: :class:`~mistudio.core.data.stats.TokenizationStats`.

Sequence ``i`` as the model sees it is therefore
``[BOS] + tokens[start_i : start_i + length_i]`` right-padded with ``pad_token_id`` to
``max_length``, with ``attention_mask`` true on the non-padding positions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from mistudio.core.data.stats import STATS_FILE, TokenizationStats
from mistudio.core.data.tokenize_config import TokenizeConfig
from mistudio.errors import NotFoundError

TOKENS_FILE = "tokens.npy"
DOC_OFFSETS_FILE = "doc_offsets.npy"
WINDOWS_FILE = "windows.npy"
META_FILE = "meta.json"
TOKEN_STATS_FILE = STATS_FILE


class TokenizationMeta(BaseModel):
    """What ``meta.json`` records about a tokenization (lineage, tokenizer and counts)."""

    format_version: int = 1
    """Version of the folder layout."""
    name: str
    """Display name (the folder name unless given)."""
    dataset_name: str
    """Name of the dataset it was made from."""
    dataset_path: str
    """Folder of that dataset."""
    tokenizer_name: str
    """The tokenizer's ``name_or_path``."""
    tokenizer_fingerprint: str
    """:func:`~mistudio.core.data.fingerprint.tokenizer_fingerprint` of the tokenizer."""
    vocab_size: int
    """``len(tokenizer)``: base vocabulary plus added tokens."""
    max_length: int
    """Sequence length including BOS."""
    stride: int
    """Stride actually used (the configured one, clamped to the window content length)."""
    prepend_bos: bool
    """Whether sequences start with BOS (false when the tokenizer has no BOS token)."""
    packed: bool
    """Whether short documents were packed together."""
    bos_token_id: int | None
    """BOS id of the tokenizer, if any."""
    eos_token_id: int | None
    """EOS id of the tokenizer, if any."""
    pad_token_id: int
    """Id used for right padding: the tokenizer's pad, else EOS, else 0."""
    separator_token_id: int | None
    """Token between packed documents (EOS, else BOS); ``None`` when not packing."""
    separator_stored: bool
    """Whether ``tokens.npy`` holds one separator after every document."""
    special_token_ids: list[int] = Field(default_factory=list)
    """All special token ids of the tokenizer."""
    config: TokenizeConfig
    """The settings it was made with."""
    n_documents: int
    """Documents kept."""
    n_documents_read: int
    """Documents read from the dataset."""
    n_dropped: dict[str, int] = Field(default_factory=dict)
    """Documents dropped, by reason (``too_short``, ``special_only``, ``contains``)."""
    n_tokens: int
    """Tokens in kept documents (no BOS, separators or padding)."""
    n_sequences: int
    """Number of windows (sequences)."""
    n_sequence_tokens: int
    """Non-padding positions over all sequences (BOS and separators included)."""
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When the tokenization finished (UTC)."""


@dataclass(frozen=True)
class TokenBatch:
    """A batch of sequences, right-padded."""

    input_ids: np.ndarray
    """int64 ``[n, max_length]``; BOS first when ``prepend_bos``; padding is ``pad_token_id``."""
    attention_mask: np.ndarray
    """bool ``[n, max_length]``; true on real tokens (BOS and separators included)."""
    sequence_index: np.ndarray
    """int64 ``[n]``: which sequences of the tokenization these rows are."""

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


class Tokenization:
    """An opened tokenization folder; arrays are memory-mapped, so opening is instant."""

    def __init__(
        self,
        folder: Path,
        meta: TokenizationMeta,
        tokens: np.ndarray,
        doc_offsets: np.ndarray,
        windows: np.ndarray,
    ) -> None:
        self.folder = folder
        self.meta = meta
        self.tokens = tokens
        """uint32 ``[n_flat]`` (memory-mapped)."""
        self.doc_offsets = doc_offsets
        """int64 ``[n_documents + 1]``."""
        self.windows = windows
        """int64 ``[n_windows, 2]``: (start, content length)."""

    @classmethod
    def open(cls, folder: str | Path) -> Tokenization:
        """Open a folder written by :func:`~mistudio.core.data.tokenize.tokenize_dataset`."""
        folder = Path(folder)
        meta_path = folder / META_FILE
        if not meta_path.is_file():
            raise NotFoundError(f"no tokenization in {folder} (no {META_FILE})")
        meta = TokenizationMeta.model_validate_json(meta_path.read_text())
        for name in (TOKENS_FILE, DOC_OFFSETS_FILE, WINDOWS_FILE):
            if not (folder / name).is_file():
                raise NotFoundError(f"tokenization {folder} is incomplete: {name} is missing")
        tokens = np.load(folder / TOKENS_FILE, mmap_mode="r")
        doc_offsets = np.load(folder / DOC_OFFSETS_FILE)
        windows = np.load(folder / WINDOWS_FILE)
        return cls(folder, meta, tokens, doc_offsets, windows)

    def __len__(self) -> int:
        return int(self.windows.shape[0])

    def __repr__(self) -> str:
        return (
            f"Tokenization({self.meta.name!r}, {len(self)} sequences x {self.meta.max_length}, "
            f"{self.meta.n_documents} documents, tokenizer {self.meta.tokenizer_name!r})"
        )

    @property
    def n_documents(self) -> int:
        return int(self.doc_offsets.shape[0] - 1)

    @property
    def content_length(self) -> int:
        """Maximum document tokens per sequence (``max_length`` minus BOS)."""
        return self.meta.max_length - int(self.meta.prepend_bos)

    def document(self, index: int) -> np.ndarray:
        """Tokens of document ``index``: uint32 ``[length]`` (no separator)."""
        start = int(self.doc_offsets[index])
        stop = int(self.doc_offsets[index + 1]) - int(self.meta.separator_stored)
        return np.asarray(self.tokens[start:stop])

    def document_lengths(self) -> np.ndarray:
        """int64 ``[n_documents]``: tokens per document (no separators)."""
        return np.diff(self.doc_offsets) - int(self.meta.separator_stored)

    def sequence_documents(self, indices: np.ndarray | None = None) -> np.ndarray:
        """int64 ``[n]``: the (first) document each sequence comes from."""
        starts = self.windows[:, 0] if indices is None else self.windows[indices, 0]
        return np.searchsorted(self.doc_offsets, starts, side="right").astype(np.int64) - 1

    def sequence_lengths(self) -> np.ndarray:
        """int64 ``[n_windows]``: non-padding positions per sequence (BOS included)."""
        return self.windows[:, 1] + int(self.meta.prepend_bos)

    def get_rows(self, indices: np.ndarray | list[int]) -> TokenBatch:
        """The sequences at ``indices`` (any order) as a padded batch."""
        index = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = int(index.shape[0])
        max_length = self.meta.max_length
        bos = int(self.meta.prepend_bos)
        input_ids = np.full((n, max_length), self.meta.pad_token_id, dtype=np.int64)
        attention_mask = np.zeros((n, max_length), dtype=bool)
        if n == 0:
            return TokenBatch(input_ids, attention_mask, index)
        starts = self.windows[index, 0]  # [n]
        lengths = self.windows[index, 1]  # [n]
        width = int(lengths.max()) if n else 0
        positions = np.arange(width, dtype=np.int64)  # [width]
        valid = positions[None, :] < lengths[:, None]  # [n, width]
        gather = np.where(valid, starts[:, None] + positions[None, :], 0)  # [n, width]
        content = np.asarray(self.tokens[gather.reshape(-1)], dtype=np.int64).reshape(n, width)
        block = input_ids[:, bos : bos + width]
        block[valid] = content[valid]
        attention_mask[:, bos : bos + width] = valid
        if bos:
            assert self.meta.bos_token_id is not None
            input_ids[:, 0] = self.meta.bos_token_id
            attention_mask[:, 0] = True
        return TokenBatch(input_ids, attention_mask, index)

    def get_batch(self, start: int, stop: int) -> TokenBatch:
        """Sequences ``start`` to ``stop`` (exclusive, clamped to the end) as a padded batch:
        ``input_ids`` int64 ``[n, max_length]`` and ``attention_mask`` bool ``[n, max_length]``."""
        start = max(0, start)
        stop = min(len(self), stop)
        return self.get_rows(np.arange(start, max(start, stop), dtype=np.int64))

    def iter_batches(
        self, batch_size: int, shuffle: bool = False, seed: int = 0
    ) -> Iterator[TokenBatch]:
        """All sequences in batches of ``batch_size`` (the last may be smaller); ``shuffle``
        permutes the sequence order reproducibly with ``seed``."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        order = np.arange(len(self), dtype=np.int64)
        if shuffle:
            order = np.random.default_rng(seed).permutation(order)
        for begin in range(0, len(self), batch_size):
            yield self.get_rows(order[begin : begin + batch_size])

    def stats(self) -> TokenizationStats:
        """The ``stats.json`` that :func:`~mistudio.core.data.tokenize.tokenize_dataset` wrote.

        The reader only reads it: computing statistics is the operation's job (and
        :func:`~mistudio.core.data.stats.load_stats`'s, for a folder made without them).
        """
        path = self.folder / TOKEN_STATS_FILE
        if not path.is_file():
            raise NotFoundError(f"tokenization {self.folder} has no {TOKEN_STATS_FILE}")
        return TokenizationStats.model_validate_json(path.read_text())
