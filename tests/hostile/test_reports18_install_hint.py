"""lbaudit's "next steps" never tell the reader to install a program a snapshot names.

A finding that could not be judged gets a hint of what would let lbaudit see it, read from the
reason the collector recorded: "auditctl -l: command not found" gives "install auditctl (Debian/Ubuntu
package auditd), then run again".  A snapshot's gap reasons are the snapshot file's words, and the
program was any word before ": command not found": a snapshot whose gap said ``ss -ltn:
evil-helper: command not found`` made ``evaluate`` (and ``show``, the text report, ``--json``'s
next steps) say, as lbaudit's own advice, "loopback-only: install evil-helper, then run again".  Now
only a program lbaudit itself runs (``summary.PROVIDING_PACKAGE``) is named to install; any other
reason gets the hint the rest of the reason and the run give, and the reason itself is listed with
the finding as before.
"""

from __future__ import annotations

import json

import pytest

from auditor.model.facts import Gap
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import loopback_only_policy, snapshot

INCOMPLETE = 3


@pytest.fixture
def work(tmp_path):
    gap = Gap(section="sockets", field="listeners", reason="ss -ltn: evil-helper: command not found", kind="unreadable")
    write_snapshot(snapshot(listeners=None, time_wait=None, gaps=[gap]), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    return tmp_path


def _evaluate(work, *extra):
    result = run_cli("evaluate", "--policy", work / "policy.yaml", "--snapshot", work / "snap.json",
                     "-o", work / "e.json", *extra, env={"LBAUDIT_CONFIG": ""})
    assert result.returncode == INCOMPLETE, result.stderr
    return result


def test_the_summary_does_not_advise_installing_a_program_the_snapshot_names(work):
    result = _evaluate(work, "--format", "text", "--out-dir", work / "out")
    for text in (result.stdout, (work / "out" / "corp.txt").read_text()):
        steps = text.split("next steps:\n", 1)[1]
        # before: "  loopback-only: install evil-helper, then run again"
        assert "evil-helper" not in steps
        assert "  loopback-only: collect a fresh snapshot" in steps
        assert "ss -ltn: evil-helper: command not found" in text  # the reason, with its finding


def test_the_json_summary_does_not_advise_it_either(work):
    summary = json.loads(_evaluate(work, "--json").stdout)
    assert not any("evil-helper" in step for step in summary["next_steps"])
    assert not any("evil-helper" in json.dumps(row.get("hint")) for row in summary["not_judged"])
