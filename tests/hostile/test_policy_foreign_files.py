"""A file that is not a policy, a waivers file or a configuration is refused without quoting it.

A policy's ``extends`` names any file the run can read, and the loader listed every problem of that
file with what it held: ``extends: /etc/shadow`` printed each account's password hash as an
"unknown key" into the log of whoever evaluated the policy (a CI job running as root, a scheduled
scan).  A policy is data a pull request may change; it must not make lbaudit disclose a file.  Now a
mapping none of whose top-level keys belongs to the kind of file expected is refused naming its path
and what was expected; a file with at least one key of its kind has mistakes, listed as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

SECRET = "S3cr3t-hash-7f2a"

# Files a run can read that are not policies, each holding the secret where the loader quoted it:
# as a key (shadow lines end with ':', so YAML reads each line as a key), as a key of a nested
# mapping, as a value of a top-level key.
FOREIGN = {
    "shadow": f"root:$6${SECRET}:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    "secrets-mapping": f"database:\n  password: {SECRET}\n  user: admin\n",
    "key-value": f"{SECRET}: 1\napi_token: {SECRET}\n",
}

CHILD = 'id: child\nversion: "1"\nowner: O\nextends: {parent}\nrules: []\n'


@pytest.fixture(params=sorted(FOREIGN))
def foreign(request, tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "secret.conf"
    path.parent.mkdir()
    path.write_text(FOREIGN[request.param], encoding="utf-8")
    return path


def _no_secret(result) -> None:
    assert SECRET not in result.stdout and SECRET not in result.stderr, result.stderr


def test_a_policy_extending_a_file_that_is_no_policy_is_exit_2_and_quotes_none_of_it(tmp_path: Path, foreign: Path):
    policy = tmp_path / "child.yaml"
    policy.write_text(CHILD.format(parent=foreign), encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", policy)
    assert checked.returncode == 2
    _no_secret(checked)
    assert f"{foreign}:1:1: not a policy: none of its" in checked.stdout + checked.stderr
    evidence = tmp_path / "e.json"
    evaluated = run_cli("evaluate", "--no-plugins", "--policy", policy, "--root", tmp_path, "-o", evidence, "-q")
    assert evaluated.returncode == 2
    _no_secret(evaluated)
    assert not evidence.exists()


def test_a_policy_given_directly_that_is_no_policy_quotes_none_of_it(foreign: Path):
    checked = run_cli("validate", "--no-plugins", foreign)
    assert checked.returncode == 2
    _no_secret(checked)


def test_a_waivers_file_that_is_no_waivers_file_quotes_none_of_it(tmp_path: Path, foreign: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text('id: p\nversion: "1"\nowner: O\nrules: []\n', encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", "--waivers", foreign, policy)
    assert checked.returncode == 2
    _no_secret(checked)
    assert "not a waivers file: none of its" in checked.stdout + checked.stderr


def test_a_configuration_that_is_no_configuration_quotes_none_of_it(foreign: Path):
    shown = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(foreign)})
    assert shown.returncode == 2
    _no_secret(shown)
    assert "not an lbaudit configuration file: none of its" in shown.stderr


def test_control_case_a_parent_policy_with_a_mistake_still_has_it_named(tmp_path: Path):
    parent = tmp_path / "base.yaml"
    parent.write_text('id: base\nversion: "1"\nowner: O\nrule: []\n', encoding="utf-8")
    policy = tmp_path / "child.yaml"
    policy.write_text(CHILD.format(parent="base.yaml"), encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", policy)
    assert checked.returncode == 2
    assert "base.yaml:4:1: policy: unknown key 'rule'" in checked.stdout + checked.stderr
    assert "did you mean 'rules'" in checked.stdout + checked.stderr


def test_control_case_a_configuration_with_one_setting_and_a_typo_names_the_typo(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("color: never\nout_dri: reports\n", encoding="utf-8")
    shown = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(config)})
    assert shown.returncode == 2
    assert "unknown key 'out_dri'" in shown.stderr
