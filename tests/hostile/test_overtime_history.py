"""Comparisons over time in the history store: ``history diff`` and ``fleet report`` must compare a
host's runs in the order they ran, each host with itself, and see every change a diff sees."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli
from tests.history.scans import CORP, REDIS, later, write_scan_snapshot

WAIVER = ('waivers:\n  - rule: listeners-loopback-only\n    subject: "tcp 0.0.0.0:6379 redis*"\n'
          '    reason: CHG-1\n    approver: Jane Doe\n    expires: 2099-01-01\n')


def _evaluate(tmp_path: Path, snapshot: Path, name: str, *extra: object) -> Path:
    evidence = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "-q", *extra)
    assert result.returncode in (1, 3), result.stderr
    return evidence


def test_history_diff_of_an_older_scan_imported_later_is_in_scan_order(tmp_path: Path):
    store = str(tmp_path / "history.db")
    monday = _evaluate(tmp_path, write_scan_snapshot(tmp_path / "mon.snapshot.json", wildcard_redis=False),
                       "monday")
    _evaluate(tmp_path, write_scan_snapshot(tmp_path / "tue.snapshot.json", wildcard_redis=True, when=later(1)),
              "tuesday", "--record", "--store", store)
    assert run_cli("history", "import", monday, "--store", store).returncode == 0  # backfilled: run 2
    result = run_cli("history", "diff", "--store", store, "--json")
    data = json.loads(result.stdout)
    # Monday (run 2, clean) -> Tuesday (run 1, redis on every address): a regression, not an improvement
    assert (result.returncode, data["runs"]) == (1, {"before": 2, "after": 1})
    assert [(c["subject"].startswith(REDIS), c["before"], c["after"]) for c in data["regressions"]] == [
        (True, None, "fail")]
    assert data["improvements"] == []


def test_fleet_report_sees_a_waiver_added_to_the_same_snapshot_judged_again(tmp_path: Path):
    store = str(tmp_path / "history.db")
    snapshot = write_scan_snapshot(tmp_path / "s.snapshot.json", wildcard_redis=True)
    (tmp_path / "w.yaml").write_text(WAIVER)
    before = _evaluate(tmp_path, snapshot, "before", "--record", "--store", store)
    after = _evaluate(tmp_path, snapshot, "after", "--record", "--store", store, "--waivers", tmp_path / "w.yaml")
    assert run_cli("diff", before, after).returncode == 1  # the waiver is lost coverage
    result = run_cli("fleet", "report", "--store", store, "--json")
    assert result.returncode == 1, result.stdout
    (regressed,) = json.loads(result.stdout)["regressed_since_previous_run"]
    assert (regressed["previous_run"], regressed["run"], regressed["regressions"]) == (1, 2, [])
    assert [(c["kind"], c["subject"]) for c in regressed["lost_coverage"]] == [
        ("waiver_added", "listeners-loopback-only")]
    text = run_cli("fleet", "report", "--store", store)
    assert "web01.example.test (corp-baseline, run 1 -> 2): waiver_added listeners-loopback-only" in text.stdout


def test_fleet_report_keeps_two_machines_of_one_host_name_apart(tmp_path: Path):
    store = str(tmp_path / "history.db")
    for day, (machine_id, redis) in enumerate((("a" * 32, True), ("b" * 32, False))):
        snapshot = write_scan_snapshot(tmp_path / f"{day}.snapshot.json", wildcard_redis=redis, when=later(day),
                                       hostname="localhost", machine_id=machine_id)
        _evaluate(tmp_path, snapshot, str(day), "--record", "--store", store)
    result = run_cli("fleet", "report", "--store", store, "--json")
    data = json.loads(result.stdout)
    # machine a's failing run is not hidden behind machine b's later one, nor diffed against it
    assert (result.returncode, data["hosts_total"], data["regressed_since_previous_run"]) == (0, 2, [])
    assert data["hosts_by_verdict"] == {"incomplete": [f"localhost (machine-id {'b' * 32})"],
                                        "non_compliant": [f"localhost (machine-id {'a' * 32})"]}
    assert [(row["host"], row["run_id"]) for row in data["hosts"]] == [
        (f"localhost (machine-id {'a' * 32})", 1), (f"localhost (machine-id {'b' * 32})", 2)]
