"""Jobs remember when they were queued and when the broker took their message.

A job row is committed before its Celery message is sent. If the send fails (broker down) or the
API dies between the two, the row would stay ``queued`` forever, indistinguishable from a job
that legitimately waits behind a long training. ``dispatched_at`` older than ``queued_at`` (or
unset) tells them apart, so the reaper can fail the first kind only. Rows from before this
revision count as sent (both stamps copied from ``created_at``): we cannot know, and reaping a
job that is really in the queue would be worse than leaving an old orphan.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("queued_at", "dispatched_at")


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE jobs SET queued_at = created_at, dispatched_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
