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
    assert (result.returncode, data["runs"]) == (1, {"before": 2, "after": 1, "passed_over": []})
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


def test_fleet_report_does_not_count_a_host_compliant_from_facts_older_than_stale_days(tmp_path: Path):
    """A month-old snapshot evaluated today (a fetch dir Ansible no longer refreshes) is a month-old
    scan: the host is stale, not compliant, and none of its controls counts as satisfied."""
    from datetime import datetime, timezone

    from auditor.storage.snapshot import write_snapshot
    from tests.factories import FIXED_TIME, snapshot

    store = str(tmp_path / "history.db")
    policy = tmp_path / "p.yaml"
    policy.write_text("id: bind-only\nversion: '1'\nowner: Sec\nrules:\n  - id: bind\n"
                      "    check: net.bind_addresses\n    controls: [SC-7]\n")
    for name, collected in (("fresh", datetime.now(timezone.utc)), ("old", FIXED_TIME)):
        path = tmp_path / f"{name}.snapshot.json"
        write_snapshot(snapshot(listeners=[], hostname=name, machine_id=name[0] * 32, collected_at=collected), path)
        result = run_cli("evaluate", "--policy", policy, "--snapshot", path, "-o", tmp_path / f"{name}.json", "-q",
                         "--record", "--store", store)
        assert result.returncode == 0, result.stdout + result.stderr
    days = (datetime.now(timezone.utc) - FIXED_TIME).days
    result = run_cli("fleet", "report", "--store", store, "--json", "--stale-days", str(days - 1))
    data = json.loads(result.stdout)
    assert (result.returncode, data["hosts_by_verdict"]) == (0, {"compliant": ["fresh"], "stale": ["old"]})
    sc7 = next(c for c in data["controls_by_share_satisfied"] if c["control"] == "SC-7")
    assert sc7 == {"control": "SC-7", "hosts_satisfied": 1, "hosts": 2, "share": 0.5}
    (row,) = data["not_scanned_for_days"]["hosts"]
    assert (row["host"], row["verdict"], row["days"], row["collected_at"]) == (
        "old", "compliant", days, "2026-11-01T12:00:00Z")


def test_fleet_report_counts_a_host_of_two_policies_once_by_its_worse_verdict(tmp_path: Path):
    store = str(tmp_path / "history.db")
    lax = tmp_path / "lax.yaml"
    lax.write_text("id: lax\nversion: '1'\nowner: Sec\nrules:\n  - id: time-wait\n"
                   "    check: net.time_wait\n    params: {max_time_wait_share: 0.5}\n    controls: [SC-7]\n")
    snapshot = write_scan_snapshot(tmp_path / "s.snapshot.json", wildcard_redis=True)
    _evaluate(tmp_path, snapshot, "corp", "--record", "--store", store)
    result = run_cli("evaluate", "--policy", lax, "--snapshot", snapshot, "-o", tmp_path / "lax.json", "-q",
                     "--record", "--store", store)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(run_cli("fleet", "report", "--store", store, "--json").stdout)
    # one host, not listed both compliant (lax) and non-compliant (corp)
    assert (data["hosts_total"], data["hosts_by_verdict"]) == (1, {"non_compliant": ["web01.example.test"]})
    assert data["policies"] == ["corp-baseline", "lax"]
    sc7 = next(c for c in data["controls_by_share_satisfied"] if c["control"] == "SC-7")
    assert (sc7["hosts_satisfied"], sc7["hosts"]) == (0, 1)  # lax's pass does not outweigh corp's failure


def test_import_of_evidence_dated_in_the_future_is_refused_and_records_nothing(tmp_path: Path):
    """Dated 2099, it would be every report's "latest" run of the host, and never stale."""
    store = str(tmp_path / "history.db")
    good = _evaluate(tmp_path, write_scan_snapshot(tmp_path / "a.snapshot.json", wildcard_redis=True), "good")
    document = json.loads(good.read_text())
    document["run"]["started_at"], document["run"]["finished_at"] = "2099-01-01T00:00:00Z", "2099-01-01T00:00:01Z"
    forged = tmp_path / "forged.evidence.json"
    forged.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
    _evaluate(tmp_path, write_scan_snapshot(tmp_path / "b.snapshot.json", wildcard_redis=True), "recorded",
              "--record", "--store", store)
    result = run_cli("history", "import", good, forged, "--store", store)
    assert (result.returncode, result.stdout) == (2, "")
    assert f"{forged}: says it was evaluated at 2099-01-01T00:00:00Z, after the time it is recorded" in result.stderr
    assert [r["id"] for r in json.loads(run_cli("history", "list", "--store", store, "--json").stdout)] == [1]
