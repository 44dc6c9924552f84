"""Hostile corpus, config round 18: a path in the configuration file is checked as its option checks
a path, and refused at the file's line.

The file's check of a path was weaker than the option's (as policy10 found for an integer's range):
``policy: <a name of 300 bytes>`` passed the file's check and was then refused by click as the
default of ``--policy``: "Invalid value for '--policy' (env var: 'LBAUDIT_POLICY'): ... longer
than a file name can be", naming an option and a variable neither of which was set, and not the
file or its line.  So was a path longer than PATH_MAX.
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


@pytest.fixture()
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    return path


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("policy", "a" * 300, "has a name of 300 bytes"),
    ("waivers", "w" * 256 + ".yaml", "has a name of 261 bytes"),
    ("org_logo", "/".join(["d" * 200] * 25), "bytes long, longer than a path can be"),
    ("store", "s" * 300 + ".db", "has a name of 303 bytes"),
])
def test_a_path_no_file_can_have_is_the_files_problem_at_its_line(tmp_path: Path, policy: Path, key: str,
                                                                   value: str, problem: str):
    config = tmp_path / "config.yaml"
    config.write_text(f"org_name: Example\n{key}: {value}\n")
    env = {"LBAUDIT_CONFIG": str(config), "LBAUDIT_POLICY": None, "LBAUDIT_WAIVERS": None,
           "LBAUDIT_ORG_LOGO": None, "LBAUDIT_STORE": None}
    for command in (["validate", policy], ["config", "show"]):
        result = run_cli(*command, env=env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"{config}:2:1: {key}: " in result.stderr, result.stderr
        assert problem in result.stderr, result.stderr
        assert "env var" not in result.stderr and "LBAUDIT_" not in result.stderr.replace("LBAUDIT_CONFIG", "")

