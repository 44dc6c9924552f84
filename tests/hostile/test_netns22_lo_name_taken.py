"""Hostile corpus, false passes: a link named ``lo`` beside a renamed loopback, and Docker 28's drop.

A port published on 127.0.0.1 by a DNAT rule is reached from a link unless a raw-table PREROUTING
drop of it for packets not from lo comes first (Docker 28: ``-d 127.0.0.1/32 ! -i lo ... -j DROP``,
``iifname != "lo" ... drop``); lbaudit read such a drop as closing the port to every link.  But the
rule names a device, and ``lo`` is only the loopback's name: ``ip link set lo name lo_real`` frees
it, and any link may take it (``ip link add lo type veth ...``).  The rule then exempts that link,
and a neighbour on it that routes 127.0.0.1 through the host reaches the container; lbaudit said
"dropped from every interface but lo" and passed ``allow: [loopback]``.  A drop is now taken to
close the port only while the device named lo is the loopback (where the interfaces were read);
otherwise whether it covers the links is unknown: not_reviewed, naming the link.

``test_the_link_named_lo_reaches_the_dnat_and_lbaudit_does_not_pass_it`` proves it on the running
kernel with lbaudit's own NAT, drop and interface readers.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from auditor.collect.nat import parse_iptables_loopback_drops
from auditor.model.facts import NamespaceFacts, NetInterface, NetNamespace
from auditor.model.result import Status
from tests.factories import snapshot
from tests.hostile.test_falsepass_published_loopback import (
    CONNECT,
    DNAT,
    DOCKER_28_RAW,
    SERVE,
    _judge_collected,
    _run,
    judged,
)
from tests.hostile.test_judging_route_localnet import ETH0, HOST_INODE, LO, _in, _stop
from tests.netns_env import ip, require_namespaces, unique_name

RENAMED_LO = LO.model_copy(update={"name": "lo_real"})
LINK_NAMED_LO = NetInterface(name="lo", index=7, kind="veth", link_kind="veth", up=True,
                             addresses=["10.197.0.1/24"], route_localnet=False)


def host(*interfaces: NetInterface):
    current = NetNamespace(inode=HOST_INODE, device=4, current=True, pids=[1], interfaces=list(interfaces))
    return snapshot(listeners=[], netns=NamespaceFacts(
        namespaces=[current], published=[DNAT], published_sources=["nat"],
        loopback_drops=parse_iptables_loopback_drops(DOCKER_28_RAW, "ipv4", "iptables-save")))


def test_a_drop_that_exempts_lo_does_not_close_the_port_when_a_link_has_that_name():
    [outcome] = judged(host(RENAMED_LO, ETH0, LINK_NAMED_LO))
    assert outcome.status == Status.NOT_REVIEWED
    assert "the device named lo is not the loopback but lo (veth)" in outcome.message
    assert outcome.observed["loopback_dnat"]["state"] == "unknown"


def test_control_the_loopback_named_lo_or_none_named_so():
    assert [o.status for o in judged(host(LO, ETH0))] == [Status.PASS]
    # the loopback renamed and no other device named lo: the drop takes what it receives too, no link escapes
    assert [o.status for o in judged(host(RENAMED_LO, ETH0))] == [Status.PASS]


@pytest.mark.live
@pytest.mark.slow  # three namespaces and child interpreters
def test_the_link_named_lo_reaches_the_dnat_and_lbaudit_does_not_pass_it():
    require_namespaces()
    host_ns, peer_ns, ctr_ns = unique_name("lb22h"), unique_name("lb22p"), unique_name("lb22c")
    for name in (host_ns, peer_ns, ctr_ns):
        ip("netns", "add", name)
    serving = None
    try:
        ip("-n", host_ns, "link", "set", "lo", "name", "lo_real")
        ip("-n", host_ns, "link", "set", "lo_real", "up")
        # the neighbour's link into the host takes the name lo
        ip("link", "add", "lo", "netns", host_ns, "type", "veth", "peer", "name", "lb22n", "netns", peer_ns)
        ip("-n", host_ns, "addr", "add", "10.197.0.1/24", "dev", "lo")
        ip("-n", host_ns, "link", "set", "lo", "up")
        ip("-n", peer_ns, "addr", "add", "10.197.0.2/24", "dev", "lb22n")
        ip("-n", peer_ns, "link", "set", "lb22n", "up")
        _run(peer_ns, "sysctl", "-qw", "net.ipv4.conf.lb22n.route_localnet=1")  # the neighbour's own choice
        ip("-n", peer_ns, "route", "add", "127.0.0.1/32", "via", "10.197.0.1", "dev", "lb22n")
        ip("link", "add", "lb22dock0", "netns", host_ns, "type", "veth", "peer", "name", "eth0", "netns", ctr_ns)
        ip("-n", host_ns, "addr", "add", "172.30.9.1/24", "dev", "lb22dock0")
        ip("-n", host_ns, "link", "set", "lb22dock0", "up")
        ip("-n", ctr_ns, "addr", "add", "172.30.9.2/24", "dev", "eth0")
        ip("-n", ctr_ns, "link", "set", "eth0", "up")
        ip("-n", ctr_ns, "route", "add", "default", "via", "172.30.9.1")
        _run(host_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        _run(host_ns, "iptables", "-t", "nat", "-A", "PREROUTING", "-d", "127.0.0.1/32", "!", "-i", "lb22dock0", "-p",
             "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination", "172.30.9.2:80")
        # Docker 28's drop, word for word
        _run(host_ns, "iptables", "-t", "raw", "-A", "PREROUTING", "-d", "127.0.0.1/32", "!", "-i", "lo", "-p", "tcp",
             "--dport", "8080", "-j", "DROP")
        serving = subprocess.Popen(["ip", "netns", "exec", ctr_ns, sys.executable, "-c", SERVE],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None and serving.stdout.readline().strip() == "ready"
        status, message = _judge_collected(host_ns)
        assert status == Status.NOT_REVIEWED, message
        assert "the device named lo is not the loopback but lo (veth)" in message
        assert _in(peer_ns, CONNECT) == "container"  # the drop let the link named lo through
    finally:
        _stop(serving, host_ns, peer_ns, ctr_ns)
