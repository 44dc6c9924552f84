"""Hostile Windows TIME_WAIT share: the count covers both IP families, the ranges do not.

``netstat -ano`` lists IPv4 and IPv6 TIME_WAIT rows alike, and Windows keeps one TCP dynamic port
range per family (``netsh int ipv4|ipv6 show dynamicport tcp``).  The share was the whole count over
the tcp/ipv4 range alone: 302 TIME_WAIT sockets, 300 of them IPv6, in a tcp/ipv6 range narrowed to
536 ports passed at 0.5% of the IPv4 range's 55,536, where the IPv6 range is more than half held.
The count is now judged against the smallest TCP range, which the message names.

Each case copies the ``windows-audited`` fixture bundle, edits its captures, and replays it with
``lbaudit evaluate --target replay:DIR`` in-process (policies/corp.yaml: at most 50%).
"""

from __future__ import annotations

from pathlib import Path

from tests.bundles import replay_edited

SHARE = ("time-wait-headroom", "TIME_WAIT share of the ephemeral pool")
NARROW_TCP6 = ("\r\nProtocol tcp Dynamic Port Range\r\n---------------------------------\r\n"
               "Start Port      : 65000\r\nNumber of Ports : 536\r\n\r\n")


def ipv6_time_wait_rows(count: int) -> bytes:
    return "".join(f"  TCP    [2001:db8::15]:{65000 + i:<10} [2001:db8::99]:443     TIME_WAIT       0\r\n"
                   for i in range(count)).encode()


def add_rows(directory: Path, rows: bytes) -> None:
    netstat = directory / "netstat-ano.txt"
    data = netstat.read_bytes()
    anchor = b"  UDP    0.0.0.0:123"
    assert data.count(anchor) == 1
    netstat.write_bytes(data.replace(anchor, rows + anchor))


def test_control_case_both_wide_ranges_the_share_is_of_the_smallest(tmp_path):
    _, found, _ = replay_edited(tmp_path, "windows-audited", lambda d: add_rows(d, ipv6_time_wait_rows(300)))
    share = found[SHARE]
    assert share["status"] == "pass"
    assert share["message"] == ("302 sockets in TIME_WAIT = 0.5% of the 55,535-port ephemeral pool (without the 1 "
                                "port TCP listeners hold in the range) (the tcp/ipv4 dynamic port range, the smallest "
                                "TCP range: the count covers both IP families), at most 50%")


def test_ipv6_time_wait_filling_a_narrowed_tcp_ipv6_range_is_not_hidden_behind_the_ipv4_range(tmp_path):
    def edit(directory: Path) -> None:
        add_rows(directory, ipv6_time_wait_rows(300))
        (directory / "netsh-dynamicport-tcp6.txt").write_text(NARROW_TCP6, newline="")

    code, found, _ = replay_edited(tmp_path, "windows-audited", edit)
    assert code == 1
    share = found[SHARE]
    assert share["status"] == "fail"  # was pass: 302 of the tcp/ipv4 range's 55,536 ports
    assert share["message"] == ("302 sockets in TIME_WAIT = 56.3% of the 536-port ephemeral pool (the tcp/ipv6 "
                                "dynamic port range, the smallest TCP range: the count covers both IP families), "
                                "above 50%")
    assert share["observed"]["pool_size"] == 536


def test_an_unreadable_tcp_ipv6_range_leaves_the_share_unknown(tmp_path):
    def edit(directory: Path) -> None:
        add_rows(directory, ipv6_time_wait_rows(300))
        (directory / "netsh-dynamicport-tcp6.txt").unlink()

    _, found, _ = replay_edited(tmp_path, "windows-audited", edit)
    share = found[SHARE]
    assert share["status"] == "not_reviewed"  # was pass, on the tcp/ipv4 range alone
    assert share["reason"] == "bundle file netsh-dynamicport-tcp6.txt: missing from the bundle"
