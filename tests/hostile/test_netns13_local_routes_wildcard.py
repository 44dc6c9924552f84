"""Hostile corpus, false passes: a wildcard listener in a namespace with a local route of a prefix.

``ip route add local 10.99.0.0/24 dev lo`` (AnyIP) makes every address of the prefix the
namespace's own: ip_route_input delivers a packet for 10.99.0.5 whichever interface it arrives on,
and the socket lookup hands it to a listener on 0.0.0.0.  So does an address with a prefix on lo
(``10.5.0.1/24 dev lo`` adds ``local 10.5.0.0/24``) and TPROXY's ``local 0.0.0.0/0 ... table 100``.
lbaudit judged a wildcard listener in a namespace only at its interfaces' addresses: allowed at the
link's own network, it passed, while a neighbour that routes the prefix through the namespace
connects at an address outside it.  The collector now reads each namespace's local routes
(RTM_GETROUTE, RTN_LOCAL of any table: a policy rule may send any packet to any table; snapshot
format 1.8) and a wildcard listener is judged at their prefixes too: reached from an outward link,
not_reviewed unless allowed behind a veth the host forwards to, not_reviewed unless allowed
everywhere when the routes were not read.

``test_the_kernel_delivers_a_local_prefix_to_a_wildcard_listener_and_lbaudit_fails_it`` proves it
on the running kernel: two namespaces joined by a veth, an AnyIP route in one, a listener on
0.0.0.0 there, a connection from the other to an address of the prefix, and lbaudit's collector.
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
    judged,
    web,
)
from tests.hostile.test_judging_route_localnet import COLLECT, _in, _stop
from tests.netns_env import ip, require_namespaces, unique_name


def routed(*listeners: Listener, interfaces: list[NetInterface], local_routes: list[str] | None) -> NetNamespace:
    return NetNamespace(inode=INNER, device=4, pids=[4242], entered=True, interfaces=interfaces,
                        listeners=list(listeners), sysctl={}, local_routes=local_routes)


def test_a_wildcard_listener_is_judged_at_a_local_prefix_behind_an_outward_link():
    [outcome] = judged(routed(web("0.0.0.0"), interfaces=[LO, MACVLAN], local_routes=["10.99.0.0/24", "127.0.0.0/8"]),
                       allow=["loopback", "10.201.0.0/24"])
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"]["addresses"] == ["10.201.0.2", "10.99.0.0/24"]  # type: ignore[index]
    assert ("10.99.0.0/24: local route of the namespace (AnyIP), whose every address is delivered from every link "
            "to a listener on the wildcard") in outcome.message
    # IPv6 alike, for a dual-stack listener; loopback and link-local routes add nothing
    [six] = judged(routed(web("::"), interfaces=[LO, MACVLAN], local_routes=["2001:db8:99::/64", "::1/128", "fe80::/64"]),
                   allow=["loopback", "10.201.0.0/24"])
    assert six.status == Status.FAIL
    assert six.observed["exposure"]["addresses"] == ["10.201.0.2", "2001:db8:99::/64"]  # type: ignore[index]
    # a single address a local route holds that no interface has: reached at it
    [single] = judged(routed(web("0.0.0.0"), interfaces=[LO, MACVLAN], local_routes=["198.51.100.9/32"]),
                      allow=["loopback", "10.201.0.0/24"])
    assert single.observed["exposure"]["addresses"] == ["10.201.0.2", "198.51.100.9"]  # type: ignore[index]
    # the prefix allowed too: a pass
    [allowed] = judged(routed(web("0.0.0.0"), interfaces=[LO, MACVLAN], local_routes=["10.99.0.0/24"]),
                       allow=["loopback", "10.201.0.0/24", "10.99.0.0/16"])
    assert allowed.status == Status.PASS


def _forwarding_host() -> NetNamespace:
    return NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], local_routes=[], interfaces=[LO, NetInterface(
        name="eth0", index=2, kind="physical", up=True, addresses=["192.0.2.2/24"], route_localnet=False,
        forwarding=True, forwarding_ipv6=False)])


def _judged_behind(host: NetNamespace, inner: NetNamespace, **params):
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[host, inner], published=[],
                                                       published_sources=["nat"]))
    return [o for o in net_bind_addresses.run(snap, BindAddressParams.model_validate(params))
            if o.subject.endswith(f"in netns net:[{INNER}]")]


def test_behind_a_veth_the_host_forwards_to_a_local_prefix_is_not_reviewed_unless_allowed():
    inner = routed(web("0.0.0.0"), interfaces=[LO, INTO_HOST], local_routes=["10.99.0.0/24"])
    [outcome] = _judged_behind(_forwarding_host(), inner, allow=["loopback", "172.16.0.0/12"])
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.observed["exposure"]["if_forwarded"] == ["172.17.0.2", "10.99.0.0/24"]  # type: ignore[index]
    [allowed] = _judged_behind(_forwarding_host(), inner, allow=["loopback", "172.16.0.0/12", "10.99.0.0/24"])
    assert allowed.status == Status.PASS


def test_local_routes_not_read_leave_a_wildcard_listener_behind_an_outward_link_not_reviewed():
    [outcome] = judged(routed(web("0.0.0.0"), interfaces=[LO, MACVLAN], local_routes=None),
                       allow=["loopback", "10.201.0.0/24"])
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.observed["exposure"]["if_forwarded"] == ["0.0.0.0"]  # type: ignore[index]
    assert outcome.reason == (
        f"the local routes of netns net:[{INNER}] were not read (a snapshot before format 1.8, or their dump failed): "
        "a local route (AnyIP, ip route add local ... dev lo) would make any address of 0.0.0.0 its own, delivered "
        "to it from out0")
    # allowed everywhere: nothing left to doubt
    [everywhere] = judged(routed(web("0.0.0.0"), interfaces=[LO, MACVLAN], local_routes=None), allow=["0.0.0.0/0"])
    assert everywhere.status == Status.PASS


def test_control_cases_pass():
    # no outward link and a host that does not forward: the prefix is reached from inside only
    [inside] = judged(routed(web("0.0.0.0"), interfaces=[LO, INTO_HOST], local_routes=["10.99.0.0/24"]),
                      allow=["loopback"])
    assert inside.status == Status.PASS
    # routes read, none but loopback's: judged at the interfaces' addresses as before
    [plain] = judged(routed(web("0.0.0.0"), interfaces=[LO, MACVLAN], local_routes=["127.0.0.0/8"]),
                     allow=["loopback", "10.201.0.0/24"])
    assert plain.status == Status.PASS
    # a listener bound to an interface address does not take the prefix
    [own] = judged(routed(web("10.201.0.2"), interfaces=[LO, MACVLAN], local_routes=["10.99.0.0/24"]),
                   allow=["loopback", "10.201.0.0/24"])
    assert own.status == Status.PASS


def test_a_malformed_local_route_in_a_snapshot_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"local route '10\.99\.0\.0' has no prefix length"):
        routed(interfaces=[LO], local_routes=["10.99.0.0"])
    with pytest.raises(ValueError, match=r"local route 'lo' is not an IPv4 or IPv6 prefix"):
        routed(interfaces=[LO], local_routes=["lo"])


@pytest.mark.live
@pytest.mark.slow  # two namespaces and child interpreters
def test_the_kernel_delivers_a_local_prefix_to_a_wildcard_listener_and_lbaudit_fails_it():
    require_namespaces()
    server_ns, peer_ns = unique_name("lbt13s"), unique_name("lbt13p")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    serving = None
    try:
        ip("link", "add", "lbt13a", "netns", server_ns, "type", "veth", "peer", "name", "lbt13b", "netns", peer_ns)
        ip("-n", server_ns, "addr", "add", "10.193.13.1/24", "dev", "lbt13a")
        ip("-n", server_ns, "link", "set", "lbt13a", "up")
        ip("-n", server_ns, "link", "set", "lo", "up")
        ip("-n", server_ns, "route", "add", "local", "10.99.13.0/24", "dev", "lo")  # no interface has it
        ip("-n", peer_ns, "addr", "add", "10.193.13.2/24", "dev", "lbt13b")
        ip("-n", peer_ns, "link", "set", "lbt13b", "up")
        ip("-n", peer_ns, "route", "add", "10.99.13.0/24", "via", "10.193.13.1", "dev", "lbt13b")
        serving = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVE_ON, "0.0.0.0"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        assert _in(peer_ns, CONNECT_TO, port, "10.99.13.5") == "connected"  # the kernel's answer
        collected = json.loads(_in(server_ns, COLLECT))
        assert collected["local_route_error"] is None
        assert "10.99.13.0/24" in collected["local_routes"]
        interfaces = _interfaces(collected["interfaces"])
        assert not any(a.startswith("10.99.") for i in interfaces for a in i.addresses)
        mine = [Listener.model_validate(item) for item in collected["listeners"]
                if item["address"] == "0.0.0.0" and str(item["port"]) == port]
        inner = NetNamespace(inode=INNER, device=4, pids=[serving.pid], entered=True, interfaces=interfaces,
                             listeners=mine, sysctl={}, local_routes=collected["local_routes"])
        # the veth's network is allowed: only the local prefix is not
        [outcome] = judged(inner, allow=["loopback", "10.193.13.0/24"])
        assert outcome.status == Status.FAIL
        assert outcome.observed["exposure"]["addresses"] == ["10.193.13.1", "10.99.13.0/24"]  # type: ignore[index]
    finally:
        _stop(serving, server_ns, peer_ns)
