"""Hostile Windows netstat captures narrowed to some protocols or IP families.

``netstat -ano`` (what the capture script runs) lists TCP and UDP over IPv4 and IPv6, and every
Windows since Vista has sockets of all four kinds (RPC listens on ``0.0.0.0:135`` and ``[::]:135``;
LLMNR, mDNS and w32time on UDP over both families).  A capture made by hand with ``-p``
(``netstat -ano -p tcp`` lists TCP over IPv4 alone; ``-p tcpv6``, ``-p udp``, ``-p udpv6`` one kind
each) prints the same title and header: nothing in it says what was left out, and a listener list
of loopback TCP rows passed, the wildcard UDP and IPv6 listeners it could not show unjudged; the
TIME_WAIT share counted IPv4 rows alone and said "the count covers both IP families".

The capture must show a row of each kind; a kind it lacks is a gap naming it, so the listener list
(and, for TCP, the TIME_WAIT count) is not reviewed, never passed.

Each case copies the ``windows-default-en`` fixture bundle, keeps only some rows of its
``netstat-ano.txt`` and replays it with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import LOOPBACK_ONLY, replay_edited

TIME_WAIT = """\
id: time-wait-only
version: "1"
owner: Security Engineering
rules:
  - id: time-wait
    check: net.time_wait
    params:
      max_time_wait_share: 0.5
"""
SHARE = ("time-wait", "TIME_WAIT share of the ephemeral pool")
COLLECTION = ("listeners", "listeners (collection)")


def _keep(kinds: set[tuple[str, str]], only_loopback_listeners: bool = True):
    """An edit keeping the netstat rows of ``kinds`` ((protocol, family)) and, with
    ``only_loopback_listeners``, no wildcard listener (so the rows kept pass LOOPBACK_ONLY)."""
    def edit(directory: Path) -> None:
        path = directory / "netstat-ano.txt"
        kept = []
        for line in path.read_text().splitlines():
            words = line.split()
            if words and words[0] in ("TCP", "UDP"):
                kind = (words[0].lower(), "ipv6" if words[1].startswith("[") else "ipv4")
                if kind not in kinds:
                    continue
                if only_loopback_listeners and not words[1].startswith(("127.", "[::1]")) and (
                        words[2] in ("0.0.0.0:0", "[::]:0", "*:*")):
                    continue
            kept.append(line)
        path.write_text("\r\n".join(kept) + "\r\n", newline="")
    return edit


ALL = {("tcp", "ipv4"), ("tcp", "ipv6"), ("udp", "ipv4"), ("udp", "ipv6")}


def test_control_case_every_kind_present_lists_the_listeners_whole(tmp_path):
    code, found, _ = replay_edited(tmp_path, "windows-default-en", _keep(ALL, False), LOOPBACK_ONLY)
    assert COLLECTION not in found
    assert found[("listeners", "udp [::]:123 svchost.exe pid 1432")]["status"] == "fail"
    assert code == 1  # RDP and the wildcard UDP sockets fail; nothing is missing


@pytest.mark.parametrize("kinds, missing", [
    ({("tcp", "ipv4")}, "UDP over IPv4, TCP over IPv6, UDP over IPv6"),  # netstat -ano -p tcp
    ({("tcp", "ipv4"), ("tcp", "ipv6")}, "UDP over IPv4, UDP over IPv6"),  # -p tcp and -p tcpv6
    (ALL - {("udp", "ipv6")}, "UDP over IPv6"),
])
def test_a_capture_without_some_kinds_is_not_reviewed_never_passed(tmp_path, kinds, missing):
    code, found, _ = replay_edited(tmp_path, "windows-default-en", _keep(kinds), LOOPBACK_ONLY)
    assert code == 3  # was 0: the loopback TCP rows passed, the rest unseen
    finding = found[COLLECTION]
    assert finding["status"] == "not_reviewed"
    assert (f"bundle file netstat-ano.txt: no row of {missing}: netstat -ano lists TCP and UDP over IPv4 and "
            "IPv6") in finding["message"]
    assert "netstat -ano -p tcp" in finding["message"]


def test_a_tcp_over_ipv4_capture_does_not_count_time_wait_for_both_families(tmp_path):
    code, found, _ = replay_edited(tmp_path, "windows-default-en", _keep({("tcp", "ipv4")}, False), TIME_WAIT)
    finding = found[SHARE]
    assert finding["status"] == "not_reviewed"  # was pass: "the count covers both IP families"
    assert "bundle file netstat-ano.txt: no row of UDP over IPv4, TCP over IPv6, UDP over IPv6" in finding["message"]
    assert code == 3
