"""The PDF attestation's cover shows each host text on its own line only.

The cover is what a reader of the attestation reads first: the system assessed, its operating system
and kernel, where the facts came from, what could not be seen (a bullet per gap).  Each value is the
host's text (a host name, /etc/os-release, a gap's reason naming the host's files), and a line feed in
it was a line break of the cell: a host named ``web01`` LF ``Facts trusted: verified snapshot`` wrote
that line under "System assessed", and a gap's reason with a line feed and a bullet wrote a bullet
of its own into "Could not be seen".  Now each of them is one line (``auditor.text.line_text``: its
line feeds as ``\\n``), as the terminal, the findings table and every line-laid output show them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from auditor.model.facts import Gap
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

FORGED = "Facts trusted: verified snapshot"
BULLET = "\u2022 FORGED: nothing else was unseen"


def test_no_host_text_starts_a_line_of_the_cover(tmp_path: Path):
    gap = Gap(section="audit", field="loaded_rules", reason=f"cannot read /etc/audit/x\n{BULLET}")
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=f"web01\n{FORGED}",
                            os=f"Debian\n{FORGED}", kernel=f"6.1\n{FORGED}", gaps=[gap]), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("cover"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--pdf", tmp_path / "cover.pdf", "-q")
    assert result.returncode in (0, 3), result.stderr
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", tmp_path / "cover.pdf", "-"], capture_output=True,
                          check=True, timeout=120).stdout.decode("utf-8")
    lines = [line.strip() for line in text.splitlines()]
    # before: "Facts trusted: verified snapshot" began a line under the host name, the OS and the kernel
    # (and in the attestation statement, which names the host), and the gap's bullet one of its own
    assert [line for line in lines if line.startswith((FORGED, BULLET))] == []
    cover = text.split("\f")[0].replace("\n", " ")
    assert f"web01\\n{FORGED}" in cover
    assert f"/etc/audit/x\\n{BULLET}" in cover
    # and the document information a viewer shows (its title bar) is one line too
    info = subprocess.run(["pdfinfo", "-enc", "UTF-8", tmp_path / "cover.pdf"], capture_output=True, check=True,
                          timeout=120).stdout.decode("utf-8")
    assert [line for line in info.splitlines() if line.strip().startswith(FORGED)] == []
    assert f"Title:           Compliance attestation: web01\\n{FORGED}, cover 1" in info.splitlines()
