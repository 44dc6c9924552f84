"""A number of thousands of digits where lbaudit reads one from text it did not write is a usage
error, never int()'s own ValueError.

Before: Python's int() refuses more than 4,300 digits ("Exceeds the limit (4300 digits) for integer
string conversion ... use sys.set_int_max_str_digits()"), and three readers called it on text
that had only passed ``isdigit()``: ``LBAUDIT_STORE_TIMEOUT`` (checked before every command), a
cron field of ``schedule install --backend cron --on-calendar`` (a value or a step) and the
number of ``schedule install --randomized-delay``.  Each was exit 70 with Python's advice.  Now each
reads its number through ``auditor.text.ascii_decimal`` (ASCII digits, a bounded count of them)
and is exit 2 naming the option or variable; nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.schedule.conftest import install_into_image, make_image_root, tree

USAGE = 2
DIGITS = "9" * 5000  # past int()'s 4,300


def assert_usage(run, *named: str) -> None:
    assert run.returncode == USAGE, (run.returncode, run.stderr[-1500:])
    assert "internal error" not in run.stderr and "set_int_max_str_digits" not in run.stderr, run.stderr
    for text in named:
        assert text in run.stderr, run.stderr


def test_a_store_timeout_of_thousands_of_digits_is_exit_2_naming_the_variable(tmp_path: Path) -> None:
    run = run_cli("history", "list", "--store", tmp_path / "store.db", cwd=tmp_path, timeout=60,
                  env={"LBAUDIT_CONFIG": "", "LBAUDIT_STORE_TIMEOUT": DIGITS})
    assert_usage(run, "LBAUDIT_STORE_TIMEOUT=", "expected a whole number of seconds from 2 to 86400")
    assert list(tmp_path.iterdir()) == []


def test_a_store_timeout_within_its_range_is_still_taken(tmp_path: Path) -> None:
    run = run_cli("history", "list", "--store", tmp_path / "store.db", cwd=tmp_path, timeout=60,
                  env={"LBAUDIT_CONFIG": "", "LBAUDIT_STORE_TIMEOUT": "86400"})
    # read past the variable's check: the store is what is missing
    assert run.returncode == USAGE and "LBAUDIT_STORE_TIMEOUT" not in run.stderr, run.stderr


@pytest.mark.parametrize("calendar", [f"*/{DIGITS} * * * *", f"{DIGITS} * * * *", f"0 1-{DIGITS} * * *"])
def test_a_cron_field_of_too_many_digits_is_exit_2(tmp_path: Path, calendar: str) -> None:
    image_root = make_image_root(tmp_path)
    before = tree(image_root)
    run = install_into_image(image_root, "--on-calendar", calendar, backend="cron")
    assert_usage(run, "--on-calendar", "the cron backend takes hourly, daily, weekly or five cron time fields")
    assert len(run.stderr) < 1000, run.stderr  # the value is quoted cut short, not 5,000 digits long
    assert tree(image_root) == before


def test_cron_fields_within_their_ranges_are_still_written(tmp_path: Path) -> None:
    image_root = make_image_root(tmp_path)
    run = install_into_image(image_root, "--on-calendar", "*/15 0-23 1-31 1-12 0-7", backend="cron")
    assert run.returncode == 0, run.stderr
    assert "*/15 0-23 1-31 1-12 0-7 " in (image_root / "etc/cron.d/lbaudit").read_text()


@pytest.mark.parametrize("delay", [f"{DIGITS}s", f"{DIGITS}", "1" + "0" * 20 + "us"])
def test_a_randomized_delay_of_too_many_digits_is_exit_2(tmp_path: Path, delay: str) -> None:
    image_root = make_image_root(tmp_path)
    before = tree(image_root)
    run = install_into_image(image_root, "--randomized-delay", delay)
    assert_usage(run, "--randomized-delay", "longer than systemd can hold")
    assert len(run.stderr) < 1000, run.stderr
    assert tree(image_root) == before


def test_a_randomized_delay_of_twenty_digits_systemd_holds_is_read_as_its_length(tmp_path: Path) -> None:
    # 2**64 - 2 microseconds: 20 digits, and systemd's usec_t holds it.  It was written (exit 0), but
    # 584,000 years of delay on a daily timer is a scan that never runs
    # (tests/hostile/test_sched20_randomized_delay_period.py): refused for that, not as unreadable
    image_root = make_image_root(tmp_path)
    before = tree(image_root)
    run = install_into_image(image_root, "--randomized-delay", "18446744073709551614us")
    assert_usage(run, "--randomized-delay", "between two runs")
    assert "longer than systemd can hold" not in run.stderr
    assert tree(image_root) == before
