"""Hostile PIDs in captured listener listings: numbers no PID can be.

A snapshot holds a PID as a C ``int`` (0 to 2,147,483,647, the bound the kernel's ``pid_t`` and
Windows' PIDs keep).  ``netstat`` rows beyond it were refused as rows not understood, but an
``lsof`` row with PID 9999999999 (a corrupted capture, a column shifted by hand) reached the
snapshot and the run ended in an internal error (exit 70) instead of a finding.  Such a row is now
not understood, in one place for both parsers: the listener list is incomplete (not_reviewed,
exit 3) and the rows that are understood are judged.

Each case copies the ``macos-default`` fixture bundle, writes the captured listing, and replays it
with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import LOOPBACK_ONLY, replay_edited

HEADER = "COMMAND     PID   USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME\n"
SYSLOGD = "syslogd     352   root    5u  IPv4 0x8d3f1b2a0c4e7004      0t0  UDP 127.0.0.1:514\n"
CUPSD = "cupsd       512   root    6u  IPv4 0x8d3f1b2a0c4e6f04      0t0  TCP 127.0.0.1:631 (LISTEN)\n"


def replay(tmp_path: Path, row: str) -> tuple[int, dict]:
    def edit(directory: Path) -> None:
        (directory / "lsof-tcp-listen.txt").write_text(HEADER + CUPSD + row)
        (directory / "lsof-udp.txt").write_text(HEADER + SYSLOGD)
    return replay_edited(tmp_path, "macos-default", edit, LOOPBACK_ONLY)[:2]


def test_control_case_the_largest_pid_is_a_pid(tmp_path):
    code, found = replay(tmp_path, "sshd  2147483647   root    3u  IPv4 0x8d3f1b2a0c4e6f09      0t0  TCP *:22 (LISTEN)\n")
    assert code == 1
    assert found[("listeners", "tcp 0.0.0.0:22 sshd pid 2147483647")]["status"] == "fail"


@pytest.mark.parametrize("pid", ["2147483648", "9999999999"])
def test_an_lsof_row_with_a_pid_beyond_an_int_is_not_understood(tmp_path, pid):
    code, found = replay(tmp_path, f"sshd  {pid}   root    3u  IPv4 0x8d3f1b2a0c4e6f09      0t0  TCP *:22 (LISTEN)\n")
    assert code == 3  # was 70: the snapshot refused the PID, an internal error
    collection = found[("listeners", "listeners (collection)")]
    assert collection["status"] == "not_reviewed"
    assert collection["reason"] == ("some listeners could not be read: bundle file lsof-tcp-listen.txt: rows not "
                                    f"understood, listeners may be missing: line 3: PID {pid} out of range")
    assert found[("listeners", "tcp 127.0.0.1:631 cupsd pid 512")]["status"] == "pass"
