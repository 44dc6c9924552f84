"""``lbaudit diff`` of two scans whose policies differ in one reason of a rule with many exceptions.

Each text of a scan that a diff prints is cut (``bounded_evidence``: a finding's subject, a rule's
title, each word of the policy), but a ``params_changed`` policy change says what changed by
printing the rule's whole params before and after: each exception is short, and their sum is not.
Before: a policy of 400 exceptions (250 KB of params) changed in one reason printed one line of
500 KB (``[lost coverage] params_changed ...: params {...} -> {...}``), and as much again in
``--json``; an evidence file holds params as large as it likes.  Now a policy change's detail is cut
as a report cuts a text of the evidence (``MAX_REPORT_TEXT_CHARS``, saying how much more there is),
and the change is still listed, still loses coverage, and the diff still exits 1.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.storage.snapshot import snapshot_bytes
from auditor.text import MAX_REPORT_TEXT_CHARS
from tests.cli import run_cli
from tests.factories import listener, snapshot

EXCEPTIONS = 400
# a line of the output: a cut detail and the words around it (rule id, kind, the marker)
LONGEST_LINE = MAX_REPORT_TEXT_CHARS + 300


def policy(reason_of_last: str) -> str:
    lines = ['id: binds', 'version: "1"', 'owner: Security <sec@example.com>', 'rules:', '  - id: loopback-only',
             '    check: net.bind_addresses', '    params:', '      allow: [loopback]', '      exceptions:']
    for index in range(EXCEPTIONS):
        reason = reason_of_last if index == EXCEPTIONS - 1 else f"service {index} serves the private network " + "x" * 500
        lines += [f'        - match: {{process: "svc{index}", ports: [{10000 + index}], protocol: tcp}}',
                  "          allow: [private]", f'          reason: "{reason}"']
    return "\n".join(lines) + "\n"


def evaluate(tmp_path: Path, name: str, reason_of_last: str) -> Path:
    (tmp_path / f"{name}.yaml").write_text(policy(reason_of_last))
    evidence = tmp_path / f"{name}.json"
    run = run_cli("evaluate", "--policy", tmp_path / f"{name}.yaml", "--snapshot", tmp_path / "host.json",
                  "-o", evidence, "-q")
    assert evidence.exists(), run.stderr[-2000:]
    return evidence


def test_a_params_change_of_a_large_rule_is_cut_where_diff_prints_it(tmp_path: Path):
    (tmp_path / "host.json").write_bytes(snapshot_bytes(snapshot(listeners=[listener("127.0.0.1", 22)])))
    before = evaluate(tmp_path, "before", "the backup service")
    after = evaluate(tmp_path, "after", "the backup service, for now")
    params = json.loads(before.read_text())["policy"]["rules"][0]["params"]
    assert len(json.dumps(params)) > 4 * MAX_REPORT_TEXT_CHARS  # the params are long, each text of them short

    text = run_cli("diff", before, after)
    assert text.returncode == 1, text.stderr[-2000:]
    lines = text.stdout.splitlines()
    assert max(len(line) for line in lines) <= LONGEST_LINE, [len(line) for line in lines]
    [change] = [line for line in lines if "params_changed" in line]
    assert change.startswith("  [lost coverage] params_changed loopback-only: params {")
    assert "more characters" in change and "in the evidence" in change
    assert "policy changes: 1 (1 losing coverage)" in lines

    document = run_cli("diff", before, after, "--json")
    assert document.returncode == 1
    assert len(document.stdout) < 2 * LONGEST_LINE
    [item] = json.loads(document.stdout)["policy_changes"]
    assert (item["kind"], item["subject"], item["loses_coverage"]) == ("params_changed", "loopback-only", True)
    assert len(item["detail"]) <= LONGEST_LINE and item["detail"].startswith("params {")
