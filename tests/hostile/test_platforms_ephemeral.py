"""Hostile Windows dynamic port ranges: ports excluded from inside the range, and a range per
protocol and IP version.

``netsh int ipv4|ipv6 show excludedportrange protocol=tcp|udp`` lists port spans the stack never
hands out; Hyper-V, WSL and Docker reserve blocks of them inside the dynamic range, so a range of
55,536 ports may hold far fewer.  The pool was judged on start + count alone: a passing pool that
cannot serve the declared minimum.  Windows also keeps a udp/ipv6 range of its own, which was never
captured, so a narrowed udp/ipv6 range left the rule passing on the three it saw.

Each case copies a fixture bundle, edits the netsh captures, and replays it with ``lbaudit evaluate
--target replay:DIR`` in-process, asserting the exact status.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited

# Judged by policies/corp.yaml (tests.bundles.CORP): min_pool_size 28,232; forbid_listeners_in_range
POOL = "ephemeral port pool ({} dynamic port range)"
IN_RANGE = ("ephemeral-pool", "listeners in the ephemeral port range")
EXCLUDED = ("\r\nProtocol {protocol} Port Exclusion Ranges\r\n\r\nStart Port    End Port\r\n----------    --------\r\n"
            "{rows}\r\n* - Administered port exclusions.\r\n\r\n")


def excluded(protocol: str, spans: list[tuple[int, int]]) -> str:
    return EXCLUDED.format(protocol=protocol, rows="".join(f"{a:>10}  {b:>10}\r\n" for a, b in spans))


def replay(tmp_path: Path, name: str, edit) -> tuple[int, dict]:
    return replay_edited(tmp_path, name, edit)[:2]

def test_control_case_the_wide_range_without_exclusions_passes(tmp_path):
    _, found = replay(tmp_path, "windows-audited", lambda d: None)
    for label in ("tcp/ipv4", "tcp/ipv6", "udp/ipv4", "udp/ipv6"):
        assert found[("ephemeral-pool", POOL.format(label))]["status"] == "pass"


def test_hyper_v_blocks_excluded_from_inside_the_range_shrink_the_pool(tmp_path):
    # 300 blocks of 100 ports (what Hyper-V / WSL reserve) inside 10000-65535: 25,536 ports are left
    blocks = [(20000 + 100 * i, 20099 + 100 * i) for i in range(300)]
    code, found = replay(tmp_path, "windows-audited", lambda d: (d / "netsh-excludedportrange-tcp.txt").write_text(
        excluded("tcp", blocks), newline=""))
    assert code == 1
    pool = found[("ephemeral-pool", POOL.format("tcp/ipv4"))]
    assert pool["status"] == "fail"  # was pass: 55,536 ports from start + count
    assert pool["observed"]["pool_size"] == 25536
    assert "has 25,536 ports (55,536 less 30,000 excluded (20000-49999))" in pool["message"]
    assert found[("ephemeral-pool", POOL.format("tcp/ipv6"))]["status"] == "pass"  # its own exclusions: none


def test_a_narrowed_udp_ipv6_range_is_judged_on_its_own(tmp_path):
    def narrow(directory: Path) -> None:
        (directory / "netsh-dynamicport-udp6.txt").write_text(
            "\r\nProtocol udp Dynamic Port Range\r\n---------------------------------\r\n"
            "Start Port      : 65000\r\nNumber of Ports : 536\r\n\r\n", newline="")
    code, found = replay(tmp_path, "windows-audited", narrow)
    assert code == 1
    pool = found[("ephemeral-pool", POOL.format("udp/ipv6"))]
    assert pool["status"] == "fail"  # was absent: the rule passed on tcp/ipv4, tcp/ipv6 and udp/ipv4
    assert pool["observed"]["pool_size"] == 536


@pytest.mark.parametrize("name, label", [("netsh-excludedportrange-tcp.txt", "tcp/ipv4"),
                                         ("netsh-dynamicport-udp6.txt", "udp/ipv6")])
def test_a_bundle_of_an_older_capture_script_leaves_that_pool_not_reviewed(tmp_path, name, label):
    code, found = replay(tmp_path, "windows-audited", lambda d: (d / name).unlink())
    assert code == 1
    pool = found[("ephemeral-pool", POOL.format(label))]
    assert pool["status"] == "not_reviewed"  # was pass (or absent) without the file
    assert (f"bundle file {name}: missing from the bundle (written by an older lbaudit capture script? capture the "
            "host again with this version's script)") in pool["reason"]


@pytest.mark.parametrize("content, why", [
    ("The requested operation requires elevation (Run as administrator).\r\n", "no '----------    --------' line"),
    (EXCLUDED.format(protocol="tcp", rows="     50000\r\n"), "line 6: not a 'start port  end port' row"),
    (EXCLUDED.format(protocol="tcp", rows="     50059       50000\r\n"), "line 6: 50059-50000 is not a port range"),
    (EXCLUDED.format(protocol="tcp", rows="     50000       70000\r\n"), "line 6: 50000-70000 is not a port range"),
])
def test_unreadable_exclusions_leave_the_pool_not_reviewed(tmp_path, content, why):
    _, found = replay(tmp_path, "windows-audited",
                      lambda d: (d / "netsh-excludedportrange-tcp.txt").write_text(content, newline=""))
    pool = found[("ephemeral-pool", POOL.format("tcp/ipv4"))]
    assert pool["status"] == "not_reviewed"
    assert why in pool["reason"]


def test_a_listener_on_an_excluded_port_inside_the_range_does_not_collide(tmp_path):
    # wininit on 0.0.0.0:49664, inside 49152-65535: excluded from the range, the stack never hands it out
    _, before = replay(tmp_path / "a", "windows-default-en", lambda d: None)
    assert before[("ephemeral-pool", "tcp 0.0.0.0:49664 wininit.exe pid 684")]["status"] == "fail"
    _, found = replay(tmp_path / "b", "windows-default-en", lambda d: (
        d / "netsh-excludedportrange-tcp.txt").write_text(excluded("tcp", [(5357, 5357), (49664, 49664)]), newline=""))
    assert ("ephemeral-pool", "tcp 0.0.0.0:49664 wininit.exe pid 684") not in found
    assert found[IN_RANGE]["status"] == "pass"
    assert found[IN_RANGE]["observed"]["excluded_listeners_in_range"] == ["tcp/ipv4/49664"]


def test_a_listener_in_the_range_with_unknown_exclusions_is_not_reviewed(tmp_path):
    _, found = replay(tmp_path, "windows-default-en", lambda d: (d / "netsh-excludedportrange-tcp.txt").unlink())
    listener = found[("ephemeral-pool", "tcp 0.0.0.0:49664 wininit.exe pid 684")]
    assert listener["status"] == "not_reviewed"
    assert "port 49664 is inside the tcp/ipv4 dynamic port range 49152-65535, but whether it is excluded" in (
        listener["reason"])


def test_an_ipv6_wildcard_listener_collides_with_the_ipv4_range_too(tmp_path):
    # [::]:50000 takes IPv4 as well (IPV6_V6ONLY is not in netstat's output: dual-stack assumed), so
    # it holds port 50000 in IPv4 and collides with the tcp/ipv4 range 49152-65535, though the
    # tcp/ipv6 range (10000-20000) does not hold it; [::1]:50001 is IPv6 only
    def edit(directory: Path) -> None:
        (directory / "netsh-dynamicport-tcp6.txt").write_text(
            "\r\nProtocol tcp Dynamic Port Range\r\n---------------------------------\r\n"
            "Start Port      : 10000\r\nNumber of Ports : 10001\r\n\r\n", newline="")
        netstat = directory / "netstat-ano.txt"
        netstat.write_bytes(netstat.read_bytes().replace(
            b"  UDP    0.0.0.0:123",
            b"  TCP    [::]:50000             [::]:0                 LISTENING       3120\r\n"
            b"  TCP    [::1]:50001            [::]:0                 LISTENING       3120\r\n"
            b"  UDP    0.0.0.0:123"))
    _, found = replay(tmp_path, "windows-default-en", edit)
    wildcard = found[("ephemeral-pool", "tcp [::]:50000 devserver.exe pid 3120")]
    assert wildcard["status"] == "fail"  # was absent: judged against the tcp/ipv6 range alone
    assert "inside the Windows tcp/ipv4 dynamic port range 49152-65535" in wildcard["message"]
    assert "an IPv6 socket that also takes IPv4 holds the port in IPv4 too" in wildcard["message"]
    assert ("ephemeral-pool", "tcp [::1]:50001 devserver.exe pid 3120") not in found


def test_a_macos_range_set_first_above_last_is_the_same_ports_counted_down(tmp_path):
    # BSD's port allocation (XNU in_pcbbind, FreeBSD in_pcb_lport) takes first > last as last-first,
    # counted down: rapportd's *:49158 is inside it; the listeners were never found in "65535-49152"
    def edit(directory: Path) -> None:
        sysctl = directory / "sysctl.txt"
        sysctl.write_text(sysctl.read_text().replace("net.inet.ip.portrange.first: 49152", "net.inet.ip.portrange.first: 65535")
                          .replace("net.inet.ip.portrange.last: 65535", "net.inet.ip.portrange.last: 49152"))
    _, found = replay(tmp_path, "macos-default", edit)
    listener = found[("ephemeral-pool", "tcp 0.0.0.0:49158 rapportd pid 541")]
    assert listener["status"] == "fail"  # was absent, and the range's listeners finding passed
    assert "inside the macOS ephemeral port range 49152-65535" in listener["message"]
    assert found[("ephemeral-pool", "ephemeral port pool")]["observed"]["pool_size"] == 16383  # less rapportd's
    assert found[("ephemeral-pool", "ephemeral port range bounds")]["status"] == "pass"
