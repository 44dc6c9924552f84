"""Attestations: the PDF or OSCAL documents issued from a run's evidence, so that prune keeps
attested runs unless forced; and an index of runs by evidence digest (recording looks a run up by
it, which was a scan of every run).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attestations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column("attested_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("run_id", "kind", "document_sha256", name="uq_attestation"),
    )
    op.create_index("ix_attestations_run_id", "attestations", ["run_id"])
    op.create_index("ix_runs_evidence_sha256", "runs", ["evidence_sha256"])


def downgrade() -> None:
    op.drop_index("ix_runs_evidence_sha256", "runs")
    op.drop_index("ix_attestations_run_id", "attestations")
    op.drop_table("attestations")
