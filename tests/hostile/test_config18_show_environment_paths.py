"""Hostile corpus, config round 18: ``config show`` refuses a path or a text of an LBAUDIT_* variable
that every command with its option refuses, naming the variable, as it does a number or a choice.

``LBAUDIT_POLICY=<a name of 300 bytes>`` (or a path past PATH_MAX) and ``LBAUDIT_ORG_NAME`` or
``LBAUDIT_STORE`` holding a byte that is no UTF-8 character were shown by ``config show`` as the
effective values (exit 0; ``--json`` wrote the lone surrogate ``"\\udcff"``), where every command
with the option refuses them before any work (exit 2).  commands16 made config show refuse what the
commands refuse for numbers, durations and choices; paths and texts were left out.
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli

POLICY = """\
id: t
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
"""


@pytest.mark.parametrize(("variable", "value", "problem"), [
    ("LBAUDIT_POLICY", "p" * 300 + ".yaml", "has a name of 305 bytes"),
    ("LBAUDIT_SIGN_KEY", "/".join(["k" * 200] * 25), "longer than a path can be"),
    ("LBAUDIT_STORE", "history-\udcff.db", "is not valid UTF-8"),
    ("LBAUDIT_ORG_NAME", "Example \udcff", "is not valid UTF-8"),
    ("LBAUDIT_ASSESSOR", "\udcfe", "is not valid UTF-8"),
])
def test_config_show_refuses_what_every_command_refuses(tmp_path, variable, value, problem):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    env = {"LBAUDIT_CONFIG": "", variable: value}
    for arguments in (["config", "show"], ["config", "show", "--json"]):
        result = run_cli(*arguments, env=env, cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stdout == ""
        assert f"lbaudit: {variable}=" in result.stderr and problem in result.stderr, result.stderr
    # what a command with the option says of the same value
    option = {"LBAUDIT_POLICY": "evaluate", "LBAUDIT_SIGN_KEY": "evaluate", "LBAUDIT_STORE": "evaluate",
              "LBAUDIT_ORG_NAME": "report", "LBAUDIT_ASSESSOR": "report"}[variable]
    command = (["evaluate", "--root", tmp_path, "-o", tmp_path / "out" / "e.json"] if option == "evaluate"
               else ["report", tmp_path / "e.json", "--format", "text"])
    if variable != "LBAUDIT_POLICY":
        command += ["--policy", policy] if option == "evaluate" else []
    if variable == "LBAUDIT_STORE":
        command += ["--record"]
    result = run_cli(*command, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert problem in result.stderr, result.stderr


def test_a_path_or_text_every_command_takes_is_shown(tmp_path):
    env = {"LBAUDIT_CONFIG": "", "LBAUDIT_POLICY": "p" * 250 + ".yaml", "LBAUDIT_STORE": "sqlite:///h.db",
           "LBAUDIT_ORG_NAME": "Ex\u00e4mple"}
    result = run_cli("config", "show", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"value": "Ex\\u00e4mple"' in result.stdout and "sqlite:///h.db" in result.stdout
