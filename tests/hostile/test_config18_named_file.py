"""Hostile corpus, config round 18: a configuration file that LBAUDIT_CONFIG names and that cannot be
read is said to be the variable's, with its value as it was set.

``LBAUDIT_CONFIG=' '`` (a blank left by a template or a unit's ``Environment=``) was
"lbaudit:  : cannot read the configuration file: No such file or directory": no name to see, no
word of the variable, and every command refused with it (exit 2); ``LBAUDIT_CONFIG=conf.yaml/``
was said as "conf.yaml" (pathlib drops the slash) and a file of that name read.  The message of a
default file (/etc/lbaudit/config.yaml, ~/.config/...) said how to choose another; the variable's said
nothing of where the name came from.  Now: the variable, its value quoted, and how to read none.
"""

from __future__ import annotations

from pathlib import Path

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
HINT = "(named by LBAUDIT_CONFIG={value}: name another file, or set LBAUDIT_CONFIG= empty to read none)"


@pytest.mark.parametrize(("value", "shown", "reason"), [
    (" ", "' '", "No such file or directory"),
    ("\t", "'\\t'", "No such file or directory"),
    ("missing.yaml", "'missing.yaml'", "No such file or directory"),
    ("config.yaml/", "'config.yaml/'", "Not a directory"),
    (".", "'.'", "is a directory, not a regular file"),
])
def test_a_file_the_variable_names_that_cannot_be_read_names_the_variable(tmp_path: Path, value: str, shown: str,
                                                                          reason: str):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    (tmp_path / "config.yaml").write_text("org_name: Example\n")
    for command in (["validate", policy], ["config", "show"]):
        result = run_cli(*command, env={"LBAUDIT_CONFIG": value}, cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "cannot read the configuration file" in result.stderr, result.stderr
        assert reason in result.stderr, result.stderr
        assert HINT.format(value=shown) in result.stderr, result.stderr
        assert result.stdout == ""


def test_a_default_file_that_cannot_be_read_still_says_how_to_choose_another(tmp_path: Path):
    home = tmp_path / "home"
    (home / "lbaudit").mkdir(parents=True)
    (home / "lbaudit" / "config.yaml").mkdir()  # a directory where the file goes
    result = run_cli("config", "show", env={"LBAUDIT_CONFIG": None, "XDG_CONFIG_HOME": str(home)}, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is a directory, not a regular file" in result.stderr
    assert "LBAUDIT_CONFIG=' '" not in result.stderr
