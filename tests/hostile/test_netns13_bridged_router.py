"""Hostile corpus, false passes: a namespace that forwards from its own link, on the container's bridge.

A container's veth into the host whose end is a port of a bridge of veths only (docker0, a docker
network) was taken as routed by the host: reached from beyond only if the host forwards.  But the
bridge switches frames between all its ports, and another port's namespace may be a router: a VPN
or macvlan gateway container with net.ipv4.ip_forward=1 on its own link forwards what a neighbour
on that link routes through it onto the bridge, to the container, and the host's forwarding plays
no part.  lbaudit passed such a listener as "reachable only inside".  Now a veth port of the bridge
whose namespace forwards (or may: unread) what arrives on a link of its own that reaches beyond, or
bridges that link with its end, or whose interfaces could not be read, makes the container judged
as reached from beyond.

``test_a_neighbour_routed_through_a_gateway_namespace_on_the_bridge_connects_and_lbaudit_fails_it``
proves it on the running kernel.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from auditor.collect.netns import _match_veth_peers
from auditor.model.facts import Listener, NetInterface, NetNamespace
from auditor.model.result import Status
from tests.hostile.test_falsepass_netns_weak_host import CONNECT_TO, LO, SERVE_ON, web
from tests.hostile.test_judging_route_localnet import _in, _stop
from tests.hostile.test_netns12_forwarded_localnet import _namespace
from tests.hostile.test_netns13_veth_peer_netnsid import _judged_all
from tests.netns_env import ip, require_namespaces, unique_name

HOST, INNER, GATEWAY = 4026531840, 4026532300, 4026532302


def _topology(gateway_links: list[NetInterface] | None) -> list[NetNamespace]:
    """The host's bridge br0 with veth ends into INNER (a listener on 0.0.0.0) and GATEWAY."""
    host = NetNamespace(inode=HOST, device=4, current=True, pids=[1], local_routes=[], interfaces=[
        LO, NetInterface(name="br0", index=4, kind="bridge", up=True, forwarding=False, forwarding_ipv6=False, ingress_hooks=[]),
        NetInterface(name="vc", index=5, kind="veth", up=True, master="br0", peer_index=2, peer_in_other_netns=True,
                     peer_netns=INNER, forwarding=False, forwarding_ipv6=False, ingress_hooks=[]),
        NetInterface(name="vg", index=6, kind="veth", up=True, master="br0", peer_index=2, peer_in_other_netns=True,
                     peer_netns=GATEWAY, forwarding=False, forwarding_ipv6=False, ingress_hooks=[])])
    inner = NetNamespace(inode=INNER, device=4, entered=True, sysctl={}, local_routes=[], listeners=[web("0.0.0.0")],
                         interfaces=[LO, NetInterface(name="eth0", index=2, kind="veth", up=True,
                                                      addresses=["172.18.0.2/16"], peer_index=5,
                                                      peer_in_other_netns=True, peer_netns=HOST)])
    gateway = NetNamespace(inode=GATEWAY, device=4, entered=True, sysctl={}, local_routes=[], listeners=[],
                           interfaces=None if gateway_links is None else [
                               LO, NetInterface(name="eth0", index=2, kind="veth", up=True, addresses=["172.18.0.3/16"],
                                                peer_index=6, peer_in_other_netns=True, peer_netns=HOST),
                               *gateway_links])
    return [host, inner, gateway]


WG0 = NetInterface(name="wg0", index=3, kind="other", link_kind="wireguard", up=True, addresses=["10.8.0.1/24"],
                   forwarding=True, forwarding_ipv6=False, ingress_hooks=[])


def test_a_gateway_namespace_that_forwards_on_the_bridge_makes_the_container_reached_from_beyond():
    [outcome] = _judged_all(_topology([WG0]), INNER, allow=["loopback"])
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"]["addresses"] == ["172.18.0.2"]  # type: ignore[index]
    assert ("bridge br0 with vg (veth into netns net:[4026532302], which forwards what arrives on wg0, or whose "
            "forwarding could not be read)") in outcome.message
    # its forwarding not read: the same
    unread = WG0.model_copy(update={"forwarding": None, "forwarding_ipv6": None})
    assert _judged_all(_topology([unread]), INNER, allow=["loopback"])[0].status == Status.FAIL
    # its interfaces not read: the same
    [unknown] = _judged_all(_topology(None), INNER, allow=["loopback"])
    assert unknown.status == Status.FAIL
    assert "vg (veth into netns net:[4026532302], whose interfaces could not be read)" in unknown.message
    # bridging its link with its end, without forwarding: the same
    bridge = NetInterface(name="gbr", index=7, kind="bridge", up=True, forwarding=False, forwarding_ipv6=False, ingress_hooks=[])
    nic = NetInterface(name="lan0", index=8, kind="physical", up=True, master="gbr", forwarding=False,
                       forwarding_ipv6=False, ingress_hooks=[])
    topology = _topology([bridge, nic])
    gateway = topology[2]
    gateway = gateway.model_copy(update={"interfaces": [
        i.model_copy(update={"master": "gbr"}) if i.name == "eth0" else i for i in gateway.interfaces or []]})
    [bridged] = _judged_all([*topology[:2], gateway], INNER, allow=["loopback"])
    assert bridged.status == Status.FAIL
    assert "vg (veth into netns net:[4026532302], whose bridge gbr holds lan0)" in bridged.message


def test_control_a_neighbour_namespace_that_does_not_forward_keeps_the_container_inside():
    still = WG0.model_copy(update={"forwarding": False})
    [outcome] = _judged_all(_topology([still]), INNER, allow=["loopback"])
    assert outcome.status == Status.PASS
    [plain] = _judged_all(_topology([]), INNER, allow=["loopback"])
    assert plain.status == Status.PASS


@pytest.mark.live
@pytest.mark.slow  # four namespaces and several child interpreters
def test_a_neighbour_routed_through_a_gateway_namespace_on_the_bridge_connects_and_lbaudit_fails_it():
    require_namespaces()
    host, inner, gateway, outside = (unique_name(p) for p in ("lbt13e", "lbt13f", "lbt13g", "lbt13i"))
    serving = None
    try:
        for name in (host, inner, gateway, outside):
            ip("netns", "add", name)
            ip("-n", name, "link", "set", "lo", "up")
        ip("-n", host, "link", "add", "lbt13br", "type", "bridge", "forward_delay", "0")
        for end, peer, name, address in (("lbt13hf", "lbt13f0", inner, "10.216.0.2/24"),
                                         ("lbt13hg", "lbt13g0", gateway, "10.216.0.3/24")):
            ip("link", "add", end, "netns", host, "type", "veth", "peer", "name", peer, "netns", name)
            ip("-n", host, "link", "set", end, "master", "lbt13br")
            ip("-n", host, "link", "set", end, "up")
            ip("-n", name, "addr", "add", address, "dev", peer)
            ip("-n", name, "link", "set", peer, "up")
        ip("-n", host, "link", "set", "lbt13br", "up")
        # the gateway's own link out, to a neighbour that routes the containers' network through it
        # (indexes of their own: none repeats a pair of the bridge's, which pairing by index took for the peer)
        ip("link", "add", "lbt13g1", "index", "20", "netns", gateway, "type", "veth",
           "peer", "name", "lbt13i0", "index", "21", "netns", outside)
        ip("-n", gateway, "addr", "add", "10.217.0.1/24", "dev", "lbt13g1")
        ip("-n", gateway, "link", "set", "lbt13g1", "up")
        ip("-n", outside, "addr", "add", "10.217.0.2/24", "dev", "lbt13i0")
        ip("-n", outside, "link", "set", "lbt13i0", "up")
        ip("-n", outside, "route", "add", "10.216.0.0/24", "via", "10.217.0.1")
        ip("-n", inner, "route", "add", "default", "via", "10.216.0.3")
        subprocess.run(["ip", "netns", "exec", gateway, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True,
                       timeout=10)
        serving = subprocess.Popen(["ip", "netns", "exec", inner, sys.executable, "-c", SERVE_ON, "0.0.0.0"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        connected = None
        for _ in range(20):  # the bridge forwards once its ports are up
            connected = _in(outside, CONNECT_TO, port, "10.216.0.2")
            if connected == "connected":
                break
        assert connected == "connected"  # the kernel's answer: the host does not forward (it has no address)
        names = (host, inner, gateway, outside)
        read = {name: _namespace(name, *(n for n in names if n != name), current=name == host,
                                 entered=name != host, sysctl={}) for name in names}
        mine = [Listener.model_validate(item) for item in read[inner][1]["listeners"]
                if item["address"] == "0.0.0.0" and str(item["port"]) == port]
        namespaces = [read[name][0] for name in names]
        namespaces[1] = namespaces[1].model_copy(update={"listeners": mine})
        namespaces = _match_veth_peers(namespaces)
        [outcome] = _judged_all(namespaces, namespaces[1].inode, allow=["loopback"])
        assert outcome.status == Status.FAIL
        assert outcome.observed["exposure"]["addresses"] == ["10.216.0.2"]  # type: ignore[index]
        assert f"lbt13hg (veth into netns {gateway}, which forwards what arrives on lbt13g1" in outcome.message
    finally:
        _stop(serving, *(n for n in (host, inner, gateway, outside)))
    assert not os.path.exists(f"/run/netns/{inner}")
