"""A pruned run's link, or a fleet run's record of a host it could not judge, dated ahead of the clock.

``history import --export`` records a store's pruned runs' links and its records of hosts a fleet
run could not judge with the times the export gives.  ``fleet report`` took the newest of them as
the host's latest entry whatever its date: an edited export whose link of a pruned run says it
started in year 2999 made its host "pruned" for ever, its genuine latest run (a failure) hidden,
exit 0; a record of year 2999 that the host was not scanned made it "not_scanned" for ever.  Both
are now passed over as a run dated ahead is (started more than an hour ahead of the report's
clock), named on standard error and under ``dated_ahead`` (``kind``) in ``--json``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FAR_FUTURE = "2999-01-01T00:00:00Z"


def _fleet_run(tmp_path: Path, name: str, address: str | None, collected: datetime) -> None:
    fetch = tmp_path / f"fetch-{name}"
    fetch.mkdir()
    if address is not None:
        (fetch / "web01").mkdir()
        write_snapshot(snapshot(listeners=[listener(address, 22)], hostname="web01", machine_id="1" * 32,
                                collected_at=collected), fetch / "web01" / "lbaudit.snapshot.json")
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", tmp_path / "lo.yaml", "--out-dir",
                     tmp_path / f"out-{name}", "--record", "--store", tmp_path / "history.db", "--jobs", "1", "-q",
                     "--expect-hosts", "web01")
    assert result.returncode in (0, 1, 2), result.stdout + result.stderr


def _imported(tmp_path: Path, record: str) -> Path:
    """The store exported, every ``record`` line of the export dated 2999, imported into a new store."""
    exported = run_cli("history", "export", "--with-evidence", "--store", tmp_path / "history.db")
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [line["record"] for line in lines].count(record) == 1
    for line in lines:
        if line["record"] == record:
            line["started_at"] = FAR_FUTURE
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n" for line in lines))
    store = tmp_path / "imported.db"
    result = run_cli("history", "import", "--export", edited, "--store", store)
    assert result.returncode == 0, result.stdout + result.stderr
    return store


def test_a_pruned_runs_link_dated_ahead_does_not_hide_the_hosts_latest_run(tmp_path: Path):
    (tmp_path / "lo.yaml").write_text(loopback_only_policy("lo"))
    _fleet_run(tmp_path, "monday", "127.0.0.1", NOW - timedelta(hours=3))  # run 1: compliant, pruned
    _fleet_run(tmp_path, "tuesday", "0.0.0.0", NOW - timedelta(hours=2))  # run 2: failing
    pruned = run_cli("history", "prune", "--keep-last", "1", "--store", tmp_path / "history.db")
    assert pruned.returncode == 0 and pruned.stdout.startswith("removed 1 runs (1)\n"), pruned.stdout + pruned.stderr
    store = _imported(tmp_path, "pruned_run")
    result = run_cli("fleet", "report", "--store", store, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["hosts_by_verdict"] == {"non_compliant": ["web01"]}
    assert [(row["host"], row["run_id"], row["verdict"]) for row in data["hosts"]] == [("web01", 2, "non_compliant")]
    assert [(row["kind"], row["run"], row["started_at"], row["reason"]) for row in data["dated_ahead"]] == [
        ("pruned_run", 1, FAR_FUTURE, "ahead of the clock")]
    assert result.stderr == (f"lbaudit: warning: host 'web01': the link its pruned run 1 left in the history store "
                             f"started {FAR_FUTURE}, ahead of this report's clock: not taken as its latest run (it is "
                             "kept, as the proof of the chain)\n")


def test_a_record_of_a_missed_scan_dated_ahead_does_not_stand_for_the_host(tmp_path: Path):
    (tmp_path / "lo.yaml").write_text(loopback_only_policy("lo"))
    _fleet_run(tmp_path, "monday", "0.0.0.0", NOW - timedelta(hours=3))  # run 1: failing
    _fleet_run(tmp_path, "tuesday", None, NOW)  # web01 expected, no snapshot: not scanned
    store = _imported(tmp_path, "missed_scan")
    result = run_cli("fleet", "report", "--store", store, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["hosts_by_verdict"] == {"non_compliant": ["web01"]}
    assert [(row["kind"], row["run"], row["started_at"]) for row in data["dated_ahead"]] == [
        ("missed_scan", None, FAR_FUTURE)]
    assert "the record in the history store of a fleet run that could not judge it started 2999" in result.stderr
