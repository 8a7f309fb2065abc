"""Paged access to documents and sequences for the sample browser.

Pages are read without loading everything: a dataset page reads only the parquet row groups it
covers; a tokenization page slices the memory-mapped arrays. Everything returned is JSON-ready
and valid UTF-8: texts are cut by characters (never inside a character), metadata values that
JSON cannot hold become strings, and per-token strings come from decoding each token on its own,
so a token holding half a UTF-8 character shows U+FFFD.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mistudio.core.data.dataset import DATA_FILE, TEXT_COLUMN, open_dataset
from mistudio.core.data.decoding import convert_ids_to_tokens, decode, decode_each, safe_text
from mistudio.core.data.tokenized_folder import Tokenization

DEFAULT_MAX_CHARS = 2000
"""Characters of a document shown per sample before it is cut."""


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | bytes):
        return safe_text(value)
    if isinstance(value, _dt.date | _dt.datetime | _dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return safe_text(value)


def _read_rows(path: Path, offset: int, limit: int) -> pa.Table:
    """Rows ``offset`` to ``offset + limit`` of a parquet file, reading only the needed groups."""
    parquet = pq.ParquetFile(path)
    metadata = parquet.metadata
    groups: list[int] = []
    first_row = 0
    skip = 0
    for group in range(metadata.num_row_groups):
        n = metadata.row_group(group).num_rows
        if first_row + n > offset and first_row < offset + limit:
            if not groups:
                skip = offset - first_row
            groups.append(group)
        first_row += n
    if not groups:
        return parquet.schema_arrow.empty_table()
    return parquet.read_row_groups(groups).slice(skip, limit)


def dataset_samples(
    folder: str | Path, offset: int = 0, limit: int = 20, max_chars: int = DEFAULT_MAX_CHARS
) -> list[dict[str, Any]]:
    """Documents ``offset .. offset + limit`` of a dataset folder.

    Each sample: ``index``, ``text`` (at most ``max_chars`` characters), ``n_chars``,
    ``truncated`` and ``metadata`` (the other columns).
    """
    folder = Path(folder)
    open_dataset(folder)
    offset, limit = max(0, offset), max(0, limit)
    rows = _read_rows(folder / DATA_FILE, offset, limit).to_pylist()
    samples: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        text = safe_text(row.pop(TEXT_COLUMN, ""))
        samples.append(
            {
                "index": offset + position,
                "text": text[:max_chars],
                "n_chars": len(text),
                "truncated": len(text) > max_chars,
                "metadata": {k: _json_value(v) for k, v in row.items()},
            }
        )
    return samples


def tokenization_samples(
    tokenization: Tokenization, tokenizer: Any, offset: int = 0, limit: int = 20
) -> list[dict[str, Any]]:
    """Sequences ``offset .. offset + limit`` with their tokens.

    Each sample: ``index``, ``document`` (first document in the sequence), ``input_ids``
    (without padding), ``tokens`` (vocabulary strings, e.g. ``Ġthe``), ``strings`` (each token
    decoded alone) and ``text`` (the whole sequence decoded).
    """
    batch = tokenization.get_batch(max(0, offset), max(0, offset) + max(0, limit))
    documents = tokenization.sequence_documents(batch.sequence_index)
    samples: list[dict[str, Any]] = []
    for row in range(len(batch)):
        ids = [int(i) for i in batch.input_ids[row][batch.attention_mask[row]]]
        samples.append(
            {
                "index": int(batch.sequence_index[row]),
                "document": int(documents[row]),
                "input_ids": ids,
                "tokens": convert_ids_to_tokens(tokenizer, ids),
                "strings": decode_each(tokenizer, ids),
                "text": decode(tokenizer, ids),
            }
        )
    return samples
