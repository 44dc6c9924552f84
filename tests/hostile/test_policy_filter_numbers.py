"""``audit.socket_logging`` ``accepted_filters`` with a number of thousands of digits is read as
auditctl reads it (strtoul saturating at 64 bits), like one of thirty digits.

The C-number reader of the audit-rule grammar called int() on every digit; past 4,300 digits
Python refuses, and the policy was refused with "Exceeds the limit (4300 digits) for integer string
conversion ... use sys.set_int_max_str_digits()": Python's own advice, not lbaudit's, and a verdict
that depended on how many digits an absurd number had.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

POLICY = """id: filters
version: "1"
owner: T
rules:
  - id: socket-audit
    check: audit.socket_logging
    params:
      accepted_filters: ["auid>={digits}"]
"""


@pytest.mark.parametrize("digits", [30, 5000, 100_000])
def test_a_filter_number_of_any_length_is_read_as_a_saturated_64_bit_value(tmp_path: Path, digits: int) -> None:
    """On main: 30 digits exit 0; 5,000 and 100,000 exit 2 with Python's int limit message."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(digits="9" * digits), encoding="utf-8")
    run = run_cli("validate", "--no-plugins", policy)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "set_int_max_str_digits" not in run.stdout + run.stderr
