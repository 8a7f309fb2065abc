"""Feature linguistics: each latent's dominant linguistic category as filterable columns.

The linguistic analysis (:mod:`mistudio.core.linguistics`) writes one summary per latent beside
the extraction's arrays; the feature row copies what the browser filters and sorts on:
``ling_category`` (the dominant part of speech or ``code:<class>``), ``ling_share`` (its share of
the analysed examples), ``ling_code_share`` and the one-line ``ling_summary``. Nullable columns
(NULL until an analysis ran) and one index for "category X with share at least s", added with
``batch_alter_table`` so SQLite and PostgreSQL take the same migration.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("features") as batch:
        batch.add_column(sa.Column("ling_category", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("ling_share", sa.Float(), nullable=True))
        batch.add_column(sa.Column("ling_code_share", sa.Float(), nullable=True))
        batch.add_column(sa.Column("ling_summary", sa.Text(), nullable=True))
    op.create_index(
        "ix_features_linguistics", "features", ["extraction_id", "ling_category", "ling_share"]
    )


def downgrade() -> None:
    op.drop_index("ix_features_linguistics", table_name="features")
    with op.batch_alter_table("features") as batch:
        batch.drop_column("ling_summary")
        batch.drop_column("ling_code_share")
        batch.drop_column("ling_share")
        batch.drop_column("ling_category")
