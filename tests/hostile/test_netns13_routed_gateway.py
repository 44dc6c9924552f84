"""Hostile corpus, false passes: a gateway namespace routed by the host, beside a container.

A container behind a veth the host routes is reached from beyond when the host forwards what
arrives on a link beyond it; lbaudit counted as such links the host's physical, macvlan and other
interfaces and veths into namespaces it did not find, but took every veth into a namespace it found
for one that brings nothing from beyond.  A gateway namespace (a VPN or macvlan container) that
forwards what arrives on a link of its own, and whose default route is the host, hands the host
what a neighbour on that link routes through it; a host that forwards (Docker sets ip_forward=1)
takes it on to the container, which passed as "reachable only inside".  Such a veth now counts as
a link beyond: the container is not_reviewed unless allowed at its addresses (the FORWARD rules are
not read), as behind an uplink.

``test_a_neighbour_routed_through_a_gateway_and_the_host_connects_and_lbaudit_does_not_pass_it``
proves it on the running kernel.
"""

from __future__ import annotations

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
WG0 = NetInterface(ingress_hooks=[], name="wg0", index=3, kind="other", link_kind="wireguard", up=True, addresses=["10.8.0.1/24"],
                   forwarding=True, forwarding_ipv6=False)


def _topology(gateway_links: list[NetInterface], host_forwards: bool = True) -> list[NetNamespace]:
    """The host routes a veth into INNER (a listener on 0.0.0.0) and one into GATEWAY, and forwards."""
    def end(name: str, index: int, peer: int) -> NetInterface:
        return NetInterface(ingress_hooks=[], name=name, index=index, kind="veth", up=True, addresses=[f"10.21{index}.0.1/24"],
                            peer_index=2, peer_in_other_netns=True, peer_netns=peer, forwarding=host_forwards,
                            forwarding_ipv6=False)

    def inside(inode: int, index: int, *more: NetInterface, **fields) -> NetNamespace:
        return NetNamespace(inode=inode, device=4, entered=True, sysctl={}, local_routes=[], interfaces=[
            LO, NetInterface(ingress_hooks=[], name="eth0", index=2, kind="veth", up=True, addresses=[f"10.21{index}.0.2/24"],
                             peer_index=index, peer_in_other_netns=True, peer_netns=HOST), *more], **fields)

    host = NetNamespace(inode=HOST, device=4, current=True, pids=[1], local_routes=[],
                        interfaces=[LO, end("vc", 5, INNER), end("vg", 6, GATEWAY)])
    return [host, inside(INNER, 5, listeners=[web("0.0.0.0")]), inside(GATEWAY, 6, *gateway_links, listeners=[])]


def test_a_forwarding_host_takes_on_what_a_gateway_namespace_forwards_to_it():
    [outcome] = _judged_all(_topology([WG0]), INNER, allow=["loopback"])
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.observed["exposure"]["if_forwarded"] == ["10.215.0.2"]  # type: ignore[index]
    assert outcome.reason is not None and outcome.reason.startswith(
        "the host forwards IPv4 arriving on vg (net.ipv4.conf.vg.forwarding=1): a neighbour that routes 10.215.0.2 "
        "through the host reaches it over eth0 (veth into the host)")
    [allowed] = _judged_all(_topology([WG0]), INNER, allow=["loopback", "10.215.0.0/24"])
    assert allowed.status == Status.PASS


def test_control_cases_pass():
    # the gateway does not forward, or has no link of its own, or the host does not forward
    for links, forwards in (([WG0.model_copy(update={"forwarding": False})], True), ([], True), ([WG0], False)):
        [outcome] = _judged_all(_topology(links, forwards), INNER, allow=["loopback"])
        assert outcome.status == Status.PASS, (links, forwards)


@pytest.mark.live
@pytest.mark.slow  # four namespaces and several child interpreters
def test_a_neighbour_routed_through_a_gateway_and_the_host_connects_and_lbaudit_does_not_pass_it():
    require_namespaces()
    host, inner, gateway, outside = (unique_name(p) for p in ("lbt13m", "lbt13q", "lbt13u", "lbt13v"))
    names = (host, inner, gateway, outside)
    serving = None
    try:
        for name in names:
            ip("netns", "add", name)
            ip("-n", name, "link", "set", "lo", "up")
        # indexes of their own, so that no pairing by index could be taken for another
        for end, index, peer, name, subnet in (("lbt13mq", "30", "lbt13q0", inner, "10.218.0"),
                                                ("lbt13mu", "31", "lbt13u0", gateway, "10.219.0")):
            ip("link", "add", end, "index", index, "netns", host, "type", "veth",
               "peer", "name", peer, "index", str(int(index) + 10), "netns", name)
            ip("-n", host, "addr", "add", f"{subnet}.1/24", "dev", end)
            ip("-n", host, "link", "set", end, "up")
            ip("-n", name, "addr", "add", f"{subnet}.2/24", "dev", peer)
            ip("-n", name, "link", "set", peer, "up")
            ip("-n", name, "route", "add", "default", "via", f"{subnet}.1")
        ip("link", "add", "lbt13u1", "index", "50", "netns", gateway, "type", "veth",
           "peer", "name", "lbt13v0", "index", "51", "netns", outside)
        ip("-n", gateway, "addr", "add", "10.220.0.1/24", "dev", "lbt13u1")
        ip("-n", gateway, "link", "set", "lbt13u1", "up")
        ip("-n", outside, "addr", "add", "10.220.0.2/24", "dev", "lbt13v0")
        ip("-n", outside, "link", "set", "lbt13v0", "up")
        ip("-n", outside, "route", "add", "10.218.0.0/24", "via", "10.220.0.1")
        ip("-n", host, "route", "add", "10.220.0.0/24", "via", "10.219.0.2")
        for name in (host, gateway):
            subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True,
                           timeout=10)
        serving = subprocess.Popen(["ip", "netns", "exec", inner, sys.executable, "-c", SERVE_ON, "0.0.0.0"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        assert _in(outside, CONNECT_TO, port, "10.218.0.2") == "connected"  # the kernel's answer
        read = {name: _namespace(name, *(n for n in names if n != name), current=name == host,
                                 entered=name != host, sysctl={}) for name in names}
        mine = [Listener.model_validate(item) for item in read[inner][1]["listeners"]
                if item["address"] == "0.0.0.0" and str(item["port"]) == port]
        namespaces = [read[name][0] for name in names]
        namespaces[1] = namespaces[1].model_copy(update={"listeners": mine})
        namespaces = _match_veth_peers(namespaces)
        [outcome] = _judged_all(namespaces, namespaces[1].inode, allow=["loopback"])
        assert outcome.status == Status.NOT_REVIEWED
        assert outcome.observed["exposure"]["if_forwarded"] == ["10.218.0.2"]  # type: ignore[index]
        assert "the host forwards IPv4 arriving on lbt13mu (net.ipv4.conf.lbt13mu.forwarding=1)" in (outcome.reason or "")
    finally:
        _stop(serving, *names)
