"""A Docker host's published ports are matched to their containers in time linear in them.

Each published port's target address was looked up in every address of every namespace
(``_published._namespace_of``), and each was tried on every host listener for the proxy that
serves it, in net.bind_addresses and again where the engine and the NAT rules disagree: a host of
1,000 containers, one port published each, took 18 s in the first alone, and 5,000 (the fleet's
limit of namespaces) 308 s; 1.5 s now.  The namespaces are now indexed by address once, and each
port tried only on the host listeners of its protocol and port range
(``_published.ListenersByPort``); the judgement is the same.
"""

from __future__ import annotations

import time

import pytest

from auditor.checks import _published
from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import NamespaceFacts, ProcessInfo, PublishedPort
from auditor.model.result import Status
from tests.factories import listener, snapshot
from tests.hostile.test_quadratic19_container_exposure import docker_host

pytestmark = pytest.mark.slow  # thousands of namespaces, built and judged

CONTAINERS = 5_000
SECONDS = 10


def published_host(containers: int):
    """docker_host's containers, each publishing its port 80 at host port 10000 + N through a
    docker-proxy listening on the host, and its port 443 at 20000 + N as the engine declares it
    (which no NAT rule or listener forwards: the engine and the NAT rules disagree)."""
    snap = docker_host(containers)
    netns = snap.facts.netns
    assert netns is not None
    published = [PublishedPort(source="nat", protocol="tcp", host_address="0.0.0.0", host_port=10_000 + i,
                               target_address=f"172.17.{i // 250}.{i % 250 + 2}", target_port=80,
                               origin=f"iptables-save -t nat:{i + 10}") for i in range(containers)]
    proxies = [listener("0.0.0.0", 10_000 + i, uid=0, user="root", inode=50_000 + i,
                        processes=[ProcessInfo(pid=60_000 + i, name="docker-proxy", exe="/usr/bin/docker-proxy")])
               for i in range(containers)]
    published += [PublishedPort(source="engine", protocol="tcp", host_address="0.0.0.0", host_port=20_000 + i,
                                target_address=f"172.17.{i // 250}.{i % 250 + 2}", target_port=443, container=f"web{i}",
                                origin=f"docker engine /containers/{i:064x}/json") for i in range(containers)]
    return snapshot(listeners=proxies, netns=NamespaceFacts(namespaces=netns.namespaces, published=published,
                                                             published_sources=["engine", "nat"]))


def test_published_ports_of_thousands_of_containers_are_matched_in_linear_time():
    snap = published_host(CONTAINERS)
    started = time.process_time()
    groups = _published.groups(snap)
    outcomes = net_bind_addresses.run(snap, BindAddressParams())
    took = time.process_time() - started
    assert took < SECONDS, f"the published ports of {CONTAINERS} containers took {took:.1f} s"
    last = CONTAINERS - 1
    assert groups[-1].namespace is snap.facts.netns.namespaces[CONTAINERS]  # type: ignore[union-attr]
    # the proxy's port is the container's exposure, judged as its own: published on every address
    [proxy] = [o for o in outcomes if f":{10_000 + last}" in o.subject and not o.subject.startswith("published ports")]
    assert proxy.status == Status.FAIL, proxy.message
    assert f"web{last}" in proxy.subject + proxy.message, (proxy.subject, proxy.message)
    disagreeing = [o.message for o in outcomes if o.subject.startswith("published ports (engine and NAT rules disagree)")]
    # each engine port no NAT rule (nor proxy) forwards, and each NAT rule the engine does not declare
    assert len(disagreeing) == 2 * CONTAINERS
    assert f"the engine publishes tcp 0.0.0.0:{20_000 + last} -> container web{last}:443, but no NAT rule or host " \
           "listener forwards it" in disagreeing
