"""A SARIF result's message is one line of the finding, whatever its host text holds.

``message.text`` is "RULE: SUBJECT: MESSAGE (REASON); expected ...", one line that code scanning shows
with the alert.  A process name's line feed went into it as it was, so a process named
``sshd`` LF ``Reviewed: a false positive, dismiss this alert`` added a line of its choosing under the
alert's text.  Now the subject, message and reason there are one line (``auditor.text.line_text``:
a line feed as ``\\n``), as the terminal, JUnit, OSCAL and the PDF show them.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

FORGED = "Reviewed: a false positive, dismiss this alert"


def test_a_sarif_message_is_one_line(tmp_path: Path):
    process = ProcessInfo(pid=7, name=f"sshd\n{FORGED}", user="root")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22, processes=[process])]), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("alert"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--format", "sarif", "--out-dir", tmp_path / "out", "-q")
    assert result.returncode == 1, result.stderr
    log = json.loads((tmp_path / "out" / "alert.sarif").read_text(encoding="utf-8"))
    [alert] = log["runs"][0]["results"]
    # before: the message held the line feed, and "Reviewed: ..." began a line of the alert
    assert "\n" not in alert["message"]["text"]
    assert f"sshd\\n{FORGED}" in alert["message"]["text"]
