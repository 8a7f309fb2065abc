"""Label history: every label a latent has had, in ``label_versions``, and which one is current.

A new table only; ``features`` keeps its label columns (the browser, search, the semantic index
and the Neuronpedia export read them), which from here are a copy of the latent's current
version. Nothing on ``features`` changes, so its FTS5 table and triggers are untouched.

Backfill: every latent with a label or an ``unclear`` verdict gets one version, current, copied
from its row. The run that wrote it is not known any more (``source = 'backfill'``, no
``labeling_id``); its time is the row's ``labeled_at``. ``TRUE`` and ``CURRENT_TIMESTAMP`` are
spelt the same on SQLite (>= 3.23) and PostgreSQL.

"At most one current version per latent" is a partial unique index, which both databases have.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

BACKFILL = """
INSERT INTO label_versions (
    feature_id, extraction_id, label, category, description, status, confidence, method, model,
    detection_score, fuzzing_score, score, source, is_current, created_at
)
SELECT
    id, extraction_id, label, category, description, label_status, label_confidence,
    label_method, label_model, detection_score, fuzzing_score,
    (COALESCE(detection_score, fuzzing_score) + COALESCE(fuzzing_score, detection_score)) / 2,
    CASE WHEN label_method = 'manual' THEN 'manual' ELSE 'backfill' END,
    TRUE,
    COALESCE(labeled_at, CURRENT_TIMESTAMP)
FROM features
WHERE label IS NOT NULL OR label_status IS NOT NULL
"""


def upgrade() -> None:
    op.create_table(
        "label_versions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("feature_id", BigId, nullable=False),
        sa.Column("extraction_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("template", sa.String(length=200), nullable=True),
        sa.Column("template_hash", sa.String(length=16), nullable=True),
        sa.Column("detection_score", sa.Float(), nullable=True),
        sa.Column("fuzzing_score", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("labeling_id", sa.Integer(), nullable=True),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["feature_id"], ["features.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["labeling_id"], ["labeling_jobs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_label_versions_feature", "label_versions", ["feature_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_label_versions_best",
        "label_versions",
        ["extraction_id", "feature_id", "score"],
        unique=False,
    )
    op.create_index(
        "uq_label_versions_current",
        "label_versions",
        ["feature_id"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_index("uq_label_versions_current", table_name="label_versions")
    op.drop_index("ix_label_versions_best", table_name="label_versions")
    op.drop_index("ix_label_versions_feature", table_name="label_versions")
    op.drop_table("label_versions")
