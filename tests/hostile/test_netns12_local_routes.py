"""Hostile corpus, false passes: an address a local route makes the namespace's own.

``ip route add local 10.192.0.0/24 dev lo`` (AnyIP) makes every address of the prefix local to the
namespace without any interface having it: a socket binds to 10.192.0.5, and ip_route_input
delivers a packet for it whichever interface it arrives on, as for an address of lo.  lbaudit
judged a namespace listener only at its interfaces' addresses, so a listener on 10.192.0.5 in a
namespace with a link beyond it was "reachable only inside": a pass, while a neighbour on that link
that routes the prefix through the namespace connects.  The local routing table is not read, so a
listener bound to an address no interface has (a local route, or IP_FREEBIND ahead of an address)
is judged at that address once the namespace has an outward link.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect.netns import _interfaces
from auditor.model.facts import Listener, NamespaceFacts, NetInterface, NetNamespace
from auditor.model.result import Status
from tests.factories import snapshot
from tests.hostile.test_falsepass_netns_weak_host import (
    CONNECT_TO,
    HOST_INODE,
    INNER,
    INTO_HOST,
    LO,
    MACVLAN,
    SERVE_ON,
    container,
    judged,
    web,
)
from tests.hostile.test_judging_route_localnet import COLLECT, _in, _stop
from tests.netns_env import ip, require_namespaces, unique_name


def test_a_listener_on_an_address_no_interface_has_is_judged_at_it_behind_an_outward_link():
    [outcome] = judged(container(web("10.192.0.5"), interfaces=[LO, INTO_HOST, MACVLAN]),
                       allow=["loopback", "10.201.0.0/24"])
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"]["addresses"] == ["10.192.0.5"]  # type: ignore[index]
    assert "10.192.0.5 is no interface's address: a local route (AnyIP" in outcome.message
    [v6] = judged(container(web("2001:db8:12::5"), interfaces=[LO, INTO_HOST, MACVLAN]),
                  allow=["loopback", "10.201.0.0/24"])
    assert v6.status == Status.FAIL
    assert v6.observed["exposure"]["addresses"] == ["2001:db8:12::5"]  # type: ignore[index]
    # allowed there: a pass
    [allowed] = judged(container(web("10.192.0.5"), interfaces=[LO, INTO_HOST, MACVLAN]),
                       allow=["loopback", "10.201.0.0/24", "10.192.0.0/24"])
    assert allowed.status == Status.PASS


def test_behind_a_veth_the_host_forwards_to_it_is_not_reviewed_unless_allowed_there():
    # the host forwards what arrives on its uplink: a route of the host to the prefix (not read)
    # takes a neighbour's packets for 10.192.0.5 to the namespace as it does for 172.17.0.2
    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=[LO, NetInterface(
        name="eth0", index=2, kind="physical", up=True, addresses=["192.0.2.2/24"], route_localnet=False,
        forwarding=True, forwarding_ipv6=False)])
    inner = container(web("10.192.0.5"), interfaces=[LO, INTO_HOST])
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[current, inner], published=[],
                                                       published_sources=["nat"]))
    [outcome] = [o for o in net_bind_addresses.run(snap, BindAddressParams.model_validate({"allow": ["loopback"]}))
                 if o.subject.endswith(f"in netns net:[{INNER}]")]
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.observed["exposure"]["if_forwarded"] == ["10.192.0.5"]  # type: ignore[index]


def test_control_cases_without_an_outward_link_or_on_an_own_address_pass():
    # loopback and a veth the host routes, and the host does not forward: nothing beyond reaches it
    [inside] = judged(container(web("10.192.0.5"), interfaces=[LO, INTO_HOST]), allow=["loopback"])
    assert inside.status == Status.PASS
    assert inside.observed["exposure"]["addresses"] == []  # type: ignore[index]
    # an address an interface has is judged as before, with no local-route note
    [own] = judged(container(web("10.201.0.2"), interfaces=[LO, INTO_HOST, MACVLAN]),
                   allow=["loopback", "10.201.0.0/24"])
    assert own.status == Status.PASS
    # loopback and link-local addresses are not delivered from another link
    for address in ("127.0.0.5", "fe80::99"):
        [outcome] = judged(container(web(address), interfaces=[LO, INTO_HOST, MACVLAN]), allow=["loopback"])
        assert outcome.status == Status.PASS, address


@pytest.mark.live
@pytest.mark.slow  # two namespaces and four child interpreters
def test_the_kernel_delivers_a_local_route_from_the_link_and_lbaudit_fails_the_listener():
    require_namespaces()
    server_ns, peer_ns = unique_name("lbt12s"), unique_name("lbt12p")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    serving = None
    try:
        ip("link", "add", "lbt12a", "netns", server_ns, "type", "veth", "peer", "name", "lbt12b", "netns", peer_ns)
        ip("-n", server_ns, "addr", "add", "10.193.0.1/24", "dev", "lbt12a")
        ip("-n", server_ns, "link", "set", "lbt12a", "up")
        ip("-n", server_ns, "link", "set", "lo", "up")
        ip("-n", server_ns, "route", "add", "local", "10.192.0.0/24", "dev", "lo")  # no interface has it
        ip("-n", peer_ns, "addr", "add", "10.193.0.2/24", "dev", "lbt12b")
        ip("-n", peer_ns, "link", "set", "lbt12b", "up")
        ip("-n", peer_ns, "route", "add", "10.192.0.0/24", "via", "10.193.0.1", "dev", "lbt12b")
        serving = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVE_ON, "10.192.0.5"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        assert _in(peer_ns, CONNECT_TO, port, "10.192.0.5") == "connected"
        collected = json.loads(_in(server_ns, COLLECT))
        interfaces = _interfaces(collected["interfaces"])
        assert not any(a.startswith("10.192.") for i in interfaces for a in i.addresses)
        mine = [Listener.model_validate(item) for item in collected["listeners"]
                if item["address"] == "10.192.0.5" and str(item["port"]) == port]
        inner = NetNamespace(inode=INNER, device=4, pids=[serving.pid], entered=True,
                             interfaces=interfaces, listeners=mine, sysctl={})
        [outcome] = judged(inner, allow=["loopback", "10.193.0.0/24"])
        assert outcome.status == Status.FAIL
        assert outcome.observed["exposure"]["addresses"] == ["10.192.0.5"]  # type: ignore[index]
    finally:
        _stop(serving, server_ns, peer_ns)
