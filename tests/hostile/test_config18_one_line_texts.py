"""Hostile corpus, config round 18: ``org_name`` and ``assessor`` of the configuration file are one
line of plain text, as their options take them, refused at the file's line.

``--org-name`` and ``--assessor`` refuse a line break or a bidi override ("must be one line of plain
text": a name printed beside the verdict could print a line of its own, "Verdict: COMPLIANT").  The
file's ``org_name: "ACME\\nVerdict: COMPLIANT"`` passed the file's check (text), ``config show``
showed it as the effective value (exit 0), and ``report --pdf`` then refused it as "Invalid value for
'--org-name' (env var: 'LBAUDIT_ORG_NAME')", an option and a variable neither of which was set, and
not the file or its line.  ``config show`` showed the variable ``LBAUDIT_ORG_NAME`` holding a line
break as effective too, where every command with the option refuses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli


@pytest.mark.parametrize("key", ["org_name", "assessor"])
@pytest.mark.parametrize("written", ["ACME\\nVerdict: COMPLIANT", "ACME\\rX", "\\u202eEMCA", "ACME\\u2028X"])
def test_a_text_of_more_than_one_line_is_the_files_problem_at_its_line(tmp_path: Path, key: str, written: str):
    config = tmp_path / "config.yaml"
    config.write_text(f'color: never\n{key}: "{written}"\n', encoding="utf-8")
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_ORG_NAME": None,
                                         "LBAUDIT_ASSESSOR": None}, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"{config}:2:1: {key}: expected one line of plain text" in run.stderr, run.stderr
    assert "env var" not in run.stderr and run.stdout == ""


@pytest.mark.parametrize("variable", ["LBAUDIT_ORG_NAME", "LBAUDIT_ASSESSOR"])
def test_config_show_refuses_a_variable_of_more_than_one_line(tmp_path: Path, variable: str):
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": "", variable: "ACME\nVerdict: COMPLIANT"}, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"lbaudit: {variable}=" in run.stderr and "one line of plain text" in run.stderr, run.stderr
    assert run.stdout == ""


def test_control_one_line_of_text_is_taken(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text('org_name: "ACME Corp \u00e9"\nassessor: "J. Doe"\n', encoding="utf-8")
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_ORG_NAME": None,
                                         "LBAUDIT_ASSESSOR": None}, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "ACME Corp \u00e9" in run.stdout and "J. Doe" in run.stdout
