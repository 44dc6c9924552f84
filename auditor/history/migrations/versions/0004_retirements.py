"""Retirements: a host (and policy) taken out of the fleet by ``history retire``, as a link of its
chain (see ``auditor/history/schema.py``).

Revision ID: 0004
Revises: 0003
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
        "retirements",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("host_id", sa.Integer, sa.ForeignKey("hosts.id"), nullable=False),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("prev_evidence_sha256", sa.String(64), nullable=True),
        sa.Column("retired_at", sa.DateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_retirements_host_policy", "retirements", ["host_id", "policy_id", "run_id"])


def downgrade() -> None:
    op.drop_index("ix_retirements_host_policy", "retirements")
    op.drop_table("retirements")
