"""An output never replaces a file the policy extends, wherever the policy is named from.

``Policy.sources`` records an extended file relative to the policy's own directory (so that the
digest does not depend on the working directory), and ``evaluate`` and ``fleet evaluate`` handed
those relative names to the output planner as they stood, i.e. relative to the working directory.
``evaluate --policy sub/p.yaml -o sub/base.yaml``, with ``sub/p.yaml`` extending ``base.yaml``,
wrote the evidence over ``sub/base.yaml`` (exit 1, the parent policy gone); the fleet wrote a host's
evidence over a parent kept in its out dir.  Both now refuse (exit 2) and leave it as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import snapshot

BASE = """id: base
version: "1"
owner: T
rules:
  - id: audit-drift
    check: drift.audit_rules
"""
CHILD = """id: child
version: "1"
owner: T
extends: {parent}
rules:
  - id: sysctl-drift
    check: drift.sysctl
"""


def _policies(tmp_path: Path, parent: str) -> tuple[Path, Path]:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / parent).write_text(BASE, encoding="utf-8")
    (sub / "p.yaml").write_text(CHILD.format(parent=parent), encoding="utf-8")
    host = tmp_path / "host.snapshot.json"
    host.write_bytes(snapshot_bytes(snapshot(listeners=[])))
    return sub, host


def test_evaluate_refuses_to_write_its_evidence_over_the_extended_policy(tmp_path):
    """On main: exit 1, and sub/base.yaml held the evidence."""
    sub, host = _policies(tmp_path, "base.yaml")
    run = run_cli("evaluate", "--no-plugins", "--policy", "sub/p.yaml", "--snapshot", host, "-o", "sub/base.yaml",
                  cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "sub/base.yaml (evidence) is the same file as the policy" in run.stderr
    assert (sub / "base.yaml").read_text(encoding="utf-8") == BASE


def test_control_case_the_evidence_beside_it_is_written(tmp_path):
    sub, host = _policies(tmp_path, "base.yaml")
    run = run_cli("evaluate", "--no-plugins", "--policy", "sub/p.yaml", "--snapshot", host, "-o", "sub/e.json",
                  cwd=tmp_path)
    assert run.returncode in (0, 3), run.stdout + run.stderr
    assert json.loads((sub / "e.json").read_bytes())["policy"]["id"] == "child"
    assert (sub / "base.yaml").read_text(encoding="utf-8") == BASE


def test_fleet_refuses_to_write_a_host_file_over_the_extended_policy(tmp_path):
    """The parent is kept in the out dir under the name of host web01's evidence file."""
    parent = "web01.example.test.evidence.json"
    sub, host = _policies(tmp_path, parent)
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    host.rename(snapshots / "web01.snapshot.json")
    run = run_cli("fleet", "evaluate", "--no-plugins", "--snapshots", "snapshots", "--policy", "sub/p.yaml",
                  "--out-dir", "sub", cwd=tmp_path, timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert (sub / parent).read_text(encoding="utf-8") == BASE
