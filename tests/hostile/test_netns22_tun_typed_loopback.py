"""Hostile corpus, false passes: a tun device that calls itself a loopback.

An interface was taken for its namespace's loopback when its hardware type was ARPHRD_LOOPBACK or
its flags had IFF_LOOPBACK.  The type is the device owner's to choose: ``TUNSETLINK`` sets a tun or
tap device's type to any value while it is down (``ip -d link`` then shows ``link/loopback``), and
such a device is still fed by whoever holds its descriptor: a VPN daemon relaying what comes from
beyond the host.  A namespace whose only links were lo and such a tun ("lo0", 10.9.0.1/24) had its
listener on 0.0.0.0 judged "reachable only inside", and one bound (SO_BINDTODEVICE) to lo0 was judged
at the loopback networks alone: both passed ``allow: [loopback]`` while the kernel delivers a
datagram from 198.51.100.7 written into the tun to them.  IFF_LOOPBACK is the loopback driver's
own (userspace cannot set it: dev_change_flags keeps it as the driver set it), so a device is now
a loopback by that flag and no rtnetlink kind of its own; the tun is "other" and judged as reaching
beyond.

``test_the_kernel_delivers_from_the_tun_and_lbaudit_does_not_pass_it`` proves it with lbaudit's own
collector and a datagram written into the tun.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from auditor.collect.netns import _interfaces
from auditor.collect.rtnetlink import _kind
from auditor.model.facts import Listener, NetNamespace
from auditor.model.result import Status
from tests.hostile.test_falsepass_netns_weak_host import INNER, judged
from tests.hostile.test_judging_route_localnet import COLLECT, REPO, _stop
from tests.netns_env import ip, require_namespaces, unique_name

ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_NONE = 1, 772, 0xFFFE
IFF_LOOPBACK, IFF_POINTOPOINT = 0x8, 0x10


def test_a_device_is_a_loopback_by_the_drivers_flag_not_by_its_type():
    assert _kind(ARPHRD_LOOPBACK, IFF_LOOPBACK, None) == "loopback"  # lo
    assert _kind(ARPHRD_LOOPBACK, IFF_POINTOPOINT, "tun") == "other"  # a tun after TUNSETLINK 772
    assert _kind(ARPHRD_LOOPBACK, 0, None) == "other"
    assert _kind(ARPHRD_NONE, IFF_POINTOPOINT, "tun") == "other"
    assert _kind(ARPHRD_ETHER, 0, None) == "physical"


# In the namespace: a tun named lo0 typed ARPHRD_LOOPBACK (TUNSETLINK) with 10.9.0.1/24, a UDP
# listener on 0.0.0.0 and one on 0.0.0.0 bound to lo0; then, on a line from stdin, a datagram from
# 198.51.100.7 written into the tun (what a VPN daemon does with what it receives), and which
# listeners it reached.
TUN_SERVE = r"""
import fcntl, os, socket, struct, subprocess, sys
TUNSETIFF, TUNSETLINK, IFF_TUN, IFF_NO_PI = 0x400454ca, 0x400454cd, 0x1, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"lo0", IFF_TUN | IFF_NO_PI))
fcntl.ioctl(fd, TUNSETLINK, 772)
for args in (["addr", "add", "10.9.0.1/24", "dev", "lo0"], ["link", "set", "lo0", "up"], ["link", "set", "lo", "up"]):
    subprocess.run(["ip", *args], check=True)
plain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); plain.bind(("0.0.0.0", 0))
bound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
bound.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo0"); bound.bind(("0.0.0.0", 0))
print(plain.getsockname()[1], bound.getsockname()[1], flush=True)
sys.stdin.readline()
def checksum(data):
    total = sum(struct.unpack("!10H", data)); total = (total >> 16) + (total & 0xffff); total += total >> 16
    return ~total & 0xffff
reached = []
for sock in (plain, bound):
    payload = b"from beyond"
    udp = struct.pack("!HHHH", 4444, sock.getsockname()[1], 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                         socket.inet_aton("198.51.100.7"), socket.inet_aton("10.9.0.1"))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    os.write(fd, header + udp)
    sock.settimeout(2)
    try:
        data, peer = sock.recvfrom(100)
        reached.append(peer[0] if data == payload else "other data")
    except OSError as exc:
        reached.append(type(exc).__name__)
print(" ".join(reached), flush=True)
sys.stdin.readline()
"""


@pytest.mark.live
def test_the_kernel_delivers_from_the_tun_and_lbaudit_does_not_pass_it():
    require_namespaces()
    name = unique_name("lbt22t")
    ip("netns", "add", name)
    serving = None
    try:
        serving = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", TUN_SERVE],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdin is not None and serving.stdout is not None
        ports = serving.stdout.readline().split()
        assert len(ports) == 2, ports
        collected = json.loads(subprocess.run(
            ["ip", "netns", "exec", name, sys.executable, "-c", COLLECT], capture_output=True, text=True,
            timeout=30, check=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(REPO)}).stdout)
        interfaces = _interfaces(collected["interfaces"])
        assert [(i.kind, i.link_kind) for i in interfaces if i.name == "lo0"] == [("other", "tun")]
        mine = [Listener.model_validate(item) for item in collected["listeners"] if str(item["port"]) in ports]
        assert sorted(str(l.port) for l in mine) == sorted(ports)
        assert [l.interface for l in mine if str(l.port) == ports[1]] == ["lo0"]
        inner = NetNamespace(inode=INNER, device=4, pids=[serving.pid], entered=True, interfaces=interfaces,
                             listeners=mine, sysctl={}, local_routes=collected["local_routes"])
        outcomes = judged(inner, allow=["loopback"])
        assert len(outcomes) == 2
        assert all(o.status == Status.FAIL for o in outcomes), [(o.status, o.message) for o in outcomes]
        assert all("lo0 (other tun)" in o.message for o in outcomes), [o.message for o in outcomes]
        # what lbaudit says, the kernel does: a datagram from beyond, written into the tun, reaches both
        serving.stdin.write("\n")
        serving.stdin.flush()
        assert serving.stdout.readline().split() == ["198.51.100.7", "198.51.100.7"]
    finally:
        _stop(serving, name)
