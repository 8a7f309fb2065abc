"""Reading a Neuronpedia bulk-import folder for the upload, one bulk batch at a time.

The folder (``<modelId>/<sourceId>/``, FORMATS §3) holds ``features/``, ``activations/`` and
``explanations/``, each as ``batch-N.jsonl.gz`` files; files with the same N hold the same
features, as Neuronpedia's own converters write them. So the upload reads one N triple at a
time (:func:`read_bulk_batch`) and refuses a folder whose files disagree, and memory is bounded
by one bulk batch file, not by the export. Activation lines, the bulk of the bytes, are kept as
raw bytes (their index found by a regular expression, :func:`quick_index`) until their
feature's call is built, and parsed once then.

The upload's own batches are numbered over the whole folder before anything is sent
(:func:`number_batches`): ``batch_features`` features a call, bulk file by bulk file, so a
resume finds the same numbers. :func:`fingerprint` hashes the folder's bytes, so a copied
export resumes and a re-written one does not.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mistudio.core.neuronpedia.upload_limits import MAX_INDEX
from mistudio.errors import InvalidInputError

_BATCH_FILE = re.compile(r"^batch-(\d+)\.jsonl\.gz$")
_INDEX_KEY = re.compile(rb'"index"\s*:\s*"?(\d{1,8})"?\s*[,}]')
FEATURE_KEYS = ("frac_nonzero", "pos_str", "pos_values", "neg_str", "neg_values")
"""What the upload keeps of a ``features/`` record (the decoder vector etc. are dropped)."""


@dataclass(frozen=True)
class BulkFolder:
    """A bulk-import folder's batch files (by N) and the ids it uploads under."""

    path: Path
    features: dict[int, Path]
    """``features/batch-N.jsonl.gz`` by N, in order; never empty."""
    activations: dict[int, Path]
    explanations: dict[int, Path]
    model_id: str
    source: str
    """Neuronpedia's source id, ``{layer}-{sourceSetName}``."""


@dataclass
class FeatureRow:
    """What the upload needs of one ``features/`` record."""

    index: int
    record: dict[str, Any]
    """``frac_nonzero`` and the ``pos_*``/``neg_*`` logit lists, unclipped."""


@dataclass
class BulkBatch:
    """One ``batch-N`` triple, read and checked to hold the same features."""

    rows: list[FeatureRow]
    """The features in file order."""
    activation_path: Path
    """The file the raw activation lines came from, named in a parse error (the features file
    when there is none)."""
    activations: dict[int, list[tuple[int, bytes]]] = field(default_factory=dict)
    """(line number, raw line) by feature index."""
    explanations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def open_bulk_folder(source_dir: Path) -> BulkFolder:
    """The folder's batch files and ids; InvalidInputError when it is not a bulk folder."""
    features = _batch_files(source_dir / "features")
    if not features:
        raise InvalidInputError(
            f"{source_dir} is not a Neuronpedia bulk-import folder: no "
            "features/batch-N.jsonl.gz in it"
        )
    activations = _batch_files(source_dir / "activations")
    explanations = _batch_files(source_dir / "explanations")
    model_id, source = _identity(source_dir)
    return BulkFolder(source_dir, features, activations, explanations, model_id, source)


def number_batches(folder: BulkFolder, batch_features: int) -> dict[int, range]:
    """The upload's batch numbers (from 1) of each bulk file N, ``batch_features`` a call."""
    out: dict[int, range] = {}
    first = 1
    for n, path in folder.features.items():
        count = sum(1 for _ in _lines(path))
        out[n] = range(first, first + math.ceil(count / batch_features))
        first = out[n].stop
    return out


def read_bulk_batch(folder: BulkFolder, n: int) -> BulkBatch:
    """The ``batch-N`` triple of ``folder``; InvalidInputError (naming file and line) for a
    line that is not a JSON object, an index out of range, or a record of another file's
    feature."""
    path = folder.features[n]
    rows: list[FeatureRow] = []
    for number, line in _lines(path):
        record = parse_line(path, number, line)
        index = _index(path, number, record)
        rows.append(FeatureRow(index, {k: record.get(k) for k in FEATURE_KEYS}))
    wanted = {r.index for r in rows}
    activations: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    explanations: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if n in folder.activations:
        apath = folder.activations[n]
        for number, line in _lines(apath):
            quick = quick_index(line)
            if quick is None:
                quick = _index(apath, number, parse_line(apath, number, line))
            _check_same_batch(quick, wanted, apath, "activations", path)
            activations[quick].append((number, line))
    if n in folder.explanations:
        epath = folder.explanations[n]
        for number, line in _lines(epath):
            record = parse_line(epath, number, line)
            index = _index(epath, number, record)
            _check_same_batch(index, wanted, epath, "explanations", path)
            explanations[index].append(record)
    return BulkBatch(rows, folder.activations.get(n, path), activations, explanations)


def parse_line(path: Path, number: int, line: bytes) -> dict[str, Any]:
    """Line ``number`` of ``path`` as a JSON object, else a one-line InvalidInputError."""
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise InvalidInputError(f"{path} line {number} is not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise InvalidInputError(f"{path} line {number} is not a JSON object")
    return record


def quick_index(line: bytes) -> int | None:
    """The ``index`` of a JSON line without parsing it, or None to parse. Sound because an
    unescaped ``"index":`` can only be a key (a quote inside a JSON string is escaped) and the
    records have no nested objects; anything but exactly one match falls back to the parser."""
    matches = _INDEX_KEY.findall(line)
    if len(matches) != 1:
        return None
    index = int(matches[0])
    return index if index <= MAX_INDEX else None


def fingerprint(source_dir: Path, skip: set[Path], *parts: str) -> str:
    """sha256 of every file's relative path and bytes (and ``parts``), ``skip`` (resolved
    paths) left out: the same export, wherever it was copied, and nothing else."""
    digest = hashlib.sha256("\0".join(parts).encode())
    for path in sorted(p for p in source_dir.rglob("*") if p.is_file()):
        if path.resolve() in skip:
            continue
        digest.update(path.relative_to(source_dir).as_posix().encode() + b"\0")
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _batch_files(folder: Path) -> dict[int, Path]:
    if not folder.is_dir():
        return {}
    out: dict[int, Path] = {}
    for path in folder.iterdir():
        if m := _BATCH_FILE.match(path.name):
            out[int(m[1])] = path
    return dict(sorted(out.items()))


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of a gzip JSONL file, blank lines left out."""
    try:
        with gzip.open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                if line.strip():
                    yield number, line
    except (OSError, EOFError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from None


def _index(path: Path, number: int, record: dict[str, Any]) -> int:
    raw = record.get("index")
    try:
        index = int(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else -1
    except ValueError:
        index = -1
    if not 0 <= index <= MAX_INDEX:
        raise InvalidInputError(
            f"{path} line {number}: index {raw!r} is not an integer in 0..{MAX_INDEX:,} "
            "(Neuronpedia's limit)"
        )
    return index


def _identity(source_dir: Path) -> tuple[str, str]:
    """(modelId, sourceId) from ``source.jsonl``, else from the folder names."""
    path = source_dir / "source.jsonl"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise InvalidInputError(f"{path} is not JSON lines ({exc})") from None
            if isinstance(record, dict) and record.get("id") and record.get("modelId"):
                return str(record["modelId"]), str(record["id"])
            raise InvalidInputError(f"{path}: the first record has no id and modelId")
    return source_dir.parent.name, source_dir.name


def _check_same_batch(
    index: int, wanted: set[int], path: Path, folder: str, features: Path
) -> None:
    if index not in wanted:
        raise InvalidInputError(
            f"{folder}/{path.name} has a record for feature {index}, which is not in "
            f"features/{features.name}; the upload reads the folders batch by batch, so "
            f"batch-N of features/, activations/ and explanations/ must hold the same features"
        )
