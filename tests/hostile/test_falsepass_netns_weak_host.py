"""Hostile corpus, false passes: a namespace with an outward link exposes every address it has.

Linux is a weak host: ip_route_input finds an address of *any* interface of the namespace in its
local table, whichever interface the packet arrived on.  A container with a macvlan on the LAN and
a veth into the host (docker0, 172.17.0.2) therefore takes a connection to 172.17.0.2 that a
neighbour on the macvlan's link routes through the macvlan address; so does a service bound to an
address added to lo.  lbaudit judged a namespace listener only at the outward interfaces' own
addresses, so a listener on 172.17.0.2 or on 10.197.0.1 (lo) was "reachable only inside": a pass.

``test_the_kernel_delivers_an_address_of_lo_from_the_link_and_lbaudit_fails_the_listener``
proves it on the running kernel: two namespaces joined by a veth, a listener on an address of the
server namespace's lo, a neighbour that routes that address through the veth, and lbaudit's own
collector in the server namespace.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect.netns import _interfaces
from auditor.model.facts import Listener, NamespaceFacts, NetInterface, NetNamespace, ProcessInfo
from auditor.model.result import Status
from tests.factories import listener, snapshot
from tests.hostile.test_judging_route_localnet import COLLECT, CONNECT, _in, _stop
from tests.netns_env import ip, require_namespaces, unique_name

HOST_INODE = 4026531840
INNER = 4026532300
LO = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8", "::1/128"],
                  route_localnet=False)
INTO_HOST = NetInterface(name="eth0", index=3, kind="veth", up=True, addresses=["172.17.0.2/16", "fe80::2/64"],
                         peer_index=9, peer_in_other_netns=True, peer_netns=HOST_INODE, route_localnet=False)
MACVLAN = NetInterface(name="out0", index=5, kind="macvlan", link_kind="macvlan", up=True,
                       addresses=["10.201.0.2/24"], route_localnet=False)


def web(address: str, port: int = 8080) -> Listener:
    return listener(address, port, processes=[ProcessInfo(pid=4242, name="httpd")], uid=0, user="root", inode=77)


def judged(inner: NetNamespace, **params):
    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1],
                           interfaces=[LO, NetInterface(name="eth0", index=2, kind="physical", up=True,
                                                        addresses=["192.0.2.2/24"], route_localnet=False,
                                                        forwarding=False, forwarding_ipv6=False, ingress_hooks=[])])
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[current, inner], published=[],
                                                       published_sources=["nat"]))
    return [o for o in net_bind_addresses.run(snap, BindAddressParams.model_validate(params))
            if o.subject.endswith(f"in netns net:[{INNER}]")]


def container(*listeners: Listener, interfaces: list[NetInterface]) -> NetNamespace:
    return NetNamespace(inode=INNER, device=4, pids=[4242], entered=True, interfaces=interfaces,
                        listeners=list(listeners), sysctl={}, local_routes=[])


def test_a_listener_on_the_veth_into_the_host_is_reached_through_the_macvlan():
    [outcome] = judged(container(web("172.17.0.2"), interfaces=[LO, INTO_HOST, MACVLAN]))
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"]["addresses"] == ["172.17.0.2"]  # type: ignore[index]
    # the macvlan's own network allowed: 172.17.0.2 is still reached, and is not in it
    [narrow] = judged(container(web("172.17.0.2"), interfaces=[LO, INTO_HOST, MACVLAN]),
                      allow=["loopback", "10.201.0.0/24"])
    assert narrow.status == Status.FAIL
    [private] = judged(container(web("172.17.0.2"), interfaces=[LO, INTO_HOST, MACVLAN]), allow=["private"])
    assert private.status == Status.PASS


def test_a_wildcard_listener_is_judged_at_every_address_of_the_namespace():
    [outcome] = judged(container(web("0.0.0.0"), interfaces=[LO, INTO_HOST, MACVLAN]),
                       allow=["loopback", "10.201.0.0/24"])
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"]["addresses"] == ["10.201.0.2", "172.17.0.2"]  # type: ignore[index]


def test_an_address_added_to_lo_is_reached_through_the_outward_link():
    lo = LO.model_copy(update={"addresses": [*LO.addresses, "203.0.113.7/32"]})
    [outcome] = judged(container(web("203.0.113.7"), interfaces=[lo, MACVLAN]), allow=["loopback", "private"])
    assert outcome.status == Status.FAIL


def test_control_cases_pass_on_both():
    # no outward interface: only the host reaches the veth's address
    [inside] = judged(container(web("172.17.0.2"), interfaces=[LO, INTO_HOST]))
    assert inside.status == Status.PASS
    # loopback and another interface's IPv6 link-local address are not delivered from the macvlan
    for address in ("127.0.0.1", "::1", "fe80::2"):
        [outcome] = judged(container(web(address), interfaces=[LO, INTO_HOST, MACVLAN]))
        assert outcome.status == Status.PASS, address
    # SO_BINDTODEVICE to the veth into the host: a packet from the macvlan is not delivered to it
    bound = web("0.0.0.0").model_copy(update={"interface": "eth0"})
    [outcome] = judged(container(bound, interfaces=[LO, INTO_HOST, MACVLAN]))
    assert outcome.status == Status.PASS


SERVE_ON = """
import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(8); print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""
CONNECT_TO = CONNECT.replace('("127.0.0.1", int(sys.argv[1]))', '(sys.argv[2], int(sys.argv[1]))')


@pytest.mark.live
@pytest.mark.slow  # two namespaces and four child interpreters
def test_the_kernel_delivers_an_address_of_lo_from_the_link_and_lbaudit_fails_the_listener():
    require_namespaces()
    assert CONNECT_TO != CONNECT
    server_ns, peer_ns = unique_name("lbws"), unique_name("lbwp")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    serving = None
    try:
        ip("link", "add", "lbw0", "netns", server_ns, "type", "veth", "peer", "name", "lbw1", "netns", peer_ns)
        ip("-n", server_ns, "addr", "add", "10.198.0.1/24", "dev", "lbw0")
        ip("-n", server_ns, "link", "set", "lbw0", "up")
        ip("-n", server_ns, "link", "set", "lo", "up")
        ip("-n", server_ns, "addr", "add", "10.197.0.1/32", "dev", "lo")  # not the link's address
        ip("-n", peer_ns, "addr", "add", "10.198.0.2/24", "dev", "lbw1")
        ip("-n", peer_ns, "link", "set", "lbw1", "up")
        serving = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVE_ON, "10.197.0.1"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        seen = []
        for routed in (False, True):
            if routed:  # the neighbour routes the address through the server's link address
                ip("-n", peer_ns, "route", "add", "10.197.0.1/32", "via", "10.198.0.1", "dev", "lbw1")
            reached = _in(peer_ns, CONNECT_TO, port, "10.197.0.1") == "connected"
            collected = json.loads(_in(server_ns, COLLECT))
            mine = [Listener.model_validate(item) for item in collected["listeners"]
                    if item["address"] == "10.197.0.1" and str(item["port"]) == port]
            inner = NetNamespace(inode=INNER, device=4, pids=[serving.pid], entered=True,
                                 interfaces=_interfaces(collected["interfaces"]), listeners=mine, sysctl={})
            [outcome] = judged(inner, allow=["loopback", "10.198.0.0/24"])
            seen.append((reached, outcome.status))
        # lbaudit judges what a neighbour can do, routed or not: the route is the neighbour's choice
        assert seen == [(False, Status.FAIL), (True, Status.FAIL)]
    finally:
        _stop(serving, server_ns, peer_ns)
