"""The sockets collector on real loopback sockets this test opens (no mocks)."""

from __future__ import annotations

import hashlib
import os
import pwd
import socket
import subprocess
import sys
from contextlib import ExitStack

import pytest

from auditor.collect import CollectContext, netlink
from auditor.collect.parsers.proc_net import STATE_LISTEN, STATE_TIME_WAIT
from auditor.collect.sockets import (
    SocketRow,
    collect_sockets,
    listeners_from_rows,
    read_sockets_netlink,
    read_sockets_proc_net,
    read_time_wait,
)
from auditor.model.facts import GapKind, Listener
from tests.netenv import ipv6_loopback_available
from tests.privileges import unexplained_gaps

LIVE = CollectContext()


IPV6 = ipv6_loopback_available()
needs_ipv6 = pytest.mark.skipif(not IPV6, reason="IPv6 loopback (::1) not available on this host")

# (protocol, address, v6only) of every listener the tests open; v6only None = IPv4 socket
IPV4_BINDS = [("127.0.0.1", None), ("0.0.0.0", None)]
IPV6_BINDS = [("::1", 1), ("::", 0), ("::", 1), ("::ffff:127.0.0.1", 0)]


def _inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


def _open(stack: ExitStack, protocol: str, address: str, v6only: int | None) -> socket.socket:
    family = socket.AF_INET if v6only is None else socket.AF_INET6
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    sock = stack.enter_context(socket.socket(family, kind))
    if v6only is not None:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    sock.bind((address, 0))
    if protocol == "tcp":
        sock.listen()
    return sock


@pytest.fixture
def own_listeners():
    """{inode: (protocol, address, port, v6only)} of listeners opened here, closed afterwards."""
    binds = IPV4_BINDS + (IPV6_BINDS if IPV6 else [])
    with ExitStack() as stack:
        opened = {}
        for protocol in ("tcp", "udp"):
            for address, v6only in binds:
                sock = _open(stack, protocol, address, v6only)
                opened[_inode(sock)] = (protocol, address, sock.getsockname()[1], v6only)
        yield opened


def _by_inode(listeners: list[Listener]) -> dict[int, Listener]:
    return {listener.inode: listener for listener in listeners if listener.inode}


@pytest.mark.live
def test_own_listeners_found_with_address_port_v6only_uid_and_pid(own_listeners):
    facts, gaps = collect_sockets(LIVE)
    assert facts is not None and facts.listeners is not None
    found = _by_inode(facts.listeners)
    me = pwd.getpwuid(os.geteuid()).pw_name
    with open("/proc/self/cmdline", "rb") as handle:
        raw_cmdline = handle.read()
    cmdline = [arg.decode() for arg in raw_cmdline.split(b"\0")[:-1]]
    for inode, (protocol, address, port, v6only) in own_listeners.items():
        listener = found[inode]
        assert (listener.protocol, listener.address, listener.port) == (protocol, address, port)
        assert listener.family == ("ipv4" if v6only is None else "ipv6")
        assert listener.v6only == (None if v6only is None else bool(v6only))
        assert (listener.uid, listener.user) == (os.geteuid(), me)
        assert [p.pid for p in listener.processes] == [os.getpid()]
        process = listener.processes[0]
        assert process.exe == os.path.realpath("/proc/self/exe")
        assert process.user == me and process.name
        # arguments carry credentials: without --record-cmdline only argv[0] and the digest of
        # /proc/PID/cmdline (the value `sha256sum /proc/PID/cmdline` prints)
        assert process.cmdline is None and process.argv0 == cmdline[0]
        assert process.cmdline_sha256 == hashlib.sha256(raw_cmdline).hexdigest()
        assert listener.owner_reason is None
        assert listener.subject.endswith(f"{process.name} pid {os.getpid()}")
    own_indexes = {index for index, listener in enumerate(facts.listeners) if listener.inode in own_listeners}
    assert len(own_indexes) == len(own_listeners)
    assert not unexplained_gaps([g for g in gaps if g.field.startswith("listeners/") and g.field.split("/")[1].isdigit()
                                 and int(g.field.split("/")[1]) in own_indexes], set(own_listeners))


@needs_ipv6
@pytest.mark.live
def test_ipv6_wildcard_keeps_v6only_apart_and_mapped_address_as_the_kernel_holds_it(own_listeners):
    facts, _ = collect_sockets(LIVE)
    mine = [l for l in _by_inode(facts.listeners).values() if l.inode in own_listeners and l.family == "ipv6"]
    tcp_wildcards = sorted((l.port, l.v6only) for l in mine if l.protocol == "tcp" and l.address == "::")
    assert sorted(v for _, v in tcp_wildcards) == [False, True]
    assert any(l.address == "::ffff:127.0.0.1" and l.v6only is False for l in mine)


@pytest.mark.live
def test_connected_sockets_are_counted_not_listed():
    with ExitStack() as stack:
        listener = _open(stack, "tcp", "127.0.0.1", None)
        client = stack.enter_context(socket.create_connection(listener.getsockname(), timeout=5))
        server = stack.enter_context(listener.accept()[0])
        peer = _open(stack, "udp", "127.0.0.1", None)
        connected_udp = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        connected_udp.connect(peer.getsockname())
        facts, _ = collect_sockets(LIVE)
        inodes = set(_by_inode(facts.listeners))
        assert _inode(listener) in inodes and _inode(peer) in inodes
        assert not inodes & {_inode(client), _inode(server), _inode(connected_udp)}
        assert facts.counts.tcp_by_state["ESTABLISHED+CLOSE_WAIT"] >= 2
        assert facts.counts.tcp_by_state["LISTEN"] >= 1
        assert facts.counts.udp_sockets >= 2


@pytest.mark.live
def test_socket_shared_with_a_child_lists_both_processes_by_pid():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        # The child inherits the listening socket and exits when its stdin closes.
        child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE,
                                 pass_fds=[listener.fileno()])
        try:
            facts, _ = collect_sockets(LIVE)
        finally:
            child.stdin.close()
            child.wait(timeout=10)
        mine = _by_inode(facts.listeners)[_inode(listener)]
        assert [p.pid for p in mine.processes] == sorted([os.getpid(), child.pid])
        assert mine.subject.endswith("(+1 more)")


@pytest.mark.live
def test_listeners_are_sorted_deterministically(own_listeners):
    first, _ = collect_sockets(LIVE)
    second, _ = collect_sockets(LIVE)
    keys = [(l.protocol, l.family, l.address, l.port, l.inode) for l in first.listeners if l.inode in own_listeners]
    assert keys == [(l.protocol, l.family, l.address, l.port, l.inode) for l in second.listeners if l.inode in own_listeners]
    protocols = [l.protocol for l in first.listeners]
    assert protocols == sorted(protocols)
    tcp4 = [l for l in first.listeners if l.protocol == "tcp" and l.family == "ipv4"]
    assert [socket.inet_aton(l.address) + l.port.to_bytes(2, "big") for l in tcp4] == sorted(
        socket.inet_aton(l.address) + l.port.to_bytes(2, "big") for l in tcp4
    )


@pytest.mark.live
def test_proc_net_fallback_agrees_with_netlink_on_own_listeners(own_listeners):
    def view(rows):
        return {
            (l.protocol, l.family, l.address, l.port, l.uid, l.inode)
            for l in listeners_from_rows(rows)
            if l.inode in own_listeners
        }

    from_netlink = view(read_sockets_netlink())
    from_proc = view(read_sockets_proc_net())
    assert len(from_netlink) == len(own_listeners)
    assert from_proc == from_netlink
    # /proc/net cannot show IPV6_V6ONLY: the fallback says so rather than guess
    assert all(l.v6only is None for l in listeners_from_rows(read_sockets_proc_net()))


def _make_time_wait(listener: socket.socket, count: int) -> list[int]:
    """Open and close ``count`` loopback connections, client first: the client ends in TIME_WAIT."""
    ports = []
    for _ in range(count):  # bounded
        client = socket.create_connection(listener.getsockname(), timeout=5)
        server, _ = listener.accept()
        ports.append(client.getsockname()[1])
        client.close()
        server.settimeout(5)
        server.recv(1)  # the client's FIN has arrived
        server.close()
    return ports


@pytest.mark.live
def test_time_wait_count_matches_sockstat_with_hundreds_of_real_time_wait_sockets():
    created = 300
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        ports = _make_time_wait(listener, created)
        # the kernel really holds them in TIME_WAIT (a dump that asks for that state only)
        held = netlink.dump(socket.AF_INET, socket.IPPROTO_TCP, states=1 << STATE_TIME_WAIT)
        mine = {s.sport for s in held if s.dport == listener.getsockname()[1]}
        assert mine == set(ports) and len(mine) == created

        before = read_time_wait_from_sockstat()
        facts, _ = collect_sockets(LIVE)
        after = read_time_wait_from_sockstat()
    assert before >= created
    # other programs may open or expire TIME_WAIT sockets meanwhile: the count must lie in between
    assert min(before, after) <= facts.counts.time_wait <= max(before, after)
    assert facts.counts.tcp_by_state["TIME_WAIT"] == facts.counts.time_wait
    assert "netlink sock_diag" in facts.counts.method and "sockstat" in facts.counts.method


def read_time_wait_from_sockstat() -> int:
    """Read sockstat independently of the collector's helper."""
    with open("/proc/net/sockstat") as handle:
        for line in handle:
            if line.startswith("TCP:"):
                fields = line.split()
                return int(fields[fields.index("tw") + 1])
    raise AssertionError("no TCP line in /proc/net/sockstat")


@pytest.mark.live
def test_collector_helper_reads_the_same_sockstat_field():
    before = read_time_wait_from_sockstat()
    value = read_time_wait()
    after = read_time_wait_from_sockstat()
    assert min(before, after) <= value <= max(before, after)


def test_offline_root_has_no_runtime_sockets(tmp_path):
    # Offline, only listeners declared by systemd socket units are known (auditor.collect.systemd_sockets).
    # An empty image: this host's / as the "offline root" made the test depend on the units installed here.
    facts, gaps = collect_sockets(CollectContext(root=tmp_path, live=False))
    assert facts is not None and facts.counts is None
    assert [(g.section, g.field, g.kind) for g in gaps] == [
        ("sockets", "listeners", GapKind.NOT_APPLICABLE), ("sockets", "counts", GapKind.NOT_APPLICABLE)]
    assert all("offline root directory" in g.reason for g in gaps)


# ---------------------------------------------------------------- transports beyond TCP and UDP

def _socket_or_skip(family: int, kind: int, protocol: int, label: str) -> socket.socket:
    try:
        return socket.socket(family, kind, protocol)
    except OSError as exc:
        pytest.skip(f"this kernel has no {label} sockets: {exc.strerror}")


@pytest.mark.live
def test_udplite_and_mptcp_listeners_are_collected_under_their_own_protocol():
    with ExitStack() as stack:
        udplite = stack.enter_context(_socket_or_skip(socket.AF_INET, socket.SOCK_DGRAM, 136, "UDP-Lite"))
        udplite.bind(("127.0.0.1", 0))
        mptcp = stack.enter_context(_socket_or_skip(socket.AF_INET, socket.SOCK_STREAM, 262, "MPTCP"))
        mptcp.bind(("127.0.0.1", 0))
        mptcp.listen()
        facts, gaps = collect_sockets(LIVE)
        mine = [l for l in facts.listeners if l.inode in (_inode(udplite), _inode(mptcp))]
        # one listener each: the MPTCP listener's TCP subflow (same inode) is not a second listener
        assert sorted((l.protocol, l.port, [p.pid for p in l.processes]) for l in mine) == sorted([
            ("udplite", udplite.getsockname()[1], [os.getpid()]), ("mptcp", mptcp.getsockname()[1], [os.getpid()])])
        assert "udplite: netlink" in facts.counts.method and "mptcp: netlink" in facts.counts.method
        assert not [g for g in gaps if g.field in ("listeners/udplite", "listeners/mptcp")]
        # the TCP LISTEN count is the kernel's: the subflow is a TCP listener there
        assert facts.counts.tcp_by_state["LISTEN"] >= 1


def test_a_tcp_listener_is_dropped_only_when_it_is_the_subflow_of_an_mptcp_listener():
    def row(protocol, port, inode, address="0.0.0.0"):
        return SocketRow(protocol, "ipv4", STATE_LISTEN, address, port, 0, inode, None)

    rows = [row("mptcp", 8080, 11), row("tcp", 8080, 11),  # a subflow: one listener, mptcp
            row("tcp", 8081, 12),  # plain TCP
            row("mptcp", 8082, 13), row("tcp", 8082, 14),  # same port, another socket: both kept
            row("tcp", 8083, 15, "127.0.0.1"), row("mptcp", 8083, 15)]  # another address: both kept
    assert [(l.protocol, l.port, l.inode) for l in listeners_from_rows(rows)] == [
        ("mptcp", 8080, 11), ("mptcp", 8082, 13), ("mptcp", 8083, 15),
        ("tcp", 8081, 12), ("tcp", 8082, 14), ("tcp", 8083, 15)]


def test_sctp_rows_of_one_endpoint_are_one_listener_per_address():
    rows = [SocketRow("sctp", "ipv4", STATE_LISTEN, "10.0.0.5", 9899, 0, 21, None),
            SocketRow("sctp", "ipv6", STATE_LISTEN, "::1", 9899, 0, 21, True),
            SocketRow("sctp", "ipv4", 1, "10.0.0.5", 9900, 0, 22, None)]  # an association, not a listener
    assert [(l.protocol, l.address, l.port) for l in listeners_from_rows(rows)] == [
        ("sctp", "10.0.0.5", 9899), ("sctp", "::1", 9899)]


def test_every_connection_oriented_transport_is_dumped_for_listen_only():
    # The cost of a dump must not grow with TIME_WAIT (or established) sockets: the kernel filters
    # by state, and only the datagram transports (no TIME_WAIT) are dumped whole.
    from auditor.collect import sockets

    assert {t.name: t.states == sockets.TCP_LISTEN_ONLY for t in sockets.TRANSPORTS} == {
        "tcp": True, "udp": False, "udplite": False, "sctp": True, "dccp": True, "mptcp": True, "raw": False}
    assert all(not t.states & (1 << STATE_TIME_WAIT) for t in sockets.TRANSPORTS)


@pytest.mark.live
def test_the_identities_read_after_the_owner_scan_are_those_of_a_whole_read():
    """The read after the owner scan parses each socket only as far as which socket it is
    (read_listener_identities): the same set as the whole read gives, for listeners of every kind
    and with sockets that are no listeners beside them (issue 16)."""
    from tests.privileges import CLONE_NEWNET, run_in_new_namespaces

    def scenario():
        from auditor.collect.sockets import _identities, read_listener_identities, read_listener_rows

        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)  # for the connected sockets
        held = []
        kinds = [(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1", None), (socket.AF_INET, socket.SOCK_DGRAM, "0.0.0.0", None)]
        if ipv6_loopback_available():
            kinds += [(socket.AF_INET6, socket.SOCK_STREAM, "::", False), (socket.AF_INET6, socket.SOCK_STREAM, "::1", True),
                      (socket.AF_INET6, socket.SOCK_DGRAM, "::", True)]
        try:
            for number in range(60):
                family, kind, address, v6only = kinds[number % len(kinds)]
                sock = socket.socket(family, kind)
                held.append(sock)
                if v6only is not None:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
                sock.bind((address, 0))
                if kind == socket.SOCK_STREAM:
                    sock.listen(1)
            client = socket.create_connection(held[0].getsockname())  # an established pair: no listeners
            held.append(client)
            connected = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a connected UDP socket: none
            held.append(connected)
            connected.connect(("127.0.0.1", 9))
            whole = _identities(read_listener_rows("/proc", 10.0).rows)
            return whole, read_listener_identities("/proc", 10.0)
        finally:
            for sock in held:
                sock.close()

    whole, identities = run_in_new_namespaces(scenario, CLONE_NEWNET, "rw")
    assert len(whole) == 60 and identities == whole
