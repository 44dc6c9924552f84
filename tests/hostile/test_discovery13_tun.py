"""Hostile corpus, discovery: a network namespace held only by a tun device's descriptor.

A process opens /dev/net/tun inside a namespace (TUNSETIFF makes the device there) and returns to
its own with setns: the device, and with it the namespace, is then held by a descriptor that links
to /dev/net/tun, not to a namespace file nor a socket, and no process is in the namespace.  A
userspace VPN or network stack hands whatever it writes to that descriptor to the namespace's
stack, so its listeners are reachable; discovery (processes, their namespace files and sockets,
/run/netns, nsfs mounts) did not find it, so they were never judged.  Discovery now asks each tun
descriptor for its device's namespace (a copy by pidfd_getfd, then TUNGETDEVNETNS, Linux 5.2).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from auditor.collect import CollectContext
from auditor.collect.netns import close_held, collect_netns, discover
from tests.netns_env import require_namespaces

# Makes a namespace, a tun device in it, returns to its own namespace: prints the namespace's inode,
# then holds the tun descriptor (and nothing else of that namespace) until its stdin closes.
HOLD_BY_TUN = r"""
import ctypes, fcntl, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
own = os.open("/proc/self/ns/net", os.O_RDONLY)
assert libc.unshare(0x40000000) == 0
inner = os.stat("/proc/thread-self/ns/net").st_ino
tun = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tun, 0x400454CA, struct.pack("16sH", b"lbd13tun", 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN|IFF_NO_PI
assert libc.setns(own, 0x40000000) == 0
os.close(own)
print(inner, flush=True)
sys.stdin.read()
"""


@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine, a child interpreter
def test_a_namespace_held_only_by_a_tun_descriptor_is_found():
    require_namespaces()
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("no /dev/net/tun to hold a namespace by")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_BY_TUN], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None
        inner = int(holder.stdout.readline())
        assert os.stat(f"/proc/{holder.pid}/ns/net").st_ino != inner  # the holder is not in it
        found, _current, _gaps = discover("/proc")
        close_held(found)
        assert inner in {inode for _device, inode in found}
        netns, _gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
        assert netns is not None
        [namespace] = [ns for ns in netns.namespaces if ns.inode == inner]
        assert namespace.entered is True
        assert [i.name for i in namespace.interfaces or []] == ["lo", "lbd13tun"]
    finally:
        holder.kill()
        holder.wait(timeout=10)
