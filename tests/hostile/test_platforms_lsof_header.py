"""Hostile ``lsof`` captures that hold lsof's header line and no socket row.

lsof prints its ``COMMAND PID USER ...`` header together with its first row, and nothing at all
when no socket matches (exit status 1).  A listing that is the header alone was therefore cut off
right after it (a capture interrupted, a copy that kept the first line), and every row is missing;
it read as "no TCP listeners", so a Mac listening on ``*:22`` and ``*:7000`` passed a loopback-only
policy on its UDP sockets alone.  It is now a listing not understood: the listener list is
incomplete (not_reviewed, exit 3).

Each case copies the ``macos-default`` fixture bundle, writes the captured listing, and replays it
with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import LOOPBACK_ONLY, replay_edited

HEADER = "COMMAND     PID   USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME\n"
LOOPBACK_UDP = HEADER + "syslogd     352   root    5u  IPv4 0x8d3f1b2a0c4e7004      0t0  UDP 127.0.0.1:514\n"
LOOPBACK_TCP = HEADER + "cupsd       512   root    6u  IPv4 0x8d3f1b2a0c4e6f04      0t0  TCP 127.0.0.1:631 (LISTEN)\n"


def replay(tmp_path: Path, tcp: str, udp: str) -> tuple[int, dict]:
    def edit(directory: Path) -> None:
        (directory / "lsof-tcp-listen.txt").write_text(tcp)
        (directory / "lsof-udp.txt").write_text(udp)
    return replay_edited(tmp_path, "macos-default", edit, LOOPBACK_ONLY)[:2]


def test_control_case_listings_with_rows_are_judged(tmp_path):
    code, found = replay(tmp_path, LOOPBACK_TCP, LOOPBACK_UDP)
    assert code == 0
    assert found[("listeners", "tcp 127.0.0.1:631 cupsd pid 512")]["status"] == "pass"
    assert ("listeners", "listeners (collection)") not in found


@pytest.mark.parametrize("which, header", [("tcp", HEADER), ("udp", HEADER), ("tcp", "\n" + HEADER + "\n")])
def test_a_listing_of_the_header_alone_is_not_no_listeners(tmp_path, which, header):
    tcp, udp = (header, LOOPBACK_UDP) if which == "tcp" else (LOOPBACK_TCP, header)
    name = "lsof-tcp-listen.txt" if which == "tcp" else "lsof-udp.txt"
    code, found = replay(tmp_path, tcp, udp)
    assert code == 3  # was 0: the header alone read as no sockets of that protocol
    collection = found[("listeners", "listeners (collection)")]
    assert collection["status"] == "not_reviewed"
    assert collection["reason"] == (
        f"some listeners could not be read: bundle file {name}: not understood: lsof's header and no row: lsof "
        "prints its header only above a first row (and nothing when no socket matches), so the listing was cut "
        "off after it")
