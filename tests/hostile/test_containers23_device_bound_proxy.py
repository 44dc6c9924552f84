"""Hostile judging, false passes: a listener bound to a device taken for the proxy of a published port.

A DNAT rule publishes 0.0.0.0:8080 to a container: every link reaches it, whatever listens on the
host.  A host listener that serves a published port (docker-proxy, rootlessport) is judged in its
place, and the port itself is then not judged again.  lbaudit took any root listener on 0.0.0.0:8080
for that proxy, one bound to ``lo`` (SO_BINDTODEVICE) too: judged as taking only what lo delivers,
it passed ``allow: [loopback]``, and the DNAT'd port, reachable from every link, got no finding
of its own.  A proxy binds no device (docker-proxy, conmon, rootlessport never do), so a listener
bound to one serves no published port now: the port is judged at its own addresses, the listener as
itself.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import NamespaceFacts, NetInterface, NetNamespace, ProcessInfo, PublishedPort
from auditor.model.result import Status
from tests.factories import listener, snapshot
from tests.hostile.test_containers23_dnat_to_loopback import _published_statuses
from tests.hostile.test_judging_route_localnet import _stop
from tests.netns_env import ip, require_namespaces, unique_name

LO = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8"], route_localnet=False,
                  ingress_hooks=[])
ETH0 = NetInterface(name="eth0", index=2, kind="physical", up=True, addresses=["10.0.0.5/24"], route_localnet=False,
                    ingress_hooks=[])
DNAT = PublishedPort(source="nat", protocol="tcp", host_address="0.0.0.0", host_port=8080, target_address="172.17.0.2",
                     target_port=80, origin="iptables-save -t nat:5", before_routing=True)


def _statuses(device: str | None) -> dict[str, Status]:
    held = listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=4242, name="agent")], uid=0, user="root", inode=77)
    held = held.model_copy(update={"interface": device})
    current = NetNamespace(inode=4026531840, device=4, current=True, pids=[1], interfaces=[LO, ETH0], local_routes=[])
    snap = snapshot(listeners=[held], netns=NamespaceFacts(namespaces=[current], published=[DNAT],
                                                           published_sources=["nat"]))
    return {o.subject: o.status for o in net_bind_addresses.run(snap, BindAddressParams.model_validate(
        {"allow": ["loopback"]}))}


def test_a_listener_bound_to_lo_is_not_the_proxy_of_a_port_published_on_every_address():
    assert _statuses("lo") == {"tcp 0.0.0.0:8080 agent pid 4242": Status.PASS,
                               "published tcp 0.0.0.0:8080 -> 172.17.0.2:80": Status.FAIL}
    # control: the same listener bound to no device is the proxy, judged in the port's place
    assert _statuses(None) == {"tcp 0.0.0.0:8080 agent pid 4242 (publishes 172.17.0.2:80)": Status.FAIL}


SERVE = textwrap.dedent("""
    import socket, sys
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    s.bind(("0.0.0.0", 0)); s.listen(8)
    print(s.getsockname()[1], flush=True)
    sys.stdin.read()
""")


@pytest.mark.live
@pytest.mark.slow  # a namespace, a child interpreter and a real lbaudit run
def test_a_real_lo_bound_listener_beside_a_real_dnat_leaves_the_port_judged(tmp_path: Path):
    require_namespaces()
    if shutil.which("iptables") is None:
        pytest.skip("iptables is not installed (Debian package iptables)")
    host_ns = unique_name("lb23d")
    ip("netns", "add", host_ns)
    ip("-n", host_ns, "link", "set", "lo", "up")
    serving = None
    try:
        ip("link", "add", "lb23da", "netns", host_ns, "type", "veth", "peer", "name", "lb23db", "netns", host_ns)
        ip("-n", host_ns, "addr", "add", "10.199.1.1/24", "dev", "lb23da")
        ip("-n", host_ns, "link", "set", "lb23da", "up")
        serving = subprocess.Popen(["ip", "netns", "exec", host_ns, sys.executable, "-c", SERVE],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        subprocess.run(["ip", "netns", "exec", host_ns, "iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp",
                        "--dport", port, "-j", "DNAT", "--to-destination", "172.17.0.2:80"],
                       check=True, capture_output=True, timeout=10)
        assert socket.SO_BINDTODEVICE  # the listener is lo's alone
        assert _published_statuses(host_ns, port, tmp_path) == {f"published tcp 0.0.0.0:{port} -> 172.17.0.2:80": "fail"}
    finally:
        _stop(serving, host_ns)
