"""``history trend --host NAME`` summed the runs of every host that goes by NAME.  Two machines both
called "web1" (another machine id each: two hosts of the store, two chains) made one series: the
one with a wildcard redis failed and the other passed, and the trend of "web1" showed one failure a
day over two runs, the clean machine's run hiding which host failed and diluting its share (and a
clean host's trend carried the other's failures).  ``history diff`` and ``history retire`` refuse
such a name ("several hosts") and name each host's key for --host; trend now does the same (exit
2, nothing printed on stdout), and the key of one host gives that host's runs alone."""

from __future__ import annotations

import json

import pytest

from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import record_scan

pytestmark = pytest.mark.slow  # real evaluations

FAILING_MACHINE = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
CLEAN_MACHINE = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"


def test_trend_of_a_name_two_machines_share_is_refused(tmp_path, store_url):  # noqa: F811
    record_scan(tmp_path, store_url, "failing", wildcard_redis=True, hostname="web1", machine_id=FAILING_MACHINE)
    record_scan(tmp_path, store_url, "clean", wildcard_redis=False, hostname="web1", machine_id=CLEAN_MACHINE)
    trend = run_cli("history", "trend", "--since", "2000-01-01", "--host", "web1", "--store", store_url, "--json")
    assert trend.returncode == 2, trend.stdout  # before: exit 0, both machines' runs in one series
    assert trend.stdout == ""
    assert f"machine-id:{FAILING_MACHINE}" in trend.stderr and f"machine-id:{CLEAN_MACHINE}" in trend.stderr
    assert "several hosts" in trend.stderr

    alone = run_cli("history", "trend", "--since", "2000-01-01", "--host", f"machine-id:{CLEAN_MACHINE}",
                    "--store", store_url, "--json")
    assert alone.returncode == 0, alone.stderr
    days = json.loads(alone.stdout)["by_day"]
    assert sum(day["runs"] for day in days) == 1
    failing = run_cli("history", "trend", "--since", "2000-01-01", "--host", FAILING_MACHINE, "--store", store_url,
                      "--json")
    assert failing.returncode == 0, failing.stderr
    failing_days = json.loads(failing.stdout)["by_day"]
    assert sum(day["runs"] for day in failing_days) == 1
    assert sum(day["fail"] for day in failing_days) > sum(day["fail"] for day in days)


def test_control_case_one_host_by_its_name_is_still_its_trend(tmp_path):
    store = str(tmp_path / "history.db")
    record_scan(tmp_path, store, "monday", wildcard_redis=True, hostname="web1", machine_id=FAILING_MACHINE)
    trend = run_cli("history", "trend", "--since", "2000-01-01", "--host", "web1", "--store", store, "--json")
    assert trend.returncode == 0, trend.stderr
    assert sum(day["runs"] for day in json.loads(trend.stdout)["by_day"]) == 1
