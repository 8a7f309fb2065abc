"""The dataset folder: ``data.parquet`` plus ``dataset.json``, and how text columns are chosen.

Every import (Hub, local files, built-in corpora) ends in the same folder layout so tokenization,
sample browsing and statistics read one format:

- ``data.parquet``: one row per document; the document text is always in column ``text``
  (renamed from whatever the source called it) and every other column is kept as metadata.
  Row groups of :data:`ROW_GROUP_SIZE` rows let the sample browser read one page without loading
  the whole file.
- ``dataset.json``: :class:`DatasetInfo`, written last so a folder with it is complete.
- ``stats.json``: :class:`~mistudio.core.data.stats.DatasetStats`, computed at import time.

Decisions: rows whose text is null or empty are dropped at import (they can never yield a token
and would only skew statistics); the source details are stored for lineage but never a token.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, Field

from mistudio.core.data.stats import STATS_FILE, DatasetStats, compute_dataset_stats_from_texts
from mistudio.errors import InvalidInputError, NotFoundError

DATA_FILE = "data.parquet"
INFO_FILE = "dataset.json"
TEXT_COLUMN = "text"
ROW_GROUP_SIZE = 4096
"""Rows per parquet row group: small enough that one page of samples reads little."""

PREFERRED_TEXT_COLUMNS: tuple[str, ...] = (
    "text",
    "content",
    "body",
    "sentence",
    "document",
    "passage",
    "article",
    "code",
    "story",
    "review",
    "abstract",
)
"""Column names tried in order when no text column is named; then the first string column."""


class DatasetInfo(BaseModel):
    """What ``dataset.json`` records about an imported dataset."""

    format_version: int = 1
    """Version of the folder layout."""
    name: str
    """Display name (defaults to the repo id, file name or built-in corpus name)."""
    source_kind: str
    """``hub``, ``local`` or ``builtin``."""
    source: dict[str, Any] = Field(default_factory=dict)
    """The import settings for lineage (repo, config, split, path, ...); never a token."""
    n_documents: int
    """Rows in ``data.parquet``."""
    n_bytes: int
    """UTF-8 bytes of all document texts."""
    text_column: str
    """The source's name of the column that became ``text``."""
    columns: list[str] = Field(default_factory=list)
    """All columns of ``data.parquet`` (``text`` first, then metadata)."""
    n_dropped_empty: int = 0
    """Source rows dropped because their text was null or empty."""
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When the import finished (UTC)."""


def _is_string_type(dtype: pa.DataType) -> bool:
    return bool(pa.types.is_string(dtype) or pa.types.is_large_string(dtype)) or (
        hasattr(pa.types, "is_string_view") and bool(pa.types.is_string_view(dtype))
    )


def describe_columns(schema: pa.Schema) -> str:
    """``a (string), b (int64)`` for error messages."""
    return ", ".join(f"{f.name} ({f.type})" for f in schema) or "(none)"


def choose_text_column(schema: pa.Schema, requested: str | None, where: str) -> str:
    """The column holding the document text: ``requested``, else a preferred name, else the
    first string column. Raises :class:`InvalidInputError` listing the columns otherwise."""
    names = list(schema.names)
    if requested is not None:
        if requested not in names:
            raise InvalidInputError(
                f"text column '{requested}' not found in {where}; "
                f"columns: {describe_columns(schema)}"
            )
        if not _is_string_type(schema.field(requested).type):
            raise InvalidInputError(
                f"column '{requested}' in {where} holds {schema.field(requested).type}, not text; "
                f"columns: {describe_columns(schema)}"
            )
        return requested
    lowered = {n.lower(): n for n in names}
    for candidate in PREFERRED_TEXT_COLUMNS:
        name = lowered.get(candidate)
        if name is not None and _is_string_type(schema.field(name).type):
            return name
    for field in schema:
        if _is_string_type(field.type):
            return field.name
    raise InvalidInputError(
        f"no text column in {where}; columns: {describe_columns(schema)} "
        "(name one with text_column)"
    )


def normalise_table(table: pa.Table, text_column: str) -> tuple[pa.Table, int]:
    """Rename ``text_column`` to ``text`` (first), keep the rest, drop null/empty texts.

    Returns the table and how many rows were dropped. A metadata column already called ``text``
    (when another column was chosen) is kept as ``source_text``.
    """
    columns: dict[str, pa.ChunkedArray] = {TEXT_COLUMN: table.column(text_column)}
    for name in table.column_names:
        if name == text_column:
            continue
        out = "source_text" if name == TEXT_COLUMN else name
        columns[out] = table.column(name)
    result = pa.table(columns)
    text = result.column(TEXT_COLUMN)
    if not pa.types.is_string(text.type):
        result = result.set_column(0, TEXT_COLUMN, pc.cast(text, pa.large_string()))
    keep = pc.fill_null(pc.greater(pc.utf8_length(result.column(TEXT_COLUMN)), 0), False)
    kept = result.filter(keep)
    return kept, result.num_rows - kept.num_rows


def write_dataset_folder(
    folder: Path,
    table: pa.Table,
    *,
    name: str,
    source_kind: str,
    source: dict[str, Any],
    text_column: str,
    n_dropped_empty: int = 0,
) -> DatasetInfo:
    """Write ``data.parquet``, ``stats.json`` and (last) ``dataset.json``; return the info."""
    if table.num_rows == 0:
        raise InvalidInputError(
            f"dataset '{name}' is empty: no document with non-empty text"
            + (f" ({n_dropped_empty} empty rows dropped)" if n_dropped_empty else "")
        )
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (DATA_FILE + ".tmp")
    pq.write_table(table, tmp, row_group_size=ROW_GROUP_SIZE, compression="zstd")
    os.replace(tmp, folder / DATA_FILE)
    stats = compute_dataset_stats_from_texts(table.column(TEXT_COLUMN))
    (folder / STATS_FILE).write_text(stats.model_dump_json(indent=2))
    info = DatasetInfo(
        name=name,
        source_kind=source_kind,
        source=source,
        n_documents=table.num_rows,
        n_bytes=stats.n_bytes,
        text_column=text_column,
        columns=list(table.column_names),
        n_dropped_empty=n_dropped_empty,
    )
    (folder / INFO_FILE).write_text(info.model_dump_json(indent=2))
    return info


def open_dataset(folder: str | Path) -> DatasetInfo:
    """Read ``dataset.json`` of a dataset folder."""
    folder = Path(folder)
    info_path = folder / INFO_FILE
    if not info_path.is_file() or not (folder / DATA_FILE).is_file():
        raise NotFoundError(f"no dataset in {folder} (expected {INFO_FILE} and {DATA_FILE})")
    return DatasetInfo.model_validate_json(info_path.read_text())


def iter_texts(folder: str | Path, batch_size: int = 1024) -> Iterator[list[str]]:
    """The documents of a dataset folder, in order, as lists of up to ``batch_size`` texts."""
    folder = Path(folder)
    open_dataset(folder)
    parquet = pq.ParquetFile(folder / DATA_FILE)
    for batch in parquet.iter_batches(batch_size=batch_size, columns=[TEXT_COLUMN]):
        yield [t if t is not None else "" for t in batch.column(0).to_pylist()]


def compute_dataset_stats(folder: str | Path) -> DatasetStats:
    """Statistics of a dataset folder (reads only the ``text`` column)."""
    folder = Path(folder)
    open_dataset(folder)
    text = pq.read_table(folder / DATA_FILE, columns=[TEXT_COLUMN]).column(TEXT_COLUMN)
    return compute_dataset_stats_from_texts(text)


def load_dataset_stats(folder: str | Path) -> DatasetStats:
    """The ``stats.json`` saved at import (computed now if missing)."""
    path = Path(folder) / STATS_FILE
    if path.is_file():
        return DatasetStats.model_validate_json(path.read_text())
    return compute_dataset_stats(folder)
