"""``max_age`` (configuration file, LBAUDIT_MAX_AGE, --max-age) with a number of more than six digits.

The duration pattern took at most six digits per number, so ``max_age: 1000000m`` (694 days) and
``3000000000s`` (95 years), both within the century lbaudit takes, were refused, and
``999999999w`` was refused as "expected a whole number with a unit, s, m, h, d or w", which it is:
the message said the wrong thing was wrong.  Now any number of digits is read, a duration past
the century is refused as such ("more than 36600 days"), and a number of thousands of digits
(Python's int() refuses past 4,300) is that too, not a ValueError of int()'s.
"""

from __future__ import annotations

import json

import pytest

from tests.cli import run_cli


def _config(tmp_path, value: str):
    path = tmp_path / "config.yaml"
    path.write_text(f"max_age: {value}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("value", ["1000000m", "3000000000s", "0000000000001d"])
def test_a_duration_within_the_century_is_taken_whatever_its_digits(tmp_path, value):
    result = run_cli("config", "show", "--json", env={"LBAUDIT_CONFIG": str(_config(tmp_path, value)),
                                                      "LBAUDIT_MAX_AGE": None})
    assert result.returncode == 0, result.stderr
    row = next(r for r in json.loads(result.stdout) if r["key"] == "max_age")
    assert row["value"] == value and row["source"].endswith("config.yaml:1"), row


@pytest.mark.parametrize("value", ["999999999w", "5000000000s", "9" * 5000 + "s", "1d" + "9" * 30 + "h"])
def test_a_duration_past_the_century_says_so(tmp_path, value):
    path = _config(tmp_path, value)
    result = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(path), "LBAUDIT_MAX_AGE": None})
    assert result.returncode == 2, result.stdout
    assert f"{path}:1:1: max_age:" in result.stderr and "more than 36600 days" in result.stderr, result.stderr
    assert "internal error" not in result.stderr
    variable = run_cli("config", "show", env={"LBAUDIT_CONFIG": "", "LBAUDIT_MAX_AGE": value})
    assert variable.returncode == 2 and "LBAUDIT_MAX_AGE=" in variable.stderr, variable.stderr
    assert "more than 36600 days" in variable.stderr, variable.stderr
