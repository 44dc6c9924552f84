"""Parsers of /proc/net text, on files captured from a real host (tests/fixtures/proc/).

The capture was taken on an x86_64 (little-endian) kernel with these sockets open:
tcp 127.0.0.1:43001, 0.0.0.0:43002, [::1]:43003, [::]:43004 (v6only 0), [::]:43005 (v6only 1),
[::ffff:127.0.0.1]:43006; udp 127.0.0.1:43011, 0.0.0.0:43012, [::1]:43013, [::]:43014; an
established loopback pair on 43020 and one TIME_WAIT socket.
"""

from pathlib import Path

import pytest

from auditor.collect.parsers.proc_net import (
    STATE_CLOSE,
    STATE_ESTABLISHED,
    STATE_LISTEN,
    STATE_TIME_WAIT,
    ProcNetSocket,
    decode_address,
    ipv6_text,
    parse_proc_net,
    parse_proc_net_line,
    parse_sctp_eps,
    parse_sockstat,
    time_wait_count,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "proc"


def _read(name: str) -> str:
    return (FIXTURES / name).read_text()


def _listening(rows, state):
    return {(r.local_address, r.local_port, r.inode) for r in rows if r.state == state}


def test_tcp4_rows_decode_addresses_ports_states_and_inodes():
    rows = parse_proc_net(_read("tcp"), byteorder="little")
    assert len(rows) == 7
    assert _listening(rows, STATE_LISTEN) == {
        ("127.0.0.1", 43001, 12397),
        ("0.0.0.0", 43002, 12398),
        ("127.0.0.1", 43020, 12407),
        ("0.0.0.0", 2024, 1060),
    }
    established = [r for r in rows if r.state == STATE_ESTABLISHED]
    assert {(r.local_port, r.remote_address, r.remote_port) for r in established} == {
        (43020, "127.0.0.1", 51758),
        (51758, "127.0.0.1", 43020),
    }
    time_wait = [r for r in rows if r.state == STATE_TIME_WAIT]
    assert time_wait == [ProcNetSocket("127.0.0.1", 51770, "127.0.0.1", 43020, STATE_TIME_WAIT, 0, 0)]
    assert all(r.uid == 0 for r in rows)


def test_tcp6_rows_compress_addresses_and_keep_ipv4_mapped_form():
    rows = parse_proc_net(_read("tcp6"), byteorder="little")
    assert _listening(rows, STATE_LISTEN) == {
        ("::ffff:127.0.0.1", 43006, 12402),
        ("::1", 43003, 12399),
        ("::", 43005, 12401),
        ("::", 43004, 12400),
    }
    assert {r.remote_address for r in rows} == {"::"}


def test_udp_rows_are_unconnected_close_state():
    udp4 = parse_proc_net(_read("udp"), byteorder="little")
    udp6 = parse_proc_net(_read("udp6"), byteorder="little")
    assert _listening(udp4, STATE_CLOSE) == {("127.0.0.1", 43011, 12403), ("0.0.0.0", 43012, 12404)}
    assert _listening(udp6, STATE_CLOSE) == {("::1", 43013, 12405), ("::", 43014, 12406)}


def test_big_endian_host_words_are_not_reversed():
    # On a big-endian host the kernel prints the network-order word as is.
    assert decode_address("7F000001", byteorder="big") == "127.0.0.1"
    assert decode_address("0000000000000000" "0000FFFF" "7F000001", byteorder="big") == "::ffff:127.0.0.1"
    assert decode_address("FE800000000000000000000000000001", byteorder="big") == "fe80::1"


def test_little_endian_ipv6_words_are_reversed_one_by_one():
    assert decode_address("000080FE000000000000000001000000", byteorder="little") == "fe80::1"
    assert decode_address("B80D0120000000000000000001000000", byteorder="little") == "2001:db8::1"


def test_ipv6_text_spells_mapped_wildcard_and_compresses_the_rest():
    assert ipv6_text(bytes(10) + b"\xff\xff" + bytes(4)) == "::ffff:0.0.0.0"
    assert ipv6_text(bytes(16)) == "::"
    assert ipv6_text(bytes(12) + b"\x01\x02\x03\x04") == "::102:304"  # not the deprecated ::1.2.3.4


@pytest.mark.parametrize(
    "line",
    [
        "",
        "0: 0100007F:A7F9",
        "0: 0100007F-A7F9 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 12397",
        "0: 0100007:A7F9 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 12397",
        "0: 0100007F:A7F9 00000000:0000 ZZ 00000000:00000000 00:00000000 00000000 0 0 12397",
    ],
)
def test_malformed_rows_raise_value_error(line):
    with pytest.raises(ValueError):
        parse_proc_net_line(line)


def test_malformed_file_names_the_line():
    text = _read("tcp").splitlines()
    text.insert(2, "   9: garbage")
    with pytest.raises(ValueError, match="line 3"):
        parse_proc_net("\n".join(text))


def test_sockstat_time_wait_is_the_tw_field_of_the_tcp_line():
    table = parse_sockstat(_read("sockstat"))
    assert table["TCP"] == {"inuse": 6, "orphan": 0, "tw": 1, "alloc": 10, "mem": 311}
    assert table["sockets"] == {"used": 28}
    assert time_wait_count(table) == 1


def test_sockstat6_has_no_time_wait_counter():
    table = parse_sockstat(_read("sockstat6"))
    assert table["TCP6"] == {"inuse": 4}
    assert table["UDP6"] == {"inuse": 2}
    with pytest.raises(ValueError, match="tw"):
        time_wait_count(table)


@pytest.mark.parametrize("text", ["TCP: inuse", "TCP: inuse x", "TCP inuse 1"])
def test_malformed_sockstat_raises(text):
    with pytest.raises(ValueError, match="line 1"):
        parse_sockstat(text)


def test_snmp_current_established_from_a_captured_file():
    from auditor.collect.parsers.proc_net import established_count, parse_snmp

    table = parse_snmp((FIXTURES / "snmp").read_text())
    assert set(table) >= {"Ip", "Tcp", "Udp"}
    assert established_count(table) == table["Tcp"]["CurrEstab"] >= 0


def test_snmp_mismatched_lines_are_an_error():
    from auditor.collect.parsers.proc_net import parse_snmp

    with pytest.raises(ValueError, match="do not match the header"):
        parse_snmp("Tcp: A B\nTcp: 1\n")
    with pytest.raises(ValueError, match="no Tcp CurrEstab"):
        from auditor.collect.parsers.proc_net import established_count

        established_count(parse_snmp("Udp: A\nUdp: 1\n"))


# ---------------------------------------------------------------- /proc/net/sctp/eps

SCTP_EPS = (
    " ENDPT     SOCK   STY SST HBKT LPORT   UID INODE LADDRS\n"
    "ffff8880062f4000 ffff888004a1c000 2   10  31   9899      0 31337 10.0.0.5 127.0.0.1 \n"
    "       0        0 1   10  12   36412  1000 31338 0000:0000:0000:0000:0000:0000:0000:0001 \n"
    "       0        0 1   10  12   36413  1000 31339 0000:0000:0000:0000:0000:ffff:7f00:0001 fe80:0000:0000:0000:0000:0000:0000:0001 \n"
)


def test_sctp_eps_gives_every_bound_address_compressed():
    endpoints = parse_sctp_eps(SCTP_EPS)
    assert [(e.state, e.local_port, e.uid, e.inode, e.local_addresses) for e in endpoints] == [
        (10, 9899, 0, 31337, ("10.0.0.5", "127.0.0.1")),
        (10, 36412, 1000, 31338, ("::1",)),
        (10, 36413, 1000, 31339, ("::ffff:127.0.0.1", "fe80::1")),
    ]


@pytest.mark.parametrize("row", [
    "       0        0 1   10  12   36412  1000 31338\n",  # no address: cannot be judged, not skipped
    "       0        0 1   10  12   99999  1000 31338 127.0.0.1\n",
    "       0        0 1   10  12   9899  1000 31338 not-an-address\n",
    "       0        0 1   ten  12   9899  1000 31338 127.0.0.1\n",
])
def test_sctp_eps_malformed_row_names_its_line(row):
    with pytest.raises(ValueError, match="line 2"):
        parse_sctp_eps(" ENDPT     SOCK   STY SST HBKT LPORT   UID INODE LADDRS\n" + row)
