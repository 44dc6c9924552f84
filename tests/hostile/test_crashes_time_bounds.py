"""A time or day at the edge of the calendar given to a history command is a usage error, never
the date arithmetic's OverflowError.

Before: ``history list|export --since/--until`` took an ISO time with its offset as valid, and the
store's conversion to UTC (``9999-12-31T23:59:59-01:00`` is in year 10000 in UTC,
``0001-01-01T00:00:00+01:00`` in year 0) was ``OverflowError: date value out of range``, exit 70;
``history trend --until 0001-01-01`` counted its --days back before year 1, the same error.  Now
the option's parser makes the time UTC and refuses one outside years 1 to 9999, and trend refuses
days that reach before year 1: exit 2 naming the option.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.factories import loopback_only_policy, snapshot

USAGE = 2


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history store holding one recorded run."""
    from auditor.storage.snapshot import write_snapshot

    directory = tmp_path_factory.mktemp("time-bounds")
    (directory / "policy.yaml").write_text(loopback_only_policy("bounds"))
    write_snapshot(snapshot(), directory / "snap.json")
    run = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "ev.json", "--record",
                  "--store", "store.db", "-q", cwd=directory, env={"LBAUDIT_CONFIG": ""})
    assert run.returncode in (0, 1, 3), run.stderr
    return directory / "store.db"


def history(store: Path, *args: str):
    return run_cli("history", *args, "--store", store, cwd=store.parent, env={"LBAUDIT_CONFIG": ""}, timeout=60)


def assert_usage(run, *named: str) -> None:
    assert run.returncode == USAGE, (run.returncode, run.stderr[-1500:])
    assert "internal error" not in run.stderr and "OverflowError" not in run.stderr, run.stderr
    for text in named:
        assert text in run.stderr, run.stderr


@pytest.mark.parametrize("command", ["list", "export"])
@pytest.mark.parametrize("option, value", [("--until", "9999-12-31T23:59:59-01:00"),
                                           ("--since", "9999-12-31T23:59:59-23:59"),
                                           ("--since", "0001-01-01T00:00:00+01:00"),
                                           ("--until", "0001-01-01T00:30:00+00:31")])
def test_a_time_outside_the_calendar_in_utc_is_exit_2(store: Path, command: str, option: str, value: str) -> None:
    before = store.read_bytes()
    assert_usage(history(store, command, option, value), option, "is outside the years 1 to 9999 in UTC")
    assert store.read_bytes() == before


@pytest.mark.parametrize("option, value, listed", [("--since", "2000-01-01T05:00:00+05:00", True),
                                                   ("--until", "2000-01-01T05:00:00+05:00", False),
                                                   ("--until", "9999-12-31T23:59:59+00:00", True),
                                                   ("--since", "0001-01-01T01:00:00+01:00", True)])
def test_a_time_with_an_offset_inside_the_calendar_still_filters(store: Path, option: str, value: str,
                                                                  listed: bool) -> None:
    run = history(store, "list", option, value, "--json")
    assert run.returncode == 0, run.stderr
    assert [recorded["id"] for recorded in json.loads(run.stdout)] == ([1] if listed else []), run.stdout


@pytest.mark.parametrize("until, days", [("0001-01-01", "30"), ("0001-01-29", "30"), ("0001-12-31", "366")])
def test_trend_days_reaching_before_year_1_are_exit_2(store: Path, until: str, days: str) -> None:
    assert_usage(history(store, "trend", "--until", until, "--days", days), f"--days {days} before {until}",
                 "reaches before year 1: give --since")


def test_trend_days_reaching_back_to_year_1_still_work(store: Path) -> None:
    run = history(store, "trend", "--until", "0001-01-30", "--days", "30", "--json")
    assert run.returncode == 0, run.stderr
    assert '"since": "0001-01-01"' in run.stdout, run.stdout
