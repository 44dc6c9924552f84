"""Hostile judging, listener addresses: 127.0.0.0/8 is not loopback-only when route_localnet is on.

The kernel drops a packet to 127.0.0.0/8 that arrives on any interface but loopback, unless
net.ipv4.conf.all.route_localnet or net.ipv4.conf.NAME.route_localnet is 1 (ip_route_input_slow:
``ipv4_is_loopback(daddr) && !IN_DEV_NET_ROUTE_LOCALNET(in_dev, net)`` -> martian destination,
where the macro ORs ``all`` and the interface).  With it on, any host on that link reaches a
service bound to 127.0.0.1 (CVE-2020-8558: kube-proxy set it, and node-local services were open
to the neighbours).  lbaudit judged such a listener by its address alone: "loopback", a pass.
IPv6 has no such switch (ip6_rcv_core drops ::1 arriving on any other interface).

``test_the_kernel_delivers_127_0_0_1_from_the_link_exactly_when_lbaudit_says_so`` proves it on the
running kernel: two namespaces joined by a veth, a listener on 127.0.0.1 in one, a connection from
the other, and lbaudit's own collector in the first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect.netns import _interfaces
from auditor.model.facts import Listener, NamespaceFacts, NetInterface, NetNamespace, ProcessInfo
from auditor.model.result import Status
from tests.factories import listener, snapshot
from tests.netns_env import ip, require_namespaces, unique_name

REPO = Path(__file__).resolve().parents[2]
HOST_INODE = 4026531840
LO = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8", "::1/128"],
                  route_localnet=False)
ETH0 = NetInterface(name="eth0", index=2, kind="physical", up=True, addresses=["10.0.0.5/24", "fe80::5/64"],
                    route_localnet=False)
MACVLAN = NetInterface(name="out0", index=5, kind="macvlan", link_kind="macvlan", addresses=["10.201.0.2/24"],
                       route_localnet=False)


def redis(address: str = "127.0.0.1", port: int = 6379) -> Listener:
    return listener(address, port, processes=[ProcessInfo(pid=4242, name="redis-server")], uid=0, user="root",
                    inode=77)


def host(*listeners: Listener, eth0: NetInterface = ETH0, others: tuple[NetNamespace, ...] = ()):
    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=[LO, eth0])
    return snapshot(listeners=list(listeners),
                    netns=NamespaceFacts(namespaces=[current, *others], published=[], published_sources=["nat"]))


def statuses(snap, **params) -> dict[str, Status]:
    return {o.subject: o.status for o in net_bind_addresses.run(snap, BindAddressParams.model_validate(params))}


def on(interface: NetInterface, value: bool | None = True) -> NetInterface:
    return interface.model_copy(update={"route_localnet": value})


def test_loopback_listener_with_route_localnet_on_the_uplink_fails():
    found = net_bind_addresses.run(host(redis(), eth0=on(ETH0)), BindAddressParams())
    [outcome] = [o for o in found if o.subject == "tcp 127.0.0.1:6379 redis-server pid 4242"]
    assert outcome.status == Status.FAIL
    assert "route_localnet=1 on eth0 delivers 127.0.0.0/8 from its link, so it is reachable as at 10.0.0.5" \
        in outcome.message
    assert outcome.observed["route_localnet"] == {"through": ["eth0"], "reachable_as": ["10.0.0.5"], "unknown": []}


def test_an_ipv4_mapped_loopback_listener_is_the_same_class():
    assert statuses(host(redis("::ffff:127.0.0.1"), eth0=on(ETH0)))[
        "tcp [::ffff:127.0.0.1]:6379 redis-server pid 4242"] == Status.FAIL


def test_a_policy_that_allows_the_links_network_allows_it():
    assert statuses(host(redis(), eth0=on(ETH0)), allow=["loopback", "private"])[
        "tcp 127.0.0.1:6379 redis-server pid 4242"] == Status.PASS


def test_an_interface_without_an_ipv4_address_reaches_it_as_all_of_ipv4():
    bare = on(ETH0).model_copy(update={"addresses": []})
    assert statuses(host(redis(), eth0=bare), allow=["loopback", "private"])[
        "tcp 127.0.0.1:6379 redis-server pid 4242"] == Status.FAIL


def test_a_bridge_port_is_judged_by_its_bridge_where_ip_input_happens():
    # net.ipv4.conf.all.route_localnet=1 sets it on every interface: the host-side veth of a
    # container (no address, a port of docker0) is reached through docker0, judged at 172.17.0.1
    bridge = NetInterface(name="docker0", index=3, kind="bridge", addresses=["172.17.0.1/16"], route_localnet=True)
    port = NetInterface(name="veth1a2b", index=9, kind="veth", master="docker0", route_localnet=True)
    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=[LO, ETH0, bridge, port])
    snap = snapshot(listeners=[redis()], netns=NamespaceFacts(namespaces=[current], published=[],
                                                               published_sources=["nat"]))
    [outcome] = [o for o in net_bind_addresses.run(snap, BindAddressParams(allow=["loopback"]))
                 if o.subject_detail.get("port") == 6379]
    assert outcome.status == Status.FAIL
    assert outcome.observed["route_localnet"]["reachable_as"] == ["172.17.0.1"]
    assert statuses(snap, allow=["loopback", "private"])["tcp 127.0.0.1:6379 redis-server pid 4242"] == Status.PASS


def test_route_localnet_that_could_not_be_read_is_not_reviewed():
    assert statuses(host(redis(), eth0=on(ETH0, None)))["tcp 127.0.0.1:6379 redis-server pid 4242"] \
        == Status.NOT_REVIEWED


def test_container_loopback_listener_behind_a_macvlan_with_route_localnet_fails():
    # before: "reachable only inside namespace" (127.0.0.1 is none of out0's addresses), a pass
    inner = NetNamespace(inode=4026532300, device=4, pids=[4242], entered=True, interfaces=[LO, on(MACVLAN)],
                         listeners=[redis()], sysctl={})
    found = statuses(host(others=(inner,)))
    assert found["tcp 127.0.0.1:6379 redis-server pid 4242 in netns net:[4026532300]"] == Status.FAIL


def test_control_cases_pass_on_both():
    assert statuses(host(redis()))["tcp 127.0.0.1:6379 redis-server pid 4242"] == Status.PASS  # route_localnet 0
    assert statuses(host(redis("::1"), eth0=on(ETH0)))["tcp [::1]:6379 redis-server pid 4242"] == Status.PASS
    bound_to_lo = redis().model_copy(update={"interface": "lo"})  # SO_BINDTODEVICE lo: eth0 never delivers to it
    hooks_read = on(ETH0).model_copy(update={"ingress_hooks": []})  # none that may put eth0's packets on lo
    assert statuses(host(bound_to_lo, eth0=hooks_read))["tcp 127.0.0.1:6379 redis-server pid 4242"] == Status.PASS
    inner = NetNamespace(inode=4026532300, device=4, pids=[4242], entered=True, interfaces=[LO, MACVLAN],
                         listeners=[redis()], sysctl={})
    assert statuses(host(others=(inner,)))["tcp 127.0.0.1:6379 redis-server pid 4242 in netns net:[4026532300]"] \
        == Status.PASS


# ---------------------------------------------------------------- the running kernel

# lbaudit's own collector inside the namespace: its listeners and its interfaces with route_localnet.
# lbaudit's collector in the namespace it runs in; its arguments: the namespace files (/run/netns/NAME)
# a veth's peer may be in, as the collector's child holds a descriptor of every namespace it found
COLLECT = """
import json, os, sys
from auditor.collect.netns import open_namespace, read_here
found = read_here(10, known=[(fd, os.fstat(fd).st_ino) for fd in map(open_namespace, sys.argv[1:])])
print(json.dumps({key: found[key] for key in ("listeners", "interfaces", "local_routes", "local_route_error")}))
"""
CONNECT = """
import socket, sys
c = socket.socket(); c.settimeout(1.5)
try:
    c.connect(("127.0.0.1", int(sys.argv[1]))); print("connected")
except OSError as exc:
    print(type(exc).__name__)
"""
SERVE = """
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8); print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""


def _in(name: str, code: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=30, check=True, env=env).stdout.strip()


def _stop(serving: subprocess.Popen[str] | None, *namespaces: str) -> None:
    """A test's way out: the listener's stdin closed (it then exits) and waited for, the namespaces
    deleted."""
    if serving is not None:
        if serving.stdin:
            serving.stdin.close()
        serving.wait(timeout=10)
    for name in namespaces:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


@pytest.mark.live
@pytest.mark.slow  # two namespaces and child interpreters, about 3 s
def test_the_kernel_delivers_127_0_0_1_from_the_link_exactly_when_lbaudit_says_so():
    require_namespaces()
    server_ns, peer_ns = unique_name("lbrs"), unique_name("lbrp")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)  # its loopback stays down: 127.0.0.1 is routed out of its veth
    serving = None
    try:
        ip("link", "add", "lbr0", "netns", server_ns, "type", "veth", "peer", "name", "lbr1", "netns", peer_ns)
        ip("-n", server_ns, "addr", "add", "10.199.0.1/24", "dev", "lbr0")
        ip("-n", server_ns, "link", "set", "lbr0", "up")
        ip("-n", server_ns, "link", "set", "lo", "up")
        ip("-n", peer_ns, "addr", "add", "10.199.0.2/24", "dev", "lbr1")
        ip("-n", peer_ns, "link", "set", "lbr1", "up")
        subprocess.run(["ip", "netns", "exec", peer_ns, "sysctl", "-qw", "net.ipv4.conf.lbr1.route_localnet=1"],
                       check=True, capture_output=True, timeout=10)  # the neighbour's own host: it may send so
        ip("-n", peer_ns, "route", "add", "127.0.0.1/32", "via", "10.199.0.1", "dev", "lbr1")
        serving = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVE],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        seen = []
        for setting in ({}, {"lbr0": "1"}, {"lbr0": "0", "all": "1"}):
            for device, value in setting.items():
                subprocess.run(["ip", "netns", "exec", server_ns, "sysctl", "-qw",
                                f"net.ipv4.conf.{device}.route_localnet={value}"], check=True, capture_output=True,
                               timeout=10)
            reached = _in(peer_ns, CONNECT, port) == "connected"
            collected = json.loads(_in(server_ns, COLLECT))
            mine = [Listener.model_validate(item) for item in collected["listeners"]
                    if item["address"] == "127.0.0.1" and str(item["port"]) == port]
            current = NetNamespace(inode=HOST_INODE, device=4, current=True, interfaces=_interfaces(collected["interfaces"]))
            snap = snapshot(listeners=mine, netns=NamespaceFacts(namespaces=[current], published=[],
                                                                 published_sources=["nat"]))
            [outcome] = [o for o in net_bind_addresses.run(snap, BindAddressParams()) if o.subject_detail.get("port")]
            seen.append((reached, outcome.status))
        assert seen == [(False, Status.PASS), (True, Status.FAIL), (True, Status.FAIL)]
    finally:
        _stop(serving, server_ns, peer_ns)
