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
no namespace discovery found has that id is direct evidence of a namespace it missed.  The
collector now says so as a discovery gap (the check's "(discovery)" outcome is not_reviewed), after
finding the namespaces again once, so that a namespace created meanwhile (a container started
during the collection) is not taken for a hidden one.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from auditor.collect import CollectContext
from auditor.collect.netns import Found, close_held, collect_netns, discover, unfound_peer_gaps
from auditor.collect.rtnetlink import dump_interfaces
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
        assert gap.reason.startswith(
            f"the peer of veth {host_end} in network namespace net:[")
        assert "is in a namespace none found is" in gap.reason
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
@pytest.mark.slow  # discovery of the whole machine twice
def test_control_a_namespace_made_after_discovery_is_found_again_and_is_no_gap():
    # a container started during the collection: its veth is in the links read after discovery,
    # its namespace in none discovery found; found again, it is no hidden namespace
    require_namespaces()
    name, host_end = unique_name("lbd13c"), unique_name("lbd13v")
    found, current, _gaps = discover("/proc")
    close_held(found)
    try:
        ip("netns", "add", name)
        ip("link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", name)
        [link] = [vars(link) for link in dump_interfaces() if link.name == host_end]
        assert link["peer_netnsid"] is not None
        order = sorted(found.values(), key=lambda f: (f.device, f.inode) != current)
        assert (order[0].device, order[0].inode) == current
        assert unfound_peer_gaps("/proc", order, current, {0: [{**link, "peer_netns": None}]}, False, 10.0) == []
        # the same veth in a namespace found after the second discovery too would be a gap: shown by
        # keeping the namespace out of what is asked (a namespace of another's veth is not asked again)
        order.append(Found(device=order[0].device, inode=1))  # stands for a namespace entered
        other = len(order) - 1
        [gap] = unfound_peer_gaps("/proc", order, current, {other: [{**link, "peer_netns": None}]}, False, 10.0)
        assert gap.reason.startswith(f"the peer of veth {host_end} in network namespace net:[{order[other].inode}]")
    finally:
        subprocess.run(["ip", "link", "del", host_end], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
