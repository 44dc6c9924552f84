"""Hostile pools, false passes: Windows and macOS listeners inside the dynamic range were not subtracted.

A port a listener holds is never handed to an outgoing connection: Windows' implicit bind skips a
port in use, and BSD's in_pcbbind (which connect() calls with the wildcard address on macOS) looks
the port up with INPLOOKUP_WILDCARD, so a listener on any address takes it.  Linux's pool has left
those ports out since net.ephemeral_port_range 1.8.0; the Windows and macOS pools counted the whole
range.  Every Windows host has RPC listeners there (wininit, lsass, services, spoolsv, schedsvc on
49664-49669, IPv4 and IPv6): the default tcp/ipv4 range of 16,384 ports passed ``min_pool_size:
16384`` and a peak of 136.5 new connections a second (x 120 s = 16,380 ports) at a maximum of 100%
with six of its ports held.  Now they are subtracted, per range: a tcp/ipv4 range loses the ports of
IPv4 listeners and of dual-stack ``[::]`` ones, a tcp/ipv6 range those of IPv6 listeners; macOS's
one range serves both families, so it loses the ports of whichever family holds more.  UDP ranges
keep their size, as Linux's does (a UDP client holding an ephemeral port looks like a service).

Each case edits a captured bundle and replays it with ``lbaudit evaluate --target replay:DIR``.
"""

from __future__ import annotations

from pathlib import Path

from tests.bundles import replay_edited

POLICY = """\
id: pool
version: "1"
owner: T
rules:
  - id: pool
    check: net.ephemeral_port_range
    params: {{min_pool_size: {minimum}, forbid_listeners_in_range: false}}
  - id: tw
    check: net.time_wait
    params: {{peak_new_connections_per_second: {rate}, max_pool_utilization: 1}}
"""
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"
RPC = [(pid, port) for pid, port in ((684, 49664), (772, 49665), (600, 49666), (1316, 49667), (780, 49668),
                                     (1588, 49669))]


def rpc_listeners(directory: Path) -> None:
    """The RPC listeners of a default Windows Server, IPv4 and IPv6 (the bundle has only the first)."""
    netstat = directory / "netstat-ano.txt"
    text = netstat.read_bytes().decode()
    rows = "".join(f"  TCP    0.0.0.0:{port:<15}0.0.0.0:0              LISTENING       {pid}\r\n"
                   f"  TCP    [::]:{port:<18}[::]:0                 LISTENING       {pid}\r\n"
                   for pid, port in RPC[1:])
    rows += f"  TCP    [::]:{RPC[0][1]:<18}[::]:0                 LISTENING       {RPC[0][0]}\r\n"
    marker = "  TCP    127.0.0.1:8080 "
    netstat.write_text(text.replace(marker, rows + marker, 1), newline="")


def test_windows_rpc_listeners_take_six_ports_from_each_tcp_range(tmp_path):
    code, found, _ = replay_edited(tmp_path, "windows-default-en", rpc_listeners,
                                   POLICY.format(minimum=16384, rate=136.5))
    assert code == 1
    for family, command in (("ipv4", "netsh int ipv4 show dynamicport tcp"),
                            ("ipv6", "netsh int ipv6 show dynamicport tcp")):
        pool = found[("pool", f"ephemeral port pool (tcp/{family} dynamic port range)")]
        assert pool["status"] == "fail"  # was pass: 16,384 ports
        assert pool["observed"]["pool_size"] == 16378
        assert pool["observed"]["held_by_listeners"] == 6
        assert pool["message"] == (
            f"the Windows tcp/{family} dynamic port range 49152-65535 ({command}) has 16,378 ports (16,384 less 6 "
            "held by TCP listeners: 49664,49665,49666,49667,49668,49669), fewer than the minimum 16,384: outgoing "
            "connections run out of ports sooner")
        headroom = found[("tw", f"{HEADROOM} (tcp/{family} dynamic port range)")]
        assert headroom["status"] == "fail"  # was pass: 16,380 of 16,384 ports
        assert headroom["observed"]["pool_size"] == 16378
    # UDP ranges are not TCP's: their size stays
    assert found[("pool", "ephemeral port pool (udp/ipv4 dynamic port range)")]["status"] == "pass"


def test_a_dual_stack_listener_takes_its_port_from_the_ipv4_range_too(tmp_path):
    def dual_stack_only(directory: Path) -> None:
        netstat = directory / "netstat-ano.txt"
        text = netstat.read_bytes().decode()
        netstat.write_text(text.replace("  TCP    0.0.0.0:49664          0.0.0.0:0              LISTENING       684\r\n",
                                        "  TCP    [::]:49700             [::]:0                 LISTENING       684\r\n"),
                           newline="")
    code, found, _ = replay_edited(tmp_path, "windows-default-en", dual_stack_only,
                                   POLICY.format(minimum=16384, rate=1))
    for family in ("ipv4", "ipv6"):
        pool = found[("pool", f"ephemeral port pool (tcp/{family} dynamic port range)")]
        assert (pool["status"], pool["observed"]["pool_size"]) == ("fail", 16383)


def test_control_case_windows_without_listeners_in_the_range_keeps_the_whole_range(tmp_path):
    def no_rpc(directory: Path) -> None:
        netstat = directory / "netstat-ano.txt"
        netstat.write_text(netstat.read_bytes().decode().replace(
            "  TCP    0.0.0.0:49664          0.0.0.0:0              LISTENING       684\r\n", ""), newline="")
    code, found, _ = replay_edited(tmp_path, "windows-default-en", no_rpc, POLICY.format(minimum=16384, rate=136.5))
    pool = found[("pool", "ephemeral port pool (tcp/ipv4 dynamic port range)")]
    assert (pool["status"], pool["observed"]["pool_size"]) == ("pass", 16384)
    assert found[("tw", f"{HEADROOM} (tcp/ipv4 dynamic port range)")]["status"] == "pass"


def test_macos_rapportd_in_the_range_takes_its_port(tmp_path):
    # 16,384 / 30 s = 546.13/s: 546 new connections a second hold 16,380 ports
    code, found, _ = replay_edited(tmp_path, "macos-default", lambda d: None, POLICY.format(minimum=16384, rate=546))
    pool = found[("pool", "ephemeral port pool")]
    assert pool["status"] == "fail"  # was pass: 16,384 ports
    assert pool["observed"]["pool_size"] == 16383
    assert pool["message"] == (
        "the macOS ephemeral port range 49152-65535 (sysctl net.inet.ip.portrange.first / net.inet.ip.portrange.last) "
        "has 16,383 ports (16,384 less 1 held by TCP listeners: 49158), fewer than the minimum 16,384: outgoing "
        "connections run out of ports sooner")
    assert found[("tw", HEADROOM)]["observed"]["pool_size"] == 16383


def test_macos_counts_the_family_whose_listeners_hold_more(tmp_path):
    def more_ipv6(directory: Path) -> None:
        lsof = directory / "lsof-tcp-listen.txt"
        lsof.write_text(lsof.read_text() + "".join(
            f"rapportd    541  alice    {5 + i}u  IPv6 0x8d3f1b2a0c4e6f{10 + i:02x}      0t0  TCP [::1]:{port} (LISTEN)\n"
            for i, port in enumerate((50001, 50002))))
    code, found, _ = replay_edited(tmp_path, "macos-default", more_ipv6, POLICY.format(minimum=16384, rate=1))
    pool = found[("pool", "ephemeral port pool")]
    # IPv4 connections lose 49158, IPv6 ones 50001 and 50002: the fewest ports one connection finds
    assert (pool["status"], pool["observed"]["pool_size"]) == ("fail", 16382)


def test_the_legacy_max_user_port_range_loses_the_rdp_port(tmp_path):
    """MaxUserPort 5000 sets 1025-5000 (3,976 ports), where RDP listens on 3389: 3,975 are handed out."""
    def max_user_port_5000(directory: Path) -> None:
        registry = directory / "tcpip-parameters.txt"
        registry.write_text(registry.read_text().replace("    MaxUserPort    REG_DWORD    0xfffe",
                                                         "    MaxUserPort    REG_DWORD    0x1388", 1))
    # TcpTimedWaitDelay 30 s: 132.5 new connections a second hold 3,975 ports
    code, found, _ = replay_edited(tmp_path, "windows-audited", max_user_port_5000,
                                   POLICY.format(minimum=3976, rate=132.5))
    legacy = found[("pool", "legacy MaxUserPort")]
    assert legacy["status"] == "fail"  # was pass: 3,976 ports
    assert legacy["observed"]["legacy_pool_size"] == 3975
    assert legacy["message"] == (
        "MaxUserPort = 5000 is set in Tcpip\\Parameters: where Windows still honours it, outgoing connections take "
        "ports 1025-5000 (3,975 ports: 3,976 less 1 held by TCP listeners: 3389), fewer than the minimum 3,976")
    headroom = found[("tw", f"{HEADROOM} (legacy MaxUserPort 1025-5000)")]
    assert (headroom["status"], headroom["observed"]["pool_size"]) == ("fail", 3975)  # was pass: 99.97% of 3,976


def test_without_the_listeners_the_pool_says_their_ports_are_not_subtracted(tmp_path):
    code, found, _ = replay_edited(tmp_path, "windows-audited", lambda d: (d / "netstat-ano.txt").unlink(),
                                   POLICY.format(minimum=100, rate=1))
    # Those passes rested on pools the unread listeners may have made smaller: not_reviewed since pool21
    # (tests/hostile/test_pool21_pool_unseen_listeners.py), saying why.
    unseen = (", but the listening sockets could not be read (bundle file netstat-ano.txt: missing from the bundle): "
              "the ports TCP listeners hold in the range, which connect() never takes, are not known, so the pool may "
              "be smaller than that")
    pool = found[("pool", "ephemeral port pool (tcp/ipv4 dynamic port range)")]
    assert (pool["status"], pool["reason"]) == ("not_reviewed", (
        "the Windows tcp/ipv4 dynamic port range 10000-65535 (netsh int ipv4 show dynamicport tcp) has 55,536 ports, "
        "at least the minimum 100" + unseen))
    legacy = found[("pool", "legacy MaxUserPort")]
    assert (legacy["status"], legacy["reason"]) == ("not_reviewed", (
        "MaxUserPort = 65534 is set in Tcpip\\Parameters: where Windows still honours it, outgoing connections take "
        "ports 1025-65534 (64,510 ports), at least the minimum 100 and within 1024-65535" + unseen))
    # UDP ranges never subtract listeners, so they say nothing of them
    assert "listeners" not in found[("pool", "ephemeral port pool (udp/ipv4 dynamic port range)")]["message"]
