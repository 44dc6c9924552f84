"""Trend at fleet scale: the per-family counts carry their run's day, host and policy, and both
count tables have an index that answers a trend over a date range from the index alone (a 90-day
trend over 1,000 hosts read every family row and joined it to its run).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUSES = ("pass", "fail", "error", "not_reviewed", "not_applicable", "waived")


def upgrade() -> None:
    op.add_column("family_counts", sa.Column("day", sa.String(10), nullable=True))
    op.add_column("family_counts", sa.Column("host_id", sa.Integer, nullable=True))
    op.add_column("family_counts", sa.Column("policy_id", sa.String(200), nullable=True))
    for column in ("day", "host_id", "policy_id"):
        op.execute(f"UPDATE family_counts SET {column} = "
                   f"(SELECT runs.{column} FROM runs WHERE runs.id = family_counts.run_id)")
    op.create_index("ix_family_counts_day", "family_counts", ["day", "family", "status", "count"])
    op.create_index("ix_runs_day_counts", "runs", ["day", *(f"n_{status}" for status in STATUSES)])


def downgrade() -> None:
    op.drop_index("ix_runs_day_counts", "runs")
    op.drop_index("ix_family_counts_day", "family_counts")
    with op.batch_alter_table("family_counts") as batch:
        for column in ("policy_id", "host_id", "day"):
            batch.drop_column(column)
