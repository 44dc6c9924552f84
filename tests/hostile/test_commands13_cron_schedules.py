"""`schedule install --backend cron --on-calendar` with five time fields cron does not run as given.

Measured with Debian's cron (3.0pl1-162) on a private /etc/cron.d: a step after a single number
(``5/2``) is a syntax error, and cron then ignores the whole file; a range from high to low
(``59-58``, ``23-22``) is taken and selects nothing (cron does not wrap it: the job never ran);
``1-2-3`` is taken as ``1-2``; and a day of the month no selected month has (``30 2 *``: with a
``*`` day of the week both day fields must match) never comes.  Each was installed with exit 0,
and no scan ever ran.  Now exit 2 naming the field, nothing written; the systemd backend checks
its calendar with systemd-analyze already."""

from __future__ import annotations

import pytest

from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


@pytest.mark.parametrize("calendar, words", [
    ("5/2 * * * *", "the minute field '5/2': a step follows * or a range, never a single number"),
    ("59-58 * * * *", "the minute field '59-58': a range from high to low selects nothing"),
    ("0 23-22 * * *", "the hour field '23-22': a range from high to low selects nothing"),
    ("1-2-3 * * * *", "the minute field '1-2-3': not *, a number from 0 to 59 or a range of two"),
    ("0 3 30 2 *", "cron would never run it"),
    ("0 3 31 4,6,9,11 *", "cron would never run it"),
])
def test_a_schedule_cron_never_runs_is_refused(image_root, calendar, words):
    before = tree(image_root)
    result = install(image_root, "--on-calendar", calendar, backend="cron")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert words in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert tree(image_root) == before


@pytest.mark.parametrize("calendar", ["0 3 29 2 *", "0 3 30 2 1", "*/15 1-5/2 * * 0-7", "0 0 31 */2 *", "0 4 * * 7",
                                      "0 3 30-31 */2 *"])
def test_a_schedule_cron_runs_is_written(image_root, calendar):
    result = install(image_root, "--on-calendar", calendar, backend="cron")
    assert result.returncode == 0, result.stderr
    job = (image_root / "etc/cron.d/lbaudit").read_text(encoding="utf-8").splitlines()[-1]
    assert job.startswith(f"{calendar} root ")
