"""The run summary listed every expired waiver, one line each: a policy of 1,500 expired waivers
printed 1,500 lines after the findings, on a terminal and in a pipe or CI log alike, when every
other list lbaudit prints stops at auditor.errors.MAX_LISTED_PROBLEMS and counts the rest.  The
summary now lists the first MAX_LISTED_PROBLEMS and says how many more the evidence holds; the
evidence keeps every one."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.errors import MAX_LISTED_PROBLEMS
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

EXPIRED = 1500


def _policy(tmp_path: Path) -> Path:
    waivers = "".join(f"  - {{rule: loopback-only, subject: 's{i}', reason: 'old change {i}', approver: me, "
                      "expires: 2020-01-01}\n" for i in range(EXPIRED))
    path = tmp_path / "waivers.yaml"
    path.write_text(loopback_only_policy("expired") + "waivers:\n" + waivers, encoding="utf-8")
    return path


def _snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "snap.json"
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), path)
    return path


def _waiver_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("waiver for rule ")]


def test_the_plain_summary_lists_a_bounded_number_of_1500_expired_waivers(tmp_path: Path):
    evidence = tmp_path / "e.json"

    result = run_cli("evaluate", "--policy", _policy(tmp_path), "--snapshot", _snapshot(tmp_path), "-o", evidence)

    assert result.returncode == 1, result.stderr  # the listener on 0.0.0.0 fails
    listed = _waiver_lines(result.stdout)
    assert len(listed) == MAX_LISTED_PROBLEMS
    assert listed[0] == ("waiver for rule loopback-only expired on 2020-01-01 (approved by me); it was not honoured")
    more = f"... and {EXPIRED - MAX_LISTED_PROBLEMS:,} more expired waivers not shown (the evidence lists them all)"
    assert more in result.stdout.splitlines()
    # the evidence keeps every one
    document = json.loads(evidence.read_text(encoding="utf-8"))
    assert sum(1 for w in document["result"]["waivers"] if w["state"] == "expired") == EXPIRED

    shown = run_cli("show", evidence)

    assert len(_waiver_lines(shown.stdout)) == MAX_LISTED_PROBLEMS and more in shown.stdout.splitlines()


def test_the_terminal_summary_lists_a_bounded_number_of_1500_expired_waivers(tmp_path: Path):
    result = run_cli("evaluate", "--policy", _policy(tmp_path), "--snapshot", _snapshot(tmp_path),
                     "-o", tmp_path / "e.json", "--color", "never", terminal=300)

    assert result.returncode == 1, result.stderr
    assert len(_waiver_lines(result.stdout)) == MAX_LISTED_PROBLEMS
    assert (f"... and {EXPIRED - MAX_LISTED_PROBLEMS:,} more expired waivers not shown (the evidence lists them all)"
            in result.stdout.splitlines())
