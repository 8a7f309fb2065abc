"""SAE evaluations: one row per (SAE, eval version, config) with its metrics (issue 21).

Made by the ``eval`` job (:mod:`mistudio.store.sae_evals`); a new table only, removed with its
SAE (``ON DELETE CASCADE``), so nothing else changes on either database.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sae_evals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sae_id", sa.Integer(), nullable=False),
        sa.Column("eval_version", sa.String(length=16), nullable=False),
        sa.Column("config_key", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sae_id"], ["saes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sae_id", "eval_version", "config_key", name="uq_sae_evals_key"),
    )
    op.create_index("ix_sae_evals_sae_id", "sae_evals", ["sae_id"])
    op.create_index("ix_sae_evals_status", "sae_evals", ["status"])


def downgrade() -> None:
    op.drop_index("ix_sae_evals_status", table_name="sae_evals")
    op.drop_index("ix_sae_evals_sae_id", table_name="sae_evals")
    op.drop_table("sae_evals")
