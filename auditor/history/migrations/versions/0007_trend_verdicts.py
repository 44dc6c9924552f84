"""A trend's runs by verdict, completeness and policy version per day (``ix_runs_day_verdicts``), so
that ``history trend`` says how many of a day's runs were incomplete or non-compliant, and which
policy versions its counts are summed over, from an index alone (as revision 0003 made the counts).

An index only: no row is rewritten, and the runs recorded before it are in it as they are.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_day_verdicts", "runs", ["day", "policy_sha256", "verdict", "complete"])


def downgrade() -> None:
    op.drop_index("ix_runs_day_verdicts", "runs")
