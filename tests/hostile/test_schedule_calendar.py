"""`schedule install --backend systemd` with an --on-calendar systemd rejects, or accepts and never
fires, wrote the timer (exit 0): systemd then loaded it with no next run, or refused the unit at
daemon-reload, and no scan ran again, with nothing to say so.  Such values are checked with
systemd-analyze itself: exit 2, nothing written."""

from __future__ import annotations

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, systemd_analyze, tree


@pytest.fixture
def image_root(tmp_path):
    systemd_analyze()  # a skip without it (a failure in CI): the check is systemd's own parser
    return make_image_root(tmp_path)


@pytest.mark.parametrize("calendar, words", [
    ("25:00", "systemd rejects it"),  # passed the pattern: digits, colon
    ("Mon..Fri 99:00", "systemd rejects it"),
    ("*-*-* 03:00/0", "systemd rejects it"),
    ("2020-01-01 03:00", "never elapses"),  # a date past
    ("2026-02-30", "never elapses"),  # a date that does not exist
])
@pytest.mark.live  # systemd-analyze reads the host's clock and time zone for the next elapse
@pytest.mark.integration  # runs systemd-analyze
def test_a_calendar_systemd_would_not_run_is_refused(image_root, calendar, words):
    before = tree(image_root)
    result = install(image_root, "--on-calendar", calendar)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert words in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert tree(image_root) == before


def test_a_delay_systemd_rejects_is_refused(tmp_path):
    image_root = make_image_root(tmp_path)  # checked without systemd-analyze: its span arithmetic
    before = tree(image_root)
    result = install(image_root, "--randomized-delay", "99999999999999w")  # overflows systemd's usec_t
    assert result.returncode == 2 and "longer than systemd can hold" in result.stderr, result.stderr
    assert tree(image_root) == before


@pytest.mark.live  # systemd-analyze reads the host's clock and time zone for the next elapse
@pytest.mark.integration  # runs systemd-analyze
def test_a_calendar_systemd_runs_is_written(image_root):
    result = install(image_root, "--on-calendar", "Mon *-*-* 03:00")
    assert result.returncode == 0, result.stderr
    assert "OnCalendar=Mon *-*-* 03:00\n" in (image_root / "etc/systemd/system/lbaudit-scan.timer").read_text()
