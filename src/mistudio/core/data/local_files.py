"""Read local text files (txt, jsonl, json, parquet, csv, or a folder of them) into Arrow.

pyarrow's own readers do the work (they are fast and keep column types); ``.json`` is parsed
with the standard library because it may be a list of records, a dict of columns or a dict
holding one list of records. A ``.txt`` file is one document by default (``txt_mode="file"``), or
one per line or per blank-line-separated paragraph. For a folder every supported file is read in
sorted order, its text column chosen per file, and a ``source_file`` column (the path relative to
the folder) is added so every document can be traced back.

``allowed_roots`` confines what is read (the service passes its import roots): every file is
resolved (symlinks followed) and read only if it lies under a root, so a symlink inside an
imported folder cannot bring in ``/etc/os-release`` or a credentials file. Error messages name
files and columns but never quote file contents (a reader's own message may hold a row).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from mistudio.core.data.dataset import TEXT_COLUMN, choose_text_column, normalise_table
from mistudio.core.progress import Progress, report
from mistudio.errors import InvalidInputError, NotFoundError

TxtMode = Literal["file", "line", "paragraph"]

SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".jsonl", ".json", ".parquet", ".csv")
"""File types a local import reads."""

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _supported_list() -> str:
    return ", ".join(SUPPORTED_SUFFIXES)


def _read_txt(path: Path, mode: TxtMode) -> pa.Table:
    text = path.read_bytes().decode("utf-8", errors="replace")
    if mode == "file":
        parts = [text]
    elif mode == "line":
        parts = text.splitlines()
    else:
        parts = [p.strip("\n") for p in _PARAGRAPH_BREAK.split(text)]
    return pa.table({TEXT_COLUMN: pa.array(parts, type=pa.large_string())})


def _records_to_table(records: Any, path: Path) -> pa.Table:
    if isinstance(records, dict):
        lists = {k: v for k, v in records.items() if isinstance(v, list)}
        if len(lists) == 1:
            records = next(iter(lists.values()))
        elif lists and len(lists) == len(records):
            return pa.table(records)  # a dict of equally long columns
        else:
            records = [records]
    if not isinstance(records, list):
        raise InvalidInputError(f"{path}: expected a list of records or of strings in the JSON")
    if records and all(isinstance(r, str) for r in records):
        return pa.table({TEXT_COLUMN: pa.array(records, type=pa.large_string())})
    if not all(isinstance(r, dict) for r in records):
        raise InvalidInputError(f"{path}: expected a list of objects or of strings in the JSON")
    return pa.Table.from_pylist(records)


def _read_jsonl(path: Path) -> pa.Table:
    try:
        return pajson.read_json(path)
    except pa.ArrowInvalid:
        # Mixed types across rows defeat Arrow's schema inference; parse row by row instead.
        rows: list[Any] = []
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as error:
                        raise InvalidInputError(
                            f"{path} line {number}: not JSON ({error})"
                        ) from None
        return _records_to_table(rows, path)


def _read_json(path: Path) -> pa.Table:
    try:
        data = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        return _read_jsonl(path)  # many ".json" files are really JSON lines
    return _records_to_table(data, path)


def read_file_table(path: Path, txt_mode: TxtMode = "file") -> pa.Table:
    """One supported file as an Arrow table (its raw columns)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".txt":
            return _read_txt(path, txt_mode)
        if suffix == ".jsonl":
            return _read_jsonl(path)
        if suffix == ".json":
            return _read_json(path)
        if suffix == ".parquet":
            return pq.read_table(path)
        if suffix == ".csv":
            return pacsv.read_csv(path)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InvalidInputError(f"cannot read {path}: {reason}") from None
    except (pa.ArrowException, ValueError, TypeError):
        # Arrow's messages quote the offending row or value: name the file type only.
        raise InvalidInputError(
            f"cannot read {path}: not a valid {suffix.lstrip('.')} file "
            "(or its rows do not share one set of column types)"
        ) from None
    raise InvalidInputError(
        f"unsupported file type '{path.suffix or path.name}' ({path.name}); "
        f"supported: {_supported_list()}"
    )


def is_under(path: Path, roots: Sequence[Path]) -> bool:
    """Whether ``path``, resolved (symlinks followed), lies in or under one of ``roots``."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte
        return False
    return any(resolved == root or resolved.is_relative_to(root) for root in roots)


def list_local_files(path: Path, allowed_roots: Sequence[Path] | None = None) -> list[Path]:
    """The files an import of ``path`` reads: the file itself, or a folder's supported files.

    With ``allowed_roots``, ``path`` must resolve under one of them (else InvalidInputError, the
    same for a path that exists and one that does not) and a folder's files that resolve outside
    them (symlinks leading out) are skipped."""
    if allowed_roots is not None:
        roots = [Path(r).resolve() for r in allowed_roots]
        if not is_under(path, roots):
            raise InvalidInputError(f"{path} is outside the folders imports may read")
    if not path.exists():
        raise NotFoundError(f"no such file or folder: {path}")
    if path.is_file():
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise InvalidInputError(
                f"unsupported file type '{path.suffix or path.name}' ({path.name}); "
                f"supported: {_supported_list()}"
            )
        return [path]
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and (allowed_roots is None or is_under(p, roots))
    )
    if not files:
        raise InvalidInputError(
            f"no supported files in folder {path}; supported: {_supported_list()}"
        )
    return files


def read_local(
    path: str | Path,
    *,
    text_column: str | None = None,
    txt_mode: TxtMode = "file",
    max_documents: int | None = None,
    progress: Progress | None = None,
    allowed_roots: Sequence[Path] | None = None,
) -> tuple[pa.Table, str, int]:
    """Read a file or folder into a normalised table (``text`` first).

    ``allowed_roots``: read only files that resolve under these folders (see the module doc).
    Returns ``(table, source text column, rows dropped as empty)``.
    """
    root = Path(path).expanduser()
    files = list_local_files(root, allowed_roots)
    tables: list[pa.Table] = []
    chosen: str | None = None
    dropped = 0
    n_rows = 0
    for index, file in enumerate(files):
        raw = read_file_table(file, txt_mode)
        where = file.name if root.is_dir() else str(file)
        column = choose_text_column(raw.schema, text_column, where)
        chosen = chosen or column
        table, n_dropped = normalise_table(raw, column)
        dropped += n_dropped
        if root.is_dir():
            rel = file.relative_to(root).as_posix()
            table = table.append_column(
                "source_file", pa.array([rel] * table.num_rows, type=pa.string())
            )
        tables.append(table)
        n_rows += table.num_rows
        report(progress, index + 1, len(files), documents=n_rows)
        if max_documents is not None and n_rows >= max_documents:
            break
    assert chosen is not None
    try:
        combined = (
            pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})
        )
    except pa.ArrowException:
        raise InvalidInputError(
            f"the files in {root} have columns of incompatible types; import them one by one"
        ) from None
    if max_documents is not None:
        combined = combined.slice(0, max_documents)
    return combined, chosen, dropped
