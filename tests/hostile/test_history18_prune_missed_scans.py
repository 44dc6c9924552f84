"""``history prune --older-than DAYS`` removed old runs but never a fleet run's record of a host it
could not judge (``missed_scans``): a host down for a year of hourly fleet runs kept 8,760 of them,
each with its reason (which quotes what the host handed over, up to 64 KiB), past any retention, and
``fleet report`` read every one of them, reason and all, to find each host's newest.

Now a prune by age removes a host's records of missed scans older than DAYS, except the newest of
each host and policy: the one ``fleet report`` shows a host that never answered by (removed, such a
host left the fleet without a word).  ``--keep-last`` alone removes none (it counts runs)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from auditor.history import open_store
from auditor.history.store import make_engine
from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _missed(store_location: str) -> list[tuple[str, datetime]]:
    engine, _ = make_engine(store_location, create=False)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT h.inventory_name, m.started_at FROM missed_scans m JOIN hosts h "
                                    "ON h.id = m.host_id ORDER BY h.inventory_name, m.started_at")).all()
    engine.dispose()
    return [(name, started if isinstance(started, datetime) else datetime.fromisoformat(started)) for name, started in rows]


def test_prune_by_age_removes_old_missed_scans_and_keeps_each_hosts_newest(store_url):  # noqa: F811
    with open_store(store_url) as store:
        for days in (90, 60, 40):  # web02 down since three months: three fleet runs could not judge it
            store.record_missed("web02", "corp-baseline", NOW - timedelta(days=days), 2, "unreachable " * 1000)
        store.record_missed("db01", "corp-baseline", NOW - timedelta(days=50), 2, "no snapshot")
        store.record_missed("db01", "corp-baseline", NOW - timedelta(days=1), 2, "no snapshot")
    kept_by_count = run_cli("history", "prune", "--keep-last", "1", "--store", store_url, "--json")
    assert kept_by_count.returncode == 0, kept_by_count.stderr
    assert len(_missed(store_url)) == 5
    dry = run_cli("history", "prune", "--older-than", "30", "--dry-run", "--store", store_url, "--json")
    assert (dry.returncode, json.loads(dry.stdout)["missed_scans_removed"]) == (0, 3), dry.stdout + dry.stderr
    assert len(_missed(store_url)) == 5
    pruned = run_cli("history", "prune", "--older-than", "30", "--store", store_url, "--json")
    assert (pruned.returncode, json.loads(pruned.stdout)["missed_scans_removed"]) == (0, 3), pruned.stderr
    naive_now = NOW.replace(tzinfo=None)
    assert _missed(store_url) == [("db01", naive_now - timedelta(days=1)), ("web02", naive_now - timedelta(days=40))]
    report = run_cli("fleet", "report", "--store", store_url, "--json")
    data = json.loads(report.stdout)
    assert sorted(host["host"] for host in data["hosts"]) == ["db01", "web02"], report.stdout
