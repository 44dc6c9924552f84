"""``lbaudit config show`` shows each environment variable's value as the run takes it, or refuses it as
the run does.

The defects: ``LBAUDIT_STORE_TIMEOUT`` of blanks is no value to the run (the configuration file's
``store_timeout`` applies), but config show named the variable as the source and showed a blank
value; ``LBAUDIT_EXPIRY_WARNING_DAYS=abc`` or ``LBAUDIT_COLOR=purple``, which every command that has
the option refuses (exit 2), were shown as the effective values, exit 0; ``" 10"`` was shown as the
text ``" 10"`` where the option takes the number 10 (and ``--json`` gave a string where the file's
value is a number).
"""

from __future__ import annotations

import json

import pytest

from tests.cli import run_cli


def _rows(run):
    return {row["key"]: row for row in json.loads(run.stdout)}


def test_a_blank_store_timeout_variable_leaves_the_files_value(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("store_timeout: 5\n", encoding="utf-8")
    run = run_cli("config", "show", "--json", env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_STORE_TIMEOUT": "  "},
                  cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    row = _rows(run)["store_timeout"]
    assert (row["value"], row["source"]) == (5, f"{config}:1")


def test_a_number_from_the_environment_is_shown_as_the_number_the_option_takes(tmp_path):
    run = run_cli("config", "show", "--json", env={"LBAUDIT_CONFIG": "", "LBAUDIT_EXPIRY_WARNING_DAYS": " 10",
                                                   "LBAUDIT_STORE_TIMEOUT": " 7 "}, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    rows = _rows(run)
    assert rows["expiry_warning_days"]["value"] == 10
    assert rows["store_timeout"]["value"] == 7


@pytest.mark.parametrize("variable, value, expected", [
    ("LBAUDIT_EXPIRY_WARNING_DAYS", "abc", "expected an integer from 0 to 3650"),
    ("LBAUDIT_EXPIRY_WARNING_DAYS", "99999", "expected an integer from 0 to 3650"),
    ("LBAUDIT_COLOR", "purple", "expected one of auto, always, never"),
    ("LBAUDIT_MAX_AGE", "soon", "expected a whole number with a unit"),
])
def test_a_value_the_commands_refuse_is_refused_by_config_show(tmp_path, variable, value, expected):
    run = run_cli("config", "show", env={"LBAUDIT_CONFIG": "", variable: value}, cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr.startswith(f"lbaudit: {variable}={value!r}: ")
    assert expected in run.stderr
    assert run.stdout == ""


def test_control_a_valid_variable_wins_over_the_file(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("color: never\n", encoding="utf-8")
    run = run_cli("config", "show", "--json", env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_COLOR": "always"},
                  cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    row = _rows(run)["color"]
    assert (row["value"], row["source"]) == ("always", "environment LBAUDIT_COLOR")
