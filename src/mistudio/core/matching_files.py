"""A matching's files, and the decoders it reads.

A matching folder holds ``matching.json`` (the :class:`MatchResult` summary: sizes, config,
share matched, histogram, seconds, the splits) and ``pairs.parquet`` (one row per A latent:
``a``, ``b`` its best match, ``cosine``, ``b_best_a_cosine`` how well A covers that B latent,
``split`` whether ``a`` splits in B, ``act_corr`` the pair's activation correlation on shared
tokens when it was measured, else null). Pages and downloads read the parquet; 16k rows are ~300 KB.
CSV and JSON exports are written from it (:func:`pairs_csv`, :func:`pairs_json`).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from safetensors import safe_open
from torch import Tensor

from mistudio.core.matching import MatchResult
from mistudio.errors import InvalidInputError, NotFoundError

SUMMARY = "matching.json"
PAIRS = "pairs.parquet"
PAIR_COLUMNS = ("a", "b", "cosine", "b_best_a_cosine", "split", "act_corr")
SortKey = Literal["a", "cosine", "-cosine", "b"]


def read_decoder(sae_folder: str | Path) -> Tensor:
    """``W_dec[d_sae, d_out]`` of an SAE folder in SAELens layout, without building the SAE."""
    path = Path(sae_folder) / "sae_weights.safetensors"
    if not path.is_file():
        raise NotFoundError(f"no sae_weights.safetensors in {sae_folder}")
    with safe_open(str(path), framework="pt") as f:
        if "W_dec" not in f.keys():  # noqa: SIM118 (safe_open has keys(), not __contains__)
            raise InvalidInputError(f"{path} holds no W_dec")
        W: Tensor = f.get_tensor("W_dec")
    return W


def summary_of(result: MatchResult) -> dict[str, Any]:
    """What the row and ``matching.json`` keep (everything but the per-latent lists)."""
    edges, counts = result.histogram()
    return {
        "n_a": result.n_a,
        "n_b": result.n_b,
        "d_in": result.d_in,
        "threshold": result.config.threshold,
        "share_matched": round(result.share_matched, 6),
        "share_b_covered": round(result.share_b_covered, 6),
        "matched": sum(c >= result.config.threshold for c in result.best_cosine),
        "mean_best_cosine": round(sum(result.best_cosine) / max(result.n_a, 1), 6),
        "histogram": {"edges": edges, "counts": counts},
        "n_splits": len(result.splits),
        "seconds": round(result.seconds, 3),
        "peak_block_bytes": result.peak_block_bytes,
    }


def write_matching(
    result: MatchResult,
    folder: str | Path,
    correlation: list[float | None] | None = None,
    correlation_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``matching.json`` and ``pairs.parquet``; returns the summary. ``correlation``:
    [n_a] activation correlation of each A latent with its best match (None: not measured or
    undefined); ``correlation_info`` says on what, or why it was skipped."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    split = set(s.a for s in result.splits)
    table = pa.table(
        {
            "a": pa.array(range(result.n_a), pa.int32()),
            "b": pa.array(result.best_b, pa.int32()),
            "cosine": pa.array(result.best_cosine, pa.float32()),
            "b_best_a_cosine": pa.array(
                [result.best_a_cosine[b] for b in result.best_b], pa.float32()
            ),
            "split": pa.array([a in split for a in range(result.n_a)], pa.bool_()),
            "act_corr": pa.array(correlation or [None] * result.n_a, pa.float32()),
        }
    )
    pq.write_table(table, str(out / PAIRS))
    summary = summary_of(result)
    if correlation_info is not None:
        measured = [c for c in correlation or [] if c is not None]
        summary["correlation"] = {
            **correlation_info,
            "pairs": len(measured),
            "mean": round(sum(measured) / len(measured), 6) if measured else None,
        }
    body = {
        **summary,
        "config": result.config.model_dump(),
        "splits": [s.model_dump() for s in result.splits],
    }
    (out / SUMMARY).write_text(json.dumps(body))
    return summary


def read_summary(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / SUMMARY
    if not path.is_file():
        raise NotFoundError(f"no {SUMMARY} in {folder}")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def read_pairs(
    folder: str | Path,
    sort: SortKey = "a",
    offset: int = 0,
    limit: int | None = None,
    min_cosine: float | None = None,
    splits_only: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """(total after filters, the rows of one page) of ``pairs.parquet``."""
    path = Path(folder) / PAIRS
    if not path.is_file():
        raise NotFoundError(f"no {PAIRS} in {folder}")
    table = pq.read_table(str(path))
    rows = table.to_pylist()
    if min_cosine is not None:
        rows = [r for r in rows if r["cosine"] >= min_cosine]
    if splits_only:
        rows = [r for r in rows if r["split"]]
    key = sort.lstrip("-")
    rows.sort(key=lambda r: r["a"])
    # Stable: ties keep A's order even when the order is descending.
    rows.sort(key=lambda r: r[key], reverse=sort.startswith("-"))
    total = len(rows)
    page = rows[offset : offset + limit if limit is not None else None]
    for r in page:
        r["cosine"] = round(float(r["cosine"]), 6)
        r["b_best_a_cosine"] = round(float(r["b_best_a_cosine"]), 6)
        corr = r.get("act_corr")
        r["act_corr"] = None if corr is None or corr != corr else round(float(corr), 6)
    return total, page


def pairs_csv(folder: str | Path) -> str:
    """Every pair as CSV (header ``a,b,cosine,b_best_a_cosine,split``)."""
    _, rows = read_pairs(folder)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(PAIR_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def pairs_json(folder: str | Path) -> dict[str, Any]:
    """The summary, the splits and every pair, as one JSON document."""
    _, rows = read_pairs(folder)
    return {**read_summary(folder), "pairs": rows}
