"""A rule loosened between two scans does not fix what it failed.  ``platforms: [macos]`` added to a
rule judged on a Linux host turns its findings into one "not applicable on linux": ``diff`` listed
the failing wildcard redis as gone, an improvement, said the policy digest changed with "no rule,
check or waiver differs", and exited 0.  And a failure that passes under changed params was an
improvement beside the params change.  Now a narrowed platform list is lost coverage, any rule field
not compared by name is too, and the failures a loosened rule stops failing are listed with that
change, never as improvements."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli
from tests.hostile.overtime_scans import LOOPBACK_POLICY, REDIS, evaluated_scan, web_listeners

POLICY = LOOPBACK_POLICY + """  - id: ephemeral-pool
    check: net.ephemeral_port_range
    title: Ephemeral pool
    severity: medium
"""
REDIS_EXCEPTION = ("params: {allow: [loopback], exceptions: [{match: {process: redis-server, ports: [6379]}, "
                   "allow: [any], reason: cache for the web tier}]}")


def _evidence(tmp_path: Path, name: str, day: int, policy: str) -> Path:
    return evaluated_scan(tmp_path, name, day, web_listeners(redis=True), policy=policy, policy_file=f"{name}.yaml",
                          expected_exit=(0, 1))


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
    after = evaluated_scan(tmp_path, "closed", 1, web_listeners(redis=False), policy=POLICY, policy_file="before.yaml",
                           expected_exit=0)  # the policy of before, redis closed
    result = run_cli("diff", before, after, "--json")
    data = json.loads(result.stdout)
    assert (result.returncode, data["improvements"]) == (1, []), result.stdout
    (change,) = data["policy_changes"]
    assert (change["kind"], change["subject"], change["loses_coverage"]) == (
        "check_version_changed", "net.bind_addresses", True)
    assert [(c["subject"], c["before"], c["after"]) for c in change["findings"]] == [(REDIS, "fail", None)]
