"""Copying an extraction's linguistic summaries into its feature rows (the filterable columns).

The summaries themselves stay in the extraction folder (:class:`mistudio.core.linguistics.
Linguistics`); each feature row gets the dominant category, its share, the code share and the
one-line text, written in short transactions of :data:`UPDATE_BATCH` rows (on SQLite a long
write transaction would block the job's own progress and heartbeat writes).
"""

from __future__ import annotations

from sqlalchemy import select

from mistudio.core.linguistics import Linguistics
from mistudio.core.progress import Progress, report
from mistudio.store.db import session_scope
from mistudio.store.features import analyze_features
from mistudio.store.tables import Feature

UPDATE_BATCH = 5000
"""Feature rows per update transaction."""


def index_linguistics(
    extraction_id: int, linguistics: Linguistics, progress: Progress | None = None
) -> int:
    """Set the ``ling_*`` columns of every feature row of the extraction; returns rows updated."""
    with session_scope() as session:
        ids = dict(
            session.execute(
                select(Feature.index, Feature.id).where(Feature.extraction_id == extraction_id)
            ).all()
        )
    summaries = linguistics.all()
    rows = [
        {
            "id": ids[s.index],
            "ling_category": s.top_category,
            "ling_share": s.top_share if s.n_examples else None,
            "ling_code_share": s.code_share if s.n_examples else None,
            "ling_summary": s.text,
        }
        for s in summaries
        if s.index in ids
    ]
    for start in range(0, len(rows), UPDATE_BATCH):
        with session_scope() as session:
            session.bulk_update_mappings(Feature.__mapper__, rows[start : start + UPDATE_BATCH])
        report(progress, min(len(rows), start + UPDATE_BATCH), len(rows))
    with session_scope() as session:
        analyze_features(session)
    return len(rows)
