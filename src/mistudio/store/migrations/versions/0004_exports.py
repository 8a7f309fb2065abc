"""Exports: an extraction written as the studio archive and Neuronpedia's bulk layout.

One row per export (its files under ``artifacts/exports/<id>/``: ``export.zip`` and
``neuronpedia/<modelId>/<sourceId>/``), made by the ``neuronpedia_export`` job; ``upload``
records the last push of it to a Neuronpedia instance. A new table only, so nothing else
changes on either database.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-12 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("extraction_id", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("upload", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["extraction_id"], ["extractions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exports_extraction_id"), ["extraction_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exports_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_exports_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exports_status"))
        batch_op.drop_index(batch_op.f("ix_exports_name"))
        batch_op.drop_index(batch_op.f("ix_exports_extraction_id"))
    op.drop_table("exports")
