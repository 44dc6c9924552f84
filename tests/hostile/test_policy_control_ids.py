"""A rule's own ``controls`` that are not NIST ids crashed the loader.

The loader reported an unknown control as a problem, then went on to build the resolved rule,
whose model holds the control-id pattern: ``controls: [sc-7]`` (lower case, the commonest slip)
or ``[nan]`` became pydantic's ValidationError, "internal error", exit 70, and evaluate wrote no
verdict a CI gate could read as bad input.  Found by mutating the shipped policies.  Now each is
exit 2 at its line, with every other problem of the file, and a spelling in lower case names
the id it meant.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "audit-rules"

POLICY = """id: controls
version: "1"
owner: Security <sec@example.com>
rules:
  - id: tw
    check: net.time_wait
    controls: [{controls}]
    params: {{max_time_wait_share: 0.7}}
"""


@pytest.mark.parametrize(("controls", "message"), [
    ("sc-7", "unknown NIST SP 800-53 Rev. 5 control 'sc-7' (expected an id such as SC-7 or SC-7(5) listed in "
             "controls/nist-sp800-53-r5.yaml); did you mean 'SC-7'? ids are written in capitals"),
    ("nan", "unknown NIST SP 800-53 Rev. 5 control 'nan'"),
    ("'SC-7 '", "unknown NIST SP 800-53 Rev. 5 control 'SC-7 '"),
    ("AU-12(99)", "unknown NIST SP 800-53 Rev. 5 control 'AU-12(99)'"),
])
def test_an_unknown_control_is_a_policy_problem_at_its_line(tmp_path: Path, controls: str, message: str) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(controls=controls))
    validated = run_cli("validate", "p.yaml", cwd=tmp_path)
    assert validated.returncode == 2, validated.stderr
    assert f"p.yaml:7:16: rules[0].controls[0]: {message}" in validated.stdout + validated.stderr
    assert "internal error" not in validated.stderr

    evidence = tmp_path / "e.json"
    evaluated = run_cli("evaluate", "--policy", policy, "--root", ROOT, "--output", evidence)
    assert evaluated.returncode == 2, evaluated.stderr
    assert "internal error" not in evaluated.stderr
    assert not evidence.exists()


def test_every_problem_of_the_file_is_reported_with_the_unknown_control(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(controls="sc-7").replace("max_time_wait_share: 0.7", "max_time_wait_share: 7"))
    validated = run_cli("validate", policy)
    assert validated.returncode == 2
    out = validated.stdout + validated.stderr
    assert "rules[0].controls[0]: unknown NIST SP 800-53 Rev. 5 control 'sc-7'" in out
    assert "max_time_wait_share" in out
