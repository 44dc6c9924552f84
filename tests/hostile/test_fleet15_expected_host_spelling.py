"""``--expect-hosts`` compared host names exactly, while the run itself compares them as one host's
(case does not count, nor does the root's trailing dot: auditor.text.inventory_host): with
``--expect-hosts web01``, web01's fetched directory spelt ``WEB01`` was refused as "not one of the
hosts this run expects" and web01 failed as not scanned, two rows for one compliant host (exit 2);
``--expect-hosts web01,WEB01`` expected two hosts, one of them never found.  Expectation now
compares names as the run does, in one place.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot


def _fleet(tmp_path: Path, directory: str, expected: str):
    fetch = tmp_path / "fetch"
    (fetch / directory).mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01", machine_id="1" * 32),
                   fetch / directory / "lbaudit.snapshot.json")
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", tmp_path / "out",
                   "--expect-hosts", expected, "--jobs", "1", "-q", timeout=120)


@pytest.mark.parametrize(("directory", "expected"), [
    ("WEB01", "web01"), ("web01", "WEB01."), ("Web01.", "web01"),
    ("web01", "web01,WEB01"), ("web01", "web01.,web01"),
])
def test_an_expected_host_is_found_under_any_spelling_of_its_name(tmp_path: Path, directory: str, expected: str):
    result = _fleet(tmp_path, directory, expected)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]
    assert [(row["host"], row["verdict"], row["error"]) for row in rows] == [(directory, "compliant", None)]
    assert (tmp_path / "out" / f"{directory}.evidence.json").is_file()


def test_another_host_is_still_not_expected(tmp_path: Path):
    result = _fleet(tmp_path, "web02", "web01")
    assert result.returncode == 2, result.stdout + result.stderr
    rows = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]
    snapshot_file = tmp_path / "fetch" / "web02" / "lbaudit.snapshot.json"
    assert [(row["host"], row["verdict"], row["error"]) for row in rows] == [
        ("web01", None, f"host 'web01' is expected (--expect-hosts) but no snapshot of it was found under "
                        f"{tmp_path / 'fetch'}: it was not scanned in this run"),
        ("web02", None, f"{snapshot_file}: host 'web02' is not one of the hosts this run expects (--expect-hosts): "
                        "a snapshot left by an earlier run is not this run's evidence")]
