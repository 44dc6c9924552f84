"""A Windows capture of many listeners and many excluded port spans took hours to judge.

Whether a listener's port is excluded from a dynamic port range was answered by scanning every
excluded span, once per listener and family (the pool's held ports) and again per listener (the
listeners-in-range finding).  netsh lists up to 32,256 disjoint exclusions in a range and netstat up to
the parser's 200,000 rows, all within the 32 MiB a bundle file may hold: 20,000 questions over
32,256 spans took 70 s, a whole capture hours, with no bound and no message.  The spans are merged
and sorted where a pool is built, so the question is now a binary search.

The bundle is ``windows-default-en`` with 30,000 more TCP listeners inside the tcp/ipv4 range (on
the ports between the exclusions) and an exclusion of every other port of it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.bundles import replay_edited

POLICY = """\
id: pool-only
version: "1"
owner: Security Engineering
rules:
  - id: ephemeral-pool
    check: net.ephemeral_port_range
    params:
      min_pool_size: 1
      forbid_listeners_in_range: true
"""
POOL = ("ephemeral-pool", "ephemeral port pool (tcp/ipv4 dynamic port range)")
EXCLUDED = range(49153, 65536, 2)  # 8,192 spans of one port each: 49153, 49155, ... 65535
LISTENING = range(49154, 65536, 2)  # the ports between them, each held by listeners on several addresses


def edit(directory: Path) -> None:
    rows = "".join(f"     {port}       {port}\r\n" for port in EXCLUDED)
    (directory / "netsh-excludedportrange-tcp.txt").write_text(
        "\r\nProtocol tcp Port Exclusion Ranges\r\n\r\nStart Port    End Port\r\n----------    --------\r\n"
        f"{rows}\r\n* - Administered port exclusions.\r\n\r\n", newline="")
    netstat = directory / "netstat-ano.txt"
    text = netstat.read_bytes().decode()
    head, marker, tail = text.partition("  TCP    0.0.0.0:135")
    listeners = "".join(f"  TCP    10.0.{n % 4}.15:{port}        0.0.0.0:0              LISTENING       912\r\n"
                        for port in LISTENING for n in range(4))
    netstat.write_text(head + listeners + marker + tail, newline="")


@pytest.mark.slow  # a replay of 32,000 listeners: about 10 s (it ran into replay_edited's 60 s limit before)
def test_many_listeners_and_exclusions_are_judged_in_seconds(tmp_path):
    started = time.process_time()
    code, found, stderr = replay_edited(tmp_path, "windows-default-en", edit, POLICY)
    elapsed = time.process_time() - started
    pool = found[POOL]
    assert pool["status"] == "pass", stderr
    assert (pool["observed"]["pool_size"], pool["observed"]["held_by_listeners"]) == (1, len(LISTENING))  # 49152
    assert pool["observed"]["excluded"].startswith("49153,49155,")
    assert elapsed < 60, f"{elapsed:.0f} s of CPU"  # was hours (the first 20,000 questions: 70 s)
