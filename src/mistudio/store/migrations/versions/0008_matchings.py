"""Matchings: the latents of one SAE matched to another's by decoder cosine (issue 21).

One row per matching (its pairs and splits under ``artifacts/matchings/<id>/``), made by the
``matching`` job. A new table only, so nothing else changes on either database.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "matchings",
        sa.Column("sae_a_id", sa.Integer(), nullable=False),
        sa.Column("sae_b_id", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sae_a_id"], ["saes.id"]),
        sa.ForeignKeyConstraint(["sae_b_id"], ["saes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("matchings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matchings_sae_a_id"), ["sae_a_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matchings_sae_b_id"), ["sae_b_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matchings_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_matchings_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("matchings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matchings_status"))
        batch_op.drop_index(batch_op.f("ix_matchings_name"))
        batch_op.drop_index(batch_op.f("ix_matchings_sae_b_id"))
        batch_op.drop_index(batch_op.f("ix_matchings_sae_a_id"))
    op.drop_table("matchings")
