"""Hostile corpus, false passes: 127.0.0.1 in a namespace the host forwards to, route_localnet on.

A container behind a veth the host routes (docker0 style) is reached from beyond only when the host
forwards, and lbaudit then judges its listeners at the container's addresses (not_reviewed unless
allowed there: the FORWARD rules are not read).  A listener on 127.0.0.1 was left out of that: with
route_localnet=1 on the container's veth the container delivers 127.0.0.0/8 that arrives on it, so
a DNAT rule of the container (kube-proxy's localhost NodePorts, a hand-written one: its NAT rules
are not read) from its veth address to 127.0.0.1 hands the listener what a neighbour routes through
the host.  lbaudit said "reachable only inside" and passed; route_localnet was weighed only on
interfaces that reach beyond the host themselves.  Now such a listener is judged at the veth's
addresses as the others are: not_reviewed unless allowed there, naming route_localnet.

``test_a_neighbour_reaches_127_through_the_forwarding_host_and_lbaudit_does_not_pass_it`` proves
it on the running kernel: a namespace plays the host (a macvlan out, ip_forward=1), another the
container (route_localnet=1 on its veth, an nft DNAT to 127.0.0.1), a third the neighbour.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect.netns import _interfaces, _match_veth_peers
from auditor.model.facts import Listener, NamespaceFacts, NetInterface, NetNamespace
from auditor.model.result import Status
from tests.factories import snapshot
from tests.hostile.test_falsepass_netns_weak_host import CONNECT_TO, HOST_INODE, INTO_HOST, LO, container, web
from tests.hostile.test_judging_route_localnet import COLLECT, _in, _stop
from tests.netns_env import ip, require_namespaces, unique_name

UPLINK = NetInterface(ingress_hooks=[], name="eth0", index=2, kind="physical", up=True, addresses=["192.0.2.2/24"],
                      route_localnet=False, forwarding=True, forwarding_ipv6=False)


def judged(host: NetNamespace, inner: NetNamespace, **params):
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[host, inner], published=[],
                                                       published_sources=["nat"]))
    return [o for o in net_bind_addresses.run(snap, BindAddressParams.model_validate(params))
            if o.subject.endswith(f"in netns {inner.label}")]


def _host(forwarding: bool) -> NetNamespace:
    uplink = UPLINK.model_copy(update={"forwarding": forwarding})
    return NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=[LO, uplink])


def test_route_localnet_on_a_forwarded_veth_leaves_127_not_reviewed():
    veth = INTO_HOST.model_copy(update={"route_localnet": True})
    [outcome] = judged(_host(True), container(web("127.0.0.1"), interfaces=[LO, veth]), allow=["loopback"])
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.observed["exposure"]["if_forwarded"] == ["172.17.0.2"]  # type: ignore[index]
    assert outcome.reason == (
        "the host forwards IPv4 arriving on eth0 (net.ipv4.conf.eth0.forwarding=1); route_localnet=1 on eth0: the "
        "namespace delivers 127.0.0.0/8 arriving over that veth into the host, so a DNAT rule of the namespace (its NAT "
        "rules are not read) hands it what a neighbour routes through the host to 172.17.0.2 unless the host's firewall "
        "drops what it forwards there, and lbaudit does not read the FORWARD rules")
    # allowed at the veth's address: a pass
    [allowed] = judged(_host(True), container(web("127.0.0.1"), interfaces=[LO, veth]), allow=["loopback", "private"])
    assert allowed.status == Status.PASS
    # the setting not read: not_reviewed too
    unread = INTO_HOST.model_copy(update={"route_localnet": None})
    [unknown] = judged(_host(True), container(web("127.0.0.1"), interfaces=[LO, unread]), allow=["loopback"])
    assert unknown.status == Status.NOT_REVIEWED
    assert "whether eth0 delivers 127.0.0.0/8 (route_localnet) could not be read" in (unknown.reason or "")


def test_control_cases_pass():
    veth = INTO_HOST.model_copy(update={"route_localnet": True})
    # the host does not forward: nothing from beyond gets to the veth
    [still] = judged(_host(False), container(web("127.0.0.1"), interfaces=[LO, veth]), allow=["loopback"])
    assert still.status == Status.PASS
    # route_localnet off on the veth: 127.0.0.0/8 arriving on it is a martian
    [off] = judged(_host(True), container(web("127.0.0.1"), interfaces=[LO, INTO_HOST]), allow=["loopback"])
    assert off.status == Status.PASS
    # ::1 has no such setting
    [six] = judged(_host(True), container(web("::1"), interfaces=[LO, veth]), allow=["loopback"])
    assert six.status == Status.PASS


SERVE_127 = """
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 8080)); s.listen(8); print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""


def _namespace(name: str, *peers: str, **fields) -> tuple[NetNamespace, dict]:
    """The namespace as the collector reads it there (its interfaces and local routes, its veths'
    peers looked for in the namespaces named ``peers``), and what was read."""
    found = os.stat(f"/run/netns/{name}")
    collected = json.loads(_in(name, COLLECT, *(f"/run/netns/{peer}" for peer in peers)))
    return NetNamespace(inode=found.st_ino, device=found.st_dev, names=[name], interfaces=_interfaces(collected["interfaces"]),
                        local_routes=collected["local_routes"], **fields), collected


def outside_through_host(host: str, outside: str, inner: str) -> None:
    """Three namespaces, made: OUTSIDE (10.161.0.2, a neighbour routing 10.162.0.0/24 through the
    host) on a macvlan of the HOST's link, and a veth from the host (10.162.0.1) into INNER, whose
    end, lbt12c0, is left for the test to configure.  The caller removes them (_stop)."""
    for name in (host, outside, inner):
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
    ip("link", "add", "lbt12o0", "netns", outside, "type", "veth", "peer", "name", "lbt12h1", "netns", host)
    ip("-n", host, "link", "add", "lbt12hm", "link", "lbt12h1", "type", "macvlan", "mode", "bridge")
    ip("-n", host, "link", "set", "lbt12h1", "up")
    ip("-n", host, "link", "set", "lbt12hm", "up")
    ip("-n", host, "addr", "add", "10.161.0.1/24", "dev", "lbt12hm")
    ip("-n", outside, "addr", "add", "10.161.0.2/24", "dev", "lbt12o0")
    ip("-n", outside, "link", "set", "lbt12o0", "up")
    ip("-n", outside, "route", "add", "10.162.0.0/24", "via", "10.161.0.1")
    ip("link", "add", "lbt12c0", "netns", inner, "type", "veth", "peer", "name", "lbt12h2", "netns", host)
    ip("-n", host, "addr", "add", "10.162.0.1/24", "dev", "lbt12h2")
    ip("-n", host, "link", "set", "lbt12h2", "up")


@pytest.mark.live
@pytest.mark.slow  # three namespaces and several child interpreters
def test_a_neighbour_reaches_127_through_the_forwarding_host_and_lbaudit_does_not_pass_it():
    require_namespaces()
    host, outside, inner = unique_name("lbt12h"), unique_name("lbt12o"), unique_name("lbt12c")
    serving = None
    try:
        outside_through_host(host, outside, inner)
        ip("-n", inner, "addr", "add", "10.162.0.2/24", "dev", "lbt12c0")
        ip("-n", inner, "link", "set", "lbt12c0", "up")
        ip("-n", inner, "route", "add", "default", "via", "10.162.0.1")
        for name, key in ((host, "net.ipv4.ip_forward=1"), (inner, "net.ipv4.conf.lbt12c0.route_localnet=1")):
            subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", key], check=True, timeout=10)
        nft = subprocess.run(["ip", "netns", "exec", inner, "nft",
                              "add table ip lbt12; add chain ip lbt12 pre { type nat hook prerouting priority dstnat ; }; "
                              "add rule ip lbt12 pre tcp dport 8080 dnat to 127.0.0.1:8080"],
                             capture_output=True, text=True, timeout=10)
        if nft.returncode != 0:
            pytest.skip(f"nft cannot write a nat rule here: {nft.stderr.strip()}")
        serving = subprocess.Popen(["ip", "netns", "exec", inner, sys.executable, "-c", SERVE_127],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        assert serving.stdout.readline().strip() == "8080"
        assert _in(outside, CONNECT_TO, "8080", "10.162.0.2") == "connected"  # the kernel's answer
        host_ns, _ = _namespace(host, inner, current=True)
        inner_ns, collected = _namespace(inner, host, entered=True, sysctl={}, pids=[serving.pid])
        mine = [Listener.model_validate(item) for item in collected["listeners"]
                if item["address"] == "127.0.0.1" and item["port"] == 8080]
        host_ns, inner_ns = _match_veth_peers([host_ns, inner_ns.model_copy(update={"listeners": mine})])
        [outcome] = judged(host_ns, inner_ns, allow=["loopback"])
        assert outcome.status == Status.NOT_REVIEWED
        assert outcome.observed["exposure"]["if_forwarded"] == ["10.162.0.2"]  # type: ignore[index]
    finally:
        _stop(serving, host, outside, inner)
