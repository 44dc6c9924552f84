"""Hostile Windows dynamic port ranges that no Windows host holds: a start below 1025 or fewer than
255 ports.

``netsh int ipv4 set dynamicport`` refuses a start port below 1025 and a range of fewer than 255
ports (Microsoft KB 929851: "The minimum range of ports that can be set is 255. The minimum start
port that can be set is 1025"), so ``show dynamicport`` never prints one.  A capture that does is
not a running value (edited, or pasted from elsewhere): judged as written, start 1 with 65,535
ports made a pool that passed a minimum size the host's real range (default 49152 + 16,384) fails,
and the listeners on ports 1-1024 counted as inside it.  Never a pass: not reviewed, with why.

Each case copies the ``windows-default-en`` fixture bundle, rewrites the tcp/ipv4 capture and
replays it with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited

POOL = ("ephemeral-pool", "ephemeral port pool (tcp/ipv4 dynamic port range)")


def replay(tmp_path: Path, start: int, count: int) -> dict:
    def edit(directory: Path) -> None:
        (directory / "netsh-dynamicport-tcp.txt").write_text(
            "\r\nProtocol tcp Dynamic Port Range\r\n---------------------------------\r\n"
            f"Start Port      : {start}\r\nNumber of Ports : {count}\r\n\r\n", newline="")
    return replay_edited(tmp_path, "windows-default-en", edit)[1][POOL]


def test_control_case_a_wide_range_windows_accepts_passes(tmp_path):
    assert replay(tmp_path, 1025, 64511)["status"] == "pass"


@pytest.mark.parametrize("start, count, why", [
    (1, 65535, "start port 1 is below 1025"),
    (1024, 64512, "start port 1024 is below 1025"),
    (60000, 254, "254 ports are fewer than 255"),
])
def test_a_range_netsh_refuses_to_set_is_not_reviewed(tmp_path, start, count, why):
    finding = replay(tmp_path, start, count)
    assert finding["status"] == "not_reviewed"  # start 1 was pass: a 65,535-port pool
    assert why in finding["reason"]
    assert "netsh accepts no such range" in finding["reason"]
