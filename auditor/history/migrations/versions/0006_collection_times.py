"""When each run's facts were collected (``runs.collected_at``, see ``auditor/history/schema.py``),
so that ``fleet evaluate --record`` reads a host's newest collection time from the row rather than
parsing the host's last evidence document.

A nullable column, added without a default: no row is rewritten and no evidence is read, so the
upgrade takes no longer on a store of a million runs than on an empty one (the write lock held by a
migration blocks the nightly scans).  The runs recorded before it keep NULL, and the store reads
their time from their evidence, as it always did.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("collected_at", sa.DateTime, nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) and PostgreSQL drop a column in place; a batch copy of ``runs`` would drop the
    # table, and with foreign keys on, SQLite's implicit DELETE would cascade to every finding.
    op.drop_column("runs", "collected_at")
