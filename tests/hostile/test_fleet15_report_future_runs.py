"""``fleet report`` took a host's latest run by its start, and then by when its facts were
collected: a run recorded before the store refused runs dated ahead of its clock (an edited evidence
file imported, facts and start of year 2999) stood as its host's latest run, its verdict (compliant)
the host's, although every genuine run of the host since failed.  The report now passes over a run
started, or over facts collected, more than the store's allowance ahead of its clock (as the fleet's
replay check does), names it on standard error and in ``dated_ahead``, and a host with no other run
is not scanned (exit 3), never judged by the year 2999 nor left out.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FAR_FUTURE = datetime(2999, 1, 1, tzinfo=timezone.utc)


def _snapshot(directory: Path, address: str, collected_at: datetime) -> Path:
    (directory / "web01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname="web01", machine_id="1" * 32,
                            collected_at=collected_at), directory / "web01" / "lbaudit.snapshot.json")
    return directory


def _poison(tmp_path: Path, policy: Path, store: Path, **dated: datetime) -> int:
    """A compliant run of web01 whose evidence says ``dated``, recorded as a store did before it
    refused such runs (the recorder's checks given today's times)."""
    from auditor.history import open_store
    from auditor.history.store import prepare_run

    fetch = _snapshot(tmp_path / "kept", "127.0.0.1", NOW - timedelta(hours=2))
    plain = tmp_path / "kept.evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--snapshot", fetch / "web01" / "lbaudit.snapshot.json",
                     "-o", plain, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(plain.read_text())
    text = {key: value.isoformat().replace("+00:00", "Z") for key, value in dated.items()}
    document["snapshot"]["provenance"]["collected_at"] = text["collected_at"]
    if "started_at" in text:
        document["run"]["started_at"] = document["run"]["finished_at"] = text["started_at"]
    prepared = prepare_run(json.dumps(document).encode(), None, None)
    with open_store(str(store)) as opened:
        return int(opened.record_prepared(dataclasses.replace(prepared, collected=NOW, started=NOW.replace(tzinfo=None)),
                                          trigger="fleet", inventory_name="web01").run_id)


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    return policy, tmp_path / "history.db"


def _report(store: Path):
    result = run_cli("fleet", "report", "--store", store, "--json")
    return result, json.loads(result.stdout) if result.stdout else None


@pytest.mark.parametrize("dated", [
    {"collected_at": FAR_FUTURE},  # started as usual: taken as the later scan by its facts
    {"collected_at": FAR_FUTURE, "started_at": FAR_FUTURE},  # sorted first by its start
])
def test_a_run_dated_ahead_is_not_its_hosts_latest_run(tmp_path: Path, dated: dict[str, datetime]):
    policy, store = _setup(tmp_path)
    poisoned = _poison(tmp_path, policy, store, **dated)
    fleet = run_cli("fleet", "evaluate", "--snapshots", _snapshot(tmp_path / "fetch", "0.0.0.0", NOW), "--policy",
                    policy, "--out-dir", tmp_path / "out", "--record", "--store", store, "--jobs", "1", "-q")
    assert fleet.returncode == 1, fleet.stdout + fleet.stderr
    genuine = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"][0]["run_id"]
    result, data = _report(store)
    assert result.returncode == 0, result.stdout + result.stderr
    assert data["hosts_by_verdict"] == {"non_compliant": ["web01"]}
    assert [(row["host"], row["run_id"], row["verdict"]) for row in data["hosts"]] == [
        ("web01", genuine, "non_compliant")]
    started = (dated.get("started_at") or NOW - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    assert [(row["host"], row["run"], row["collected_at"]) for row in data["dated_ahead"]] == [
        ("web01", poisoned, "2999-01-01T00:00:00Z")]
    assert result.stderr.startswith(
        f"lbaudit: warning: host 'web01': its run {poisoned} in the history store started ")
    assert ("over facts collected 2999-01-01T00:00:00Z, ahead of this report's clock: not taken as its latest run "
            "(retire or prune that run)") in result.stderr
    if "started_at" in dated:
        assert f"started {started} over facts" in result.stderr


def test_a_host_whose_only_run_is_dated_ahead_is_not_scanned(tmp_path: Path):
    policy, store = _setup(tmp_path)
    poisoned = _poison(tmp_path, policy, store, collected_at=FAR_FUTURE, started_at=FAR_FUTURE)
    result, data = _report(store)
    assert result.returncode == 3, result.stdout + result.stderr
    assert data["hosts_by_verdict"] == {"not_scanned": ["web01"]}
    [row] = data["hosts"]
    assert (row["host"], row["run_id"], row["verdict"], row["exit_code"]) == ("web01", None, None, 2)
    assert row["error"] == (
        f"its only run is dated ahead of this report's clock (run {poisoned}: started 2999-01-01T00:00:00Z, facts "
        "collected 2999-01-01T00:00:00Z): not taken as its latest, so no run stands for the host now (retire or "
        "prune them)")
