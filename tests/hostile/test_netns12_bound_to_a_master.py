"""Hostile corpus, false passes: a namespace listener bound (SO_BINDTODEVICE) to a bridge or VRF.

A socket bound to a device gets what arrives on that device, and a bridge port's frames arrive on
its bridge (IP input runs with the bridge as the device; a VRF member is matched through its VRF).
lbaudit kept, for a bound listener, only the interfaces whose name is the device, so a listener
bound to br0 in a namespace whose br0 holds the veth into a host that forwards to it lost that
veth and was "reachable only inside": a pass, while a neighbour that routes the bridge's address
through the host connects.  Now an interface whose master is the device delivers to it as well.

``test_a_neighbour_reaches_a_listener_bound_to_the_bridge_and_lbaudit_does_not_pass_it`` proves it
on the running kernel: a namespace plays the host (a macvlan out, ip_forward=1), another holds a
bridge with the veth into that host, a third is the neighbour.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from auditor.collect.netns import _match_veth_peers
from auditor.model.facts import Listener, NetInterface
from auditor.model.result import Status
from tests.hostile.test_falsepass_netns_weak_host import CONNECT_TO, INTO_HOST, LO, MACVLAN, container, web
from tests.hostile.test_judging_route_localnet import _in, _stop
from tests.hostile.test_netns12_forwarded_localnet import _host, _namespace, judged, outside_through_host
from tests.netns_env import ip, require_namespaces, unique_name

PORT = INTO_HOST.model_copy(update={"addresses": [], "master": "br0"})
BRIDGE = NetInterface(ingress_hooks=[], name="br0", index=4, kind="bridge", up=True, addresses=["172.18.0.2/16"], route_localnet=False)


def bound(device: str | None) -> Listener:
    return web("0.0.0.0").model_copy(update={"interface": device})


def test_bound_to_the_bridge_holding_a_forwarded_veth_is_not_reviewed():
    [outcome] = judged(_host(True), container(bound("br0"), interfaces=[LO, PORT, BRIDGE]), allow=["loopback"])
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.observed["exposure"]["if_forwarded"] == ["172.18.0.2"]  # type: ignore[index]
    # as the unbound listener is
    [unbound] = judged(_host(True), container(bound(None), interfaces=[LO, PORT, BRIDGE]), allow=["loopback"])
    assert unbound.status == Status.NOT_REVIEWED


def test_bound_to_a_vrf_whose_member_reaches_beyond_fails():
    vrf = NetInterface(ingress_hooks=[], name="blue", index=6, kind="other", link_kind="vrf", up=True, addresses=[])
    member = MACVLAN.model_copy(update={"master": "blue"})
    [outcome] = judged(_host(False), container(bound("blue"), interfaces=[LO, vrf, member]), allow=["loopback"])
    assert outcome.status == Status.FAIL
    assert outcome.observed["exposure"]["addresses"] == ["10.201.0.2"]  # type: ignore[index]


def test_control_cases_pass():
    # the host does not forward: nothing from beyond reaches the bridge
    [still] = judged(_host(False), container(bound("br0"), interfaces=[LO, PORT, BRIDGE]), allow=["loopback"])
    assert still.status == Status.PASS
    # bound to lo: never a packet from a link
    # (the port's ingress hooks read, and none: one may put its packets on lo)
    [lo] = judged(_host(True), container(bound("lo"), interfaces=[LO, PORT.model_copy(update={"ingress_hooks": []}),
                                                                  BRIDGE]), allow=["loopback"])
    assert lo.status == Status.PASS


SERVE_BOUND = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[1].encode())
s.bind(("0.0.0.0", 8080)); s.listen(8); print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""


@pytest.mark.live
@pytest.mark.slow  # three namespaces and several child interpreters
def test_a_neighbour_reaches_a_listener_bound_to_the_bridge_and_lbaudit_does_not_pass_it():
    require_namespaces()
    host, outside, inner = unique_name("lbt12h"), unique_name("lbt12o"), unique_name("lbt12c")
    serving = None
    try:
        outside_through_host(host, outside, inner)
        ip("-n", inner, "link", "add", "lbt12cb", "type", "bridge")
        ip("-n", inner, "link", "set", "lbt12c0", "master", "lbt12cb")
        ip("-n", inner, "addr", "add", "10.162.0.2/24", "dev", "lbt12cb")
        ip("-n", inner, "link", "set", "lbt12c0", "up")
        ip("-n", inner, "link", "set", "lbt12cb", "up")
        ip("-n", inner, "route", "add", "default", "via", "10.162.0.1")
        subprocess.run(["ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True, timeout=10)
        serving = subprocess.Popen(["ip", "netns", "exec", inner, sys.executable, "-c", SERVE_BOUND, "lbt12cb"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        assert serving.stdout.readline().strip() == "8080"
        connected = None
        for _ in range(20):  # the bridge port forwards once STP lets it (forward_delay 0 here: at once)
            connected = _in(outside, CONNECT_TO, "8080", "10.162.0.2")
            if connected == "connected":
                break
        assert connected == "connected"  # the kernel's answer
        host_ns, _ = _namespace(host, inner, current=True)
        inner_ns, collected = _namespace(inner, host, entered=True, sysctl={}, pids=[serving.pid])
        mine = [Listener.model_validate(item) for item in collected["listeners"] if item["port"] == 8080]
        assert [item.interface for item in mine] == ["lbt12cb"]
        host_ns, inner_ns = _match_veth_peers([host_ns, inner_ns.model_copy(update={"listeners": mine})])
        [outcome] = judged(host_ns, inner_ns, allow=["loopback"])
        assert outcome.status == Status.NOT_REVIEWED
        assert outcome.observed["exposure"]["if_forwarded"] == ["10.162.0.2"]  # type: ignore[index]
    finally:
        _stop(serving, host, outside, inner)
