"""Evidence whose facts claim to be collected in year 2999 (a snapshot host's clock far ahead, an
edited file), its run dated now: `history import` recorded it (exit 0), since only the run's start
was held against the recording clock.  The store then held facts "collected" in 2999 for the host,
and `fleet evaluate --record` refuses facts collected before those the store last judged for a
host: every later scan of that host was refused as an older snapshot, the host "not scanned" in
every fleet report for ever.

The store now refuses, at its one recording step (import, evaluate --record, fleet), evidence whose
run or facts are dated more than an hour (two machines' clock skew) after the recording clock: exit
2, the file and the time named, nothing recorded; facts within the hour are recorded as before."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.engine.registry import load_registry
from auditor.errors import InputError
from auditor.history import open_store
from auditor.history.store import prepare_run
from auditor.pipeline import assess
from auditor.policy.loader import load_policy
from auditor.storage.evidence import evidence_bytes
from auditor.storage.snapshot import load_snapshot, write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, write_scan_snapshot

REGISTRY = load_registry(plugins=False)
POLICY = load_policy(CORP, REGISTRY)
NOW = datetime.now(timezone.utc).replace(microsecond=0)
YEAR_2999 = datetime(2999, 1, 1, tzinfo=timezone.utc)


def _evidence(tmp_path: Path, name: str, collected_at: datetime, started_at: datetime) -> Path:
    """An evidence file of web01, as evaluate writes it, of facts collected at ``collected_at``."""
    snap = load_snapshot(write_scan_snapshot(tmp_path / f"{name}.snapshot.json", wildcard_redis=False,
                                             when=collected_at))
    path = tmp_path / f"{name}.evidence.json"
    path.write_bytes(evidence_bytes(assess(POLICY, snap, REGISTRY, started_at=started_at)))
    return path


def _listed(store: str) -> list[int]:
    listed = run_cli("history", "list", "--json", "--store", store)
    assert listed.returncode == 0, listed.stderr
    return [run["id"] for run in json.loads(listed.stdout)]


def test_import_of_facts_collected_in_year_2999_is_refused_and_records_nothing(tmp_path, store_url):  # noqa: F811
    now_file = _evidence(tmp_path, "now", NOW - timedelta(minutes=10), NOW - timedelta(minutes=9))
    future = _evidence(tmp_path, "future", YEAR_2999, NOW - timedelta(minutes=5))
    assert run_cli("history", "import", now_file, "--store", store_url).returncode == 0
    result = run_cli("history", "import", future, "--store", store_url)
    assert (result.returncode, result.stdout) == (2, "")
    assert (f"{future}: says its facts were collected at 2999-01-01T00:00:00Z, after the time it is recorded"
            in result.stderr), result.stderr
    assert "more than 60 minutes ahead" in result.stderr and "Traceback" not in result.stderr
    assert _listed(store_url) == [1]


def test_the_store_refuses_such_facts_on_every_recording_path(tmp_path, store_url):  # noqa: F811
    """The fleet records through record_prepared, evaluate --record through record: one check."""
    future = _evidence(tmp_path, "future", YEAR_2999, NOW - timedelta(minutes=5)).read_bytes()
    with open_store(store_url) as store:
        with pytest.raises(InputError, match=r"facts were collected at 2999-01-01T00:00:00Z, after the time it is "
                                             r"recorded"):
            store.record_prepared(prepare_run(future, None, None), trigger="fleet", inventory_name="web01")
        with pytest.raises(InputError, match="facts were collected at 2999"):
            store.record(future)
        assert store.list_runs() == []
        assert store.newest_collection("web01").newest is None


def test_control_case_facts_within_the_clock_skew_allowance_are_recorded(tmp_path, store_url):  # noqa: F811
    ahead = _evidence(tmp_path, "ahead", NOW + timedelta(minutes=30), NOW)
    result = run_cli("history", "import", ahead, "--store", store_url)
    assert result.returncode == 0, result.stderr
    assert _listed(store_url) == [1]


def test_a_fleet_host_is_judged_after_a_far_future_import_was_refused(tmp_path):
    """What the refusal protects: before it, web01's next fleet run was refused as older facts."""
    store = str(tmp_path / "history.db")
    future = _evidence(tmp_path, "future", YEAR_2999, NOW - timedelta(minutes=5))
    assert run_cli("history", "import", future, "--host", "web01", "--store", store).returncode == 2
    (tmp_path / "fetch" / "web01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname="web01", machine_id="1" * 32,
                            collected_at=NOW - timedelta(minutes=1)),
                   tmp_path / "fetch" / "web01" / "lbaudit.snapshot.json")
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    fleet = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", policy, "--out-dir",
                    tmp_path / "out", "--record", "--store", store, "--jobs", "1", "-q", timeout=120)
    assert fleet.returncode == 1, fleet.stdout + fleet.stderr  # judged: listening on every address
    hosts = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]
    assert [(h["host"], h["verdict"]) for h in hosts] == [("web01", "non_compliant")]
