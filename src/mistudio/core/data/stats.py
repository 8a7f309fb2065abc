"""Statistics of datasets and tokenizations, for the Datasets panel and for sanity checks.

Tokenization statistics count *document* tokens (BOS, separators and padding excluded) for the
token frequencies, vocabulary coverage and document lengths, and *sequence* positions for the
sequence-length histogram and the padding fraction, because those describe what the model sees.
Histograms are ``bins`` (edges, ``len(counts) + 1``) and ``counts`` whose sum is the number of
items. Document lengths are heavy-tailed (a verse vs a 300 kB source file), so their histograms
use log-spaced bins; sequence lengths are bounded by ``max_length`` and use linear bins.

The operations write the statistics when they finish (``import_dataset`` and
``tokenize_dataset`` save ``stats.json`` into the folder they make), so the folder readers only
read that file and never call back into this module; :func:`load_stats` computes them for a
folder made without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from mistudio.core.data.decoding import convert_ids_to_tokens, decode_each

if TYPE_CHECKING:  # the folder reader imports this module for the statistics' types
    from mistudio.core.data.tokenized_folder import Tokenization

STATS_FILE = "stats.json"
"""Where a dataset folder and a tokenization folder keep their statistics."""

TOP_TOKENS = 50
"""How many of the most frequent tokens the statistics list."""


class Histogram(BaseModel):
    """Counts of values in bins."""

    bins: list[float]
    """Bin edges, ``len(counts) + 1`` of them; the last bin includes its right edge."""
    counts: list[int]
    """Items per bin; sums to the number of items."""


class TokenCount(BaseModel):
    """One frequent token."""

    id: int
    """Token id."""
    token: str
    """Vocabulary string (e.g. ``Ġthe``); empty without a tokenizer."""
    text: str
    """Decoded text of the token alone (U+FFFD for a partial UTF-8 character)."""
    count: int
    """Occurrences in the kept documents."""


class TokenizationStats(BaseModel):
    """Summary of one tokenization."""

    n_documents: int
    """Documents kept."""
    n_tokens: int
    """Document tokens (no BOS, separators or padding)."""
    n_sequences: int
    """Sequences (windows)."""
    mean_document_length: float
    """Mean tokens per document."""
    median_document_length: float
    """Median tokens per document."""
    max_document_length: int
    """Longest document in tokens."""
    document_length_histogram: Histogram
    """Tokens per document, log-spaced bins."""
    sequence_length_histogram: Histogram
    """Non-padding positions per sequence (BOS included), linear bins over ``[0, max_length]``."""
    top_tokens: list[TokenCount] = Field(default_factory=list)
    """The most frequent document tokens, most frequent first."""
    n_distinct_tokens: int
    """Distinct token ids used by the documents."""
    vocab_coverage: float
    """``n_distinct_tokens / vocab_size``."""
    padding_fraction: float
    """Fraction of the ``n_sequences x max_length`` positions that are padding."""


class DatasetStats(BaseModel):
    """Summary of one raw dataset."""

    n_documents: int
    """Rows."""
    n_bytes: int
    """UTF-8 bytes of all texts."""
    n_chars: int
    """Characters (code points) of all texts."""
    mean_chars: float
    """Mean characters per document."""
    median_chars: float
    """Median characters per document."""
    min_chars: int
    """Shortest document in characters."""
    max_chars: int
    """Longest document in characters."""
    chars_histogram: Histogram
    """Characters per document, log-spaced bins."""


def log_histogram(values: np.ndarray, n_bins: int = 24) -> Histogram:
    """Histogram of non-negative ``values`` [n] with log-spaced bins from 1 to the maximum."""
    if values.size == 0:
        return Histogram(bins=[0.0, 1.0], counts=[0])
    top = float(max(values.max(), 1)) + 1.0
    edges = np.unique(np.concatenate([[0.0], np.geomspace(1.0, top, n_bins)]))
    counts, edges = np.histogram(values, bins=edges)
    return Histogram(bins=[float(e) for e in edges], counts=[int(c) for c in counts])


def linear_histogram(values: np.ndarray, high: int, n_bins: int = 32) -> Histogram:
    """Histogram of ``values`` [n] in ``min(n_bins, high)`` equal bins over ``[0, high]``."""
    bins = max(1, min(n_bins, high))
    counts, edges = np.histogram(values, bins=bins, range=(0, high))
    return Histogram(bins=[float(e) for e in edges], counts=[int(c) for c in counts])


def token_counts(tokenization: Tokenization) -> np.ndarray:
    """int64 ``[max(vocab_size, max id + 1)]``: occurrences of each id in the documents."""
    meta = tokenization.meta
    tokens = np.asarray(tokenization.tokens)
    counts = np.bincount(tokens, minlength=meta.vocab_size).astype(np.int64)
    if meta.separator_stored and meta.separator_token_id is not None:
        counts[meta.separator_token_id] -= tokenization.n_documents
    return counts


def compute_stats(
    tokenization: Tokenization, tokenizer: Any | None = None, top_k: int = TOP_TOKENS
) -> TokenizationStats:
    """Statistics of ``tokenization``; ``tokenizer`` (optional) decodes the top tokens."""
    meta = tokenization.meta
    doc_lengths = tokenization.document_lengths()  # [n_documents]
    seq_lengths = tokenization.sequence_lengths()  # [n_sequences]
    counts = token_counts(tokenization)  # [vocab]
    order = np.argsort(-counts, kind="stable")[:top_k]
    order = order[counts[order] > 0]
    ids = [int(i) for i in order]
    if tokenizer is not None:
        token_strings = convert_ids_to_tokens(tokenizer, ids)
        texts = decode_each(tokenizer, ids)
    else:
        token_strings = texts = [""] * len(ids)
    top = [
        TokenCount(id=i, token=t, text=x, count=int(counts[i]))
        for i, t, x in zip(ids, token_strings, texts, strict=True)
    ]
    n_seq = int(seq_lengths.shape[0])
    positions = n_seq * meta.max_length
    distinct = int(np.count_nonzero(counts))
    return TokenizationStats(
        n_documents=int(doc_lengths.shape[0]),
        n_tokens=int(doc_lengths.sum()),
        n_sequences=n_seq,
        mean_document_length=float(doc_lengths.mean()) if doc_lengths.size else 0.0,
        median_document_length=float(np.median(doc_lengths)) if doc_lengths.size else 0.0,
        max_document_length=int(doc_lengths.max()) if doc_lengths.size else 0,
        document_length_histogram=log_histogram(doc_lengths),
        sequence_length_histogram=linear_histogram(seq_lengths, meta.max_length),
        top_tokens=top,
        n_distinct_tokens=distinct,
        vocab_coverage=min(1.0, distinct / meta.vocab_size) if meta.vocab_size else 0.0,
        padding_fraction=1.0 - float(seq_lengths.sum()) / positions if positions else 0.0,
    )


def load_stats(tokenization: Tokenization) -> TokenizationStats:
    """The ``stats.json`` the tokenize operation saved; computed now (without decoded token
    strings) for a folder that lacks it."""
    if (tokenization.folder / STATS_FILE).is_file():
        return tokenization.stats()
    return compute_stats(tokenization)


def save_stats(stats: TokenizationStats | DatasetStats, folder: Path) -> None:
    """Write ``stats.json`` into ``folder``."""
    (folder / STATS_FILE).write_text(stats.model_dump_json(indent=2))


def compute_dataset_stats_from_texts(text: pa.ChunkedArray | pa.Array) -> DatasetStats:
    """Statistics of a column of documents (a dataset's ``text`` column)."""
    chars = pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int64)  # [n]
    n_bytes = int(pc.sum(pc.binary_length(text)).as_py() or 0)
    return DatasetStats(
        n_documents=int(chars.shape[0]),
        n_bytes=n_bytes,
        n_chars=int(chars.sum()),
        mean_chars=float(chars.mean()) if chars.size else 0.0,
        median_chars=float(np.median(chars)) if chars.size else 0.0,
        min_chars=int(chars.min()) if chars.size else 0,
        max_chars=int(chars.max()) if chars.size else 0,
        chars_histogram=log_histogram(chars),
    )
