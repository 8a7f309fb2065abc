"""Semantic search over an extraction's labels: a :class:`~mistudio.core.labeling.SemanticIndex`
built lazily from the labelled feature rows and cached.

The index is built on the first search of an extraction and kept twice: in this process (keyed
by extraction) and on disk under ``<extraction folder>/semantic/`` (so a restart does not embed
65k labels again; deleting the extraction deletes it). Both are tagged with a fingerprint of the
labels (how many, and the newest ``labeled_at``): a labelling job or a hand edit changes it, and
the next search rebuilds. Full-text search stays the database's job (:mod:`.features`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mistudio.core.labeling import FeatureLabel, SemanticIndex
from mistudio.store.artifacts import artifact_dir
from mistudio.store.tables import Extraction, Feature

SEMANTIC_DIR = "semantic"
FINGERPRINT_FILE = "fingerprint.txt"
_lock = threading.Lock()
_indexes: dict[tuple[str, int], tuple[str, Any]] = {}


def _fingerprint(session: Session, extraction_id: int) -> str:
    count, newest = session.execute(
        select(func.count(), func.max(Feature.labeled_at)).where(
            Feature.extraction_id == extraction_id, Feature.label_status == "labelled"
        )
    ).one()
    return f"{count}:{newest.isoformat() if newest is not None else '-'}"


def _folder(extraction: Extraction) -> Path:
    base = Path(extraction.path) if extraction.path else artifact_dir("extractions", extraction.id)
    return base / SEMANTIC_DIR


def _build(session: Session, extraction_id: int) -> Any:

    rows = session.execute(
        select(
            Feature.index,
            Feature.label,
            Feature.category,
            Feature.description,
            Feature.label_method,
        )
        .where(Feature.extraction_id == extraction_id, Feature.label_status == "labelled")
        .order_by(Feature.index)
    ).all()
    labels = [
        FeatureLabel(
            index=index,
            status="labelled",
            label=label or "",
            category=category or "",
            description=description or "",
            method=method or "manual",
        )
        for index, label, category, description, method in rows
    ]
    return SemanticIndex.build(labels)


def semantic_index(session: Session, extraction: Extraction) -> Any:
    """The extraction's current index (memory, else disk, else built now and saved)."""

    fingerprint = _fingerprint(session, extraction.id)
    key = (str(session.get_bind().engine.url), extraction.id)
    with _lock:
        hit = _indexes.get(key)
        if hit is not None and hit[0] == fingerprint:
            return hit[1]
        folder = _folder(extraction)
        stamp = folder / FINGERPRINT_FILE
        index = None
        if stamp.is_file() and stamp.read_text() == fingerprint:
            try:
                index = SemanticIndex.load(folder)
            except (OSError, ValueError):
                index = None
        if index is None:
            index = _build(session, extraction.id)
            index.save(folder)
            stamp.write_text(fingerprint)
        _indexes[key] = (fingerprint, index)
        return index


def semantic_search(
    session: Session, extraction: Extraction, query: str, k: int = 20
) -> list[tuple[Feature, float]]:
    """The ``k`` labelled features whose label means most nearly ``query``, best first."""
    hits = semantic_index(session, extraction).search(query, k)
    if not hits:
        return []
    rows = session.scalars(
        select(Feature).where(
            Feature.extraction_id == extraction.id, Feature.index.in_([h.index for h in hits])
        )
    ).all()
    by_index = {row.index: row for row in rows}
    return [(by_index[h.index], h.similarity) for h in hits if h.index in by_index]
