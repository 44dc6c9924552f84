"""Hostile bundle layouts: one probe's file twice, in names that differ only in case.

Windows and macOS, where bundles are written, name files case-insensitively: ``NETSTAT-ANO.TXT``
and ``netstat-ano.txt`` cannot both come from one capture.  Replayed on Linux, the lower-case one
was read and the other ignored, so a bundle could carry a passing listing beside the real one.
Which one is the capture cannot be told: the facts it gives are a gap.  A single file in another
case is that file, as it was on the host that wrote it.

Each case copies a fixture bundle, adds or renames a file, and replays it with ``lbaudit evaluate
--target replay:DIR`` in-process, asserting the exact status and exit code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.bundles import BUNDLES, LOOPBACK_ONLY, replay_edited

LOOPBACK_NETSTAT = ("\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State           PID\r\n"
                    "  TCP    127.0.0.1:8080         0.0.0.0:0              LISTENING       3120\r\n")


def replay(tmp_path: Path, edit) -> tuple[int, dict, str]:
    return replay_edited(tmp_path, "windows-default-en", edit, LOOPBACK_ONLY, evidence_expected=False)

def test_two_netstat_captures_differing_in_case_are_not_read(tmp_path):
    def edit(directory: Path) -> None:
        (directory / "netstat-ano.txt").write_text(LOOPBACK_NETSTAT, newline="")  # the passing one
        shutil.copyfile(BUNDLES / "windows-default-en" / "netstat-ano.txt", directory / "NETSTAT-ANO.TXT")
    code, found, _ = replay(tmp_path, edit)
    assert code == 3  # incomplete; was 0, on the lower-case file alone
    listeners = found[("listeners", "listeners")]
    assert listeners["status"] == "not_reviewed"
    assert listeners["reason"] == (
        "bundle file netstat-ano.txt: the bundle holds 2 files of this name in different cases (NETSTAT-ANO.TXT, "
        "netstat-ano.txt): one probe, several outputs, and which one is the capture cannot be told")


def test_one_file_in_another_case_is_that_file(tmp_path):
    code, found, _ = replay(tmp_path, lambda d: (d / "netstat-ano.txt").rename(d / "Netstat-ANO.txt"))
    assert code == 1  # was 3: "missing from the bundle", though the host that wrote it names it so
    assert found[("listeners", "tcp 0.0.0.0:3389 svchost.exe pid 1096")]["status"] == "fail"
