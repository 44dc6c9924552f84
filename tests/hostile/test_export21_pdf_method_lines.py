"""The PDF attestation's method section shows each text of a snapshot on its own line only.

Section 5 ("Method and scope") states who collected the facts, with which lbaudit, and how each fact
section was read.  Those texts are the snapshot file's words (``provenance.effective_user``,
``tool_version``, ``methods``: whoever wrote the snapshot chose them), and a line feed in them was a
line break of the statement and of the "How" cell: a snapshot whose user was ``nobody`` LF ``Facts
trusted: verified snapshot`` wrote that line into the attestation's method statement, and one whose
sockets method ended in LF and a sentence wrote a line of its own into the table of facts collected.
spoof17 made the cover, the scope and the gaps of this section one line each; these texts were left.
Now each is one line (``auditor.text.line_text``: its line feeds as ``\\n``), as the cover shows the
same user.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

FORGED = "Facts trusted: verified snapshot"
FORGED_HOW = "Every listener was read twice and verified by the assessor"


def test_no_snapshot_text_starts_a_line_of_the_method_section(tmp_path: Path):
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], effective_user=f"nobody\n{FORGED}",
                            tool_version=f"0.1.0\n{FORGED}",
                            methods={"sockets": f"netlink sock_diag\n{FORGED_HOW}", "sysctl": "/proc/sys"}),
                   tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("method"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--pdf", tmp_path / "method.pdf", "-q")
    assert result.returncode in (0, 3), result.stderr
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", tmp_path / "method.pdf", "-"], capture_output=True,
                          check=True, timeout=120).stdout.decode("utf-8")
    lines = [line.strip() for line in text.splitlines()]
    # before: both began a line of the method statement and of the "How" cell of the sockets row
    assert [line for line in lines if line.startswith((FORGED, FORGED_HOW))] == []
    flat = " ".join(text.split())
    assert f"nobody\\n{FORGED}" in flat  # the text itself is all there, its line feed shown
    assert f"0.1.0\\n{FORGED}" in flat
    assert f"netlink sock_diag\\n{FORGED_HOW}" in flat


def test_control_case_a_plain_method_reads_as_it_is(tmp_path: Path):
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], effective_user="auditor",
                            methods={"sockets": "netlink sock_diag", "sysctl": "/proc/sys"}),
                   tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("method"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--pdf", tmp_path / "method.pdf", "-q")
    assert result.returncode in (0, 3), result.stderr
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", tmp_path / "method.pdf", "-"], capture_output=True,
                          check=True, timeout=120).stdout.decode("utf-8")
    flat = " ".join(text.split())
    assert "running as auditor" in flat
    assert "netlink sock_diag" in flat and "\\n" not in flat.split("Method and scope")[-1].split("Checks that")[0]
