"""Hostile corpus, false passes: a veth into the host is on the LAN when the host bridges it there.

A namespace whose only interfaces are loopback and a veth into the host was "reachable only inside":
the host routes (docker0) and its forwarding and firewall decide what reaches the namespace.  But
LXC, LXD, libvirt and Proxmox put the host side of the veth in a bridge together with the host's
NIC (br0 = enp1s0 + vethXYZ), or an overlay's VXLAN port: the bridge forwards frames between the
link and the veth, and a neighbour on the LAN reaches the namespace's address as it reaches the
host's own.  A listener on 0.0.0.0 in such a container passed under ``allow: [loopback]``.  The
host side is now followed: a veth whose peer is a port of a host bridge that has a port reaching
beyond the machine (a physical, macvlan, ipvlan or other link, such as VXLAN) is an outward
interface.

``test_live_a_vxlan_bridged_with_the_veth_exposes_the_namespace`` proves it on the running kernel:
a namespace standing for the host (lbaudit's collector runs in it) with a bridge holding a VXLAN
link and the host side of a veth into a second namespace, whose listener on 0.0.0.0 fails.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import Listener, NamespaceFacts, NetInterface, NetNamespace, ProcessInfo
from auditor.model.result import Status
from tests.factories import listener, snapshot
from tests.netns_env import ip, require_namespaces, unique_name

HOST_INODE = 4026531840
INNER = 4026532300
LO = NetInterface(ingress_hooks=[], name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8", "::1/128"],
                  route_localnet=False)
# the container's end of the veth: on the LAN's subnet, as LXC gives it
CONTAINER_END = NetInterface(ingress_hooks=[], name="eth0", index=3, kind="veth", up=True, addresses=["192.0.2.50/24"],
                             peer_index=9, peer_in_other_netns=True, peer_netns=HOST_INODE, route_localnet=False)
BR0 = NetInterface(ingress_hooks=[], name="br0", index=4, kind="bridge", link_kind="bridge", up=True, addresses=["192.0.2.2/24"],
                   route_localnet=False)
NIC = NetInterface(ingress_hooks=[], name="enp1s0", index=2, kind="physical", up=True, master="br0", route_localnet=False)


def host_end(master: str | None = "br0") -> NetInterface:
    return NetInterface(ingress_hooks=[], name="vethXYZ", index=9, kind="veth", up=True, master=master, peer_index=3,
                        peer_in_other_netns=True, peer_netns=INNER)


def web(address: str = "0.0.0.0", port: int = 8080) -> Listener:
    return listener(address, port, processes=[ProcessInfo(pid=4242, name="httpd")], uid=0, user="root", inode=77)


def judged(host_interfaces: list[NetInterface] | None, *listeners: Listener):
    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=host_interfaces)
    inner = NetNamespace(inode=INNER, device=4, pids=[4242], entered=True, interfaces=[LO, CONTAINER_END],
                         listeners=list(listeners), sysctl={})
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[current, inner], published=[],
                                                       published_sources=["nat"]))
    return [o for o in net_bind_addresses.run(snap, BindAddressParams())
            if o.subject.endswith(f"in netns net:[{INNER}]")]


def test_a_veth_whose_host_end_is_bridged_with_the_nic_is_on_the_lan():
    [outcome] = judged([LO, NIC, BR0, host_end()], web())
    assert outcome.status == Status.FAIL  # before: pass, "reachable only inside"
    assert outcome.observed["exposure"]["addresses"] == ["192.0.2.50"]  # type: ignore[index]
    assert ("eth0 (veth into the host, whose end vethXYZ is a port of bridge br0 with enp1s0 (physical))"
            in outcome.observed["exposure"]["note"])  # type: ignore[index]
    # a listener on the namespace's loopback stays inside
    [inside] = judged([LO, NIC, BR0, host_end()], web("127.0.0.1", 9000))
    assert inside.status == Status.PASS


def test_any_port_that_reaches_beyond_makes_the_bridge_outward():
    for port in (NetInterface(ingress_hooks=[], name="vx0", index=6, kind="other", link_kind="vxlan", up=True, master="br0"),
                 NetInterface(ingress_hooks=[], name="mv0", index=6, kind="macvlan", link_kind="macvlan", up=True, master="br0"),
                 NetInterface(ingress_hooks=[], name="tap0", index=6, kind="other", link_kind="tun", up=True, master="br0")):
        [outcome] = judged([LO, NIC.model_copy(update={"master": None}), BR0, host_end(), port], web())
        assert outcome.status == Status.FAIL, port.name


def test_control_cases_a_routed_veth_or_a_bridge_of_veths_stays_inside():
    # docker0-style: the host routes; the bridge holds only veths into namespaces of this host
    docker0 = BR0.model_copy(update={"name": "docker0", "addresses": ["172.17.0.1/16"]})
    other_container = NetInterface(ingress_hooks=[], name="vethABC", index=11, kind="veth", up=True, master="docker0", peer_index=3,
                                   peer_in_other_netns=True, peer_netns=4026532999)
    # (that does not forward what arrives on its NIC: tests/hostile/test_listeners_forwarded_veth.py)
    nic = NIC.model_copy(update={"master": None, "forwarding": False, "forwarding_ipv6": False})
    for host in ([LO, nic, docker0, host_end("docker0"), other_container], [LO, nic, host_end(None)]):
        [outcome] = judged(host, web())
        assert outcome.status == Status.PASS
        assert outcome.reason.startswith(f"reachable only inside namespace net:[{INNER}]")


# The collector and the check, run inside the namespace that stands for the host: prints the
# status and the exposure of the listener on the port given.
JUDGE = """
import json, sys
from auditor.collect.live import collect_live
from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
port = int(sys.argv[1])
snapshot = collect_live(frozenset({"sockets", "netns"}))
found = [o for o in net_bind_addresses.run(snapshot, BindAddressParams())
         if o.subject_detail.get("port") == port and " in netns " in o.subject]
print(json.dumps([(o.status.value, (o.observed or {}).get("exposure")) for o in found]))
"""
LISTEN = """
import socket, sys
s = socket.socket(); s.bind(("0.0.0.0", 0)); s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""


@pytest.mark.live
def test_live_a_vxlan_bridged_with_the_veth_exposes_the_namespace():
    require_namespaces()
    host, inner = unique_name("lbh"), unique_name("lbc")
    ip("netns", "add", host)
    ip("netns", "add", inner)
    server = None
    try:
        for name in (host, inner):
            ip("-n", name, "link", "set", "lo", "up")
        ip("-n", host, "link", "add", "br0", "type", "bridge")
        ip("-n", host, "link", "add", "vx0", "type", "vxlan", "id", "42", "dstport", "4789", "local", "127.0.0.1")
        ip("-n", host, "link", "set", "vx0", "master", "br0")
        ip("-n", host, "link", "add", "vh0", "type", "veth", "peer", "name", "eth0", "netns", inner)
        ip("-n", host, "link", "set", "vh0", "master", "br0")
        for device in ("br0", "vx0", "vh0"):
            ip("-n", host, "link", "set", device, "up")
        ip("-n", inner, "addr", "add", "192.0.2.50/24", "dev", "eth0")
        ip("-n", inner, "link", "set", "eth0", "up")
        server = subprocess.Popen(["ip", "netns", "exec", inner, sys.executable, "-c", LISTEN],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        done = subprocess.run(["ip", "netns", "exec", host, sys.executable, "-c", JUDGE, port],
                              capture_output=True, text=True, timeout=120, check=True)
        [(status, exposure)] = json.loads(done.stdout)
        assert status == "fail"  # before: pass, "reachable only inside"
        assert exposure["addresses"] == ["192.0.2.50"]
        assert "whose end vh0 is a port of bridge br0 with vx0 (other vxlan)" in exposure["note"]
    finally:
        if server is not None:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=10)
        for name in (inner, host):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
