"""``lbaudit collect --replay``: a bundle becomes a snapshot that evaluates like any other."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli

BUNDLES = Path(__file__).resolve().parents[1] / "fixtures" / "bundles"


def findings(path: Path) -> list[tuple[str, str, str]]:
    return sorted((f["rule_id"], f["subject"], f["status"]) for f in json.loads(path.read_text())["result"]["findings"])


def test_a_replayed_snapshot_evaluates_as_the_bundle_does(tmp_path):
    snapshot = tmp_path / "win.snapshot.json"
    collected = run_cli("collect", "--replay", BUNDLES / "windows-default-fr", "--output", snapshot)
    assert collected.returncode == 0, collected.stderr
    assert "platform: windows (Microsoft Windows 10.0.20348.2340)" in collected.stdout
    assert "4 dynamic port ranges, 0 TCP/IP registry values set; audit policy: 7 subcategories" in collected.stdout
    data = json.loads(snapshot.read_text())
    assert data["schema_version"] == "1.11" and data["provenance"]["platform"] == "windows"
    assert {data["facts"][s]["platform"] for s in ("sockets", "sysctl", "audit")} == {"windows"}
    direct = run_cli("evaluate", "--policy", "policies/corp.yaml", "--target", f"replay:{BUNDLES / 'windows-default-fr'}",
                     "--output", tmp_path / "direct.json", "-q")
    saved = run_cli("evaluate", "--policy", "policies/corp.yaml", "--snapshot", snapshot,
                    "--output", tmp_path / "saved.json", "-q")
    assert direct.returncode == saved.returncode == 1
    assert findings(tmp_path / "direct.json") == findings(tmp_path / "saved.json")


def test_replay_and_another_source_are_alternatives(tmp_path):
    result = run_cli("collect", "--replay", BUNDLES / "macos-default", "--root", "/", "--output", tmp_path / "s.json")
    assert result.returncode == 2 and "--replay and --root are alternatives" in result.stderr


def test_only_the_asked_sections_are_parsed(tmp_path):
    out = tmp_path / "s.json"
    result = run_cli("collect", "--replay", BUNDLES / "macos-default", "--section", "audit", "--output", out)
    assert result.returncode == 0
    facts = json.loads(out.read_text())["facts"]
    assert facts["sockets"] is None and facts["sysctl"] is None
    assert facts["audit"]["macos"]["auditd_loaded"] is False


def test_a_rule_limited_to_an_unknown_platform_is_a_policy_error_with_its_line(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("id: p\nversion: '1'\nowner: o\nrules:\n"
                      "  - id: listeners\n    check: net.bind_addresses\n    platforms: [linux, solaris]\n")
    result = run_cli("validate", policy)
    assert result.returncode == 2
    assert "p.yaml:7" in result.stderr + result.stdout and "solaris" in result.stderr + result.stdout


def test_provenance_says_when_the_bundle_was_written_and_how_each_file_was_read(tmp_path):
    import os
    import shutil
    from datetime import datetime, timezone

    from auditor.collect.targets import Replay

    bundle = tmp_path / "b"
    shutil.copytree(BUNDLES / "windows-default-fr", bundle)
    for index, path in enumerate(sorted(bundle.iterdir())):
        os.utime(path, (1_700_000_000 + index, 1_700_000_000 + index))
    snapshot = Replay(bundle).load(frozenset({"sockets", "sysctl", "audit"}))
    # the oldest file's time: the facts are as old as the oldest of them (tests/hostile/test_fleet_replay_age.py)
    assert snapshot.provenance.collected_at == datetime.fromtimestamp(1_700_000_000, timezone.utc)
    assert snapshot.provenance.methods["audit"] == (
        f"Windows, replayed from the bundle {bundle}: bundle file auditpol-backup.csv (utf-16-le (BOM))")
    assert snapshot.provenance.target_kind == "replay" and snapshot.provenance.target_id == str(bundle)
