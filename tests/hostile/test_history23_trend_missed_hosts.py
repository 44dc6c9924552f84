"""``history trend`` summed the runs recorded, and said nothing of the hosts a fleet run could not judge.

``fleet evaluate --record`` records a host it expected and could not judge (no snapshot, a snapshot
refused, a worker lost) as a missed scan, with no run and no findings.  The trend summed only runs:
a day on which half the fleet was not scanned read as half the failures (an improvement), and a day
on which no host was judged was not in the trend at all.  Each day now counts its missed scans
(``missed_scans``, in JSON, CSV and table), and a day of missed scans alone is a day of the trend.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.history import open_store
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

pytestmark = pytest.mark.slow  # a real evaluation


def test_a_day_of_hosts_not_scanned_is_counted(tmp_path: Path, store_url: str):  # noqa: F811
    store = store_url
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("lo"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname="web01", machine_id="1" * 32),
                   tmp_path / "web01.json")
    evidence = tmp_path / "web01.evidence.json"
    evaluated = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "web01.json",
                        "-q", "-o", evidence)
    assert evaluated.returncode == 1, evaluated.stderr  # a wildcard listener: a failure
    assert run_cli("history", "import", evidence, "--host", "web01", "--store", store).returncode == 0
    started = datetime.fromisoformat(json.loads(evidence.read_text())["run"]["started_at"].replace("Z", "+00:00"))
    today = started.astimezone(timezone.utc).date()
    with open_store(store) as opened:  # as fleet evaluate --record records the hosts it could not judge
        opened.record_missed("web02", "lo", started, 2, "no snapshot fetched")
        opened.record_missed("web01", "lo", started - timedelta(days=1), 2, "no snapshot fetched")
        opened.record_missed("web01", "other", started, 2, "no snapshot fetched")
    since = (today - timedelta(days=1)).isoformat()
    trend = run_cli("history", "trend", "--since", since, "--until", today.isoformat(), "--policy", "lo",
                    "--store", store, "--json")
    assert trend.returncode == 0, trend.stderr
    days = {day["day"]: day for day in json.loads(trend.stdout)["by_day"]}
    # before: only today, runs 1, fail 1: no word of web02 not scanned, nor of yesterday's fleet run
    assert (days[today.isoformat()]["runs"], days[today.isoformat()]["fail"],
            days[today.isoformat()]["missed_scans"]) == (1, 1, 1)
    assert (days[since]["runs"], days[since]["missed_scans"]) == (0, 1)
    alone = run_cli("history", "trend", "--since", since, "--until", today.isoformat(), "--policy", "lo",
                    "--host", "web02", "--store", store, "--json")
    assert [(d["day"], d["runs"], d["missed_scans"]) for d in json.loads(alone.stdout)["by_day"]] == [
        (today.isoformat(), 0, 1)]
    csv = run_cli("history", "trend", "--since", since, "--until", today.isoformat(), "--store", store, "--csv")
    header, *rows = csv.stdout.splitlines()
    assert header.split(",")[-3:] == ["missed_scans", "non_compliant_runs", "incomplete_runs"]
    assert [row.split(",")[-3] for row in rows] == ["1", "2"]  # every policy: yesterday 1, today 2


def test_control_no_missed_scan_is_zero(tmp_path: Path):
    store = str(tmp_path / "history.db")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("lo"))
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01", machine_id="1" * 32),
                   tmp_path / "web01.json")
    recorded = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "web01.json",
                       "-q", "-o", tmp_path / "e.json", "--record", "--store", store)
    assert recorded.returncode == 0, recorded.stderr
    trend = run_cli("history", "trend", "--store", store, "--json")
    (day,) = json.loads(trend.stdout)["by_day"]
    assert (day["runs"], day["missed_scans"]) == (1, 0)
