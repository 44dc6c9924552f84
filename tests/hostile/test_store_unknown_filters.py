"""A misspelt --host or --policy was answered as a host or policy with nothing wrong: `history
trend --host web0l --csv` printed the header and no day, `list` and `export` nothing, all exit 0;
a dashboard or a script summing the failures read zero.  A host or policy the store never recorded
is exit 2, naming it; a known one with no run in the window is still an empty answer."""

from __future__ import annotations

import json

import pytest

from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import record_scan

COMMANDS = [["history", "trend", "--csv"], ["history", "trend", "--json"], ["history", "list"], ["history", "export"]]
CASES = [(c, "--host", "web0l.example.test") for c in COMMANDS] + [
    (c, "--policy", "corp-basline") for c in [*COMMANDS, ["fleet", "report"]]]


@pytest.mark.parametrize("command, option, value", CASES)
def test_an_unknown_host_or_policy_is_exit_2(tmp_path, store_url, command, option, value):  # noqa: F811
    record_scan(tmp_path, store_url, "monday", wildcard_redis=True)
    result = run_cli(*command, option, value, "--store", store_url)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"no {option[2:]} {value!r} in the history store" in result.stderr and "Traceback" not in result.stderr


def test_a_known_host_with_no_run_in_the_window_is_an_empty_answer(tmp_path):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "monday", wildcard_redis=True)
    result = run_cli("history", "trend", "--host", "web01.example.test", "--since", "2001-01-01", "--until",
                     "2001-01-31", "--json", "--store", store)
    assert result.returncode == 0 and json.loads(result.stdout)["by_day"] == [], result.stderr
