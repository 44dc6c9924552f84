"""Hostile corpus, checked claims: a namespace's own DNAT, which lbaudit does not read.

A DNAT rule of a namespace can send what arrives on a link to any address the namespace delivers
to itself; lbaudit judges a namespace listener at every such address without reading the rules:
each address of its interfaces and local routes (weak host), and 127.0.0.0/8 where route_localnet
lets the kernel deliver it from a link (test_netns12_forwarded_localnet).  The one address left
out is ::1, on the claim that IPv6 has no route_localnet: a DNAT to [::1] from a link is not
delivered.  ``test_a_dnat_to_ipv6_loopback_is_not_delivered_so_the_listener_on_it_passes`` holds
the kernel to that claim: the same rule that reaches a listener on the link's address when it
points there leaves a listener on ::1 unreached, and lbaudit passes it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from auditor.collect.netns import _interfaces
from auditor.model.facts import Listener, NetNamespace
from auditor.model.result import Status
from tests.hostile.test_falsepass_netns_weak_host import INNER, judged
from tests.hostile.test_judging_route_localnet import COLLECT, _in, _stop
from tests.netns_env import ip, require_namespaces, unique_name

SERVE6 = """
import socket, sys
s = socket.socket(socket.AF_INET6); s.bind((sys.argv[1], 0)); s.listen(8); print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""
CONNECT6 = """
import socket, sys
c = socket.socket(socket.AF_INET6); c.settimeout(1.5)
try:
    c.connect((sys.argv[2], int(sys.argv[1]))); print("connected")
except OSError as exc:
    print(type(exc).__name__)
"""


@pytest.mark.live
@pytest.mark.slow  # two namespaces and child interpreters
def test_a_dnat_to_ipv6_loopback_is_not_delivered_so_the_listener_on_it_passes():
    require_namespaces()
    server_ns, peer_ns = unique_name("lbt13w"), unique_name("lbt13x")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    serving = None
    try:
        ip("link", "add", "lbt13wa", "netns", server_ns, "type", "veth", "peer", "name", "lbt13xa", "netns", peer_ns)
        ip("-n", server_ns, "link", "set", "lo", "up")
        ip("-n", server_ns, "addr", "add", "fd13:d::1/64", "dev", "lbt13wa", "nodad")
        ip("-n", server_ns, "link", "set", "lbt13wa", "up")
        ip("-n", peer_ns, "addr", "add", "fd13:d::2/64", "dev", "lbt13xa", "nodad")
        ip("-n", peer_ns, "link", "set", "lbt13xa", "up")
        serving = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVE6, "::1"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        control = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVE6, "fd13:d::1"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert control.stdout is not None
            control_port = control.stdout.readline().strip()
            nft = subprocess.run(["ip", "netns", "exec", server_ns, "nft",
                                  "add table ip6 lbt13; add chain ip6 lbt13 pre { type nat hook prerouting priority dstnat ; }; "
                                  f"add rule ip6 lbt13 pre tcp dport 1 dnat to [::1]:{port}; "
                                  f"add rule ip6 lbt13 pre tcp dport 2 dnat to [fd13:d::1]:{control_port}"],
                                 capture_output=True, text=True, timeout=10)
            if nft.returncode != 0:
                pytest.skip(f"nft cannot write an ip6 nat rule here: {nft.stderr.strip()}")
            # the same kind of rule reaches a listener on the link's own address: the rules work
            assert _in(peer_ns, CONNECT6, "2", "fd13:d::1") == "connected"
            assert _in(peer_ns, CONNECT6, "1", "fd13:d::1") != "connected"  # the kernel's answer for ::1
        finally:
            if control.stdin:
                control.stdin.close()
            control.wait(timeout=10)
        collected = json.loads(_in(server_ns, COLLECT))
        mine = [Listener.model_validate(item) for item in collected["listeners"]
                if item["address"] == "::1" and str(item["port"]) == port]
        inner = NetNamespace(inode=INNER, device=4, pids=[serving.pid], entered=True,
                             interfaces=_interfaces(collected["interfaces"]), listeners=mine, sysctl={},
                             local_routes=collected["local_routes"])
        [outcome] = judged(inner, allow=["loopback"])
        assert outcome.status == Status.PASS
    finally:
        _stop(serving, server_ns, peer_ns)
