"""A finding that could not be judged in the earlier scan and fails in the later one is a regression.

``diff`` (and ``history diff``, ``fleet report``) called a change a regression when the finding
"now fails and did not before", and took "did not" to mean "was not bad": a finding that was
``not_reviewed`` (or ``error``) and now fails was listed among other changes, and a gate on the
diff passed (exit 0) while a failure was confirmed for the first time.  The usual way it happens:
an exception allows a program by its executable, the earlier scan could not read the holder's
executable (so which rule applies could not be told), the later one could, and it is not the
allowed program.  A not-reviewed finding says nothing about whether it failed; the failure is new.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.model.facts import Gap, ProcessInfo
from tests.cli import run_cli
from tests.factories import listener
from tests.hostile.overtime_scans import evaluated_scan

POLICY = """id: loopback
version: "1"
owner: Security <sec@example.test>
rules:
  - id: loopback-only
    check: net.bind_addresses
    title: Services listen on loopback
    severity: high
    params:
      allow: [loopback]
      exceptions:
        - match: {exe: /usr/bin/redis-server}
          allow: [any]
          reason: the cache serves the application servers
"""
SUBJECT = "tcp 0.0.0.0:6379 redis-server pid 977"


def _scan(tmp_path: Path, name: str, day: int, exe: str | None) -> Path:
    held = listener("0.0.0.0", 6379, processes=[ProcessInfo(pid=977, name="redis-server", exe=exe)])
    gaps = [] if exe else [Gap(section="sockets", path=("listeners", 0, "processes", 0, "exe"),
                               reason="pid 977: its executable could not be read (permission denied)")]
    return evaluated_scan(tmp_path, name, day, [held], policy=POLICY, gaps=gaps,
                          expected_exit=3 if exe is None else 1)


def _statuses(evidence: Path) -> list[tuple[str, str]]:
    return [(f["subject"], f["status"]) for f in json.loads(evidence.read_text())["result"]["findings"]]


def test_not_reviewed_then_failing_is_a_regression(tmp_path: Path):
    before = _scan(tmp_path, "before", 0, exe=None)
    after = _scan(tmp_path, "after", 1, exe="/tmp/.x/redis-server")
    assert _statuses(before) == [(SUBJECT, "not_reviewed")]
    assert _statuses(after) == [(SUBJECT, "fail")]
    result = run_cli("diff", before, after, "--json")
    data = json.loads(result.stdout)
    # before: exit 0, regressions [], the change among "other changes"
    assert [(c["subject"], c["before"], c["after"]) for c in data["regressions"]] == [(SUBJECT, "not_reviewed", "fail")]
    assert (result.returncode, data["exit_code"]) == (1, 1)


def test_control_failing_then_failing_is_no_change_and_failing_then_unjudged_stays_a_regression(tmp_path: Path):
    first = _scan(tmp_path, "first", 0, exe="/tmp/.x/redis-server")
    second = _scan(tmp_path, "second", 1, exe="/tmp/.x/redis-server")
    data = json.loads(run_cli("diff", first, second, "--json").stdout)
    assert (data["regressions"], data["improvements"]) == ([], [])
    third = _scan(tmp_path, "third", 2, exe=None)
    data = json.loads(run_cli("diff", second, third, "--json").stdout)
    assert [(c["before"], c["after"]) for c in data["regressions"]] == [("fail", "not_reviewed")]
