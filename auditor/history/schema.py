"""The history store's tables, as SQLAlchemy Core metadata: one schema for SQLite and PostgreSQL.

A new store is created from these definitions and stamped at ``HEAD_REVISION``; an older one is
changed only by the Alembic migrations in ``migrations/versions`` (``tests/history/test_migrations.py``
fails when these definitions and the migrated schema disagree).  Times are stored as naive UTC ``DateTime`` on both backends and made aware on reading;
``day`` is the UTC date of the run's start as ``YYYY-MM-DD`` text, so grouping by day is the same
SQL everywhere.

What is kept per run (``runs``): the host (``hosts``: machine id, host name, an optional inventory
name), the policy (``policies``: stored once per policy SHA-256, with its checks and the control
mapping of its rules), the times (the facts' collection time too, revision 0006), the trigger, the
tool version, the snapshot (facts) and evidence SHA-256, the signature (its ``.sig`` document when the evidence was signed), the counts by status,
the verdict, the previous run's evidence digest of the same host and policy id (the chain
``history verify`` walks), and every finding (``findings``) with its stable id.  The evidence
itself is kept in the database (``evidence``), content-addressed by the SHA-256 of its exact
bytes, zlib-compressed; decompressed it is the file byte for byte.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# The Alembic revision the code below describes; the store refuses a newer one and migrates an
# older one.  tests/history/test_migrations.py checks it is the head of migrations/versions.
HEAD_REVISION = "0007"

TRIGGERS = ("manual", "timer", "cron", "ci", "fleet")
STATUSES = ("pass", "fail", "error", "not_reviewed", "not_applicable", "waived")

metadata = MetaData()

hosts = Table(
    "hosts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # machine id when the snapshot has one, else "hostname:<name>": what makes two runs one host's
    Column("host_key", String(300), nullable=False, unique=True),
    Column("machine_id", String(128), nullable=True),
    Column("hostname", String(255), nullable=False),
    Column("inventory_name", String(255), nullable=True),  # a fleet's name for the host
)

policies = Table(
    "policies", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("policy_id", String(200), nullable=False, index=True),
    Column("version", String(100), nullable=False),
    Column("document", Text, nullable=False),  # canonical JSON of the resolved policy (rules, waivers)
    Column("checks", Text, nullable=False),  # JSON list of the loaded checks (name, version, origin, controls)
    Column("control_map", Text, nullable=False),  # JSON {rule id: [control ids]} of the enabled rules
)

evidence = Table(
    "evidence", metadata,
    Column("sha256", String(64), primary_key=True),  # of the exact bytes
    Column("size", Integer, nullable=False),
    Column("encoding", String(16), nullable=False),  # "zlib"
    Column("content", LargeBinary, nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("host_id", Integer, ForeignKey("hosts.id"), nullable=False),
    Column("policy_sha256", String(64), ForeignKey("policies.sha256"), nullable=False),
    Column("policy_id", String(200), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=False),
    Column("day", String(10), nullable=False),
    Column("evaluated_on", Date, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("tool_version", String(64), nullable=False),
    Column("snapshot_sha256", String(64), nullable=False),
    Column("evidence_sha256", String(64), ForeignKey("evidence.sha256"), nullable=False),
    Column("prev_evidence_sha256", String(64), nullable=True),
    Column("signature_state", String(16), nullable=False),  # "signed" or "unsigned"
    Column("signature", Text, nullable=True),  # the .sig document, as written
    Column("signature_key", String(64), nullable=True),  # the fingerprint the .sig names
    Column("verdict", String(16), nullable=False),
    Column("exit_code", Integer, nullable=False),
    Column("complete", Boolean, nullable=False),
    *(Column(f"n_{status}", Integer, nullable=False) for status in STATUSES),
    # revision 0006: when the run's facts were collected (a fleet refuses facts older than a host's
    # last recorded ones); NULL for a run recorded before it, whose evidence then says
    Column("collected_at", DateTime, nullable=True),
    Index("ix_runs_host_policy_id", "host_id", "policy_id", "id"),
    Index("ix_runs_day", "day"),
    Index("ix_runs_started_at", "started_at"),
    Index("ix_runs_evidence_sha256", "evidence_sha256"),  # revision 0002: a run by its evidence, at recording
    # revision 0003: a trend by day is read from this index alone
    Index("ix_runs_day_counts", "day", *(f"n_{status}" for status in STATUSES)),
    # revision 0007: a trend's runs by verdict and completeness and by policy version, per day, from
    # the index alone (a day of incomplete runs, or of two policy versions, is told apart)
    Index("ix_runs_day_verdicts", "day", "policy_sha256", "verdict", "complete"),
)

findings = Table(
    "findings", metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("finding_id", String(64), primary_key=True),
    Column("rule_id", String(200), nullable=False),
    Column("check", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("subject", Text, nullable=False),
    Column("controls", Text, nullable=False),  # comma-separated control ids
)

# Findings by status per NIST family of each run, kept at recording so that a trend over months is
# one grouped query, not a parse of every evidence document.
family_counts = Table(
    "family_counts", metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("family", String(16), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("count", Integer, nullable=False),
    # revision 0003: the run's day, host and policy, so that a trend needs no join (always set)
    Column("day", String(10), nullable=True),
    Column("host_id", Integer, nullable=True),
    Column("policy_id", String(200), nullable=True),
    Index("ix_family_counts_day", "day", "family", "status", "count"),
)

# A pruned run leaves its link behind, so that the chain of its host and policy still verifies.
pruned_runs = Table(
    "pruned_runs", metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("host_id", Integer, ForeignKey("hosts.id"), nullable=False),
    Column("policy_id", String(200), nullable=False),
    Column("evidence_sha256", String(64), nullable=False),
    Column("prev_evidence_sha256", String(64), nullable=True),
    Column("started_at", DateTime, nullable=False),
    Column("pruned_at", DateTime, nullable=False),
    Index("ix_pruned_host_policy", "host_id", "policy_id", "run_id"),
)

# Revision 0002: a PDF or OSCAL document issued from a run's evidence (evaluate/report render
# one); such a run is never pruned without --force.
attestations = Table(
    "attestations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # "pdf", "oscal"
    Column("document_sha256", String(64), nullable=False),
    Column("attested_at", DateTime, nullable=False),
    UniqueConstraint("run_id", "kind", "document_sha256", name="uq_attestation"),
)

# Revision 0004: a host (and policy) retired by `history retire`: a link of its chain, as a run is,
# so that `history verify` walks it, `history head` shows it and `fleet report` stops listing the
# host as not scanned.  Its id is taken from the runs' id space (recording order is id order); its
# digest is the SHA-256 of the canonical JSON of what it says (verify recomputes it).  A host that
# records a run again chains that run to the retirement and is back in the fleet.
retirements = Table(
    "retirements", metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("host_id", Integer, ForeignKey("hosts.id"), nullable=False),
    Column("policy_id", String(200), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("prev_evidence_sha256", String(64), nullable=True),
    Column("retired_at", DateTime, nullable=False),
    Column("reason", Text, nullable=True),
    Index("ix_retirements_host_policy", "host_id", "policy_id", "run_id"),
)

# Revision 0005: a host a fleet run expected and could not judge (no snapshot fetched, a snapshot
# that failed, a worker that died on it): recorded by ``fleet evaluate --record`` with the reason,
# so that ``fleet report`` shows the host as not scanned in that run rather than by its last judged
# run, which said nothing about it now.  Not a link of the host's chain (it holds no evidence): a
# run of the host that started later takes it back.
missed_scans = Table(
    "missed_scans", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("host_id", Integer, ForeignKey("hosts.id"), nullable=False),
    Column("policy_id", String(200), nullable=False),
    Column("started_at", DateTime, nullable=False),  # when the fleet run that expected the host started
    Column("recorded_at", DateTime, nullable=False),
    Column("exit_code", Integer, nullable=False),  # the host's in that run (2, or 70 for a worker lost)
    Column("reason", Text, nullable=False),
    Index("ix_missed_scans_host_policy", "host_id", "policy_id", "started_at"),
)
