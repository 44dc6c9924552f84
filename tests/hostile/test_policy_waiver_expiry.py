"""A waiver's ``expires`` is a calendar day, honoured through its end in UTC, and nothing else.

pydantic read a date and time as its day: ``expires: <today>T00:00:00+14:00`` (a moment that was
yesterday 10:00 UTC) was honoured all of today, turning a failing finding into ``waived`` and the
run into exit 0 after the written expiry had passed.  An integer was read as seconds since 1970
(``1790035200`` is 2026-09-22), a day nobody wrote.  Each is now exit 2 naming file, line and what
was expected, in a policy and in a waivers file (``--waivers``).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"  # a 10,001-port ephemeral pool

POLICY = """id: expiry
version: "1"
owner: T
rules:
  - id: eph
    check: net.ephemeral_port_range
    params: {min_pool_size: 16384}
"""
WAIVER = """  - rule: eph
    subject: ephemeral port pool
    reason: Pool widened in CHG-1
    approver: Jane Doe
    expires: {expires}
"""


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def _evaluate(tmp_path: Path, expires: str):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + "waivers:\n" + WAIVER.format(expires=expires), encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--target", f"root:{ROOT}", "-o", evidence,
                  "--color", "never")
    return run, evidence


def test_control_case_a_waiver_expiring_today_is_honoured(tmp_path):
    run, evidence = _evaluate(tmp_path, _today())
    assert run.returncode == 0, run.stderr
    statuses = {f["subject"]: f["status"] for f in json.loads(evidence.read_bytes())["result"]["findings"]}
    assert statuses["ephemeral port pool"] == "waived"


def test_a_moment_already_past_is_not_honoured_for_the_rest_of_its_day(tmp_path):
    """On main: exit 0, the pool's failure waived by a waiver whose written moment had passed."""
    run, evidence = _evaluate(tmp_path, f"{_today()}T00:00:00+14:00")
    assert run.returncode == 2, run.stdout + run.stderr
    assert (f"policy.yaml:13:5: waivers[0].expires: expected a calendar day such as 2027-03-31; found the date "
            f"and time {_today()} 00:00:00+14:00") in run.stderr
    assert not evidence.exists()


@pytest.mark.parametrize("expires, found", [
    ("2099-01-01T00:00:00", "found the date and time 2099-01-01 00:00:00"),
    ("2099-01-01 00:00:00 -5", "found the date and time 2099-01-01 00:00:00-05:00"),
    ('"2099-01-01T00:00:00Z"', "found '2099-01-01T00:00:00Z'"),
    ("4070908800", "found 4070908800"),  # 2099-01-01 in seconds since 1970
])
def test_an_expiry_that_is_no_calendar_day_is_exit_2_at_its_line(tmp_path, expires, found):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + "waivers:\n" + WAIVER.format(expires=expires), encoding="utf-8")
    run = run_cli("validate", "--no-plugins", policy)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"policy.yaml:13:5: waivers[0].expires: expected a calendar day such as 2027-03-31; {found}" in run.stdout + run.stderr


def test_a_waivers_file_gets_the_same_rule(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n" + WAIVER.format(expires=f"{_today()}T00:00:00+14:00"), encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--waivers", waivers, "--target", f"root:{ROOT}",
                  "-o", evidence)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "waivers.yaml:6:5: waivers[0].expires: expected a calendar day" in run.stderr
    assert not evidence.exists()


@pytest.mark.parametrize("expires", ["2099-01-01", '"2099-01-01"'])
def test_a_day_plain_or_quoted_still_loads(tmp_path, expires):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + "waivers:\n" + WAIVER.format(expires=expires), encoding="utf-8")
    run = run_cli("validate", "--no-plugins", policy)
    assert run.returncode == 0, run.stdout + run.stderr
