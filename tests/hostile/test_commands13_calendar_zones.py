"""`schedule install --on-calendar` with a time zone systemd accepts (systemd.time(7): "an
optional time zone ... in the IANA format") was refused by install's own pattern when the zone's
name has an underscore or a sign: America/New_York, Asia/Ho_Chi_Minh, Etc/GMT+5 were exit 2 "not a
calendar expression", though `systemd-analyze calendar` takes each and says when it next elapses."""

from __future__ import annotations

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, systemd_analyze


@pytest.fixture
def image_root(tmp_path):
    systemd_analyze()  # a skip without it (a failure in CI): the calendar is checked with it
    return make_image_root(tmp_path)


@pytest.mark.parametrize("calendar", ["*-*-* 03:00 America/New_York", "Mon *-*-* 02:30 Asia/Ho_Chi_Minh",
                                      "*-*-* 03:00 Etc/GMT+5"])
@pytest.mark.live  # systemd-analyze reads the host's clock and time zone database
@pytest.mark.integration  # runs systemd-analyze
def test_a_calendar_in_an_iana_time_zone_is_written(image_root, calendar):
    result = install(image_root, "--on-calendar", calendar)
    assert result.returncode == 0, result.stderr
    timer = (image_root / "etc/systemd/system/lbaudit-scan.timer").read_text(encoding="utf-8")
    assert f"OnCalendar={calendar}\n" in timer


@pytest.mark.parametrize("calendar", ["*-*-* 03:00 Nowhere/No_Such_Zone", "*-*-* 03:00 %n"])
@pytest.mark.live
@pytest.mark.integration
def test_a_zone_systemd_does_not_know_is_still_refused(image_root, calendar):
    result = install(image_root, "--on-calendar", calendar)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "--on-calendar" in result.stderr and "Traceback" not in result.stderr, result.stderr
