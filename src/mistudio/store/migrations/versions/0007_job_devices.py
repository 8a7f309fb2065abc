"""Jobs record the devices they hold.

A training over several ranks takes one device lock per rank (``jobs/device_lock.py``); the row
says which devices its ranks run on (``["cuda:0", "cuda:1"]``, ``["cpu", "cpu"]``) from the
moment it holds them, so the studio's job card can show them and a researcher can tell which
job is on which GPU. A JSON list, empty for a job that names no device (and for rows from
before this revision).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("devices", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("devices")
