"""A clock set back between two scheduled scans: the second scan is dated before the first, and
"the latest run" is the one that ran last by its dates, so `history diff` compared the new scan
(a wildcard redis) as the OLD one: redis "gone", an improvement, exit 0; `fleet report` showed the
clean run as the host's latest.  Now the recording refuses a clock behind the one that recorded the
chain's newest run (exit 2, nothing recorded); a backfill by a right clock is still recorded."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from auditor.engine.registry import load_registry
from auditor.errors import InputError
from auditor.history import open_store
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


def _scan(tmp_path, name: str, at: datetime, wildcard: bool):
    snap = load_snapshot(write_scan_snapshot(tmp_path / f"{name}.json", wildcard_redis=wildcard, when=at))
    evidence = assess(POLICY, snap, REGISTRY, today=date(2026, 11, 1), started_at=at)
    return evidence, evidence_bytes(evidence)


def test_a_recording_clock_set_back_is_refused_and_records_nothing(tmp_path, store_url):  # noqa: F811
    first_at = NOW - timedelta(hours=1)
    clean, clean_raw = _scan(tmp_path, "clean", first_at, wildcard=False)
    # the clock is set back two hours: the next scan (redis on every address) is dated before the first
    redis, redis_raw = _scan(tmp_path, "redis", first_at - timedelta(hours=2), wildcard=True)
    with open_store(store_url) as store:
        store.record(clean_raw, clean, trigger="timer", recorded_at=first_at)
        with pytest.raises(InputError, match="a clock set back; not recorded"):
            store.record(redis_raw, redis, trigger="timer", recorded_at=first_at - timedelta(hours=2))
        assert [r["id"] for r in store.list_runs()] == [1]
    verified = run_cli("history", "verify", "--store", store_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_backfill_of_an_older_scan_by_a_right_clock_is_recorded(tmp_path, store_url):  # noqa: F811
    recent, recent_raw = _scan(tmp_path, "recent", NOW - timedelta(hours=1), wildcard=True)
    older, older_raw = _scan(tmp_path, "older", NOW - timedelta(days=3), wildcard=False)
    with open_store(store_url) as store:
        store.record(recent_raw, recent, trigger="timer", recorded_at=NOW - timedelta(minutes=50))
        store.record(older_raw, older, trigger="manual", recorded_at=NOW)
        assert [r["id"] for r in store.list_runs()] == [1, 2]  # newest by when they ran
    diff = run_cli("history", "diff", "--store", store_url)
    assert diff.returncode == 1, diff.stdout  # older (clean) -> recent (redis): a regression
