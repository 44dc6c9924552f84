"""Hostile Windows TIME_WAIT settings: TcpTimedWaitDelay outside the range Windows documents.

Microsoft's TCP/IP registry reference gives TcpTimedWaitDelay a REG_DWORD range of 30-300 seconds
(default 0x78 = 120 s when the value is not set).  What the stack does with 0x5 or 0x1000 is not
documented (clamped to the range? the default?), so judging the pool headroom on the value as
written passed a 5 s TIME_WAIT at a rate that exhausts the pool at 30 s: never a pass.

Each case copies the ``windows-default-en`` fixture bundle, sets the value in the captured
``reg query`` output, and replays it with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited

HEADROOM = "ephemeral pool headroom at the declared peak connection rate ({} dynamic port range)"


def replay(tmp_path: Path, data: str) -> tuple[int, dict]:
    def set_delay(directory: Path) -> None:
        registry = directory / "tcpip-parameters.txt"
        anchor = "    EnableWsd    REG_DWORD    0x1"
        text = registry.read_text()
        assert anchor in text
        registry.write_text(text.replace(anchor, f"{anchor}\n    TcpTimedWaitDelay    REG_DWORD    {data}", 1))

    return replay_edited(tmp_path, "windows-default-en", set_delay)[:2]

@pytest.mark.parametrize("data, seconds", [("0x1", 1), ("0x5", 5), ("0x1d", 29), ("0x12d", 301),
                                           ("0xffffffff", 4294967295)])
def test_a_delay_outside_30_300_is_not_reviewed_never_judged_as_written(tmp_path, data, seconds):
    code, found = replay(tmp_path, data)
    assert code == 1
    for label in ("tcp/ipv4", "tcp/ipv6"):
        finding = found[("time-wait-headroom", HEADROOM.format(label))]
        assert finding["status"] == "not_reviewed"  # 0x5 was pass: 300/s x 5 s = 9% of the pool
        assert finding["reason"] == (f"how long Windows keeps a port in TIME_WAIT is not known: "
                                     f"TcpTimedWaitDelay = {seconds} s is outside the range Windows documents "
                                     "(30-300 s); what TIME_WAIT the stack then uses is not documented")


@pytest.mark.parametrize("data, status", [("0x1e", "pass"), ("0x1E", "pass"), ("0x12c", "fail")])
def test_the_ends_of_the_documented_range_are_judged(tmp_path, data, status):
    # corp.yaml declares 300 new connections/s: x 30 s = 55% of 16,384 ports (at most 60%: pass),
    # x 300 s far above it (fail)
    _, found = replay(tmp_path, data)
    assert found[("time-wait-headroom", HEADROOM.format("tcp/ipv4"))]["status"] == status
