"""Missed scans: a host a fleet run expected and could not judge, with the reason (see
``auditor/history/schema.py``), so that ``fleet report`` does not show it by its last judged run.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "missed_scans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("host_id", sa.Integer, sa.ForeignKey("hosts.id"), nullable=False),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_missed_scans_host_policy", "missed_scans", ["host_id", "policy_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_missed_scans_host_policy", "missed_scans")
    op.drop_table("missed_scans")
