"""Feature labels from labelling runs: method, confidence, scores, and the extraction's proxy
kept apart from the sortable ``interpretability``.

Until now the extraction wrote its label-free ``interpretability_proxy`` into
``features.interpretability``. From here ``interpretability`` is what the browser sorts by: the
label's score once a labelling run scored it, else the proxy, which keeps its own column
(existing rows copy it over). Every change is an ADD COLUMN, which SQLite does in place, so the
FTS5 table and its triggers on ``features`` are untouched.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS: list[tuple[str, Any]] = [
    ("interpretability_proxy", sa.Float()),
    ("label_status", sa.String(length=16)),
    ("label_confidence", sa.Float()),
    ("label_method", sa.String(length=32)),
    ("label_model", sa.String(length=200)),
    ("detection_score", sa.Float()),
    ("fuzzing_score", sa.Float()),
    ("labeled_at", sa.DateTime(timezone=True)),
]


def upgrade() -> None:
    with op.batch_alter_table("features", schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    op.execute("UPDATE features SET interpretability_proxy = interpretability")
    # Rows labelled before this revision (hand edits) count as labelled.
    op.execute("UPDATE features SET label_status = 'labelled' WHERE label IS NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Native DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop the FTS triggers.
        for name, _ in reversed(COLUMNS):
            op.execute(f"ALTER TABLE features DROP COLUMN {name}")
        return
    with op.batch_alter_table("features", schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
