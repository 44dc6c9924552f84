"""A snapshot file given itself (``--snapshots FILE``) where the fleet writes another host's file or its summary.

Each host's outputs were checked against its own snapshot and the run's policy, keys and store, not
against the other snapshots of the run: with ``--force`` (which promises never to replace an input
of the run), host web01's evidence replaced ``out/web01.evidence.json``, the snapshot of host db01
given on the command line, and the fleet summary replaced a snapshot given as
``out/fleet-summary.json``.  Every snapshot file given itself is now an input no output of the run
may replace: that host's file is refused (exit 2), the summary before any work.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot


def _snapshot(path: Path, host: str, number: int) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=host, machine_id=f"{number:032x}",
                            collected_at=datetime.now(timezone.utc)), path)
    return path.read_bytes()


def _fleet(tmp_path: Path, *snapshots: Path):
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    return run_cli("fleet", "evaluate", *[arg for path in snapshots for arg in ("--snapshots", path)],
                   "--policy", policy, "--out-dir", tmp_path / "out", "--force", "-j", "1", "-q", timeout=120)


def test_a_hosts_evidence_never_replaces_another_hosts_snapshot_given_itself(tmp_path: Path):
    other = tmp_path / "out" / "web01.evidence.json"  # db01's snapshot, where web01's evidence goes
    kept = _snapshot(other, "db01", 1)
    _snapshot(tmp_path / "fetch" / "web01" / "lbaudit.snapshot.json", "web01", 2)
    result = _fleet(tmp_path, other, tmp_path / "fetch")
    assert result.returncode == 2
    assert other.read_bytes() == kept
    rows = {h["host"]: h for h in json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]}
    assert (rows["db01"]["verdict"], rows["db01"]["evidence"]) == ("compliant", str(tmp_path / "out" / "db01.evidence.json"))
    assert (rows["web01"]["verdict"], rows["web01"]["exit_code"]) == (None, 2)
    assert rows["web01"]["error"] == (f"{other} (evidence) is the same file as the snapshot {other}: writing it would "
                                      "destroy an input")


def test_the_fleet_summary_never_replaces_a_snapshot_given_itself(tmp_path: Path):
    given = tmp_path / "out" / "fleet-summary.json"
    kept = _snapshot(given, "db01", 1)
    result = _fleet(tmp_path, given)
    assert result.returncode == 2
    assert result.stderr == (f"lbaudit: {given} (fleet summary) is the same file as the snapshot {given}: writing it "
                             "would destroy an input\n")
    assert given.read_bytes() == kept
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["fleet-summary.json"]
