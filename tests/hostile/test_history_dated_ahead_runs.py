"""Every choice of a host's latest (or previous) run passes over a run dated ahead, as fleet report
did alone.

A run recorded before the store refused such runs (an edited evidence file imported) may say it
started, or that its facts were collected, in year 2999; or that its facts were collected after it
was evaluated, both in the past, which no clock catches.  ``fleet report`` passed over the first
kind only; ``history diff`` took the forged run as the latest and diffed the host's genuine failure
against it (an improvement, exit 0); ``history list`` showed it first with nothing to tell it apart;
``prune --keep-last 1`` counted it and removed the host's genuine latest run; and ``fleet report``
took a run over facts collected after it ran as the later scan of the host (the comparison by
facts), its compliant verdict the host's.  Now one rule (``auditor.history.store.run_dated_ahead``)
says which runs stand, and each command names the runs it passes over.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.history import open_store
from auditor.history.store import prepare_run
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FAR_FUTURE = datetime(2999, 1, 1, tzinfo=timezone.utc)
COMPLIANT, NON_COMPLIANT, USAGE = 0, 1, 2
# why a run is passed over, as the JSON of fleet report, history diff and history list says it
AHEAD_OF_CLOCK = "ahead of the clock"
FACTS_AFTER_EVALUATION = "facts collected after it was evaluated"


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _record(tmp_path: Path, name: str, address: str, collected: datetime, started: datetime | None = None) -> int:
    """A run of web01 whose facts (a listener on ``address``) were collected at ``collected``,
    evaluated now, or said to start at ``started`` (an edited file), recorded as a store did before
    it refused runs dated ahead (its recorder's checks given today's times)."""
    policy = tmp_path / "lo.yaml"
    if not policy.exists():
        policy.write_text(loopback_only_policy("lo"))
    snap = tmp_path / f"{name}.snapshot.json"
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname="web01", machine_id="1" * 32,
                            collected_at=min(collected, NOW)), snap)
    plain = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snap, "-o", plain, "-q")
    assert result.returncode in (COMPLIANT, NON_COMPLIANT), result.stdout + result.stderr
    document = json.loads(plain.read_text())
    document["snapshot"]["provenance"]["collected_at"] = _z(collected)
    if started is not None:
        document["run"]["started_at"] = document["run"]["finished_at"] = _z(started)
    prepared = prepare_run(json.dumps(document).encode(), None, None)
    with open_store(str(tmp_path / "history.db")) as opened:
        return int(opened.record_prepared(dataclasses.replace(prepared, collected=NOW, started=NOW.replace(tzinfo=None)),
                                          trigger="fleet", inventory_name="web01").run_id)


def _ahead_of_clock(tmp_path: Path) -> tuple[int, int, int]:
    """web01 compliant, then failing, then a compliant run whose facts claim year 2999."""
    passed = _record(tmp_path, "passed", "127.0.0.1", NOW - timedelta(hours=3))
    failed = _record(tmp_path, "failed", "0.0.0.0", NOW - timedelta(hours=2))
    forged = _record(tmp_path, "forged", "127.0.0.1", FAR_FUTURE)
    return passed, failed, forged


def test_history_diff_passes_over_a_run_dated_ahead(tmp_path: Path):
    passed, failed, forged = _ahead_of_clock(tmp_path)
    result = run_cli("history", "diff", "--store", tmp_path / "history.db", "--json")
    assert result.returncode == NON_COMPLIANT, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert (document["runs"]["before"], document["runs"]["after"]) == (passed, failed)
    assert [(c["rule"], c["before"], c["after"]) for c in document["regressions"]] == [("loopback-only", None, "fail")]
    assert document["verdict"] == {"before": "compliant", "after": "non_compliant"}
    [row] = document["runs"]["passed_over"]
    assert (row["run"], row["collected_at"], row["reason"]) == (forged, "2999-01-01T00:00:00Z", AHEAD_OF_CLOCK)
    assert (f"lbaudit: warning: run {forged} in the history store started {row['started_at']} over facts collected "
            "2999-01-01T00:00:00Z, ahead of this report's clock: not taken as the latest run (retire or prune that "
            "run)\n") == result.stderr
    text = run_cli("history", "diff", "--store", tmp_path / "history.db")
    assert text.returncode == NON_COMPLIANT, text.stdout + text.stderr
    assert text.stdout.startswith(f"runs: {passed} -> {failed}\n")


def test_history_list_marks_a_run_dated_ahead(tmp_path: Path):
    passed, failed, forged = _ahead_of_clock(tmp_path)
    result = run_cli("history", "list", "--store", tmp_path / "history.db", "--json")
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)
    assert [(run["id"], run["dated_ahead"]) for run in runs] == [
        (forged, AHEAD_OF_CLOCK), (failed, None), (passed, None)]
    assert runs[0]["collected_at"] == "2999-01-01T00:00:00Z"
    assert f"lbaudit: warning: run {forged} started " in result.stderr
    assert "not its host's latest run (fleet report and history diff pass it over" in result.stderr
    table = run_cli("history", "list", "--store", tmp_path / "history.db")
    assert table.stdout.splitlines()[0].split()[-1] == "note"
    assert table.stdout.splitlines()[1].split()[0] == str(forged) and table.stdout.splitlines()[1].endswith("dated ahead")


def test_prune_keep_last_keeps_the_genuine_latest_run(tmp_path: Path):
    passed, failed, forged = _ahead_of_clock(tmp_path)
    result = run_cli("history", "prune", "--keep-last", "1", "--store", tmp_path / "history.db", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["pruned"], report["dated_ahead"]) == ([passed], [forged])
    fleet = run_cli("fleet", "report", "--store", tmp_path / "history.db", "--json")
    assert fleet.returncode == COMPLIANT, fleet.stdout + fleet.stderr
    data = json.loads(fleet.stdout)
    assert [(row["host"], row["run_id"], row["verdict"]) for row in data["hosts"]] == [
        ("web01", failed, "non_compliant")]


def _facts_after_evaluation(tmp_path: Path) -> tuple[int, int]:
    """web01 failing, judged now over facts of two hours ago; and a compliant run that says it
    started three hours ago over facts collected half an hour ago, after it ran (both past)."""
    failed = _record(tmp_path, "failed", "0.0.0.0", NOW - timedelta(hours=2))
    forged = _record(tmp_path, "forged", "127.0.0.1", NOW - timedelta(minutes=30), started=NOW - timedelta(hours=3))
    return failed, forged


def test_fleet_report_does_not_take_a_run_over_later_facts_as_the_host(tmp_path: Path):
    failed, forged = _facts_after_evaluation(tmp_path)
    result = run_cli("fleet", "report", "--store", tmp_path / "history.db", "--json")
    assert result.returncode == COMPLIANT, result.stdout + result.stderr  # one run stands: nothing to regress from
    data = json.loads(result.stdout)
    assert data["hosts_by_verdict"] == {"non_compliant": ["web01"]}
    assert [(row["host"], row["run_id"], row["verdict"]) for row in data["hosts"]] == [
        ("web01", failed, "non_compliant")]
    assert [(row["run"], row["reason"]) for row in data["dated_ahead"]] == [(forged, FACTS_AFTER_EVALUATION)]
    assert (f"lbaudit: warning: host 'web01': its run {forged} in the history store started "
            f"{_z(NOW - timedelta(hours=3))} over facts collected {_z(NOW - timedelta(minutes=30))}, after it was "
            "evaluated: not taken as its latest run (retire or prune that run)\n") == result.stderr


def test_history_diff_will_not_diff_against_a_run_over_later_facts(tmp_path: Path):
    failed, forged = _facts_after_evaluation(tmp_path)
    result = run_cli("history", "diff", "--store", tmp_path / "history.db")
    assert result.returncode == USAGE, result.stdout + result.stderr
    assert result.stdout == ""
    assert (f"only one run of web01/lo is recorded that is not dated ahead (run {forged}: 1 passed over); a diff "
            "needs two") in result.stderr


def test_fleet_report_names_at_most_twenty_runs_dated_ahead_on_standard_error(tmp_path: Path):
    """A store of many forged runs (here 40 copies of one, the rows the recorder writes): one line of
    standard error each was 200,000 lines for a store of 200,000; the JSON lists them all."""
    import sqlite3

    passed, failed, forged = _ahead_of_clock(tmp_path)
    with sqlite3.connect(tmp_path / "history.db") as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(runs)")]
        row = dict(zip(columns, conn.execute("SELECT * FROM runs WHERE id = ?", (forged,)).fetchone()))
        conn.executemany(f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                         [tuple({**row, "id": 100 + index}[c] for c in columns) for index in range(39)])
    result = run_cli("fleet", "report", "--store", tmp_path / "history.db", "--json")
    assert result.returncode == NON_COMPLIANT, result.stdout + result.stderr  # failed since the run before
    data = json.loads(result.stdout)
    assert [(row["host"], row["run_id"]) for row in data["hosts"]] == [("web01", failed)]
    assert sorted(row["run"] for row in data["dated_ahead"]) == [forged, *range(100, 139)]
    lines = result.stderr.splitlines()
    assert len(lines) == 21 and all(" ahead of this report's clock: not taken as its latest run" in line
                                    for line in lines[:20])
    assert lines[20] == ("lbaudit: warning: and 20 more runs dated ahead, not taken as their host's latest run "
                         "(--json lists them under dated_ahead)")


def test_fleet_evaluate_does_not_refuse_a_host_by_a_run_over_later_facts(tmp_path: Path):
    """The fleet's replay check (facts older than those last judged are refused) took the run over
    facts collected after it ran as the host's newest facts: a genuine snapshot collected before the
    forged time was refused, exit 2, not judged or recorded."""
    forged = _record(tmp_path, "forged", "127.0.0.1", NOW - timedelta(minutes=10), started=NOW - timedelta(hours=3))
    fetch = tmp_path / "fetch" / "web01"
    fetch.mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname="web01", machine_id="1" * 32,
                            collected_at=NOW - timedelta(hours=1)), fetch / "lbaudit.snapshot.json")
    result = run_cli("fleet", "evaluate", "--snapshots", fetch.parent, "--policy", tmp_path / "lo.yaml", "--out-dir",
                     tmp_path / "out", "--record", "--store", tmp_path / "history.db", "--jobs", "1", "-q")
    assert result.returncode == NON_COMPLIANT, result.stdout + result.stderr
    [host] = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]
    assert (host["verdict"], host["error"], host["run_id"]) == ("non_compliant", None, forged + 1)
    assert result.stderr == (f"lbaudit: warning: host 'web01': its run {forged} in the history store claims facts "
                             f"collected at {_z(NOW - timedelta(minutes=10))}, after it was evaluated: not taken as "
                             "its newest facts (retire or prune that run)\n")
