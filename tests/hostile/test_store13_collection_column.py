"""Revision 0006: each run keeps when its facts were collected (``runs.collected_at``).

``fleet evaluate --record`` refuses a host's facts collected before those the store last judged for
it (a replayed snapshot); it read that time by parsing the host's last evidence document, once per
host and policy of every fleet run.  Now it reads the column.  The upgrade of a store made before
the column (revision 0005, with runs) keeps every run and finding and rewrites none of them: their
time is read from their evidence, as before, and a run recorded after the upgrade has the column.
The column is covered by ``history verify``: set back (so a replayed snapshot would pass as newer)
it is a record_mismatch, exit 10."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from auditor.engine.registry import load_registry
from auditor.history import open_store
from auditor.history.schema import HEAD_REVISION, runs
from auditor.history.store import HistoryStore, make_engine
from auditor.pipeline import assess
from auditor.policy.loader import load_policy
from auditor.storage.evidence import evidence_bytes
from auditor.storage.snapshot import load_snapshot
from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, write_scan_snapshot

REGISTRY = load_registry(plugins=False)
POLICY = load_policy(CORP, REGISTRY)
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _scan(tmp_path: Path, name: str, collected: datetime, wildcard: bool = False):
    snap = load_snapshot(write_scan_snapshot(tmp_path / f"{name}.json", wildcard_redis=wildcard, when=collected))
    evidence = assess(POLICY, snap, REGISTRY, today=date(2026, 11, 1), started_at=collected + timedelta(minutes=1))
    return evidence_bytes(evidence), evidence


def _counts(store_location: str) -> tuple[int, int]:
    engine, _ = make_engine(store_location, create=False)
    with engine.connect() as conn:
        counted = (conn.execute(sa.text("SELECT count(*) FROM runs")).scalar_one(),
                   conn.execute(sa.text("SELECT count(*) FROM findings")).scalar_one())
    engine.dispose()
    return counted


def _as_revision_0005(store_location: str) -> None:
    """The store as lbaudit made it before revision 0006: ``runs`` without collected_at, stamped
    0005 (SQLite 3.35+ and PostgreSQL drop a column in place)."""
    engine, _ = make_engine(store_location, create=False)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE runs DROP COLUMN collected_at"))
        conn.execute(sa.text("DROP INDEX ix_runs_day_verdicts"))  # revision 0007's
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0005'"))
    engine.dispose()


def test_upgrading_a_store_of_revision_0005_keeps_every_run_and_reads_old_times_from_evidence(
        tmp_path, store_url):  # noqa: F811
    first, second = NOW - timedelta(hours=3), NOW - timedelta(hours=2)
    with open_store(store_url) as store:
        for name, collected in (("first", first), ("second", second)):
            raw, evidence = _scan(tmp_path, name, collected)
            store.record(raw, evidence, trigger="fleet", inventory_name="web01")
    before = _counts(store_url)
    _as_revision_0005(store_url)
    engine, shown = make_engine(store_url, create=False)
    assert HistoryStore(engine, shown).revision() == "0005"
    engine.dispose()

    listed = run_cli("history", "list", "--json", "--store", store_url)  # a read opens, and so migrates
    assert listed.returncode == 0, listed.stderr
    assert [run["id"] for run in json.loads(listed.stdout)] == [2, 1]
    assert _counts(store_url) == before
    with open_store(store_url) as store:
        assert store.revision() == HEAD_REVISION and HEAD_REVISION >= "0006"
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(runs.c.collected_at).order_by(runs.c.id)).scalars().all() == [None, None]
        assert store.newest_collection("web01").newest == (2, second)  # from run 2's evidence
        raw, evidence = _scan(tmp_path, "third", NOW - timedelta(hours=1), wildcard=True)
        store.record(raw, evidence, trigger="fleet", inventory_name="web01")
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(runs.c.collected_at).where(runs.c.id == 3)).scalar_one() == (
                (NOW - timedelta(hours=1)).replace(tzinfo=None))
        assert store.newest_collection("web01").newest == (3, NOW - timedelta(hours=1))
    assert run_cli("history", "verify", "--store", store_url).returncode == 0
    diff = run_cli("history", "diff", "--store", store_url)
    assert diff.returncode == 1, diff.stdout  # run 2 -> run 3: redis on every address


def test_the_collection_time_is_read_from_the_row_not_the_evidence(tmp_path, store_url):  # noqa: F811
    raw, evidence = _scan(tmp_path, "scan", NOW - timedelta(hours=2))
    with open_store(store_url) as store:
        store.record(raw, evidence, trigger="fleet", inventory_name="web01")
        with store.engine.begin() as conn:  # the row says an hour later than the evidence
            conn.execute(sa.text("UPDATE runs SET collected_at = :moment"),
                         {"moment": (NOW - timedelta(hours=1)).replace(tzinfo=None)})
        assert store.newest_collection("web01").newest == (1, NOW - timedelta(hours=1))


def test_a_collection_time_set_back_is_a_verify_break(tmp_path, store_url):  # noqa: F811
    raw, evidence = _scan(tmp_path, "scan", NOW - timedelta(hours=2))
    with open_store(store_url) as store:
        store.record(raw, evidence, trigger="fleet", inventory_name="web01")
        with store.engine.begin() as conn:  # so that a snapshot replayed from the day before passes as newer
            conn.execute(sa.text("UPDATE runs SET collected_at = :moment"),
                         {"moment": (NOW - timedelta(days=1)).replace(tzinfo=None)})
    result = run_cli("history", "verify", "--store", store_url)
    assert result.returncode == 10, result.stdout + result.stderr
    assert "record_mismatch: the run says collected_at" in result.stdout, result.stdout
