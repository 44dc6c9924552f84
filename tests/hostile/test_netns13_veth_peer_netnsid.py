"""Hostile corpus, false passes: a veth's peer taken from another namespace by its interface index.

Each network namespace numbers its interfaces on its own (lo is 1 in every one), so a veth's peer
index (IFLA_LINK) does not say which namespace its other end is in: the collector paired a veth of
namespace A (index 2, peer index 7) with the host's veth of index 7 whose peer index is 2, though
that one leads into another namespace B, and A's real peer was in a namespace discovery did not
find (held by nothing it looks at: a socket in flight, an open /proc/PID/net file, a sysfs mount).
A was then judged "reached only through the host", which does not forward: a pass, while the
namespace behind A's veth connects.  The collector now pairs a veth by the id its namespace gives
the peer's namespace (IFLA_LINK_NETNSID), matched to each namespace it found with RTM_GETNSID; a
peer in no namespace found is unknown, and the veth is judged as reaching beyond.

``test_an_unfound_namespace_behind_a_veth_of_a_repeated_index_is_not_taken_for_the_host`` builds it
on the running kernel: the outside namespace is hidden from lbaudit's own discovery behind a socket
in flight, the indexes are chosen to repeat, and lbaudit's collector reads each namespace.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from auditor.collect.netns import _match_veth_peers, discover
from auditor.model.facts import Listener, NetInterface, NetNamespace
from auditor.model.result import Status
from tests.hostile.test_falsepass_netns_weak_host import CONNECT_TO, LO, SERVE_ON, web
from tests.hostile.test_judging_route_localnet import _in, _stop
from tests.hostile.test_netns12_forwarded_localnet import _namespace, judged
from tests.netns_env import ip, require_namespaces, unique_name

HOST, INNER, OTHER = 4026531840, 4026532300, 4026532301


def _veth(name: str, index: int, peer_index: int, peer_netns: int | None) -> NetInterface:
    return NetInterface(name=name, index=index, kind="veth", up=True, addresses=[f"10.213.0.{index}/24"],
                        peer_index=peer_index, peer_in_other_netns=True,
                        peer_netns=peer_netns, route_localnet=False, forwarding=False, forwarding_ipv6=False, ingress_hooks=[])


def _ns(inode: int, *interfaces: NetInterface, **fields) -> NetNamespace:
    return NetNamespace(inode=inode, device=4, interfaces=[LO, *interfaces], local_routes=[], **fields)


def test_a_veth_is_paired_by_its_peer_namespace_not_by_a_matching_index():
    # A's veth (2 -> 7) leads into a namespace not found; the host's veth 7 (-> 2) leads into OTHER
    host = _ns(HOST, _veth("h7", 7, 2, OTHER), current=True)
    inner = _ns(INNER, _veth("a2", 2, 7, None), entered=True, sysctl={}, listeners=[web("0.0.0.0")])
    other = _ns(OTHER, _veth("b2", 2, 7, HOST))
    host, inner, other = _match_veth_peers([host, inner, other])
    assert [i.peer_netns for i in inner.interfaces or [] if i.kind == "veth"] == [None]  # not the host's
    assert [i.peer_netns for i in host.interfaces or [] if i.kind == "veth"] == [OTHER]
    [outcome] = judged(host, inner, allow=["loopback"])
    assert outcome.status == Status.FAIL
    assert "a2 (veth to an unknown namespace, judged as reaching beyond)" in outcome.message
    assert outcome.observed["exposure"]["addresses"] == ["10.213.0.2"]  # type: ignore[index]


def test_a_pairing_the_peer_namespace_does_not_hold_is_dropped():
    # the id named the host, but the host's interface of that index is no veth pointing back (remade
    # between the two reads): unknown, not kept
    host = _ns(HOST, NetInterface(name="eth7", index=7, kind="physical", up=True, forwarding=False,
                                  forwarding_ipv6=False, ingress_hooks=[]), current=True)
    inner = _ns(INNER, _veth("a2", 2, 7, HOST), entered=True, sysctl={}, listeners=[web("0.0.0.0")])
    _host, inner = _match_veth_peers([host, inner])
    assert [i.peer_netns for i in inner.interfaces or [] if i.kind == "veth"] == [None]


def test_control_a_peer_named_by_its_namespace_id_is_kept_and_the_listener_passes():
    host = _ns(HOST, _veth("h7", 7, 2, INNER), current=True)
    inner = _ns(INNER, _veth("a2", 2, 7, HOST), entered=True, sysctl={}, listeners=[web("0.0.0.0")])
    host, inner = _match_veth_peers([host, inner])
    assert [i.peer_netns for i in inner.interfaces or [] if i.kind == "veth"] == [HOST]
    [outcome] = judged(host, inner, allow=["loopback"])
    assert outcome.status == Status.PASS


# Holds namespace argv[1] alive by nothing discovery looks at: enters it, makes a socket there,
# returns to its own namespace and sends the socket with SCM_RIGHTS into a unix socket it never
# reads (the socket, in flight in that queue, holds its namespace).  (A tun descriptor, which
# hid it before, is now asked for its device's namespace: tests/hostile/test_discovery13_tun.py.)
HOLD_IN_FLIGHT = """
import array, ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
own = os.open("/proc/self/ns/net", os.O_RDONLY)
target = os.open(sys.argv[1], os.O_RDONLY)
assert libc.setns(target, 0x40000000) == 0
made = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
assert libc.setns(own, 0x40000000) == 0
os.close(own); os.close(target)
kept, sent = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
sent.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [made.fileno()]))])
made.close(); sent.close()
print("held", flush=True)
sys.stdin.read()
"""


@pytest.mark.live
@pytest.mark.slow  # four namespaces, discovery of the whole machine, several child interpreters
def test_an_unfound_namespace_behind_a_veth_of_a_repeated_index_is_not_taken_for_the_host():
    require_namespaces()
    host, inner, outside, other = (unique_name(p) for p in ("lbt13h", "lbt13c", "lbt13o", "lbt13b"))
    serving = holder = None
    try:
        for name in (host, inner, outside, other):
            ip("netns", "add", name)
            ip("-n", name, "link", "set", "lo", "up")
        # inner's veth (index 2) leads to outside (index 7); the host's veth of index 7 leads to
        # other's of index 2: the same pair of indexes, into other namespaces
        ip("link", "add", "lbt13a", "index", "2", "netns", inner, "type", "veth",
           "peer", "name", "lbt13o", "index", "7", "netns", outside)
        ip("link", "add", "lbt13h", "index", "7", "netns", host, "type", "veth",
           "peer", "name", "lbt13b", "index", "2", "netns", other)
        ip("-n", inner, "addr", "add", "10.213.0.1/24", "dev", "lbt13a")
        ip("-n", inner, "link", "set", "lbt13a", "up")
        ip("-n", outside, "addr", "add", "10.213.0.2/24", "dev", "lbt13o")
        ip("-n", outside, "link", "set", "lbt13o", "up")
        serving = subprocess.Popen(["ip", "netns", "exec", inner, sys.executable, "-c", SERVE_ON, "0.0.0.0"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        assert _in(outside, CONNECT_TO, port, "10.213.0.1") == "connected"  # the kernel's answer
        # outside, hidden: held only by a socket in flight, its name removed
        outside_inode = os.stat(f"/run/netns/{outside}").st_ino
        holder = subprocess.Popen([sys.executable, "-c", HOLD_IN_FLIGHT, f"/run/netns/{outside}"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        subprocess.run(["ip", "netns", "del", outside], check=True, capture_output=True, timeout=10)
        assert subprocess.run(["ip", "-n", inner, "-o", "link", "show", "lbt13a"], check=True, capture_output=True,
                              text=True, timeout=10).stdout.count("lbt13a@if7") == 1  # its peer is still there
        found, _current, _gaps = discover("/proc")
        try:
            assert outside_inode not in {inode for _device, inode in found}  # lbaudit's discovery misses it
        finally:
            for entry in found.values():
                if entry.fd is not None:
                    os.close(entry.fd)
        # each namespace read by lbaudit's collector, its veths' peers looked for among those found
        host_ns, _ = _namespace(host, inner, other, current=True)
        other_ns, _ = _namespace(other, host, inner)
        inner_ns, collected = _namespace(inner, host, other, entered=True, sysctl={}, pids=[serving.pid])
        mine = [Listener.model_validate(item) for item in collected["listeners"]
                if item["address"] == "0.0.0.0" and str(item["port"]) == port]
        host_ns, inner_ns, other_ns = _match_veth_peers([host_ns, inner_ns.model_copy(update={"listeners": mine}),
                                                         other_ns])
        assert [i.peer_netns for i in host_ns.interfaces or [] if i.name == "lbt13h"] == [other_ns.inode]
        assert [i.peer_netns for i in inner_ns.interfaces or [] if i.name == "lbt13a"] == [None]
        [outcome] = judged(host_ns, inner_ns, allow=["loopback"])
        assert outcome.status == Status.FAIL
        assert outcome.observed["exposure"]["addresses"] == ["10.213.0.1"]  # type: ignore[index]
    finally:
        if holder is not None:
            if holder.stdin:
                holder.stdin.close()
            holder.wait(timeout=10)
        _stop(serving, host, inner, other)
        subprocess.run(["ip", "netns", "del", outside], capture_output=True, timeout=10)


def _judged_all(namespaces: list[NetNamespace], inode: int, **params):
    """net.bind_addresses over these namespaces (the first the collector's own): the outcomes of namespace ``inode``."""
    from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
    from auditor.model.facts import NamespaceFacts
    from tests.factories import snapshot

    label = next(ns.label for ns in namespaces if ns.inode == inode)
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=namespaces, published=[], published_sources=["nat"]))
    return [o for o in net_bind_addresses.run(snap, BindAddressParams.model_validate(params))
            if o.subject.endswith(f"in netns {label}")]


@pytest.mark.live  # asks the running kernel (RTM_GETNSID)
def test_a_peer_namespace_that_could_not_be_asked_leaves_the_veth_unpaired_and_a_gap():
    from auditor.collect.netns import _link_gaps, with_peer_namespaces

    fd = os.open("/dev/null", os.O_RDONLY)  # no namespace: RTM_GETNSID refuses it
    try:
        [link] = with_peer_namespaces([{"name": "a2", "peer_netnsid": 0}], [(fd, 4026532999)], timeout=5)
    finally:
        os.close(fd)
    assert link["peer_netns"] is None
    assert link["peer_netns_error"].startswith(
        "the id of the namespace of a2's peer (0) could not be matched: RTM_GETNSID failed for net:[4026532999]: ")
    [gap] = _link_gaps(("namespaces", 3), [{**link, "route_localnet": False}])
    assert gap.path == ("namespaces", 3, "interfaces", 0, "peer_netns") and gap.reason == link["peer_netns_error"]
    # a veth with no peer in another namespace asks nothing
    assert with_peer_namespaces([{"name": "lo", "peer_netnsid": None}], [(-1, 1)], timeout=5) == [
        {"name": "lo", "peer_netnsid": None, "peer_netns": None}]
