"""The first history schema: hosts, policies, content-addressed evidence, runs and their findings,
per-family counts, and the links of pruned runs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATUSES = ("pass", "fail", "error", "not_reviewed", "not_applicable", "waived")


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("host_key", sa.String(300), nullable=False, unique=True),
        sa.Column("machine_id", sa.String(128), nullable=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("inventory_name", sa.String(255), nullable=True),
    )
    op.create_table(
        "policies",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("checks", sa.Text, nullable=False),
        sa.Column("control_map", sa.Text, nullable=False),
    )
    op.create_index("ix_policies_policy_id", "policies", ["policy_id"])
    op.create_table(
        "evidence",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("encoding", sa.String(16), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("host_id", sa.Integer, sa.ForeignKey("hosts.id"), nullable=False),
        sa.Column("policy_sha256", sa.String(64), sa.ForeignKey("policies.sha256"), nullable=False),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("evaluated_on", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("tool_version", sa.String(64), nullable=False),
        sa.Column("snapshot_sha256", sa.String(64), nullable=False),
        sa.Column("evidence_sha256", sa.String(64), sa.ForeignKey("evidence.sha256"), nullable=False),
        sa.Column("prev_evidence_sha256", sa.String(64), nullable=True),
        sa.Column("signature_state", sa.String(16), nullable=False),
        sa.Column("signature", sa.Text, nullable=True),
        sa.Column("signature_key", sa.String(64), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
        *(sa.Column(f"n_{status}", sa.Integer, nullable=False) for status in STATUSES),
    )
    op.create_index("ix_runs_host_policy_id", "runs", ["host_id", "policy_id", "id"])
    op.create_index("ix_runs_day", "runs", ["day"])
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_table(
        "findings",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("finding_id", sa.String(64), primary_key=True),
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("check", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("controls", sa.Text, nullable=False),
    )
    op.create_table(
        "family_counts",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("family", sa.String(16), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "pruned_runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("host_id", sa.Integer, sa.ForeignKey("hosts.id"), nullable=False),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("evidence_sha256", sa.String(64), nullable=False),
        sa.Column("prev_evidence_sha256", sa.String(64), nullable=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("pruned_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_pruned_host_policy", "pruned_runs", ["host_id", "policy_id", "run_id"])


def downgrade() -> None:
    for table in ("pruned_runs", "family_counts", "findings", "runs", "evidence", "policies", "hosts"):
        op.drop_table(table)
