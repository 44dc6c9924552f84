"""A reg query capture of many values took hours to read.

Each value line was tested against every name read before it (registry names are case-insensitive,
and a name listed twice is refused): 20,000 values took 56 s, and the 32 MiB a bundle file may hold
(a million lines) hours, with no bound and no message.  The names read are now a set of case-folded
names, so the capture below (28,000 values, just under the 1 MiB the file of a probe that prints a
few lines may hold since replay23; 200,000 values, 7 MiB, before) is read in seconds, and a name
listed twice in another case is still refused.

Each case copies the ``windows-default-en`` fixture bundle, rewrites ``tcpip-parameters.txt`` and
replays it with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.bundles import replay_edited

POLICY = """\
id: time-wait-only
version: "1"
owner: Security Engineering
rules:
  - id: time-wait
    check: net.time_wait
    params:
      peak_new_connections_per_second: 100
"""
KEY = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"
HEADROOM = ("time-wait", "ephemeral pool headroom at the declared peak connection rate (tcp/ipv4 dynamic port range)")


def registry(values: str) -> str:
    return (f"\r\n{KEY}\r\n{values}    TcpTimedWaitDelay    REG_DWORD    0x1e\r\n\r\n"
            f"{KEY}\\Adapters\r\n{KEY}\\Interfaces\r\n\r\n")


def replay(tmp_path: Path, values: str) -> tuple[dict, str]:
    def edit(directory: Path) -> None:
        (directory / "tcpip-parameters.txt").write_text(registry(values), newline="")

    _, found, stderr = replay_edited(tmp_path, "windows-default-en", edit, POLICY)
    return found[HEADROOM], stderr


@pytest.mark.slow  # a replay of a 1 MiB capture: a few seconds (it ran into replay_edited's 60 s limit before)
def test_many_values_are_read_in_seconds(tmp_path):
    started = time.process_time()
    # 28,000 values: as many as the file's 1 MiB bound holds (20,000 took 56 s when each was compared
    # with every one before it)
    finding, stderr = replay(tmp_path, "".join(f"    Value{n}    REG_DWORD    0x1\r\n" for n in range(28_000)))
    elapsed = time.process_time() - started
    assert finding["status"] == "pass", stderr
    assert "TcpTimedWaitDelay = 30 s" in finding["message"]
    assert elapsed < 30, f"{elapsed:.0f} s of CPU"  # was 56 s for 20,000 values


def test_a_value_listed_twice_in_another_case_is_still_refused(tmp_path):
    finding, _ = replay(tmp_path, "    TCPTIMEDWAITDELAY    REG_DWORD    0x12c\r\n")
    assert finding["status"] == "not_reviewed"
    assert "listed a second time" in finding["message"]
