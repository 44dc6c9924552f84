"""What ``history trend`` summed without saying so.

A run that judged nothing (every finding not applicable: a policy of another platform's rules, exit
3, verdict incomplete) was a day of runs 1, fail 0, not reviewed 0, error 0 in the trend: a clean
day, where the run had shown nothing.  Each day now also counts its non-compliant and its
incomplete runs (``non_compliant_runs``, ``incomplete_runs``; the CSV and table by day too).

Runs of two versions of one policy (a version that disabled the rule that failed) were summed into
one series without a word: the failure "fixed" on the day the rule was switched off.  The trend now
lists the policy versions its counts are of (``policies``) and warns on standard error when there is
more than one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.scans import CORP, record_scan

pytestmark = pytest.mark.slow  # real evaluations


def test_a_run_that_judged_nothing_is_an_incomplete_run_of_its_day(tmp_path):
    store = str(tmp_path / "history.db")
    policy = tmp_path / "windows-only.yaml"
    policy.write_text("id: windows-only\nversion: '1'\nowner: Test <t@example.test>\nrules:\n"
                      "  - {id: pool, check: net.ephemeral_port_range, platforms: [windows]}\n")
    _, result = record_scan(tmp_path, store, "linux", wildcard_redis=True, policy=policy)
    assert result.returncode == 3, result.stderr  # incomplete: nothing judged
    trend = run_cli("history", "trend", "--since", "2000-01-01", "--store", store, "--json")
    assert trend.returncode == 0, trend.stderr
    (day,) = json.loads(trend.stdout)["by_day"]
    assert (day["runs"], day["fail"], day["error"], day["not_reviewed"]) == (1, 0, 0, 0)
    assert (day["incomplete_runs"], day["non_compliant_runs"]) == (1, 0)  # before: no such figure, a clean day
    csv = run_cli("history", "trend", "--since", "2000-01-01", "--store", store, "--csv").stdout.splitlines()
    assert csv[0].endswith(",non_compliant_runs,incomplete_runs") and csv[1].endswith(",0,1")


def test_runs_of_two_policy_versions_summed_are_named(tmp_path):
    store = str(tmp_path / "history.db")
    record_scan(tmp_path, store, "before", wildcard_redis=True)
    loosened = tmp_path / "corp-loosened.yaml"
    text = CORP.read_text().replace('version: "2026.11"', 'version: "2026.12"')
    loosened.write_text(text.replace("    check: net.bind_addresses\n", "    check: net.bind_addresses\n"
                                     "    enabled: false\n", 1))
    record_scan(tmp_path, store, "after", wildcard_redis=True, policy=loosened)
    trend = run_cli("history", "trend", "--since", "2000-01-01", "--policy", "corp-baseline", "--store", store,
                    "--json")
    assert trend.returncode == 0, trend.stderr
    document = json.loads(trend.stdout)
    assert [(p["id"], p["version"], p["runs"]) for p in document["policies"]] in (
        [("corp-baseline", "2026.11", 1), ("corp-baseline", "2026.12", 1)],
        [("corp-baseline", "2026.12", 1), ("corp-baseline", "2026.11", 1)])
    assert "2 policies or policy versions" in trend.stderr and "2026.11" in trend.stderr  # before: no word


def test_control_case_one_policy_version_is_no_warning(tmp_path):
    store = str(tmp_path / "history.db")
    evidence, _ = record_scan(tmp_path, store, "monday", wildcard_redis=True)
    trend = run_cli("history", "trend", "--since", "2000-01-01", "--store", store, "--json")
    assert trend.returncode == 0 and trend.stderr == "", trend.stderr
    document = json.loads(trend.stdout)
    assert [(p["id"], p["runs"]) for p in document["policies"]] == [("corp-baseline", 1)]
    (day,) = document["by_day"]
    verdict = json.loads(Path(evidence).read_text())["result"]["verdict"]
    assert day["non_compliant_runs"] == (1 if verdict == "non_compliant" else 0)
