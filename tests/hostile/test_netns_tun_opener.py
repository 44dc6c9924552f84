"""Hostile corpus, false passes: a network namespace held by the tun descriptor opened in it.

Opening /dev/net/tun makes a socket inside the kernel's tun file, in the network namespace of the
opener, and that socket holds the namespace for as long as the descriptor is open, whether or not
the descriptor is attached to a device (TUNSETIFF) and wherever the device is.  Discovery asked a
tun descriptor only for its device's namespace (TUNGETDEVNETNS): a descriptor opened in a namespace
its holder then left (setns), attached to no device or to one moved elsewhere, held a namespace
nothing else showed, and what listened there (the kernel's UDP socket of a VXLAN device) was never
judged: net.bind_addresses passed.

The tun file answers SIOCGSKNS with the namespace it was opened in; discovery now asks that too.

Real namespaces and descriptors; each ends with the process that holds it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from auditor.collect import CollectContext
from auditor.collect.netns import collect_netns
from tests.hostile.test_netns import _bind_outcomes
from tests.netns_env import require_namespaces

# Makes a namespace with a VXLAN device on the UDP wildcard (argv[1]: its port), opens /dev/net/tun
# there (argv[2] == "attached": and makes a device, moved then to the host's namespace), goes back
# to the host's namespace and prints "pid inode".
HOLDER = textwrap.dedent("""\
    import ctypes, fcntl, os, struct, subprocess, sys
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    assert libc.unshare(0x40000000) == 0
    for args in (["link", "set", "lo", "up"],
                 ["link", "add", "vx-lbaudit", "type", "vxlan", "id", "21", "dstport", sys.argv[1], "dev", "lo"],
                 ["link", "set", "vx-lbaudit", "up"]):
        made = subprocess.run(["ip", *args], capture_output=True, text=True)
        if made.returncode != 0:
            print("failed", made.stderr.replace("\\n", " "), flush=True)
            sys.exit(1)
    tun = os.open("/dev/net/tun", os.O_RDWR)
    if sys.argv[2] == "attached":
        fcntl.ioctl(tun, 0x400454CA, struct.pack("16sH", sys.argv[3].encode(), 0x0001 | 0x1000))  # TUNSETIFF
        subprocess.run(["ip", "link", "set", sys.argv[3], "netns", f"/proc/{os.getppid()}/ns/net"], check=True)
    inode = os.stat("/proc/thread-self/ns/net").st_ino
    assert libc.setns(home, 0x40000000) == 0
    os.close(home)
    print(os.getpid(), inode, flush=True)
    sys.stdin.read()
""")


# before: the namespace was not found; the VXLAN listener on 0.0.0.0 had no outcome (no fail)
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine
@pytest.mark.parametrize(("how", "port"), [("unattached", 4793), ("attached", 4794)],
                         ids=["no-device", "device-moved-out"])
def test_a_namespace_only_the_tun_descriptor_opened_there_holds_is_found_and_judged(how, port):
    require_namespaces()
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("no /dev/net/tun to hold a namespace by")
    device = f"lbt{os.getpid() % 100000}"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(port), how, device], stdin=subprocess.PIPE,
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
