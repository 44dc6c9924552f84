"""Two recorders of one evidence at once on a PostgreSQL store (two ``history import`` of one
file, an import racing the ``evaluate --record`` that wrote it) both recorded it: the check that the
evidence is not recorded yet was read before the host's row was locked, and under PostgreSQL's
read-committed isolation the second recorder, once the first committed, went on from its stale
answer and added a second run of the same evidence: the store held the scan twice (trend counted
it twice, history diff compared it with itself as "no change"), its chain linking the evidence to
itself.  A prune racing a record likewise planned from reads taken before the record committed.

Now every writing transaction of a PostgreSQL store first takes the store's writer lock, as a
SQLite store's writer begins IMMEDIATE: the second recorder waits for the first and then finds its
run (already recorded, one run).  SQLite stores were never affected (one writer at a time)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from auditor.history import open_store
from auditor.history.store import prepare_run
from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, record_scan, write_scan_snapshot

pytestmark = pytest.mark.slow  # real evaluations and a second process

WAITING = sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")


def _runs(store_url: str) -> list[tuple[int, str]]:  # noqa: F811
    with open_store(store_url) as store, store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text("SELECT id, evidence_sha256 FROM runs ORDER BY id"))]


def test_an_import_racing_a_record_of_the_same_evidence_records_one_run(tmp_path, store_url):  # noqa: F811
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: no race")
    record_scan(tmp_path, store_url, "monday", wildcard_redis=False, hostname="web1", machine_id="a" * 32)
    # the evidence of a second scan, not recorded yet
    snap = write_scan_snapshot(tmp_path / "tuesday.snapshot.json", wildcard_redis=True, hostname="web1",
                               machine_id="a" * 32)
    evidence = tmp_path / "tuesday.evidence.json"
    made = run_cli("evaluate", "--policy", CORP, "--snapshot", snap, "-o", evidence, "-q")
    assert made.returncode in (0, 1, 3), made.stderr
    raw = evidence.read_bytes()

    store = open_store(store_url)
    try:
        with store._writing() as conn:
            store._record_in(conn, prepare_run(raw, None, None), "manual", None, None)
            importer = subprocess.Popen([sys.executable, "-c", "from auditor.entry import main; main()", "history",
                                         "import", str(evidence), "--store", store_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
            # the importer is waiting for a lock this transaction holds
            deadline = time.monotonic() + 60
            with store.engine.connect() as watcher:
                while watcher.execute(WAITING).scalar_one() == 0:
                    watcher.rollback()  # pg_stat_activity is read once per transaction
                    assert importer.poll() is None, importer.communicate()
                    assert time.monotonic() < deadline, "the importer never waited for the recorder"
                    time.sleep(0.1)
        out, err = importer.communicate(timeout=120)
    finally:
        store.close()
    runs = _runs(store_url)
    digests = [sha for _, sha in runs]
    # before: three runs, the second and third of the same evidence (the import exit 0, "recorded")
    assert len(runs) == 2, (runs, out, err)
    assert len(set(digests)) == 2
    assert "already recorded" in (out + err), (out, err)
    verify = run_cli("history", "verify", "--store", store_url)
    assert verify.returncode == 0, verify.stdout + verify.stderr
