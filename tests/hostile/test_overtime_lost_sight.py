"""A failure gone from a rule that could not judge everything is not fixed.  When the listener list
could not be read whole (a gap: netlink refused, /proc/net unreadable), a wildcard listener missing
from the next scan may be one of those unread; ``diff`` called it an improvement, and when the
unread part was already unread before (the same not_reviewed finding) nothing regressed: exit 0."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.model.facts import Gap
from tests.cli import run_cli
from tests.hostile.overtime_scans import REDIS, evaluated_scan, web_listeners


def _evidence(tmp_path: Path, name: str, day: int, *, redis: bool, unreadable: bool) -> Path:
    gaps = [Gap(section="sockets", field="listeners", reason="netlink refused")] if unreadable else []
    return evaluated_scan(tmp_path, name, day, web_listeners(redis=redis), gaps=gaps,
                          expected_exit=1 if redis else 3 if unreadable else 0)


def test_a_failure_gone_under_the_same_unread_listener_list_is_a_regression(tmp_path: Path):
    before = _evidence(tmp_path, "before", 0, redis=True, unreadable=True)
    after = _evidence(tmp_path, "after", 1, redis=False, unreadable=True)
    result = run_cli("diff", before, after, "--json")
    data = json.loads(result.stdout)
    assert (result.returncode, data["exit_code"], data["improvements"]) == (1, 1, []), result.stdout
    (regression,) = data["regressions"]
    assert (regression["subject"], regression["before"], regression["after"]) == (REDIS, "fail", None)
    assert regression["note"] == ("not seen, not fixed: rule loopback-only could not judge everything (not_reviewed "
                                  "listeners (collection): some listeners could not be read: netlink refused)")
    text = run_cli("diff", before, after)
    assert f"  loopback-only: {REDIS}: fail -> gone (not seen, not fixed: " in text.stdout
    assert "improvements: 0" in text.stdout


def test_a_failure_gone_when_the_list_became_unreadable_is_not_an_improvement(tmp_path: Path):
    before = _evidence(tmp_path, "before", 0, redis=True, unreadable=False)
    after = _evidence(tmp_path, "after", 1, redis=False, unreadable=True)
    data = json.loads(run_cli("diff", before, after, "--json").stdout)
    assert data["improvements"] == []
    assert sorted((c["subject"], c["before"], c["after"]) for c in data["regressions"]) == [
        ("listeners (collection)", None, "not_reviewed"), (REDIS, "fail", None)]


def test_control_case_a_failure_gone_from_a_whole_list_is_an_improvement(tmp_path: Path):
    before = _evidence(tmp_path, "before", 0, redis=True, unreadable=False)
    after = _evidence(tmp_path, "after", 1, redis=False, unreadable=False)
    result = run_cli("diff", before, after, "--json")
    data = json.loads(result.stdout)
    assert (result.returncode, data["regressions"]) == (0, [])
    assert [(c["subject"], c["before"], c["after"]) for c in data["improvements"]] == [(REDIS, "fail", None)]
    assert "note" not in data["improvements"][0]
