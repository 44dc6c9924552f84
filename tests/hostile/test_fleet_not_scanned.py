"""A fleet run that finds no snapshot at all, but knows its hosts (``--expect-hosts``, which the
Ansible play always gives): each expected host fails as not scanned, in a summary of this run.

It was refused (exit 2, "no host found") before anything was written, which is right for a run
that does not know its hosts (a fleet of none is no evidence of a compliant one), but with the
hosts named it left the out dir as it was: when every host of the play was unreachable, the
earlier run's ``fleet-summary.json`` (compliant, say) stayed there as the fleet's latest word.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"


def _fleet(fetch: Path, out: Path, *extra: object):
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, *extra, timeout=120)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_no_snapshot_of_any_expected_host_is_a_summary_of_hosts_not_scanned(tmp_path: Path, jobs: str):
    earlier, fetch, out = tmp_path / "earlier", tmp_path / "fetch", tmp_path / "out"
    for number, host in enumerate(("web01", "web02")):
        (earlier / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=host, machine_id=f"{number + 1:032x}"),
                       earlier / host / "lbaudit.snapshot.json")
    assert _fleet(earlier, out, "-q").returncode == 3  # the earlier run: both judged (incomplete)
    fetch.mkdir()  # this run fetched nothing: every host unreachable
    result = _fleet(fetch, out, "--expect-hosts", "web01,web02", "--jobs", jobs)
    assert result.returncode == 2, result.stdout + result.stderr
    summary = json.loads((out / "fleet-summary.json").read_text())
    assert summary["exit_code"] == 2 and summary["hosts_total"] == 2
    assert summary["hosts_by_verdict"] == {"not_evaluated": 2}
    for row in summary["hosts"]:
        assert row["verdict"] is None and row["exit_code"] == 2 and row["evidence"] is None
        assert row["error"] == (f"host {row['host']!r} is expected (--expect-hosts) but no snapshot of it was found "
                                f"under {fetch}: it was not scanned in this run")
    assert [row["host"] for row in summary["hosts"]] == ["web01", "web02"]
    assert result.stdout.splitlines()[-2] == "fleet: 2 hosts (2 not_evaluated); exit 2"
    junit = (out / "fleet.junit.xml").read_text()
    assert junit.count("<testsuite ") == 2 and 'errors="2"' in junit


def test_control_case_without_expected_hosts_no_host_found_is_still_refused_and_nothing_written(tmp_path: Path):
    fetch, out = tmp_path / "fetch", tmp_path / "out"
    fetch.mkdir()
    result = _fleet(fetch, out)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (f"lbaudit: {fetch}: --snapshots: no host found (expected "
                                             "*.snapshot.json files, or one directory per host holding one)")
    assert not out.exists()
