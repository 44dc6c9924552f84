"""Hostile corpus, false passes: a prerouting ``dup to`` (TEE) that copies what a link brings to a container.

A container behind a veth the host routes is reached from beyond only when the host forwards, or
when something before IP input hands what arrives on a link to the veth: lbaudit read the tc
ingress and XDP programs and the nftables *ingress* chains (``fwd``, ``dup`` of the netdev and inet
families).  A traffic mirror is written one hook later just as often: ``dup to 172.31.9.2`` in an
ip, ip6 or inet chain hooked at prerouting, or iptables' ``-j TEE --gateway 172.31.9.2`` in mangle
PREROUTING (iptables-nft puts it in the kernel's nftables as an xt TEE target).  nf_dup_ipv4 sends
the copy out to the gateway whatever net.ipv4.ip_forward says, so with forwarding off a neighbour's
datagram to 172.31.9.2 reaches the container's UDP listener while lbaudit judged it "reachable only
inside" and passed ``allow: [loopback]``.  Such chains are now read with the ingress ones: a link
they may copy from has the hook in its ``ingress_hooks`` ("nft prerouting dup (ip mirror pre)"),
and a listener behind a veth the host routes is not_reviewed unless allowed at its address.

(A TEE rule of iptables-legacy is in no nftables table: read since containers23, by
test_containers23_legacy_tee.)
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect.nat import parse_nft_ingress_redirects
from auditor.collect.netns import _interfaces
from auditor.model.facts import Listener, NamespaceFacts, NetInterface, NetNamespace
from auditor.model.result import Status
from tests.factories import snapshot
from tests.hostile.test_judging_route_localnet import REPO, _stop
from tests.netns_env import ip, require_namespaces, unique_name


def _ruleset(family: str, hook: str, *expressions: dict) -> dict:
    return {"nftables": [
        {"chain": {"family": family, "table": "mirror", "name": "pre", "type": "filter", "hook": hook, "prio": -150}},
        {"rule": {"family": family, "table": "mirror", "chain": "pre", "expr": list(expressions)}}]}


DUP = {"dup": {"addr": "172.31.9.2"}}
TEE = {"xt": {"type": "target", "name": "TEE"}}


def test_nft_json_prerouting_dup_and_tee_are_hooks_of_every_link():
    for family in ("ip", "ip6", "inet"):
        assert parse_nft_ingress_redirects(_ruleset(family, "prerouting", DUP)) == {
            None: [f"nft prerouting dup ({family} mirror pre)"]}
    assert parse_nft_ingress_redirects(_ruleset("ip", "prerouting", TEE)) == {
        None: ["nft prerouting TEE (ip mirror pre)"]}
    # after the routing decision, or in a chain that copies nothing: no copy of what a link brings
    assert parse_nft_ingress_redirects(_ruleset("ip", "forward", DUP)) == {}
    assert parse_nft_ingress_redirects(_ruleset("ip", "prerouting", {"counter": None})) == {}
    assert parse_nft_ingress_redirects(_ruleset("ip", "prerouting", {"xt": {"type": "target", "name": "MARK"}})) == {}


# lbaudit's reader of the hooks in the "host" namespace, and its interfaces
COLLECT = """
import json
from auditor.collect.nat import read_ingress_redirects
from auditor.collect.netns import read_here, with_nft_ingress
from auditor.collect.targets import LocalHost
interfaces = read_here(10)["interfaces"]
print(json.dumps(with_nft_ingress(interfaces, *read_ingress_redirects(LocalHost(), 10))))
"""
SERVE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5599)); s.settimeout(5)
print("ready", flush=True)
try:
    print(s.recvfrom(100)[1][0], flush=True)
except OSError as exc:
    print(type(exc).__name__, flush=True)
"""
SEND = """
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5):
    s.sendto(b"from beyond", ("172.31.9.2", 5599)); time.sleep(0.1)
"""
CONTAINER = 4026532301
HOST = 4026531840


def _judge(host_links: list[NetInterface], serving_pid: int) -> tuple[Status, str]:
    current = NetNamespace(inode=HOST, device=4, current=True, pids=[1], interfaces=host_links)
    eth0 = NetInterface(name="eth0", index=2, kind="veth", link_kind="veth", up=True, addresses=["172.31.9.2/24"],
                        peer_index=3, peer_in_other_netns=True, peer_netns=HOST, route_localnet=False)
    lo = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8"], route_localnet=False)
    udp = Listener(protocol="udp", family="ipv4", address="0.0.0.0", port=5599)
    inner = NetNamespace(inode=CONTAINER, device=4, pids=[serving_pid], entered=True, interfaces=[lo, eth0],
                         listeners=[udp], sysctl={}, local_routes=[])
    snap = snapshot(listeners=[], netns=NamespaceFacts(namespaces=[current, inner], published=[],
                                                       published_sources=["nat"]))
    [outcome] = [o for o in net_bind_addresses.run(snap, BindAddressParams.model_validate({"allow": ["loopback"]}))
                 if o.subject.endswith(f"in netns net:[{CONTAINER}]")]
    return outcome.status, outcome.message


@pytest.mark.live
@pytest.mark.slow  # three namespaces and child interpreters
@pytest.mark.parametrize("mirror", ["nft", "iptables-nft"])
def test_a_mirror_copies_to_the_container_with_forwarding_off_and_lbaudit_does_not_pass_it(mirror: str):
    require_namespaces()
    host_ns, peer_ns, ctr_ns = unique_name("lb22mh"), unique_name("lb22mp"), unique_name("lb22mc")
    for name in (host_ns, peer_ns, ctr_ns):
        ip("netns", "add", name)
    serving = None
    try:
        ip("link", "add", "lb22ma", "netns", host_ns, "type", "veth", "peer", "name", "lb22mb", "netns", peer_ns)
        ip("-n", host_ns, "addr", "add", "10.198.0.1/24", "dev", "lb22ma")
        ip("-n", host_ns, "link", "set", "lb22ma", "up")
        ip("-n", host_ns, "link", "set", "lo", "up")
        ip("-n", peer_ns, "addr", "add", "10.198.0.2/24", "dev", "lb22mb")
        ip("-n", peer_ns, "link", "set", "lb22mb", "up")
        ip("-n", peer_ns, "route", "add", "172.31.9.0/24", "via", "10.198.0.1")
        ip("link", "add", "lb22md", "netns", host_ns, "type", "veth", "peer", "name", "eth0", "netns", ctr_ns)
        ip("-n", host_ns, "addr", "add", "172.31.9.1/24", "dev", "lb22md")
        ip("-n", host_ns, "link", "set", "lb22md", "up")
        ip("-n", ctr_ns, "addr", "add", "172.31.9.2/24", "dev", "eth0")
        ip("-n", ctr_ns, "link", "set", "eth0", "up")
        ip("-n", ctr_ns, "route", "add", "default", "via", "172.31.9.1")
        run = ["ip", "netns", "exec", host_ns]
        subprocess.run([*run, "sysctl", "-qw", "net.ipv4.ip_forward=0"], check=True, timeout=10)
        if mirror == "nft":
            for command in (["add", "table", "ip", "mirror"],
                            ["add", "chain", "ip", "mirror", "pre", "{ type filter hook prerouting priority mangle; }"],
                            ["add", "rule", "ip", "mirror", "pre", "iifname", "lb22ma", "dup", "to", "172.31.9.2"]):
                subprocess.run([*run, "nft", *command], check=True, capture_output=True, timeout=10)
        else:
            tee = subprocess.run([*run, "iptables", "-t", "mangle", "-A", "PREROUTING", "-i", "lb22ma", "-j", "TEE",
                                  "--gateway", "172.31.9.2"], capture_output=True, text=True, timeout=10)
            if tee.returncode != 0:
                pytest.skip(f"iptables TEE is not usable here: {tee.stderr.strip()}")
        collected = json.loads(subprocess.run(
            [*run, sys.executable, "-c", COLLECT], capture_output=True, text=True, timeout=30, check=True,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(REPO)}).stdout)
        links = _interfaces(collected)
        [uplink] = [i for i in links if i.name == "lb22ma"]
        assert uplink.forwarding is False and uplink.ingress_hooks, uplink
        serving = subprocess.Popen(["ip", "netns", "exec", ctr_ns, sys.executable, "-c", SERVE],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None and serving.stdout.readline().strip() == "ready"
        status, message = _judge(links, serving.pid)
        assert status == Status.NOT_REVIEWED, message
        assert "prerouting" in message
        subprocess.run(["ip", "netns", "exec", peer_ns, sys.executable, "-c", SEND], check=True, timeout=10)
        assert serving.stdout.readline().strip() == "10.198.0.2"  # the neighbour's datagram, copied in
    finally:
        _stop(serving, host_ns, peer_ns, ctr_ns)
