"""Hostile corpus, false passes: a namespace whose listener is held only by a message in flight.

A process unshares a network namespace, is given a veth to the host, listens on 0.0.0.0 and sends
its listening socket with SCM_RIGHTS into a unix socket the host end of which nobody reads, then
exits.  The listening socket is then in no process's descriptor table, no io_uring's files, no
mount: only in the queue of a unix socket.  It holds its namespace (and so the veth) alive, and the
kernel still completes handshakes into its backlog: a client on the host connects.  lbaudit's
discovery (processes, their descriptors and sockets, /run/netns, every mount namespace's nsfs
mounts) finds no trace of that namespace, so its listener was never judged and
net.bind_addresses passed with no word of it.

The host's veth names its peer's namespace by the id the host gives it (IFLA_LINK_NETNSID); that
no namespace discovery found has that id is direct evidence of a namespace it missed.  With no veth
(a macvlan of a host link moved into the namespace) the host gives it an id all the same, listed
by an RTM_GETNSID dump.  The collector now says so as a discovery gap (the check's "(discovery)" outcome is not_reviewed), after
finding the namespaces again once, so that a namespace created meanwhile (a container started
during the collection) is not taken for a hidden one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from auditor.collect import CollectContext
from auditor.collect.netns import Found, close_held, collect_netns, discover, open_namespace, unfound_peer_gaps
from auditor.collect.rtnetlink import dump_interfaces, dump_nsids
from auditor.model.result import Status
from tests.hostile.test_netns import _bind_outcomes
from tests.netns_env import ip, require_namespaces, unique_name

# argv: the unix socket's descriptor, the namespace end's veth name, its address.  Unshares a network
# namespace, waits for its veth, listens on 0.0.0.0, sends the listener into the unix socket, exits.
IN_FLIGHT = r"""
import array, ctypes, os, socket, subprocess, sys
unix = socket.socket(fileno=int(sys.argv[1]))
assert ctypes.CDLL(None, use_errno=True).unshare(0x40000000) == 0  # CLONE_NEWNET (no os.unshare before 3.12)
print(os.getpid(), flush=True)
sys.stdin.readline()  # the veth's end is here now
for args in (["link", "set", "lo", "up"], ["addr", "add", sys.argv[3] + "/24", "dev", sys.argv[2]],
             ["link", "set", sys.argv[2], "up"]):
    subprocess.run(["ip", *args], check=True, timeout=10)
listener = socket.socket()
listener.bind(("0.0.0.0", 0))
listener.listen(8)
unix.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [listener.fileno()]))])
print(listener.getsockname()[1], flush=True)
"""


@pytest.mark.live
@pytest.mark.slow  # a namespace, a veth, discovery of the whole machine twice
def test_a_namespace_held_only_by_a_socket_in_flight_behind_a_veth_is_a_discovery_gap():
    require_namespaces()
    host_end, inner_end = unique_name("lbd13h"), unique_name("lbd13n")
    kept, sent = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    child = subprocess.Popen([sys.executable, "-c", IN_FLIGHT, str(sent.fileno()), inner_end, "10.231.13.2"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, pass_fds=[sent.fileno()])
    try:
        assert child.stdin is not None and child.stdout is not None
        pid = int(child.stdout.readline())
        ip("link", "add", host_end, "type", "veth", "peer", "name", inner_end, "netns", str(pid))
        ip("addr", "add", "10.231.13.1/24", "dev", host_end)
        ip("link", "set", host_end, "up")
        child.stdin.write("moved\n")
        child.stdin.flush()
        port = int(child.stdout.readline())
        assert child.wait(timeout=10) == 0
        sent.close()  # now only the message in kept's queue holds the listener
        # the kernel's answer: the listener nobody holds accepts a connection from the host
        with socket.create_connection(("10.231.13.2", port), timeout=5):
            pass
        netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
        assert netns is not None
        listed = [(ns.inode, listener.address) for ns in netns.namespaces for listener in ns.listeners or []
                  if listener.port == port and listener.address == "0.0.0.0"]
        assert listed == []  # not found: its listener is not judged
        [gap] = [g for g in gaps if host_end in g.reason]
        assert gap.path == ("namespaces",)
        assert gap.reason.startswith("the collector's network namespace net:[")
        assert f"to a namespace none found is (the namespace of the peer of veth {host_end}): one held by " in gap.reason
        discovery = [o for o in _bind_outcomes(netns, gaps) if o.subject.endswith("(discovery)")]
        assert [o.status for o in discovery] == [Status.NOT_REVIEWED]
        assert host_end in (discovery[0].reason or "")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        subprocess.run(["ip", "link", "del", host_end], capture_output=True, timeout=10)
        kept.close()
        sent.close()


@pytest.mark.live
@pytest.mark.slow  # a namespace, a veth, two macvlans, discovery of the whole machine twice
def test_a_namespace_held_only_by_a_socket_in_flight_on_a_macvlan_is_a_discovery_gap():
    # no veth leads into it: its macvlan, of a host link, was moved there, which gives it an id in
    # the host's namespace (RTM_GETNSID dump); a neighbour on that link (here the host's own macvlan
    # of it, bridge mode) connects to its listener
    require_namespaces()
    lower, lower_peer, moved, own = (unique_name(p) for p in ("lbd13l", "lbd13p", "lbd13m", "lbd13o"))
    kept, sent = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    child = subprocess.Popen([sys.executable, "-c", IN_FLIGHT, str(sent.fileno()), moved, "10.231.14.2"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, pass_fds=[sent.fileno()])
    try:
        assert child.stdin is not None and child.stdout is not None
        pid = int(child.stdout.readline())
        ip("link", "add", lower, "type", "veth", "peer", "name", lower_peer)
        ip("link", "set", lower, "up")
        ip("link", "set", lower_peer, "up")
        ip("link", "add", moved, "link", lower, "type", "macvlan", "mode", "bridge")
        before = dump_nsids()
        ip("link", "set", moved, "netns", str(pid))
        [nsid] = dump_nsids() - before  # the id moving the macvlan gave the child's namespace
        ip("link", "add", own, "link", lower, "type", "macvlan", "mode", "bridge")
        ip("addr", "add", "10.231.14.1/24", "dev", own)
        ip("link", "set", own, "up")
        child.stdin.write("moved\n")
        child.stdin.flush()
        port = int(child.stdout.readline())
        assert child.wait(timeout=10) == 0
        sent.close()
        with socket.create_connection(("10.231.14.2", port), timeout=5):
            pass
        netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
        assert netns is not None
        assert [ns.inode for ns in netns.namespaces for listener in ns.listeners or []
                if listener.port == port and listener.address == "0.0.0.0"] == []
        [gap] = [g for g in gaps if f" gives id {nsid} to a namespace none found is " in g.reason]
        assert gap.path == ("namespaces",)
        assert "(the namespace of no veth of it: a device was moved there, or it was named): one held by" in gap.reason
        discovery = [o for o in _bind_outcomes(netns, gaps) if o.subject.endswith("(discovery)")]
        assert [o.status for o in discovery] == [Status.NOT_REVIEWED]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        for link in (own, lower):
            subprocess.run(["ip", "link", "del", link], capture_output=True, timeout=10)
        kept.close()
        sent.close()


def _opened(found: dict, current) -> list[tuple[int, int]]:
    """(index, descriptor) of each namespace found but the collector's, as collect_netns opens them."""
    fds = []
    for index, entry in enumerate(found.values()):
        if (entry.device, entry.inode) == current:
            continue
        if entry.fd is not None:
            fds.append((index, os.dup(entry.fd)))
            continue
        for path in entry.open_paths:
            try:
                fds.append((index, open_namespace(path)))
                break
            except OSError:
                continue
    return fds


@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine twice
def test_control_a_namespace_made_after_discovery_is_found_again_and_is_no_gap():
    # a container started during the collection: its veth is in the links read after discovery,
    # its namespace's id in the host's, but its namespace in none discovery found; found again, it
    # is no hidden namespace
    require_namespaces()
    name, host_end = unique_name("lbd13c"), unique_name("lbd13v")
    found, current, _gaps = discover("/proc")
    fds = _opened(found, current)
    close_held(found)
    order = list(found.values())
    here = next(i for i, f in enumerate(order) if (f.device, f.inode) == current)
    try:
        ip("netns", "add", name)
        ip("link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", name)
        [link] = [vars(link) for link in dump_interfaces() if link.name == host_end]
        assert link["peer_netnsid"] in dump_nsids()
        gaps = unfound_peer_gaps("/proc", order, current, {here: [{**link, "peer_netns": None}]}, False, 10.0, fds)
        assert [g for g in gaps if host_end in g.reason] == []
        # the same veth in another namespace (not asked again: that needs entering it) is a gap
        order.append(Found(device=order[0].device, inode=1))  # stands for a namespace entered
        gaps = unfound_peer_gaps("/proc", order, current, {len(order) - 1: [{**link, "peer_netns": None}]}, False,
                                 10.0, fds)
        [gap] = [g for g in gaps if host_end in g.reason]
        assert gap.reason.startswith(f"the peer of veth {host_end} in network namespace net:[1] is in a namespace none "
                                     f"found is (id {link['peer_netnsid']} there): one held by nothing")
    finally:
        for _index, fd in fds:
            os.close(fd)
        subprocess.run(["ip", "link", "del", host_end], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine twice, a child entering a namespace
def test_control_a_namespace_made_after_discovery_behind_a_veth_of_another_namespace_is_no_gap():
    # a container that starts one of its own during the collection: the veth into it is in the
    # container's namespace (read by the child), the new namespace in none discovery found; found
    # again and asked for its id inside the container's namespace, it is no hidden namespace
    require_namespaces()
    outer, inner = unique_name("lbd13o"), unique_name("lbd13i")
    try:
        ip("netns", "add", outer)
        found, current, _gaps = discover("/proc")
        fds = _opened(found, current)
        close_held(found)
        order = list(found.values())
        outer_index = next(i for i, f in enumerate(order) if outer in f.names)
        ip("netns", "add", inner)
        ip("link", "add", "lbd13x", "netns", outer, "type", "veth", "peer", "name", "eth0", "netns", inner)
        shown = subprocess.run(["ip", "-n", outer, "-j", "link", "show", "lbd13x"], check=True, capture_output=True,
                               text=True, timeout=10).stdout
        nsid = json.loads(shown)[0]["link_netnsid"]
        link = {"name": "lbd13x", "kind": "veth", "peer_netnsid": nsid, "peer_netns": None}
        try:
            gaps = unfound_peer_gaps("/proc", order, current, {outer_index: [link]}, False, 10.0, fds)
        finally:
            for _index, fd in fds:
                os.close(fd)
        assert [g for g in gaps if "lbd13x" in g.reason] == []
    finally:
        subprocess.run(["ip", "netns", "del", inner], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", outer], capture_output=True, timeout=10)
