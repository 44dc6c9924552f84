"""Hostile netsh captures holding more than one table of excluded port ranges.

``netsh int ipv4 show excludedportrange protocol=tcp`` prints one table: a title, a "Start Port  End
Port" header, a line of two dash runs, the rows, a footnote.  A file holding two of them (the tcp
and the udp capture pasted into one, or the ipv4 and the ipv6 one) was read as one: the second
table's title, header and dash line hold no digit and were skipped, and its rows were taken for
exclusions of the first.  A UDP exclusion of port 49664 then made wininit's TCP listener on
``0.0.0.0:49664``, inside the tcp/ipv4 dynamic range, "excluded, does not collide": a pass the host's
real exclusions do not give.  A second dash line is a second table: the capture is not one
command's output, so the exclusions are unknown and the pool and its listeners are not reviewed.

Each case copies the ``windows-default-en`` fixture bundle, rewrites its tcp/ipv4 exclusions and
replays it with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

from tests.bundles import replay_edited

TABLE = ("\r\nProtocol {protocol} Port Exclusion Ranges\r\n\r\nStart Port    End Port\r\n----------    --------\r\n"
         "{rows}\r\n* - Administered port exclusions.\r\n\r\n")
WININIT = ("ephemeral-pool", "tcp 0.0.0.0:49664 wininit.exe pid 684")
POOL = ("ephemeral-pool", "ephemeral port pool (tcp/ipv4 dynamic port range)")


def replay(tmp_path: Path, content: str) -> dict:
    def edit(directory: Path) -> None:
        (directory / "netsh-excludedportrange-tcp.txt").write_text(content, newline="")
    return replay_edited(tmp_path, "windows-default-en", edit)[1]


def test_control_case_one_table_is_read(tmp_path):
    found = replay(tmp_path, TABLE.format(protocol="tcp", rows="      5357        5357\r\n"))
    assert found[WININIT]["status"] == "fail"  # 49664 is inside 49152-65535 and not excluded


def test_a_second_table_is_not_read_as_rows_of_the_first(tmp_path):
    content = (TABLE.format(protocol="tcp", rows="      5357        5357\r\n")
               + TABLE.format(protocol="udp", rows="     49664       49664\r\n"))
    found = replay(tmp_path, content)
    listener = found[WININIT]
    assert listener["status"] == "not_reviewed"  # was absent: "excluded", by a UDP exclusion
    assert "whether it is excluded" in listener["reason"]
    pool = found[POOL]
    assert pool["status"] == "not_reviewed"
    assert ("bundle file netsh-excludedportrange-tcp.txt: not understood: line 14: a second table of excluded port "
            "ranges: netsh prints one per protocol and IP version, so this is not one capture") in pool["reason"]


def test_the_udp_table_saved_as_the_tcp_capture_is_not_read_as_tcp_exclusions(tmp_path):
    # netsh names the protocol in the title in every language ("Protocol udp ...", "Protocole udp ...")
    found = replay(tmp_path, TABLE.format(protocol="udp", rows="     49664       49664\r\n"))
    listener = found[WININIT]
    assert listener["status"] == "not_reviewed"  # was absent: excluded by the udp table
    assert ("bundle file netsh-excludedportrange-tcp.txt: not understood: its title names udp, not tcp: the output "
            "of netsh for another protocol") in found[POOL]["reason"]


def test_the_udp_range_saved_as_the_tcp_capture_is_not_the_tcp_range(tmp_path):
    def edit(directory: Path) -> None:
        (directory / "netsh-dynamicport-tcp.txt").write_text(
            "\r\nProtocol udp Dynamic Port Range\r\n---------------------------------\r\n"
            "Start Port      : 10000\r\nNumber of Ports : 55535\r\n\r\n", newline="")
    found = replay_edited(tmp_path, "windows-default-en", edit)[1]
    pool = found[POOL]
    assert pool["status"] == "not_reviewed"  # was pass: the udp range judged as the tcp one
    assert "its title names udp, not tcp" in pool["reason"]
