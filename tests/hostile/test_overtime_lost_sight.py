"""A failure gone from a rule that could not judge everything is not fixed.  When the listener list
could not be read whole (a gap: netlink refused, /proc/net unreadable), a wildcard listener missing
from the next scan may be one of those unread; ``diff`` called it an improvement, and when the
unread part was already unread before (the same not_reviewed finding) nothing regressed: exit 0."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from auditor.model.facts import Gap, ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import FIXED_TIME, listener, snapshot

POLICY = """id: loopback
version: "1"
owner: Security <sec@example.test>
rules:
  - id: loopback-only
    check: net.bind_addresses
    title: Services listen on loopback
    severity: high
    params: {allow: [loopback]}
"""
REDIS = "tcp 0.0.0.0:6379 redis-server pid 977"


def _evidence(tmp_path: Path, name: str, day: int, *, redis: bool, unreadable: bool) -> Path:
    listeners = [listener("127.0.0.1", 5432, processes=[ProcessInfo(pid=812, name="postgres")])]
    if redis:
        listeners.append(listener("0.0.0.0", 6379, processes=[ProcessInfo(pid=977, name="redis-server")]))
    gaps = [Gap(section="sockets", field="listeners", reason="netlink refused")] if unreadable else []
    snap = tmp_path / f"{name}.snapshot.json"
    write_snapshot(snapshot(listeners=listeners, gaps=gaps, collected_at=FIXED_TIME + timedelta(days=day)), snap)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    evidence = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snap, "-o", evidence, "-q")
    assert result.returncode == (1 if redis else 3 if unreadable else 0), result.stderr
    return evidence


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
