"""The sock_diag client: pure parsing on captured bytes, then real dumps of sockets this test opens."""

import errno
import os
import socket
import struct
from pathlib import Path

import pytest

from auditor.collect import netlink
from auditor.collect.netlink import (
    INET_DIAG_SKV6ONLY,
    NLM_F_DUMP_INTR,
    NLM_F_MULTI,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSGHDR,
    SOCK_DIAG_BY_FAMILY,
    STATES_WITHOUT_TIME_WAIT,
    NetlinkError,
    build_dump_request,
    iter_messages,
    parse_attributes,
    parse_diag_message,
    parse_dump_datagram,
    parse_local_addresses,
    parse_request_protocol,
    parse_request_states,
)
from auditor.collect.parsers.proc_net import STATE_CLOSE, STATE_ESTABLISHED, STATE_LISTEN, STATE_TIME_WAIT
from tests.netenv import ipv6_loopback_available

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "netlink"
CAPTURE_SEQ = 4242  # the sequence number the captures were requested with


def _datagrams(name: str) -> list[bytes]:
    lines = (FIXTURES / name).read_text().splitlines()
    return [bytes.fromhex(line) for line in lines if line and not line.startswith("#")]


def _parse_capture(name: str) -> list[netlink.DiagSocket]:
    sockets: list[netlink.DiagSocket] = []
    grams = _datagrams(name)
    for index, gram in enumerate(grams):
        found, done = parse_dump_datagram(gram, CAPTURE_SEQ)
        sockets.extend(found)
        assert done == (index == len(grams) - 1)
    return sockets


def _message(msg_type: int, payload: bytes, seq: int = 7, flags: int = NLM_F_MULTI) -> bytes:
    length = NLMSGHDR.size + len(payload)
    padded = payload + bytes(-length % 4)
    return NLMSGHDR.pack(length, msg_type, flags, seq, 0) + padded


# ---------------------------------------------------------------- pure, on captured bytes

def test_request_asks_for_every_state_but_time_wait():
    request = build_dump_request(socket.AF_INET6, socket.IPPROTO_TCP, STATES_WITHOUT_TIME_WAIT, seq=9)
    states = parse_request_states(request)
    assert not states & (1 << STATE_TIME_WAIT)
    for state in (STATE_ESTABLISHED, STATE_CLOSE, STATE_LISTEN, 3, 8, 9, 11, 12):
        assert states & (1 << state), state
    length, msg_type, flags, seq, _pid = NLMSGHDR.unpack_from(request)
    assert (length, msg_type, seq) == (len(request), SOCK_DIAG_BY_FAMILY, 9)
    assert length == 16 + 56  # nlmsghdr + inet_diag_req_v2
    assert flags & 0x300 == 0x300  # NLM_F_DUMP
    assert request[16:18] == bytes([socket.AF_INET6, socket.IPPROTO_TCP])


def test_mptcp_request_carries_the_protocol_in_an_attribute_and_zero_in_the_u8_field():
    # IPPROTO_MPTCP (262) does not fit sdiag_protocol; 262 & 0xff would be 6 = TCP.  A kernel that
    # ignores INET_DIAG_REQ_PROTOCOL must see protocol 0 (ENOENT), never a TCP dump labelled MPTCP.
    request = build_dump_request(socket.AF_INET, netlink.IPPROTO_MPTCP, 1 << STATE_LISTEN, seq=3)
    length = NLMSGHDR.unpack_from(request)[0]
    assert length == len(request) == 16 + 56 + 8
    assert request[16:18] == bytes([socket.AF_INET, 0])
    assert request[72:] == struct.pack("=HHI", 8, netlink.INET_DIAG_REQ_PROTOCOL, 262)
    assert parse_request_protocol(request) == 262
    small = build_dump_request(socket.AF_INET, netlink.IPPROTO_SCTP, 1 << STATE_LISTEN, seq=3)
    assert len(small) == 72 and parse_request_protocol(small) == 132


def _sockaddr_storage(family: int, address: str, port: int) -> bytes:
    if family == socket.AF_INET:
        raw = struct.pack("=H", family) + struct.pack("!H", port) + socket.inet_pton(family, address)
    else:
        raw = struct.pack("=H", family) + struct.pack("!H", port) + bytes(4) + socket.inet_pton(family, address)
    return raw + bytes(128 - len(raw))


def test_sctp_locals_attribute_gives_every_bound_address_of_the_endpoint():
    data = (_sockaddr_storage(socket.AF_INET, "10.0.0.5", 9899) + _sockaddr_storage(socket.AF_INET, "127.0.0.1", 9899)
            + _sockaddr_storage(socket.AF_INET6, "::ffff:192.0.2.1", 9899) + _sockaddr_storage(socket.AF_INET6, "fe80::1", 9899))
    assert parse_local_addresses(data) == ("10.0.0.5", "127.0.0.1", "::ffff:192.0.2.1", "fe80::1")
    # carried on a message, after the inet_diag_msg
    message = bytes([socket.AF_INET6, STATE_LISTEN, 0, 0]) + bytes(netlink.MSG_SIZE - 4)
    attribute = struct.pack("=HH", 4 + len(data), netlink.INET_DIAG_LOCALS) + data
    assert parse_diag_message(message + attribute).local_addresses == ("10.0.0.5", "127.0.0.1", "::ffff:192.0.2.1", "fe80::1")
    assert parse_diag_message(message).local_addresses == ()
    with pytest.raises(NetlinkError, match="sockaddr_storage"):
        parse_local_addresses(data[:100])
    with pytest.raises(NetlinkError, match="family 1"):
        parse_local_addresses(struct.pack("=H", socket.AF_UNIX) + bytes(126))


def test_captured_tcp6_dump_gives_addresses_ports_v6only_and_inodes():
    sockets = _parse_capture("tcp6_dump.hex")
    found = {(s.src, s.sport): (s.state, s.v6only, s.inode, s.uid) for s in sockets}
    assert found[("::", 44001)] == (STATE_LISTEN, False, 13046, 0)
    assert found[("::", 44002)] == (STATE_LISTEN, True, 13047, 0)
    assert found[("::1", 44003)] == (STATE_LISTEN, True, 13048, 0)
    assert found[("::ffff:127.0.0.1", 44004)] == (STATE_LISTEN, False, 13049, 0)
    assert all(s.family == socket.AF_INET6 and s.dst == "::" and s.dport == 0 for s in sockets)


def test_captured_udp4_dump_has_unconnected_and_connected_sockets():
    sockets = _parse_capture("udp4_dump.hex")
    by_port = {s.sport: s for s in sockets}
    assert by_port[44011].state == STATE_CLOSE and by_port[44011].dst == "0.0.0.0"
    assert by_port[44012].state == STATE_ESTABLISHED
    assert (by_port[44012].dst, by_port[44012].dport) == ("127.0.0.1", 44011)
    assert all(s.v6only is None and s.src == "127.0.0.1" for s in sockets)


def test_messages_of_another_sequence_are_ignored():
    grams = _datagrams("tcp6_dump.hex")
    assert parse_dump_datagram(grams[0], CAPTURE_SEQ + 1) == ([], False)


def test_v6only_attribute_missing_is_unknown_not_false():
    payload = next(iter_messages(_datagrams("tcp6_dump.hex")[0])).payload
    assert parse_diag_message(payload).v6only is not None
    assert parse_diag_message(payload[: netlink.MSG_SIZE]).v6only is None


def test_attributes_are_split_and_type_flags_stripped():
    attrs = struct.pack("=HH", 5, INET_DIAG_SKV6ONLY | 0x8000) + b"\x01\0\0\0" + struct.pack("=HH", 8, 2) + b"abcd"
    assert parse_attributes(attrs) == {INET_DIAG_SKV6ONLY: b"\x01", 2: b"abcd"}
    with pytest.raises(NetlinkError):
        parse_attributes(struct.pack("=HH", 40, 1) + b"xx")


def test_nlmsg_error_raises_with_the_kernel_errno():
    gram = _message(NLMSG_ERROR, struct.pack("=i", -errno.EACCES) + bytes(16), seq=7)
    with pytest.raises(NetlinkError) as info:
        parse_dump_datagram(gram, 7)
    assert info.value.errno == errno.EACCES


def test_nlmsg_done_with_error_code_raises_and_without_ends_the_dump():
    assert parse_dump_datagram(_message(NLMSG_DONE, struct.pack("=i", 0)), 7) == ([], True)
    with pytest.raises(NetlinkError) as info:
        parse_dump_datagram(_message(NLMSG_DONE, struct.pack("=i", -errno.ENOMEM)), 7)
    assert info.value.errno == errno.ENOMEM


def test_interrupted_dump_is_reported_for_retry():
    gram = _message(NLMSG_DONE, struct.pack("=i", 0), flags=NLM_F_MULTI | NLM_F_DUMP_INTR)
    with pytest.raises(NetlinkError) as info:
        parse_dump_datagram(gram, 7)
    assert info.value.errno == errno.EINTR


@pytest.mark.parametrize("cut", [3, 15, 20, 100])
def test_truncated_datagrams_raise_instead_of_parsing_garbage(cut):
    gram = _datagrams("tcp6_dump.hex")[0]
    with pytest.raises(NetlinkError):
        parse_dump_datagram(gram[:cut], CAPTURE_SEQ)


def test_short_inet_diag_msg_raises():
    with pytest.raises(NetlinkError, match="inet_diag_msg"):
        parse_dump_datagram(_message(SOCK_DIAG_BY_FAMILY, bytes(40)), 7)


def test_unexpected_message_type_raises():
    with pytest.raises(NetlinkError, match="type 99"):
        parse_dump_datagram(_message(99, bytes(8)), 7)


# ---------------------------------------------------------------- live dumps of real sockets

def _inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


@pytest.mark.live
def test_live_dump_finds_ipv4_listener_and_established_pair():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            server, _ = listener.accept()
            with server:
                sockets = netlink.dump(socket.AF_INET, socket.IPPROTO_TCP)
                by_inode = {s.inode: s for s in sockets}
                assert by_inode[_inode(listener)].state == STATE_LISTEN
                assert (by_inode[_inode(listener)].src, by_inode[_inode(listener)].sport) == ("127.0.0.1", port)
                assert by_inode[_inode(listener)].uid == os.geteuid()
                conn = by_inode[_inode(client)]
                assert conn.state == STATE_ESTABLISHED and conn.dport == port
                assert by_inode[_inode(server)].state == STATE_ESTABLISHED


@pytest.mark.live
def test_live_dump_leaves_out_time_wait_sockets():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client_ports = []
        for _ in range(5):
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            server, _ = listener.accept()
            client_ports.append(client.getsockname()[1])
            client.close()  # the client closes first, so the client side ends in TIME_WAIT
            server.settimeout(5)
            assert server.recv(1) == b""
            server.close()
        # every state (TIME_WAIT included): the kernel holds them ...
        everything = netlink.dump(socket.AF_INET, socket.IPPROTO_TCP, states=0xFFF)
        in_time_wait = {s.sport for s in everything if s.state == STATE_TIME_WAIT and s.dport == port}
        assert set(client_ports) <= in_time_wait
        # ... and the default, kernel-filtered dump never carries them
        filtered = netlink.dump(socket.AF_INET, socket.IPPROTO_TCP)
        assert not [s for s in filtered if s.state == STATE_TIME_WAIT]
        assert not [s for s in filtered if s.dport == port]


@pytest.mark.skipif(not ipv6_loopback_available(), reason="IPv6 loopback (::1) not available on this host")
@pytest.mark.parametrize("v6only", [0, 1])
@pytest.mark.live
def test_live_dump_reports_v6only_of_ipv6_wildcard(v6only):
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
        sock.bind(("::", 0))
        found = [s for s in netlink.dump(socket.AF_INET6, socket.IPPROTO_UDP) if s.inode == _inode(sock)]
        assert len(found) == 1
        assert (found[0].src, found[0].sport, found[0].state) == ("::", sock.getsockname()[1], STATE_CLOSE)
        assert found[0].v6only is bool(v6only)


@pytest.mark.live
def test_live_dump_receive_loop_stops_at_its_bound():
    # With no datagram allowed the dump cannot reach NLMSG_DONE: it must fail, not spin or pass.
    with pytest.raises(NetlinkError) as info:
        netlink.dump(socket.AF_INET, socket.IPPROTO_TCP, max_datagrams=0)
    assert info.value.errno == errno.EOVERFLOW


def _socket_or_skip(family: int, kind: int, protocol: int) -> socket.socket:
    try:
        return socket.socket(family, kind, protocol)
    except OSError as exc:
        pytest.skip(f"this kernel cannot open protocol {protocol} sockets: {exc.strerror}")


@pytest.mark.live
def test_live_dump_of_udplite_finds_a_bound_socket():
    with _socket_or_skip(socket.AF_INET, socket.SOCK_DGRAM, netlink.IPPROTO_UDPLITE) as sock:
        sock.bind(("127.0.0.1", 0))
        found = [s for s in netlink.dump(socket.AF_INET, netlink.IPPROTO_UDPLITE) if s.inode == _inode(sock)]
        assert [(s.src, s.sport, s.state) for s in found] == [("127.0.0.1", sock.getsockname()[1], STATE_CLOSE)]
        # and the UDP dump does not carry it: each transport is its own table
        assert not [s for s in netlink.dump(socket.AF_INET, socket.IPPROTO_UDP) if s.inode == _inode(sock)]


@pytest.mark.live
def test_live_dump_of_mptcp_finds_the_listener_that_tcp_shows_as_its_subflow():
    with _socket_or_skip(socket.AF_INET, socket.SOCK_STREAM, netlink.IPPROTO_MPTCP) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        listen = 1 << STATE_LISTEN
        mptcp = [s for s in netlink.dump(socket.AF_INET, netlink.IPPROTO_MPTCP, states=listen) if s.sport == port]
        tcp = [s for s in netlink.dump(socket.AF_INET, socket.IPPROTO_TCP, states=listen) if s.sport == port]
        assert [(s.src, s.inode) for s in mptcp] == [("127.0.0.1", _inode(sock))]
        # the subflow listener carries the MPTCP socket's inode: that is how the collector pairs them
        assert [(s.src, s.inode) for s in tcp] == [("127.0.0.1", _inode(sock))]


@pytest.mark.live
def test_a_protocol_without_a_diag_handler_is_enoent():
    # 200 is no transport: inet_diag has no handler for it, as for SCTP or DCCP in a kernel without them
    with pytest.raises(NetlinkError) as info:
        netlink.dump(socket.AF_INET, 200, states=1 << STATE_LISTEN)
    assert info.value.errno == errno.ENOENT


# ---------------------------------------------------------------- inodes only (netns discovery)

def _inodes(datagrams: list[bytes], seq: int = CAPTURE_SEQ) -> tuple[list[int], bool]:
    inodes: list[int] = []
    done = False
    for gram in datagrams:
        done = netlink.inodes_of_datagram(gram, seq, netlink.MSG_SIZE, netlink.INET_INODE_OFFSET, inodes)
    return inodes, done


@pytest.mark.parametrize("name", ["tcp6_dump.hex", "udp4_dump.hex"])
def test_inodes_of_a_captured_dump_are_those_the_full_parse_gives(name):
    assert _inodes(_datagrams(name)) == ([s.inode for s in _parse_capture(name)], True)


def _diag(inode: int, extra: bytes = b"", seq: int = 7, flags: int = NLM_F_MULTI) -> bytes:
    payload = bytes(netlink.MSG_SIZE - 4) + struct.pack("=I", inode) + extra
    return _message(SOCK_DIAG_BY_FAMILY, payload, seq, flags)


def test_inodes_of_runs_of_one_length_mixed_lengths_and_the_end_in_one_datagram():
    """Runs read by stride, a message of another length (an attribute more) in between, one of
    another sequence left out, and the NLMSG_DONE after them, all in one datagram."""
    attribute = struct.pack("=HHB3x", 5, INET_DIAG_SKV6ONLY, 1)
    gram = (b"".join(_diag(inode) for inode in range(100, 140)) + _diag(7, attribute)
            + b"".join(_diag(inode) for inode in range(200, 210)) + _diag(999, seq=8)
            + b"".join(_diag(inode, attribute) for inode in range(300, 305))
            + _message(NLMSG_DONE, struct.pack("=i", 0)))
    assert _inodes([gram], seq=7) == ([*range(100, 140), 7, *range(200, 210), *range(300, 305)], True)


def test_inodes_of_an_interrupted_dump_are_kept_not_retried():
    """An interrupted dump's inodes are sockets of the namespace as surely: kept (one it missed is
    asked about by the caller)."""
    assert _inodes([_diag(5, flags=NLM_F_MULTI | NLM_F_DUMP_INTR) + _diag(6)], seq=7) == ([5, 6], False)


def test_inodes_of_an_error_a_short_message_or_a_cut_datagram_raise():
    with pytest.raises(NetlinkError) as refused:
        _inodes([_diag(5) + _message(NLMSG_ERROR, struct.pack("=i", -errno.EACCES) + bytes(16))], seq=7)
    assert refused.value.errno == errno.EACCES
    with pytest.raises(NetlinkError, match="inet_diag_msg of 40 bytes"):
        _inodes([_diag(5) + _message(SOCK_DIAG_BY_FAMILY, bytes(40))], seq=7)
    with pytest.raises(NetlinkError, match="out of bounds|truncated"):
        _inodes([(_diag(5) + _diag(6))[:-8]], seq=7)


@pytest.mark.live
def test_live_inode_dumps_find_an_established_pair_and_a_unix_pair():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()) as client:
            server, _ = listener.accept()
            with server:
                inodes = netlink.dump_inodes(socket.AF_INET, socket.IPPROTO_TCP, STATES_WITHOUT_TIME_WAIT)
                assert {_inode(listener), _inode(client), _inode(server)} <= set(inodes)
    left, right = socket.socketpair()
    with left, right:
        assert {_inode(left), _inode(right)} <= set(netlink.dump_inodes(socket.AF_UNIX))


# ---------------------------------------------------------------- identities only (the read after the owner scan)

def _identity_of(s: netlink.DiagSocket) -> tuple:
    return (s.family, s.state, s.src, s.sport, s.inode, s.local_addresses)


@pytest.mark.parametrize("name", ["tcp6_dump.hex", "udp4_dump.hex"])
def test_identities_of_a_captured_dump_are_those_the_full_parse_gives(name):
    found = []
    for gram in _datagrams(name):
        found += parse_dump_datagram(gram, CAPTURE_SEQ, netlink.parse_diag_identity)[0]
    assert found == [_identity_of(s) for s in _parse_capture(name)] and found


def test_identity_of_a_message_with_local_addresses_and_a_bad_attribute_is_the_full_parse_s():
    data = _sockaddr_storage(socket.AF_INET, "10.0.0.5", 9899) + _sockaddr_storage(socket.AF_INET6, "fe80::1", 9899)
    head = bytearray(bytes([socket.AF_INET6, STATE_LISTEN, 0, 0]) + bytes(netlink.MSG_SIZE - 4))
    head[4:6] = struct.pack("!H", 9899)
    head[68:72] = struct.pack("=I", 4242)
    message = bytes(head) + struct.pack("=HHB3x", 5, INET_DIAG_SKV6ONLY, 1)
    message += struct.pack("=HH", 4 + len(data), netlink.INET_DIAG_LOCALS) + data
    assert netlink.parse_diag_identity(message) == _identity_of(parse_diag_message(message)) == (
        socket.AF_INET6, STATE_LISTEN, "::", 9899, 4242, ("10.0.0.5", "fe80::1"))
    for bad in (message[:-4], bytes(head) + struct.pack("=HH", 2, 1), bytes(40),
                bytes([socket.AF_UNIX]) + bytes(netlink.MSG_SIZE - 1)):
        with pytest.raises(NetlinkError) as full:
            parse_diag_message(bad)
        with pytest.raises(NetlinkError) as identity:
            netlink.parse_diag_identity(bad)
        assert (identity.value.errno, str(identity.value)) == (full.value.errno, str(full.value))
