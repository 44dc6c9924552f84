"""Where each container's listeners are reached from is judged in time linear in the host's interfaces.

net.bind_addresses judges a listener of another network namespace at its exposure
(``_namespaces.exposure``): whether its veth into the host is bridged onto a link beyond, and
whether the host forwards to it.  For every listener it read all of the host's interfaces again,
several times (the veth's end, the bridge, the bridge's other ports, the host's links beyond and
each bridge's ports among them, the tc hooks), so a Docker host's snapshot took time in the product
of its containers and its interfaces: 1,000 containers on docker0 (a veth each) took 13 s, 3,000
47 s, and the fleet's limits allow 5,000 namespaces and 20,000 interfaces (about 130 s; 1.4 s now).  What
depends on the host alone is now worked out once a snapshot (``_namespaces._HostIndex``), and the
ports of each bridge of a namespace found in one pass; the judgement is the same.

A bridge listed as its own port (no kernel makes one; a snapshot is any file) sent the same code
into recursion without end: RecursionError, the check an error.  It is now judged as reaching
beyond the host (fail closed).
"""

from __future__ import annotations

import time

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import NamespaceFacts, NetInterface, NetNamespace, SocketCounts, Workload
from auditor.model.result import Status
from tests.checks.test_net_namespaces import HOST_INODE, LO, namespace, sysctls, web
from tests.factories import snapshot

pytestmark = pytest.mark.slow  # thousands of namespaces, built and judged

CONTAINERS = 5_000  # the fleet's limit of namespaces
SECONDS = 10  # took about 130 s; linear, under 2 s


def docker_host(containers: int):
    """A host forwarding IPv4 from its NIC, with ``containers`` containers on docker0, each a
    namespace with a veth into the host and a web server on the wildcard."""
    host_interfaces = [LO, NetInterface(name="eth0", index=2, kind="physical", up=True, addresses=["192.0.2.2/24"],
                                        forwarding=True, forwarding_ipv6=False, ingress_hooks=[]),
                       NetInterface(name="docker0", index=3, kind="bridge", link_kind="bridge", up=True,
                                    addresses=["172.17.0.1/16"], forwarding=True, forwarding_ipv6=False, ingress_hooks=[])]
    namespaces = []
    for i in range(containers):
        inode = 4026540000 + i
        host_interfaces.append(NetInterface(name=f"veth{i:x}", index=100 + i, kind="veth", link_kind="veth", up=True,
                                            master="docker0", peer_index=2, peer_netns=inode, peer_in_other_netns=True,
                                            forwarding=True, forwarding_ipv6=False, ingress_hooks=[]))
        eth0 = NetInterface(name="eth0", index=2, kind="veth", link_kind="veth", up=True,
                            addresses=[f"172.17.{i // 250}.{i % 250 + 2}/16"], peer_index=100 + i,
                            peer_netns=HOST_INODE, peer_in_other_netns=True, route_localnet=False)
        namespaces.append(NetNamespace(inode=inode, device=4, pids=[10_000 + i], entered=True, interfaces=[LO, eth0],
                                       listeners=[web()], counts=SocketCounts(time_wait=0, tcp_by_state={"TIME_WAIT": 0}),
                                       sysctl=sysctls(), local_routes=[], tproxy=[],
                                       workloads=[Workload(runtime="docker", id=f"{i:064x}", name=f"web{i}")]))
    host = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=host_interfaces, local_routes=[])
    return snapshot(listeners=[], netns=NamespaceFacts(namespaces=[host, *namespaces], published=[], published_sources=["nat"]))


def web_of(outcomes, container: str):
    return [(o.status, o.message) for o in outcomes if o.subject.endswith(f"in netns container {container}")]


def test_a_docker_host_of_thousands_of_containers_is_judged_in_linear_time():
    snap = docker_host(CONTAINERS)
    started = time.process_time()
    outcomes = net_bind_addresses.run(snap, BindAddressParams())
    took = time.process_time() - started
    assert took < SECONDS, f"net.bind_addresses over {CONTAINERS} containers took {took:.1f} s"
    last = CONTAINERS - 1
    [(status, message)] = web_of(outcomes, f"web{last}")
    # the host forwards to it from its NIC: reached unless the host's firewall drops it, never passed
    assert status == Status.NOT_REVIEWED, message
    assert "the host forwards IPv4 arriving on eth0" in message, message
    # judged as it is on a host of that container alone: the other containers change nothing
    host, *containers = snap.facts.netns.namespaces  # type: ignore[union-attr]
    only = host.model_copy(update={"interfaces": [i for i in host.interfaces or [] if i.index < 100 or i.index == 100 + last]})
    one = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[only, containers[last]], published=[],
                                                      published_sources=["nat"]))
    assert web_of(net_bind_addresses.run(one, BindAddressParams()), f"web{last}") == [(status, message)]


def test_a_bridge_listed_as_its_own_port_is_judged_as_reaching_beyond():
    looped = NetInterface(name="br0", index=3, kind="bridge", master="br0", up=True, addresses=["10.9.0.1/24"])
    snap = snapshot(listeners=[], netns=NamespaceFacts(
        namespaces=[NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=[LO], local_routes=[]),
                    namespace(interfaces=[LO, looped], listeners=[web()])], published=[], published_sources=["nat"]))
    [judged] = [o for o in net_bind_addresses.run(snap, BindAddressParams()) if "0.0.0.0:8080" in o.subject]
    assert judged.status == Status.FAIL, judged.message
    assert "br0 (bridge named as its own port, judged as reaching beyond)" in judged.message, judged.message
