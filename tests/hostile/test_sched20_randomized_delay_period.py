"""`schedule install --backend systemd` with a --randomized-delay longer than the time between two
runs of its --on-calendar.

systemd delays every elapse of the timer by the host's fixed offset, drawn from 0 up to
RandomizedDelaySec=, and counts the next elapse from the last trigger: with a delay longer than
the period, the scan runs less often than --on-calendar says, and with a delay of years it
practically never runs.  ``--randomized-delay 52w`` (the daily default calendar) and
``--on-calendar minutely`` with the default delay of 1h were installed with exit 0, as was
``18446744073709551614us`` (584,000 years): a timer that lists a next run and never starts a
scan, with nothing to say so.  Now a delay given longer than the shortest time between two runs
is exit 2, nothing written; the default delay is cut to that time.
"""

from __future__ import annotations

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, systemd_analyze, tree


@pytest.mark.parametrize("extra", [
    ("--randomized-delay", "52w"),  # the default calendar: daily
    ("--on-calendar", "weekly", "--randomized-delay", "8d"),
    ("--randomized-delay", "18446744073709551614us"),
])
def test_a_delay_longer_than_the_period_is_refused(tmp_path, extra):
    image_root = make_image_root(tmp_path)
    before = tree(image_root)
    result = install(image_root, *extra)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "--randomized-delay" in result.stderr and "between two runs" in result.stderr, result.stderr
    assert tree(image_root) == before


@pytest.mark.parametrize("extra", [
    (),  # daily, 1h
    ("--on-calendar", "hourly"),  # a delay as long as the period: each hour's run within its hour
    ("--on-calendar", "minutely", "--randomized-delay", "30s"),
    ("--on-calendar", "weekly", "--randomized-delay", "7d"),
])
def test_a_delay_within_the_period_is_written(tmp_path, extra):
    image_root = make_image_root(tmp_path)
    result = install(image_root, *extra)
    assert result.returncode == 0, result.stderr
    assert (image_root / "etc/systemd/system/lbaudit-scan.timer").is_file()


@pytest.mark.live  # systemd-analyze reads the host's clock and time zone for the next elapses
@pytest.mark.integration  # runs systemd-analyze
@pytest.mark.parametrize("delay, code", [("5d", 2), ("3d", 0)])
def test_the_period_of_an_expression_is_systemds(tmp_path, delay, code):
    """Monday and Friday: three days apart at the shortest, as systemd-analyze lists the elapses."""
    systemd_analyze()
    image_root = make_image_root(tmp_path)
    result = install(image_root, "--on-calendar", "Mon,Fri 03:00", "--randomized-delay", delay)
    assert result.returncode == code, (result.stdout, result.stderr)
    if code:
        assert "between two runs" in result.stderr, result.stderr


@pytest.mark.parametrize("calendar, written", [("minutely", "60s"), ("hourly", "1h"), ("daily", "1h")])
def test_the_default_delay_is_cut_to_the_period(tmp_path, calendar, written):
    """The default hour on a schedule every minute: refused, it made every frequent schedule need a
    --randomized-delay; now the delay written is the period."""
    image_root = make_image_root(tmp_path)
    result = install(image_root, "--on-calendar", calendar)
    assert result.returncode == 0, result.stderr
    timer = (image_root / "etc/systemd/system/lbaudit-scan.timer").read_text()
    assert f"RandomizedDelaySec={written}\n" in timer, timer
