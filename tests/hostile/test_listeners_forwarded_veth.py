"""Hostile corpus, false passes: a namespace behind a veth the host routes, on a host that forwards.

A namespace whose only links are loopback and a veth into the host (docker0's containers, an ``ip
netns`` with a veth) was judged "reachable only inside": the host routes to it, so only the host
reaches it.  But a host that forwards (net.ipv4.ip_forward=1, which Docker, libvirt and every
router set; net.ipv4.conf.IFACE.forwarding for one link) routes what a neighbour on its link sends
to the namespace's address: a neighbour that routes 10.77.0.0/24 (or 172.17.0.0/16) through the
host connects to the namespace's wildcard listener, unless the host's firewall drops it (FORWARD
rules, which lbaudit does not read: Docker's FORWARD policy DROP before Docker 28 let the published
ports through to the container's own address, moby#45610).

Before: pass, "reachable only inside namespace".  Now the namespace's addresses that the host may
forward to are recorded (``observed.exposure.if_forwarded``) and a listener not allowed at them is
not_reviewed, naming the interface that forwards and the setting; one allowed there passes; a
host that forwards nothing from beyond it (or only the other IP version) keeps the pass.

``test_the_host_forwards_a_neighbour_to_the_namespace_and_lbaudit_does_not_pass_it`` proves it
on the running kernel: three namespaces standing for the host, the container and a neighbour on
the host's link (a macvlan), a connection from the neighbour to the container's wildcard listener
that succeeds exactly when the host forwards, and lbaudit's collector run in the host namespace.
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
INTO_HOST = NetInterface(ingress_hooks=[], name="eth0", index=3, kind="veth", up=True, addresses=["172.17.0.2/16", "fd00:17::2/64",
                                                                                "fe80::2/64"],
                         peer_index=9, peer_in_other_netns=True, peer_netns=HOST_INODE, route_localnet=False)
HOST_END = NetInterface(ingress_hooks=[], name="veth9", index=9, kind="veth", up=True, master="docker0", peer_index=3,
                        peer_in_other_netns=True, peer_netns=INNER)
DOCKER0 = NetInterface(ingress_hooks=[], name="docker0", index=4, kind="bridge", link_kind="bridge", up=True,
                       addresses=["172.17.0.1/16"], route_localnet=False, forwarding=True, forwarding_ipv6=True)


def nic(forwarding: bool | None, forwarding_ipv6: bool | None = False) -> NetInterface:
    return NetInterface(ingress_hooks=[], name="enp1s0", index=2, kind="physical", up=True, addresses=["192.0.2.2/24"],
                        route_localnet=False, forwarding=forwarding, forwarding_ipv6=forwarding_ipv6)


def web(address: str = "0.0.0.0", port: int = 8080, v6only: bool | None = None) -> Listener:
    return listener(address, port, processes=[ProcessInfo(pid=4242, name="httpd")], uid=0, user="root", inode=77,
                    v6only=v6only)


def judged(link: NetInterface, *listeners: Listener, **params):
    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1],
                           interfaces=[LO, link, DOCKER0, HOST_END])
    inner = NetNamespace(inode=INNER, device=4, pids=[4242], entered=True, interfaces=[LO, INTO_HOST],
                         listeners=list(listeners), sysctl={}, local_routes=[])
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[current, inner], published=[],
                                                       published_sources=["nat"]))
    return [o for o in net_bind_addresses.run(snap, BindAddressParams.model_validate(params or {}))
            if o.subject.endswith(f"in netns net:[{INNER}]")]


# before: pass, "reachable only inside namespace net:[4026532300] (loopback, or a veth into the host ...)"
def test_a_host_that_forwards_from_its_link_makes_the_namespace_listener_not_reviewed():
    [outcome] = judged(nic(True), web())
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.reason == (
        "the host forwards IPv4 arriving on enp1s0 (net.ipv4.conf.enp1s0.forwarding=1): a neighbour that routes "
        "172.17.0.2 through the host reaches it over eth0 (veth into the host) unless the host's firewall drops "
        "what it forwards there, and lbaudit does not read the FORWARD rules")
    assert outcome.observed["exposure"] == {  # type: ignore[index]
        "addresses": [], "if_forwarded": ["172.17.0.2"],
        "note": f"reachable only inside namespace net:[{INNER}] unless the host forwards to it at 172.17.0.2"}


def test_a_setting_that_could_not_be_read_is_not_reviewed_too():
    [outcome] = judged(nic(None), web())
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.reason.startswith("whether the host forwards IPv4 arriving on enp1s0 could not be read "
                                     "(net.ipv4.conf.enp1s0.forwarding): a neighbour that routes 172.17.0.2")


def test_ipv6_forwarding_reaches_the_ipv6_addresses_but_never_a_link_local_one():
    [dual] = judged(nic(False, True), web("::", v6only=False))
    assert dual.status == Status.NOT_REVIEWED
    assert dual.observed["exposure"]["if_forwarded"] == ["fd00:17::2"]  # type: ignore[index]
    assert dual.reason.startswith("the host forwards IPv6 arriving on enp1s0 (net.ipv6.conf.all.forwarding=1)")
    # an IPv4 listener is not reached by IPv6 forwarding
    [v4] = judged(nic(False, True), web())
    assert v4.status == Status.PASS


def test_a_host_whose_uplink_is_a_veth_from_beyond_what_was_seen_forwards_from_it():
    # lbaudit in a container (or a VM's namespace) whose link out is a veth: its other end is in no
    # namespace that was seen, so it stands for the link, not for one of this machine's containers
    uplink = NetInterface(ingress_hooks=[], name="eth9", index=2, kind="veth", up=True, addresses=["192.0.2.2/24"], peer_index=40,
                          peer_in_other_netns=True, route_localnet=False, forwarding=True, forwarding_ipv6=False)
    [outcome] = judged(uplink, web())
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.reason.startswith("the host forwards IPv4 arriving on eth9 (net.ipv4.conf.eth9.forwarding=1)")
    # the host end of a container's veth forwards too (docker0 and veth9 here), but only this machine is there
    [inside] = judged(uplink.model_copy(update={"forwarding": False}), web())
    assert inside.status == Status.PASS


def test_control_cases_pass():
    # the host forwards nothing from beyond it (docker0 forwards, but only this machine's containers are on it)
    [inside] = judged(nic(False), web())
    assert (inside.status, inside.reason) == (
        Status.PASS, f"reachable only inside namespace net:[{INNER}] (loopback, or a veth into the host and no other "
                     "interface)")
    # allowed at the address the host would forward to
    [allowed] = judged(nic(True), web(), allow=["loopback", "private"])
    assert allowed.status == Status.PASS
    assert (f"reachable only inside namespace net:[{INNER}] unless the host forwards to it at 172.17.0.2, which is "
            "allowed: the default allow list allows loopback, private (") in allowed.message
    # the namespace's loopback is never forwarded to
    [loopback] = judged(nic(True), web("127.0.0.1"))
    assert loopback.status == Status.PASS


# Run inside the namespace that stands for the host: the collector and the check, with the status,
# reason and exposure of each finding about the listener on the port given.
JUDGE = """
import json, sys
from auditor.collect.live import collect_live
from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
port = int(sys.argv[1])
snapshot = collect_live(frozenset({"sockets", "netns"}))
found = [o for o in net_bind_addresses.run(snapshot, BindAddressParams())
         if o.subject_detail.get("port") == port and " in netns " in o.subject]
print(json.dumps([(o.status.value, o.reason, (o.observed or {}).get("exposure")) for o in found]))
"""
LISTEN = """
import socket, sys
s = socket.socket(); s.bind(("0.0.0.0", 0)); s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""
CONNECT = """
import socket, sys
try:
    socket.create_connection(("10.77.0.2", int(sys.argv[1])), timeout=2).close()
    print("connected")
except OSError as exc:
    print(type(exc).__name__)
"""


@pytest.mark.live
def test_the_host_forwards_a_neighbour_to_the_namespace_and_lbaudit_does_not_pass_it():
    require_namespaces()
    host, inner, neighbour = unique_name("lbh"), unique_name("lbc"), unique_name("lbn")
    server = None
    try:
        for name in (host, inner, neighbour):
            ip("netns", "add", name)
            ip("-n", name, "link", "set", "lo", "up")
        # the container: a veth into the host, routed by it
        ip("-n", host, "link", "add", "vc0", "type", "veth", "peer", "name", "eth0", "netns", inner)
        ip("-n", host, "addr", "add", "10.77.0.1/24", "dev", "vc0")
        ip("-n", host, "link", "set", "vc0", "up")
        ip("-n", inner, "addr", "add", "10.77.0.2/24", "dev", "eth0")
        ip("-n", inner, "link", "set", "eth0", "up")
        ip("-n", inner, "route", "add", "default", "via", "10.77.0.1")
        # the host's link to its neighbour: a macvlan (outward) over a veth whose other end is the neighbour's
        ip("-n", host, "link", "add", "wire0", "type", "veth", "peer", "name", "eth0", "netns", neighbour)
        ip("-n", host, "link", "set", "wire0", "up")
        ip("-n", host, "link", "add", "lan0", "link", "wire0", "type", "macvlan", "mode", "bridge")
        ip("-n", host, "addr", "add", "192.0.2.1/24", "dev", "lan0")
        ip("-n", host, "link", "set", "lan0", "up")
        ip("-n", neighbour, "addr", "add", "192.0.2.2/24", "dev", "eth0")
        ip("-n", neighbour, "link", "set", "eth0", "up")
        ip("-n", neighbour, "route", "add", "10.77.0.0/24", "via", "192.0.2.1")
        server = subprocess.Popen(["ip", "netns", "exec", inner, sys.executable, "-c", LISTEN],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        port = server.stdout.readline().strip()

        def attempt() -> tuple[str, list]:
            reached = subprocess.run(["ip", "netns", "exec", neighbour, sys.executable, "-c", CONNECT, port],
                                     capture_output=True, text=True, timeout=30, check=True).stdout.strip()
            done = subprocess.run(["ip", "netns", "exec", host, sys.executable, "-c", JUDGE, port],
                                  capture_output=True, text=True, timeout=120, check=True)
            return reached, json.loads(done.stdout)

        subprocess.run(["ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True, timeout=10)
        reached, [(status, reason, exposure)] = attempt()
        assert reached == "connected"  # the kernel forwards the neighbour to the container's listener
        assert status == "not_reviewed"  # before: pass, "reachable only inside"
        assert reason.startswith("the host forwards IPv4 arriving on lan0 (net.ipv4.conf.lan0.forwarding=1): "
                                 "a neighbour that routes 10.77.0.2 through the host reaches it over eth0")
        assert exposure["if_forwarded"] == ["10.77.0.2"]

        subprocess.run(["ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv4.ip_forward=0"], check=True, timeout=10)
        reached, [(status, reason, exposure)] = attempt()
        assert reached != "connected"
        assert status == "pass" and reason.startswith(f"reachable only inside namespace {inner}")
    finally:
        if server is not None:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=10)
        for name in (inner, neighbour, host):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
