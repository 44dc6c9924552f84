"""Hostile corpus, false passes: a listener of another namespace on an IPv4 link-local address that
no interface has, such as the cloud metadata address 169.254.169.254.

A listener bound to an address no interface of its namespace has is judged reachable from an
outward link: a local route (``ip route add local 169.254.169.254/32 dev lo``, as metadata proxies
set up) makes it the namespace's own and ip_route_input delivers it from any interface, or it is
bound ahead of its address (IP_FREEBIND).  lbaudit left link-local addresses out of that rule, for
IPv4 as for IPv6; but only IPv6 scopes a link-local address to its link (ip6_rcv_core, the zone):
IPv4 routes 169.254.0.0/16 like any other address.  A metadata proxy on 169.254.169.254 in a
namespace with a macvlan passed ``allow: [loopback]`` as "reachable only inside" while a neighbour
that routes 169.254.169.254 through the namespace's address connected to it.

``test_a_neighbour_connects_to_169_254_169_254_and_lbaudit_fails_it`` proves it on the running
kernel: the neighbour on a veth connects; lbaudit, judging the namespace as its collector reads
it, fails the listener (and one bound with IP_FREEBIND to 169.254.1.1, reached once the address
comes).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from auditor.collect.netns import _interfaces
from auditor.model.facts import Listener, NetNamespace
from auditor.model.result import Status
from tests.factories import listener
from tests.hostile.test_falsepass_netns_weak_host import INNER, LO, MACVLAN, container, judged
from tests.hostile.test_judging_route_localnet import COLLECT, _in, _stop
from tests.netns_env import ip, join_by_veth, require_namespaces, unique_name


def _proxy(address: str) -> Listener:
    return listener(address, 80, uid=0, inode=79)


def test_an_ipv4_link_local_address_of_a_local_route_is_reached_from_the_link():
    inner = container(_proxy("169.254.169.254"), interfaces=[LO, MACVLAN]).model_copy(
        update={"local_routes": ["169.254.169.254/32"]})
    [outcome] = judged(inner, allow=["loopback"])
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"]["addresses"] == ["169.254.169.254"]  # type: ignore[index]
    [allowed] = judged(inner, allow=["loopback", "link-local"])
    assert allowed.status == Status.PASS


def test_control_cases_pass():
    # no outward link: nothing beyond reaches it
    [inside] = judged(container(_proxy("169.254.169.254"), interfaces=[LO]), allow=["loopback"])
    assert inside.status == Status.PASS
    # an IPv6 link-local address no interface has: its zone is a link of the namespace, not the route
    [six] = judged(container(listener("fe80::99", 80, uid=0, inode=79), interfaces=[LO, MACVLAN]), allow=["loopback"])
    assert six.status == Status.PASS


SERVE = textwrap.dedent("""
    import socket, sys
    metadata = socket.socket(); metadata.bind(("169.254.169.254", 0)); metadata.listen(8)
    ahead = socket.socket(); ahead.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
    ahead.bind(("169.254.1.1", 0)); ahead.listen(8)
    print(metadata.getsockname()[1], ahead.getsockname()[1], flush=True)
    sys.stdin.read()
""")
CONNECT = textwrap.dedent("""
    import socket, sys
    c = socket.socket(); c.settimeout(2)
    try:
        c.connect((sys.argv[1], int(sys.argv[2]))); print("connected")
    except OSError as exc:
        print(type(exc).__name__)
""")


@pytest.mark.live
@pytest.mark.slow  # two namespaces and child interpreters
def test_a_neighbour_connects_to_169_254_169_254_and_lbaudit_fails_it():
    require_namespaces()
    server_ns, peer_ns = unique_name("lbl17s"), unique_name("lbl17p")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    serving = None
    try:
        join_by_veth(server_ns, peer_ns, "10.195.0", "lbl17v")
        ip("-n", server_ns, "route", "add", "local", "169.254.169.254/32", "dev", "lo")
        ip("-n", peer_ns, "route", "add", "169.254.169.254/32", "via", "10.195.0.1")
        serving = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVE],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        metadata, ahead = serving.stdout.readline().split()
        # the kernel: the neighbour reaches the listener on 169.254.169.254 over the veth
        assert _in(peer_ns, CONNECT, "169.254.169.254", metadata) == "connected"
        collected = json.loads(_in(server_ns, COLLECT))
        mine = [Listener.model_validate(item) for item in collected["listeners"]
                if str(item["port"]) in (metadata, ahead)]
        assert sorted(l.address for l in mine) == ["169.254.1.1", "169.254.169.254"]
        assert "169.254.169.254/32" in collected["local_routes"]
        inner = NetNamespace(inode=INNER, device=4, pids=[serving.pid], entered=True,
                             interfaces=_interfaces(collected["interfaces"]), listeners=mine, sysctl={},
                             local_routes=collected["local_routes"])
        statuses = {o.subject_detail["address"]: o.status for o in judged(inner, allow=["loopback"])}
        # before: both passed, "reachable only inside"
        assert statuses == {"169.254.169.254": Status.FAIL, "169.254.1.1": Status.FAIL}
    finally:
        _stop(serving, server_ns, peer_ns)
