"""A long name the user gave is quoted cut, with its length, not whole.

Error messages quoted user-given names in full: a 900 KB check name in a policy (or an unknown
control id, an unknown key, a waiver's rule, ``--format``, ``explain``'s check, a configuration
file's key) gave a 900 KB message, the file's problem lost in it.  Each is now quoted by
``auditor.text.quoted_name``: its first 100 characters and how long it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "audit-rules"

LONG = 900_000
CUT = f"'{'x' * 100}'... (a name of {LONG:,} characters)"

RULE = """id: long
version: "1"
owner: Security <sec@example.com>
rules:
  - id: tw
    check: {check}
    controls: [{control}]
    params: {{max_time_wait_share: 0.7}}
{extra}"""


def _validated(tmp_path: Path, **fields: str):
    values = {"check": "net.time_wait", "control": "SC-7", "extra": "", **fields}
    policy = tmp_path / "p.yaml"
    policy.write_text(RULE.format(**values), encoding="utf-8")
    return run_cli("validate", "p.yaml", cwd=tmp_path)


@pytest.mark.parametrize(("fields", "message"), [
    ({"check": "x" * LONG}, f"rules[0].check: unknown check {CUT} (expected one of: "),
    ({"control": "x" * LONG}, f"p.yaml:7:16: rules[0].controls[0]: unknown NIST SP 800-53 Rev. 5 control {CUT} "
                              "(expected an id such as SC-7 or SC-7(5)"),
    ({"extra": f"    ? {'x' * LONG}\n    : 1\n"}, f"rules[0]: unknown key {CUT} (expected one of: "),
    ({"extra": f"? {'x' * LONG}\n: 1\n"}, f"policy: unknown key {CUT} (expected one of: "),
    # a rule id is at most 128 characters: this one is cut all the same
    ({"extra": f"waivers:\n  - rule: {'x' * 128}\n    reason: a test\n    expires: 2999-01-01\n"
               "    approver: Security <sec@example.com>\n"},
     "waivers[0].rule: no rule '" + "x" * 100 + "'... (a name of 128 characters) in this policy"),
], ids=["check", "control", "rule-key", "policy-key", "waiver-rule"])
def test_a_long_unknown_name_in_a_policy_is_quoted_cut_with_its_length(tmp_path: Path, fields: dict[str, str],
                                                                        message: str) -> None:
    result = _validated(tmp_path, **fields)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out[:2000]
    assert message in out, out[:2000]
    assert len(out) < 5_000


def test_control_case_a_short_unknown_check_is_quoted_whole(tmp_path: Path) -> None:
    result = _validated(tmp_path, check="net.time_wiat")
    assert result.returncode == 2
    assert ("p.yaml:6:5: rules[0].check: unknown check 'net.time_wiat'; did you mean 'net.time_wait'?"
            in result.stdout + result.stderr)


def test_explain_of_a_long_unknown_check_is_quoted_cut(tmp_path: Path) -> None:
    result = run_cli("explain", "x" * LONG)
    assert result.returncode == 2
    assert result.stderr.startswith(f"lbaudit: unknown check {CUT} (available: ")
    assert len(result.stderr) < 5_000


def test_a_long_unknown_format_is_quoted_cut(tmp_path: Path) -> None:
    result = run_cli("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--root", ROOT, "--output",
                     tmp_path / "e.json", "--format", "x" * LONG)
    assert result.returncode == 2
    assert f"unknown format {CUT} (available: " in result.stderr
    assert len(result.stderr) < 5_000
    assert not (tmp_path / "e.json").exists()


def test_a_long_unknown_key_of_the_configuration_file_is_quoted_cut(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"color: auto\n? {'x' * 60_000}\n: 1\n", encoding="utf-8")
    result = run_cli("validate", REPO / "policies" / "corp.yaml", env={"LBAUDIT_CONFIG": str(config)})
    assert result.returncode == 2
    assert f"unknown key '{'x' * 100}'... (a name of 60,000 characters) (expected one of: " in result.stderr
    assert len(result.stderr) < 5_000
