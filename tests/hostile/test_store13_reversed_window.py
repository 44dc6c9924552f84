"""`history list --verdict non_compliant --since 2026-12-01 --until 2026-11-01` (the dates the wrong
way round) listed no run, exit 0: "no failing run" of a store of failing runs; `history export` of
the same window wrote nothing.  Now a --since that is not before --until is exit 2, saying why."""

from __future__ import annotations

import pytest

from tests.cli import run_cli
from tests.history.scans import record_scan


@pytest.mark.parametrize("command", ["list", "export"])
@pytest.mark.parametrize("since, until", [("2026-12-01", "2026-11-01"), ("2026-11-29T10:00:00Z", "2026-11-29T10:00:00Z"),
                                          ("2026-11-29T12:00:00+02:00", "2026-11-29T10:00:00Z")])
def test_a_window_given_the_wrong_way_round_is_refused(tmp_path, command, since, until):
    store = str(tmp_path / "history.db")
    record_scan(tmp_path, store, "monday", wildcard_redis=True)
    result = run_cli("history", command, "--verdict", "non_compliant", "--since", since, "--until", until,
                     "--store", store)
    assert (result.returncode, result.stdout) == (2, ""), result.stdout + result.stderr
    assert "is not before --until" in result.stderr and "no run can have started in between" in result.stderr


def test_control_case_a_window_the_right_way_round_lists_the_run(tmp_path):
    store = str(tmp_path / "history.db")
    record_scan(tmp_path, store, "monday", wildcard_redis=True)
    result = run_cli("history", "list", "--since", "2000-01-01", "--until", "2100-01-01", "--store", store)
    assert result.returncode == 0 and "non_compliant" in result.stdout, result.stdout + result.stderr
