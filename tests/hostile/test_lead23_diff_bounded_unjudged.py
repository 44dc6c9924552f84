"""``lbaudit diff`` on a terminal bounds the findings listed under one policy change.

The defect: a rule whose params changed between two scans of a host with thousands of listeners
listed every one of its findings under that change ("no longer judged: ..."), 10,000 lines on a
host of 5,000 listeners, burying the verdict, the other changes and the regressions.  Now the first
few are listed and the rest counted; ``--json`` still lists every one.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.commands.diff import MAX_UNJUDGED_SHOWN
from auditor.model.facts import ProcessInfo
from tests.cli import run_cli
from tests.factories import listener
from tests.hostile.overtime_scans import LOOPBACK_POLICY, evaluated_scan

LOOSENED = LOOPBACK_POLICY.replace("params: {allow: [loopback]}", "params: {allow: [loopback], exceptions: [{match: {process: worker}, allow: [any], "
                                           "reason: the workers serve the LAN}]}")
MANY = 60


def _wildcards(count: int) -> list:
    return [listener("0.0.0.0", 20000 + n, processes=[ProcessInfo(pid=1000 + n, name="worker")]) for n in range(count)]


def test_a_changed_rule_over_many_listeners_lists_a_bounded_few(tmp_path: Path):
    before = evaluated_scan(tmp_path, "before", 0, _wildcards(MANY), expected_exit=1)
    after = evaluated_scan(tmp_path, "after", 1, _wildcards(MANY), policy=LOOSENED, policy_file="after.yaml",
                           expected_exit=0)
    text = run_cli("diff", before, after)
    lines = text.stdout.splitlines()
    listed = [line for line in lines if line.startswith("      no longer judged: ")]
    assert len(listed) == MAX_UNJUDGED_SHOWN, text.stdout
    assert f"      ... and {MANY - MAX_UNJUDGED_SHOWN:,} more no longer judged (--json lists every one)" in lines
    data = json.loads(run_cli("diff", before, after, "--json").stdout)
    (change,) = data["policy_changes"]
    assert len(change["findings"]) == MANY


def test_control_a_few_are_all_listed(tmp_path: Path):
    before = evaluated_scan(tmp_path, "before", 0, _wildcards(3), expected_exit=1)
    after = evaluated_scan(tmp_path, "after", 1, _wildcards(3), policy=LOOSENED, policy_file="after.yaml",
                           expected_exit=0)
    lines = run_cli("diff", before, after).stdout.splitlines()
    assert len([line for line in lines if line.startswith("      no longer judged: ")]) == 3
    assert not any("more no longer judged" in line for line in lines)
