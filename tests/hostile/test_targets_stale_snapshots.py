"""Stale facts judged as current: a snapshot collected a year ago passed as today's host, in
``evaluate --snapshot`` and in a fleet.  ``--max-age`` (the Ansible play gives ``1d``) refuses
one older than the limit, and any snapshot claiming a collection time ahead of the evaluation's
clock is refused whatever the limit; the summary says how old the facts it judged were.

The snapshots are real files written by the snapshot writer, collected at times relative to now
with half a unit to spare, so the ages the messages name (rounded down) are exact."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, snapshot

POLICY_TEXT = """\
id: pool-only
version: "1"
owner: Security <sec@example.test>
description: the ephemeral pool only, which the factories' Linux defaults pass
rules:
  - id: ephemeral-pool
    check: net.ephemeral_port_range
"""
# No LBAUDIT_MAX_AGE from the environment: these tests give the limit themselves.
NO_MAX_AGE_VARIABLE = {"LBAUDIT_MAX_AGE": None}
FORMS = "a whole number with a unit, s, m, h, d or w, or several of them (90m, 36h, 7d, 1d12h); or none for no limit"
EXPECTED_FORMS = f"expected {FORMS}"


@pytest.fixture()
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_TEXT)
    return path


def _write(path: Path, hostname: str, age: timedelta, machine: str) -> tuple[Path, str]:
    """A snapshot of ``hostname`` collected ``age`` ago (negative: in the future); its recorded time as text."""
    collected = datetime.now(timezone.utc) - age
    path.parent.mkdir(parents=True, exist_ok=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=hostname, machine_id=machine * 32,
                            collected_at=collected), path)
    return path, collected.isoformat().replace("+00:00", "Z")


YEAR_OLD = timedelta(days=400, hours=12, minutes=30)  # named "400d 12h"
TWO_DAYS = timedelta(days=2, hours=3, minutes=30)  # "2d 3h"
FRESH = timedelta(hours=1, minutes=30)  # "1h 30m"
AHEAD = -timedelta(hours=2, minutes=30, seconds=30)  # "2h 30m" ahead, whatever seconds the run takes


def _stale(path: Path, collected: str, age: str, limit: str, source: str = "") -> str:
    return (f"{path}: its facts were collected at {collected}, {age} ago, older than --max-age {limit}{source}: stale facts "
            "are not judged as the host's (collect again, or give a larger --max-age)")


def _ahead(path: Path, collected: str) -> str:
    return (f"{path}: its facts claim to be collected at {collected}, 2h 30m after this evaluation's clock (more "
            "than 5m ahead): a wrong clock or an edited file; not judged")


# ------------------------------------------------------------------ evaluate --snapshot

def test_a_year_old_snapshot_is_refused_with_max_age_naming_file_time_age_and_limit(policy: Path, tmp_path: Path):
    path, collected = _write(tmp_path / "old.snapshot.json", "old", YEAR_OLD, "a")
    out = tmp_path / "ev.json"
    result = run_cli("evaluate", "--policy", policy, "--snapshot", path, "--max-age", "7d", "-o", out,
                     env=NO_MAX_AGE_VARIABLE)
    assert result.returncode == 2
    assert result.stderr == f"lbaudit: {_stale(path, collected, '400d 12h', '7d')}\n"
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.snapshot.json", "policy.yaml"]  # nothing written


def test_the_limit_is_compared_exactly_not_by_whole_days(policy: Path, tmp_path: Path):
    path, collected = _write(tmp_path / "two-days.snapshot.json", "two", TWO_DAYS, "b")
    refused = run_cli("evaluate", "--policy", policy, "--snapshot", path, "--max-age", "36h",
                      "-o", tmp_path / "ev.json", env=NO_MAX_AGE_VARIABLE)
    assert refused.returncode == 2
    assert refused.stderr == f"lbaudit: {_stale(path, collected, '2d 3h', '1d 12h')}\n"
    assert not (tmp_path / "ev.json").exists()
    accepted = run_cli("evaluate", "--policy", policy, "--snapshot", path, "--max-age", "2d4h",
                       "-o", tmp_path / "ev.json", "-q", env=NO_MAX_AGE_VARIABLE)
    assert accepted.returncode == 0, accepted.stderr
    assert (tmp_path / "ev.json").is_file()


def test_a_fresh_snapshot_is_judged_and_the_summary_says_how_old_its_facts_are(policy: Path, tmp_path: Path):
    path, collected = _write(tmp_path / "fresh.snapshot.json", "fresh", FRESH, "c")
    out = tmp_path / "ev.json"
    result = run_cli("evaluate", "--policy", policy, "--snapshot", path, "--max-age", "7d", "-o", out,
                     env=NO_MAX_AGE_VARIABLE)
    assert result.returncode == 0, result.stderr
    facts = [line for line in result.stdout.splitlines() if line.startswith("facts: ")]
    assert len(facts) == 1
    assert facts[0].endswith(f": it is not signed; collected at {collected}, 1h 30m before this evaluation")
    evidence = json.loads(out.read_text())
    assert evidence["snapshot"]["provenance"]["collected_at"] == collected
    assert evidence["result"]["verdict"] == "compliant"


def test_without_max_age_an_old_snapshot_is_still_judged_but_shown_old(policy: Path, tmp_path: Path):
    """An offline audit of last year's snapshot is legitimate: no default limit for evaluate."""
    path, collected = _write(tmp_path / "old.snapshot.json", "old", YEAR_OLD, "d")
    result = run_cli("evaluate", "--policy", policy, "--snapshot", path, "-o", tmp_path / "ev.json",
                     env=NO_MAX_AGE_VARIABLE)
    assert result.returncode == 0, result.stderr
    assert f"; collected at {collected}, 400d 12h before this evaluation\n" in result.stdout


@pytest.mark.parametrize("limit", [None, "none", "1000d"])
def test_a_snapshot_from_the_future_is_refused_whatever_the_limit(policy: Path, tmp_path: Path, limit: str | None):
    path, collected = _write(tmp_path / "future.snapshot.json", "future", AHEAD, "e")
    result = run_cli("evaluate", "--policy", policy, "--snapshot", path, "-o", tmp_path / "ev.json",
                     *(["--max-age", limit] if limit else []), env=NO_MAX_AGE_VARIABLE)
    assert result.returncode == 2
    assert result.stderr == f"lbaudit: {_ahead(path, collected)}\n"
    assert not (tmp_path / "ev.json").exists()


def test_a_collection_a_few_seconds_ahead_is_clock_skew_within_tolerance(policy: Path, tmp_path: Path):
    path, _ = _write(tmp_path / "skewed.snapshot.json", "skewed", -timedelta(minutes=4), "f")
    result = run_cli("evaluate", "--policy", policy, "--snapshot", path, "-o", tmp_path / "ev.json", "-q",
                     "--max-age", "1h", env=NO_MAX_AGE_VARIABLE)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("value", "problem"), [
    ("7", f"'7': {EXPECTED_FORMS}"),
    ("7x", f"'7x': {EXPECTED_FORMS}"),
    ("-3d", f"'-3d': {EXPECTED_FORMS}"),
    ("1.5d", f"'1.5d': {EXPECTED_FORMS}"),
    ("7 d", f"'7 d': {EXPECTED_FORMS}"),
    ("", f"'': {EXPECTED_FORMS}"),
    ("0h", f"'0h': a limit of zero refuses every snapshot; expected more than 0 ({FORMS})"),
    ("40000d", f"'40000d': more than 36600 days; {EXPECTED_FORMS}"),
])
def test_a_bad_duration_is_exit_2_saying_what_is_expected(policy: Path, tmp_path: Path, value: str, problem: str):
    path, _ = _write(tmp_path / "fresh.snapshot.json", "fresh", FRESH, "1")
    for command in (["evaluate", "--policy", policy, "--snapshot", path, "-o", tmp_path / "ev.json"],
                    ["fleet", "evaluate", "--snapshots", path, "--policy", policy, "--out-dir", tmp_path / "out"]):
        result = run_cli(*command, "--max-age", value, env=NO_MAX_AGE_VARIABLE)
        assert result.returncode == 2
        assert f"Error: Invalid value for '--max-age' (env var: 'LBAUDIT_MAX_AGE'): {problem}\n" in result.stderr
        assert not (tmp_path / "ev.json").exists() and not (tmp_path / "out").exists()


def test_max_age_from_the_configuration_file_applies_and_a_bad_one_names_its_line(policy: Path, tmp_path: Path):
    path, collected = _write(tmp_path / "snaps" / "two-days.snapshot.json", "two", TWO_DAYS, "2")
    config = tmp_path / "config.yaml"
    config.write_text("max_age: 1d\n")
    result = run_cli("evaluate", "--policy", policy, "--snapshot", path, "-o", tmp_path / "ev.json",
                     env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_MAX_AGE": None})
    assert result.returncode == 2
    # the limit came from the file, and the refusal says so (config22: it named --max-age alone)
    from_file = " (from max_age in the configuration file; lbaudit config show says which)"
    assert result.stderr == f"lbaudit: {_stale(path, collected, '2d 3h', '1d', from_file)}\n"
    overridden = run_cli("evaluate", "--policy", policy, "--snapshot", path, "-o", tmp_path / "ev.json", "-q",
                         "--max-age", "none", env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_MAX_AGE": None})
    assert overridden.returncode == 0, overridden.stderr
    config.write_text("color: auto\nmax_age: 7 days\n")
    bad = run_cli("evaluate", "--policy", policy, "--snapshot", path, "-o", tmp_path / "ev2.json",
                  env={"LBAUDIT_CONFIG": str(config), "LBAUDIT_MAX_AGE": None})
    assert bad.returncode == 2
    assert f"{config}:2:1: max_age: '7 days': {EXPECTED_FORMS}" in bad.stderr
    assert not (tmp_path / "ev2.json").exists()


# ------------------------------------------------------------------ fleet evaluate

def _fleet(tmp_path: Path) -> tuple[Path, dict[str, tuple[Path, str]]]:
    fetch = tmp_path / "fetch"
    hosts = {"web01": _write(fetch / "web01" / "lbaudit.snapshot.json", "web01", FRESH, "3"),
             "web02": _write(fetch / "web02" / "lbaudit.snapshot.json", "web02", YEAR_OLD, "4")}
    return fetch, hosts


def _rows(out: Path) -> dict[str, dict]:
    summary = json.loads((out / "fleet-summary.json").read_text())
    return {row["host"]: row for row in summary["hosts"]} | {"": summary}


def test_a_fleet_with_a_year_old_host_is_not_compliant_with_max_age_and_the_other_host_is_judged(policy: Path,
                                                                                                 tmp_path: Path):
    fetch, hosts = _fleet(tmp_path)
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", out,
                     "--max-age", "7d", env=NO_MAX_AGE_VARIABLE)
    assert result.returncode == 2
    stale_path, stale_collected = hosts["web02"]
    reason = _stale(stale_path, stale_collected, "400d 12h", "7d")
    assert result.stdout.splitlines()[:3] == [
        "web01: compliant [collected 1h 30m ago]",
        f"web02: exit 2: {reason}",
        "fleet: 2 hosts (1 compliant, 1 not_evaluated); exit 2",
    ]
    rows = _rows(out)
    assert rows[""]["exit_code"] == 2
    assert (rows["web01"]["exit_code"], rows["web01"]["verdict"], rows["web01"]["error"]) == (0, "compliant", None)
    assert (rows["web01"]["collected_at"], rows["web01"]["collection_age"]) == (hosts["web01"][1], "1h 30m")
    assert (rows["web02"]["exit_code"], rows["web02"]["verdict"], rows["web02"]["error"]) == (2, None, reason)
    assert (rows["web02"]["collected_at"], rows["web02"]["collection_age"]) == (stale_collected, "400d 12h")
    assert (out / "web01.evidence.json").is_file()
    assert not (out / "web02.evidence.json").exists()  # the stale host is not judged
    junit = (out / "fleet.junit.xml").read_text()
    assert 'type="exit 2"' in junit and "older than --max-age 7d" in junit
    page = (out / "fleet-summary.html").read_text()
    assert f'<td class="collected nowrap" title="collected at {stale_collected}">400d 12h</td>' in page
    assert f'<td class="collected nowrap" title="collected at {hosts["web01"][1]}">1h 30m</td>' in page


@pytest.mark.parametrize("limit", [(), ("--max-age", "none")], ids=["default", "none"])
def test_a_fleet_with_no_limit_judges_the_old_host_and_shows_its_age(policy: Path, tmp_path: Path,
                                                                     limit: tuple[str, ...]):
    """Called by hand, fleet evaluate has no default limit (judging snapshots collected earlier is
    legitimate); the age is on every host's line."""
    fetch, hosts = _fleet(tmp_path)
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", out,
                     *limit, env=NO_MAX_AGE_VARIABLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[:2] == ["web01: compliant [collected 1h 30m ago]",
                                              "web02: compliant [collected 400d 12h ago]"]
    assert _rows(out)["web02"]["collection_age"] == "400d 12h"


def test_a_fleet_max_age_fails_a_host_no_limit_accepts(policy: Path, tmp_path: Path):
    fetch = tmp_path / "fetch"
    _write(fetch / "web01" / "lbaudit.snapshot.json", "web01", FRESH, "5")
    path, collected = _write(fetch / "web03" / "lbaudit.snapshot.json", "web03", TWO_DAYS, "6")
    unlimited = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", tmp_path / "a",
                      env=NO_MAX_AGE_VARIABLE)
    assert unlimited.returncode == 0, unlimited.stdout
    short = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", tmp_path / "b",
                    "--max-age", "36h", env=NO_MAX_AGE_VARIABLE)
    assert short.returncode == 2
    rows = _rows(tmp_path / "b")
    assert rows["web01"]["verdict"] == "compliant"
    assert (rows["web03"]["exit_code"], rows["web03"]["error"]) == (2, _stale(path, collected, "2d 3h", "1d 12h"))


def test_a_fleet_host_from_the_future_fails_even_with_no_limit(policy: Path, tmp_path: Path):
    fetch = tmp_path / "fetch"
    _write(fetch / "web01" / "lbaudit.snapshot.json", "web01", FRESH, "7")
    path, collected = _write(fetch / "web04" / "lbaudit.snapshot.json", "web04", AHEAD, "8")
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", out,
                     "--max-age", "none", env=NO_MAX_AGE_VARIABLE)
    assert result.returncode == 2
    rows = _rows(out)
    assert rows["web01"]["verdict"] == "compliant"
    assert (rows["web04"]["exit_code"], rows["web04"]["verdict"], rows["web04"]["error"]) == \
        (2, None, _ahead(path, collected))
    assert not (out / "web04.evidence.json").exists()
