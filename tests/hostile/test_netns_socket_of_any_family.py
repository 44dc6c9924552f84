"""Hostile corpus, false passes: a network namespace held only by a socket that cannot listen.

Every socket a process makes holds the network namespace it was made in, whatever its family: a
netlink socket (``ip monitor``), a packet socket (a DHCP client), a unix socket.  Discovery asked
for the namespace of the sockets of transports that can listen only (TCP, UDP, SCTP, ...), on the
ground that a namespace's listeners are sockets of their own, which would be asked.  The kernel's
are not: a VXLAN (or WireGuard, GENEVE, nfsd) socket is held by no descriptor and does not hold its
namespace.  A process that makes a namespace with a VXLAN device, keeps a netlink socket made
there and goes back (setns) leaves a namespace no process is in, held by that socket alone; its
VXLAN listener on the UDP wildcard was never judged and nothing said so: net.bind_addresses passed.

Now every socket no dump places in the collector's own namespace is asked (``pidfd_getfd`` and
``SIOCGSKNS``), whatever its protocol, and its namespace is found, entered and judged.

Real namespaces and sockets; each ends with the process that holds it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from auditor.collect import CollectContext
from auditor.collect.netns import close_held, collect_netns, discover, placed_here
from tests.hostile.test_netns import _bind_outcomes
from tests.netns_env import require_namespaces

# Makes a namespace with a VXLAN device on the UDP wildcard (argv[1]: its port), a socket there of
# the family argv[2] names, goes back to the host's namespace and prints "pid inode".
HOLDER = textwrap.dedent("""\
    import ctypes, os, socket, subprocess, sys
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    assert libc.unshare(0x40000000) == 0
    for args in (["link", "set", "lo", "up"],
                 ["link", "add", "vx-lbaudit", "type", "vxlan", "id", "20", "dstport", sys.argv[1], "dev", "lo"],
                 ["link", "set", "vx-lbaudit", "up"]):
        made = subprocess.run(["ip", *args], capture_output=True, text=True)
        if made.returncode != 0:
            print("failed", made.stderr.replace("\\n", " "), flush=True)
            sys.exit(1)
    held = {"netlink": lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE),
            "packet": lambda: socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0),
            "unix": lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)}[sys.argv[2]]()
    inode = os.stat("/proc/thread-self/ns/net").st_ino
    assert libc.setns(home, 0x40000000) == 0
    os.close(home)
    print(os.getpid(), inode, flush=True)
    sys.stdin.read()
""")


# before: the namespace was not found; the VXLAN listener on 0.0.0.0 had no outcome (no fail)
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
@pytest.mark.parametrize(("family", "port"), [("netlink", 4790), ("packet", 4791), ("unix", 4792)])
def test_a_namespace_only_a_socket_that_cannot_listen_holds_is_found_and_judged(family, port):
    require_namespaces()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(port), family], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline().split()
        if "Unknown device type" in " ".join(line):
            pytest.skip("this kernel cannot make a VXLAN device")
        assert len(line) == 2 and line[0].isdigit(), line
        pid, inode = int(line[0]), int(line[1])
        assert os.stat(f"/proc/{pid}/ns/net").st_ino != inode
        netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    assert netns is not None
    [namespace] = [ns for ns in netns.namespaces if ns.inode == inode]
    assert (namespace.entered, [(l.protocol, l.address, l.port) for l in namespace.listeners or []]) == (
        True, [("udp", "0.0.0.0", port)])
    assert [(o.status.value, o.subject) for o in _bind_outcomes(netns, gaps)
            if o.subject.startswith(f"udp 0.0.0.0:{port} ")] == [
        ("fail", f"udp 0.0.0.0:{port} owner unknown in netns net:[{inode}]")]


@pytest.mark.live
def test_control_netlink_and_packet_sockets_of_the_collectors_namespace_are_placed_not_asked():
    """Every daemon that watches links holds netlink sockets: those of the collector's own namespace
    are placed from /proc/net/netlink (and packet ones from /proc/net/packet), not each copied and
    asked (which costs a system call or three apiece, and is refused where ptrace is).  An unbound
    netlink socket is not listed there, and is asked."""
    require_namespaces()
    found, _current, _gaps = discover("/proc")
    close_held(found)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as watcher, \
            socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0) as sniffer:
        watcher.bind((0, 0))  # as a daemon subscribing to groups does; /proc/net/netlink lists bound ones only
        placed = placed_here(found, 10.0)
        assert {os.fstat(watcher.fileno()).st_ino, os.fstat(sniffer.fileno()).st_ino} <= placed
