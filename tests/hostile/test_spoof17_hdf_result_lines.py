"""An HDF result's description and message are one line each, whatever the host text holds.

Heimdall shows a result by its ``code_desc`` ("SUBJECT: MESSAGE") and its ``message`` (the observed
against expected sentence).  A process name's line feed went into both as it was, so a process named
``sshd`` LF ``passed: tcp 127.0.0.1:22 sshd`` added a line of its choosing under the result, one that
reads as another, passing result.  Now the host text there is one line (``auditor.text.line_text``:
a line feed as ``\\n``), as every line-laid output shows it; ``resource_id`` (what identifies the
subject) and the observed value keep the text as it is (JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.model.facts import ProcessInfo, subject_word
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

FORGED = "passed: tcp 127.0.0.1:22 sshd"


def test_an_hdf_result_is_described_on_one_line(tmp_path: Path):
    process = ProcessInfo(pid=7, name=f"sshd\n{FORGED}", user="root")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22, interface=f"eth0\n{FORGED}", processes=[process])]),
                   tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("heimdall"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--format", "hdf", "--out-dir", tmp_path / "out", "-q")
    assert result.returncode == 1, result.stderr
    hdf = json.loads((tmp_path / "out" / "heimdall.hdf.json").read_text(encoding="utf-8"))
    [failed] = [r for c in hdf["profiles"][0]["controls"] for r in c["results"] if r["status"] == "failed"]
    # before: both held the line feeds, "passed: tcp 127.0.0.1:22 sshd" a line of its own
    assert "\n" not in failed["code_desc"] and "\n" not in failed["message"]
    # the name is one word of the subject (its spaces and ':' escaped); the interface is no subject's
    assert f"sshd\\n{subject_word(FORGED)}" in failed["code_desc"] and f"eth0\\n{FORGED}" in failed["message"]
    assert failed["resource_id"] == f"tcp 0.0.0.0:22 sshd\n{subject_word(FORGED)} pid 7"
