"""A rule loosened between two scans does not fix what it failed.  ``platforms: [macos]`` added to a
rule judged on a Linux host turns its findings into one "not applicable on linux": ``diff`` listed
the failing wildcard redis as gone, an improvement, said the policy digest changed with "no rule,
check or waiver differs", and exited 0.  And a failure that passes under changed params was an
improvement beside the params change.  Now a narrowed platform list is lost coverage, any rule field
not compared by name is too, and the failures a loosened rule stops failing are listed with that
change, never as improvements."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import FIXED_TIME, listener, snapshot

POLICY = """id: loopback
version: "1"
owner: Security <sec@example.test>
rules:
  - id: loopback-only
    check: net.bind_addresses
    title: Services listen on loopback
    severity: high
    params: {allow: [loopback]}
  - id: ephemeral-pool
    check: net.ephemeral_port_range
    title: Ephemeral pool
    severity: medium
"""
REDIS = "tcp 0.0.0.0:6379 redis-server pid 977"
REDIS_EXCEPTION = ("params: {allow: [loopback], exceptions: [{match: {process: redis-server, ports: [6379]}, "
                   "allow: [any], reason: cache for the web tier}]}")


def _evidence(tmp_path: Path, name: str, day: int, policy: str) -> Path:
    listeners = [listener("127.0.0.1", 5432, processes=[ProcessInfo(pid=812, name="postgres")]),
                 listener("0.0.0.0", 6379, processes=[ProcessInfo(pid=977, name="redis-server")])]
    write_snapshot(snapshot(listeners=listeners, collected_at=FIXED_TIME + timedelta(days=day)),
                   tmp_path / f"{name}.snapshot.json")
    (tmp_path / f"{name}.yaml").write_text(policy)
    evidence = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", tmp_path / f"{name}.yaml", "--snapshot", tmp_path / f"{name}.snapshot.json",
                     "-o", evidence, "-q")
    assert result.returncode in (0, 1), result.stderr
    return evidence


def _loosened(old: str, new: str) -> str:
    assert old in POLICY
    return POLICY.replace(old, new, 1)


def test_a_rule_limited_to_another_platform_does_not_fix_its_failures(tmp_path: Path):
    before = _evidence(tmp_path, "before", 0, POLICY)
    after = _evidence(tmp_path, "after", 1, _loosened("    severity: high\n", "    severity: high\n    platforms: [macos]\n"))
    result = run_cli("diff", before, after, "--json")
    data = json.loads(result.stdout)
    assert (result.returncode, data["improvements"], data["lost_coverage"]) == (1, [], 1), result.stdout
    (change,) = data["policy_changes"]
    assert (change["kind"], change["subject"], change["detail"], change["loses_coverage"]) == (
        "platforms_changed", "loopback-only", "platforms every platform of its check -> macos", True)
    assert [(c["subject"], c["before"], c["after"]) for c in change["findings"]] == [(REDIS, "fail", None)]
    assert run_cli("diff", before, after, "--allow-policy-change").returncode == 0


def test_a_failure_passing_under_loosened_params_is_listed_with_the_change(tmp_path: Path):
    before = _evidence(tmp_path, "before", 0, POLICY)
    after = _evidence(tmp_path, "after", 1, _loosened("params: {allow: [loopback]}", REDIS_EXCEPTION))
    data = json.loads(run_cli("diff", before, after, "--json").stdout)
    assert (data["exit_code"], data["improvements"]) == (1, [])
    (change,) = data["policy_changes"]
    assert (change["kind"], change["loses_coverage"]) == ("params_changed", True)
    assert [(c["subject"], c["before"], c["after"]) for c in change["findings"]] == [(REDIS, "fail", "pass")]
    text = run_cli("diff", before, after)
    assert f"      no longer judged: {REDIS} (was fail, now pass)" in text.stdout.splitlines()


def test_control_case_a_platform_list_widened_to_every_platform_is_a_note(tmp_path: Path):
    limited = _loosened("    severity: high\n", "    severity: high\n    platforms: [linux]\n")
    before = _evidence(tmp_path, "before", 0, limited)
    after = _evidence(tmp_path, "after", 1, POLICY)
    data = json.loads(run_cli("diff", before, after, "--json").stdout)
    assert (data["exit_code"], data["lost_coverage"]) == (0, 0)
    assert [(c["kind"], c["detail"]) for c in data["policy_changes"]] == [
        ("platforms_changed", "platforms linux -> every platform of its check")]


def test_a_failure_gone_under_another_version_of_its_check_is_listed_with_that_change(tmp_path: Path):
    before = _evidence(tmp_path, "before", 0, POLICY)
    # as an older lbaudit wrote it: the check that judged it was version 1.0.0
    document = json.loads(before.read_bytes())
    (check,) = [c for c in document["checks"] if c["name"] == "net.bind_addresses"]
    check["version"] = "1.0.0"
    before.write_text(json.dumps(document))
    listeners = [listener("127.0.0.1", 5432, processes=[ProcessInfo(pid=812, name="postgres")])]
    write_snapshot(snapshot(listeners=listeners, collected_at=FIXED_TIME + timedelta(days=1)),
                   tmp_path / "closed.snapshot.json")
    after = tmp_path / "closed.evidence.json"
    assert run_cli("evaluate", "--policy", tmp_path / "before.yaml", "--snapshot", tmp_path / "closed.snapshot.json",
                   "-o", after, "-q").returncode == 0
    result = run_cli("diff", before, after, "--json")
    data = json.loads(result.stdout)
    assert (result.returncode, data["improvements"]) == (1, []), result.stdout
    (change,) = data["policy_changes"]
    assert (change["kind"], change["subject"], change["loses_coverage"]) == (
        "check_version_changed", "net.bind_addresses", True)
    assert [(c["subject"], c["before"], c["after"]) for c in change["findings"]] == [(REDIS, "fail", None)]
