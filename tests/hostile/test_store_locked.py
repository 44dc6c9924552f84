"""A history store held by another writer for longer than lbaudit waits (a long prune, a backfill,
an administrator's open transaction) is exit 75 (EX_TEMPFAIL: run again), never exit 2, and the
scan's run leaves nothing behind: no evidence file, no report, no metrics, no row.

Before, the nightly scan said exit 2 ("usage error") for a store that was merely busy, the code a
monitor reads as a broken schedule; the files were already put back."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from auditor.history import open_store
from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, record_scan, write_scan_snapshot

BUSY = 75
PROM = "corp-baseline.prom"


def _runs(store: str) -> list[int]:
    with open_store(store, create=False) as opened, opened.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT id FROM runs ORDER BY id")).scalars())


class _HeldStore:
    """Another session holding the store's write lock: SQLite's BEGIN IMMEDIATE, PostgreSQL's
    ACCESS EXCLUSIVE lock on hosts (a recording locks its host row)."""

    def __init__(self, store: str):
        self.store = store
        self.sqlite: sqlite3.Connection | None = None
        self.server: sa.Connection | None = None
        self.engine: sa.Engine | None = None

    def __enter__(self) -> "_HeldStore":
        if "://" not in self.store:
            self.sqlite = sqlite3.connect(self.store, isolation_level=None)
            self.sqlite.execute("BEGIN IMMEDIATE")
        else:
            self.engine = sa.create_engine(self.store)
            self.server = self.engine.connect()
            self.server.begin()
            self.server.execute(sa.text("LOCK TABLE hosts IN ACCESS EXCLUSIVE MODE"))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sqlite is not None:
            self.sqlite.rollback()
            self.sqlite.close()
        if self.server is not None and self.engine is not None:
            self.server.rollback()
            self.server.close()
            self.engine.dispose()


@pytest.mark.slow  # waits out the 10 s lock wait
def test_a_scan_that_finds_the_store_locked_is_75_and_leaves_nothing(tmp_path, store_url):  # noqa: F811
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    record_scan(tmp_path, store_url, "monday", wildcard_redis=False, extra=("--textfile-dir", str(textfiles)))
    metrics = (textfiles / PROM).read_bytes()
    snapshot = write_scan_snapshot(tmp_path / "tuesday.snapshot.json", wildcard_redis=True)
    evidence = tmp_path / "tuesday.evidence.json"
    with _HeldStore(store_url):
        result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "-q", "--record",
                         "--store", store_url, "--trigger", "timer", "--textfile-dir", textfiles, timeout=120)
    assert result.returncode == BUSY, result.stderr
    assert "held it for longer than" in result.stderr and "Traceback" not in result.stderr
    assert not evidence.exists()  # the run's files are put back: nothing says Tuesday was scanned
    assert (textfiles / PROM).read_bytes() == metrics
    assert sorted(p.name for p in textfiles.iterdir()) == [PROM]  # no temporary file left for node_exporter
    assert _runs(store_url) == [1]


@pytest.mark.slow  # waits out the 10 s lock wait
def test_prune_that_finds_the_store_locked_is_75_and_removes_nothing(tmp_path, store_url):  # noqa: F811
    record_scan(tmp_path, store_url, "monday", wildcard_redis=False)
    record_scan(tmp_path, store_url, "tuesday", wildcard_redis=True)
    with _HeldStore(store_url) as held:
        if held.server is not None:  # prune reads runs first; hold those too
            held.server.execute(sa.text("LOCK TABLE runs IN ACCESS EXCLUSIVE MODE"))
        result = run_cli("history", "prune", "--keep-last", "0", "--store", store_url, timeout=120)
    assert result.returncode == BUSY, result.stderr
    assert _runs(store_url) == [1, 2]
