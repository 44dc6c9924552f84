"""The committed fixture ``tests/fixtures/history/revision-0001.db``: a store made by the first
schema version (Alembic revision 0001), holding two recorded runs of one host, before and after a
wildcard listener opened.  Regenerate (only if the first revision's fixture is lost; it must stay
what revision 0001 wrote) with::

    PYTHONPATH=$PWD python -m tests.history.fixture_store
"""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import date
from pathlib import Path

from auditor.engine.registry import load_registry
from auditor.history.store import HistoryStore, make_engine
from auditor.pipeline import assess
from auditor.policy.loader import load_policy
from auditor.storage.evidence import evidence_bytes
from auditor.storage.snapshot import load_snapshot
from tests.history.scans import CORP, later, write_scan_snapshot

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "history" / "revision-0001.db"


def build(path: Path) -> None:
    engine, shown = make_engine(str(path))
    store = HistoryStore(engine, shown)
    store.upgrade("0001")
    registry = load_registry(plugins=False)
    policy = load_policy(CORP, registry)
    with tempfile.TemporaryDirectory() as work:
        for day, wildcard in ((0, False), (1, True)):
            snap_path = write_scan_snapshot(Path(work) / f"{day}.json", wildcard_redis=wildcard, when=later(day))
            snapshot = load_snapshot(snap_path)
            evidence = assess(policy, snapshot, registry, today=date(2026, 11, 1), started_at=later(day))
            store.record(evidence_bytes(evidence), evidence, trigger="timer")
    store.close()
    with sqlite3.connect(path) as conn:  # one self-contained file: the WAL folded in
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("VACUUM")


if __name__ == "__main__":
    FIXTURE.unlink(missing_ok=True)
    build(FIXTURE)
    print(FIXTURE, FIXTURE.stat().st_size)
