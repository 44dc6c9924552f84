"""A rule switched off or its severity lowered is said by validate and evaluate.

A child policy of two lines (``{id: listeners, enabled: false}``, or ``severity: info`` over an
inherited high rule) turned a rule into one that never fails the run: disabled, nothing it checks is
judged; below ``--fail-on``, its failures are listed and the run passes (exit 0).  ``validate`` said
"ok" and ``evaluate`` nothing at all, where the blanket-waiver warning says as much for a waiver that
does less.  Each is now a warning at the line that does it (the exit code is the documented one:
warnings never change it; the warning is what is asserted).
"""

from __future__ import annotations

from pathlib import Path

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot, sysctl_facts

BASE = """id: base
version: "1"
owner: T
rules:
  - id: listeners
    check: net.bind_addresses
    severity: critical
  - id: pool
    check: net.ephemeral_port_range
"""

CHILD = """id: child
version: "1"
owner: T
extends: base.yaml
rules:
  - id: listeners
    severity: info
  - id: pool
    enabled: false
"""


def _write(tmp_path: Path) -> Path:
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "child.yaml").write_text(CHILD, encoding="utf-8")
    return tmp_path / "child.yaml"


DISABLED = ("child.yaml:8:5: warning: rules[1] (pool): enabled: false switches off the rule inherited from base.yaml, "
            "so net.ephemeral_port_range is not run and a run passes whatever it would find there; remove the "
            "override if its findings must be judged")
LOWERED = ("child.yaml:7:5: warning: rules[0].severity: info is below the severity critical inherited from "
           "base.yaml, so under --fail-on low or above the rule's failures are listed and the run passes; set it to "
           "critical if its failures must fail such a run")


def test_validate_warns_about_an_inherited_rule_switched_off_and_one_lowered(tmp_path):
    """On main: "child.yaml: ok (child 1: 1 enabled rules, 0 waivers)" and nothing else."""
    _write(tmp_path)
    run = run_cli("validate", "--no-plugins", "child.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "child.yaml: ok (child 1: 1 enabled rules, 0 waivers, 2 warnings)"
    assert lines[1:] == ["  " + LOWERED, "  " + DISABLED]


def test_evaluate_says_it_on_stderr_with_fail_on_high_passing(tmp_path):
    """On main: exit 0 under --fail-on high, sshd on 0.0.0.0 failing at info, not a word why."""
    _write(tmp_path)
    host = tmp_path / "host.json"
    sshd = [ProcessInfo(pid=1, name="sshd", exe="/usr/sbin/sshd", user="root")]
    host.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 22, processes=sshd)],
                                             sysctl=sysctl_facts())))
    run = run_cli("evaluate", "--no-plugins", "--policy", "child.yaml", "--snapshot", host, "-o", tmp_path / "e.json",
                  "--fail-on", "high", "--color", "never", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "lbaudit: warning: " + LOWERED.replace(": warning: ", ": ", 1) in run.stderr
    assert "lbaudit: warning: " + DISABLED.replace(": warning: ", ": ", 1) in run.stderr


def test_a_rule_disabled_in_its_own_file_is_warned_about(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(BASE + "    enabled: false\n  - id: other\n    check: net.time_wait\n"
                      "    params: {max_time_wait_share: 0.5}\n    severity: critical\n", encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "p.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[1:] == [
        "  p.yaml:8:5: warning: rules[1] (pool): enabled: false, so net.ephemeral_port_range is not run and a run "
        "passes whatever it would find there; enable it if its findings must be judged, or remove the rule"]


def test_a_severity_below_the_checks_own_is_warned_about(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(BASE.replace("severity: critical", "severity: low"),
                      encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "p.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[1:] == [
        "  p.yaml:7:5: warning: rules[0].severity: low is below net.bind_addresses's own severity high, so under "
        "--fail-on medium or above the rule's failures are listed and the run passes; set it to high if its "
        "failures must fail such a run"]


def test_control_case_a_severity_raised_says_nothing(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(BASE.replace("severity: critical", "severity: high"),
                      encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "p.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == "p.yaml: ok (base 1: 2 enabled rules, 0 waivers)\n"


def test_a_child_limiting_an_inherited_rule_to_other_platforms_is_warned_about(tmp_path):
    """On main: "ok", and on a Linux host the listener rule not_applicable, sshd on 0.0.0.0 unjudged, exit 0."""
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "child.yaml").write_text('id: child\nversion: "1"\nowner: T\nextends: base.yaml\nrules:\n'
                                         "  - id: listeners\n    platforms: [windows]\n", encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "child.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[1:] == [
        "  child.yaml:7:5: warning: rules[0].platforms: leaves out linux and macos, where the rule inherited from "
        "base.yaml is judged, so on those hosts net.bind_addresses is not run and a run passes whatever it would "
        "find there; name them too if its findings must be judged there"]


def test_control_case_a_rule_limited_in_its_own_file_says_nothing(tmp_path):
    (tmp_path / "p.yaml").write_text(BASE.replace("    severity: critical\n", "    severity: critical\n"
                                                  "    platforms: [linux]\n"), encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "p.yaml", cwd=tmp_path)
    assert run.stdout == "p.yaml: ok (base 1: 2 enabled rules, 0 waivers)\n", run.stdout + run.stderr
