"""A rule limited to platforms its check does not judge is refused (exit 2): it judges nothing anywhere.

``platforms`` limits a rule to hosts of those operating systems; on the others it is not_applicable.
``drift.sysctl`` judges Linux hosts only, so ``{check: drift.sysctl, platforms: [windows, macos]}``
was not_applicable on every host there is: on Linux because the policy limited it, elsewhere because
the check does not judge them.  The policy loaded (exit 0) and read as if Windows and macOS sysctl
drift were checked; beside any rule that passes, the run was compliant.  It is now refused at its
``platforms`` line, naming what the check judges, as a rule with nothing to judge is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

POLICY = """id: platforms
version: "1"
owner: T
rules:
  - id: drift
    check: drift.sysctl
    platforms: {platforms}
  - id: pool
    check: net.ephemeral_port_range
"""


def _validate(tmp_path: Path, platforms: str):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(platforms=platforms), encoding="utf-8")
    return run_cli("validate", "--no-plugins", policy)


@pytest.mark.parametrize(("platforms", "named"), [("[windows, macos]", "windows, macos"), ("[windows]", "windows")])
def test_a_rule_limited_to_platforms_its_check_does_not_judge_is_exit_2(tmp_path, platforms, named):
    """On main: exit 0, a rule that is not_applicable on every host."""
    run = _validate(tmp_path, platforms)
    assert run.returncode == 2, run.stdout + run.stderr
    assert (f"policy.yaml:7:5: rules[0].platforms: check drift.sysctl judges Linux hosts only, so a rule limited "
            f"to {named} judges nothing on any host; name a platform it judges, or drop the rule") \
        in run.stdout + run.stderr


def test_a_parent_s_rule_limited_by_a_child_is_refused_in_the_child(tmp_path):
    (tmp_path / "base.yaml").write_text(POLICY.format(platforms="[linux]"), encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text('id: child\nversion: "1"\nowner: T\nextends: base.yaml\nrules:\n  - id: drift\n'
                     "    platforms: [macos]\n", encoding="utf-8")
    run = run_cli("validate", "--no-plugins", child)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "child.yaml:7:5: rules[0].platforms: check drift.sysctl judges Linux hosts only" in run.stdout + run.stderr


@pytest.mark.parametrize("platforms", ["[linux]", "[linux, windows]"])
def test_control_case_a_platform_the_check_judges_loads(tmp_path, platforms):
    run = _validate(tmp_path, platforms)
    assert run.returncode == 0, run.stdout + run.stderr
