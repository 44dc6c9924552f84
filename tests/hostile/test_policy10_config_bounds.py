"""Hostile corpus, policy round 10: a configuration file's integer out of its option's range is
refused at the file's line.

``expiry_warning_days: 99999`` (or ``-5``) in ``$LBAUDIT_CONFIG`` passed the file's check (an
integer) and was then refused by click as the default of ``--expiry-warning-days``: "Invalid value
for '--expiry-warning-days' (env var: 'LBAUDIT_EXPIRY_WARNING_DAYS')", naming an option and a
variable neither of which was set, and not the file or its line.  The file's check now holds the
option's range (one pair, auditor/config.py), so the problem is the file's, at its line, exit 2.
"""

from __future__ import annotations

import pytest

from auditor.config import EXPIRY_WARNING_DAYS_RANGE
from tests.cli import run_cli

POLICY = """\
id: t
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
"""


@pytest.mark.parametrize("days", ["99999", "-5", "3651"])
def test_expiry_warning_days_out_of_range_is_the_files_problem(tmp_path, days):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    config = tmp_path / "config.yaml"
    config.write_text(f"org_name: Example\nexpiry_warning_days: {days}\n")
    result = run_cli("validate", policy, env={"LBAUDIT_CONFIG": str(config)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{config}:2:1: expiry_warning_days: expected an integer from 0 to 3650; found {days}" in result.stderr
    assert "--expiry-warning-days" not in result.stderr


def test_the_file_and_the_option_take_the_same_range(tmp_path):
    """The option's range is the file's: 3650 is taken by both, and refused by neither."""
    assert EXPIRY_WARNING_DAYS_RANGE == (0, 3650)
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    config = tmp_path / "config.yaml"
    config.write_text("expiry_warning_days: 3650\n")
    assert run_cli("validate", policy, env={"LBAUDIT_CONFIG": str(config)}).returncode == 0
    assert run_cli("validate", policy, "--expiry-warning-days", "3651").returncode == 2
