"""The fleet summary written over a file the policy extends.

Each host's files were checked against every file the policy was read from (the file given and
each it extends), the summary's only against the file given: with ``--force`` (which promises never
to replace an input of the run), a policy that extends ``out/fleet.junit.xml`` (a YAML file kept
there) had that file replaced by the fleet's JUnit, and the next run read a policy that was no
more.  The summary is now checked against the same inputs as each host's files: exit 2 before any
host, the extended file as it was.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot


def test_the_fleet_summary_never_replaces_a_file_the_policy_extends(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    base = out / "fleet.junit.xml"
    base.write_text(loopback_only_policy("base"))
    kept = base.read_bytes()
    policy = tmp_path / "child.yaml"
    policy.write_text(f"id: child\nversion: '1'\nowner: Tests <tests@example.test>\nextends: {base}\n")
    (tmp_path / "fetch" / "web01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01",
                            collected_at=datetime.now(timezone.utc)), tmp_path / "fetch" / "web01" / "lbaudit.snapshot.json")
    result = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", policy, "--out-dir", out,
                     "--force", "-j", "1", "-q", timeout=120)
    assert result.returncode == 2
    assert result.stderr == (f"lbaudit: {base} (fleet summary) is the same file as the policy {base}: writing it "
                             "would destroy an input\n")
    assert base.read_bytes() == kept
    assert sorted(path.name for path in out.iterdir()) == ["fleet.junit.xml"]
