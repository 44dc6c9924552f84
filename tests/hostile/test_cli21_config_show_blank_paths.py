"""``config show`` refuses a path variable that every command with its option refuses.

The defect: ``LBAUDIT_POLICY=' '`` (a template's or a unit's blank ``Environment=``) and
``LBAUDIT_OUT_DIR=-`` are refused by every command that has the option (exit 2: a path of white
space alone names no file; only ``-o`` takes ``-``), but ``config show`` printed them as the
effective values from the environment, exit 0, where the README says it refuses what the commands
refuse, naming the variable.
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli


@pytest.mark.parametrize(("variable", "value"), [
    ("LBAUDIT_POLICY", " "),
    ("LBAUDIT_OUT_DIR", "\t"),
    ("LBAUDIT_STORE", "  "),
    ("LBAUDIT_POLICY", "-"),
    ("LBAUDIT_SIGN_KEY", "-"),
    ("LBAUDIT_STORE", "-"),
])
def test_a_path_variable_every_command_refuses_is_refused_by_config_show(tmp_path, variable, value):
    show = run_cli("config", "show", env={"LBAUDIT_CONFIG": "", variable: value}, cwd=tmp_path)
    # before: exit 0, the value shown as the environment's
    assert show.returncode == 2, show.stdout
    assert show.stderr.startswith(f"lbaudit: {variable}={value!r}: "), show.stderr
    assert show.stdout == ""


@pytest.mark.parametrize(("variable", "value", "args"), [
    ("LBAUDIT_POLICY", " ", ("coverage", "--baseline", "moderate")),
    ("LBAUDIT_POLICY", "-", ("coverage", "--baseline", "moderate")),
    ("LBAUDIT_STORE", "  ", ("history", "list")),
])
def test_control_the_commands_refuse_them(tmp_path, variable, value, args):
    done = run_cli(*args, env={"LBAUDIT_CONFIG": "", variable: value}, cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert variable in done.stderr or "--store" in done.stderr, done.stderr
