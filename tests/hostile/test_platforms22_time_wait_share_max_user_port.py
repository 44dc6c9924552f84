"""Hostile Windows TIME_WAIT share: the legacy MaxUserPort range was left out of it.

net.ephemeral_port_range and net.time_wait's peak headroom judge MaxUserPort, when the registry sets
it, as the range 1025-MaxUserPort that outgoing connections take where Windows still honours it
(tests/hostile/test_checks13_max_user_port_headroom.py).  The live TIME_WAIT share was judged
against the netsh dynamic ranges alone: with MaxUserPort 0x1388 (ports 1025-5000, 3,975 once RDP's
listener is left out) and 3,500 connections in TIME_WAIT, the share passed a maximum of 50% as 6%
of the 55,536-port tcp/ipv4 range, where the legacy range is 88% held.  The share is now judged
against the smallest of the TCP pools, the legacy one among them; not_reviewed where MaxUserPort is
set but unusable (outside 5000-65534).

Each case copies the ``windows-audited`` fixture bundle (MaxUserPort 0xfffe, TcpTimedWaitDelay 30),
sets the captured ``reg query`` value, adds TIME_WAIT rows to the captured ``netstat -ano``, and
replays it with ``lbaudit evaluate --target replay:DIR``.
"""

from __future__ import annotations

from pathlib import Path

from tests.bundles import replay_edited

SHARE = ("share", "TIME_WAIT share of the ephemeral pool")

POLICY = """\
id: share
version: "1"
owner: Test <test@example.com>
rules:
  - id: share
    check: net.time_wait
    params:
      max_time_wait_share: 0.5
"""


def replay(tmp_path: Path, data: str, time_wait: int) -> dict:
    def edit(directory: Path) -> None:
        registry = directory / "tcpip-parameters.txt"
        written = "    MaxUserPort    REG_DWORD    0xfffe"
        text = registry.read_text()
        assert written in text
        registry.write_text(text.replace(written, f"    MaxUserPort    REG_DWORD    {data}", 1))
        netstat = directory / "netstat-ano.txt"
        rows = "".join(f"  TCP    10.0.0.15:{1100 + n}        20.42.65.{n % 200}:443        TIME_WAIT       0\r\n"
                       for n in range(time_wait))
        netstat.write_bytes(netstat.read_bytes() + rows.encode())

    _, found, _ = replay_edited(tmp_path, "windows-audited", edit, POLICY)
    return found[SHARE]


def test_a_share_the_legacy_range_cannot_hold_fails(tmp_path):
    share = replay(tmp_path, "0x1388", 3500)
    assert share["status"] == "fail"  # was pass: 3,502 of the 55,536-port tcp/ipv4 range, 6%
    assert "3,975-port ephemeral pool" in share["message"]
    assert "legacy MaxUserPort 1025-5000" in share["message"]
    assert share["observed"]["pool_size"] == 3975


def test_a_wide_legacy_range_keeps_the_netsh_range_the_smallest(tmp_path):
    share = replay(tmp_path, "0xfffe", 3500)
    assert share["status"] == "pass"
    assert share["observed"]["pool_size"] == 55536 - 1  # the tcp/ipv4 range, less one listener's port in it


def test_an_undocumented_max_user_port_leaves_the_share_not_reviewed(tmp_path):
    share = replay(tmp_path, "0x1869f", 10)
    assert share["status"] == "not_reviewed"
    assert "MaxUserPort = 99999 is outside the range Windows documents" in share["reason"]
