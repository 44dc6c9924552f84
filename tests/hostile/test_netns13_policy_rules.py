"""Hostile corpus, false passes: a policy rule that sends what a link brings to a table of its own.

``ip rule add iif eth1 lookup 113`` with ``ip route add local 10.77.0.0/24 dev lo table 113`` makes
the prefix the namespace's own for packets from that link only: neither ``ip route`` nor ``ip route
show table local`` lists it, and no interface has an address of it.  A wildcard UDP listener there
was judged at the interfaces' addresses and passed, while a neighbour on the link sends it
datagrams at 10.77.0.5.  (A TCP handshake there does not complete unless the socket is transparent:
the reply's source is looked up in table local alone, __ip_dev_find; the SYN is delivered all the
same, and lbaudit, which does not read the rules, judges every transport alike: fail closed.)  The
collector reads the local routes of every table (a rule may send any packet to any of them), so the
prefix is among those the listener is judged at.
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

# A UDP listener on 0.0.0.0: prints its port, then the address each datagram it receives was sent to
RECEIVE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 0))
s.setsockopt(socket.IPPROTO_IP, 8, 1)  # IP_PKTINFO
print(s.getsockname()[1], flush=True)
while True:
    data, ancillary, _flags, sender = s.recvmsg(64, 256)
    for level, kind, raw in ancillary:
        if level == socket.IPPROTO_IP and kind == 8:
            print(socket.inet_ntoa(raw[8:12]), data.decode(), flush=True)
"""
SEND = """
import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"hello", (sys.argv[2], int(sys.argv[1])))
"""


@pytest.mark.live
@pytest.mark.slow  # two namespaces and child interpreters
def test_a_local_route_of_a_table_a_rule_picks_reaches_a_wildcard_udp_listener_and_lbaudit_fails_it():
    require_namespaces()
    server_ns, peer_ns = unique_name("lbt13r"), unique_name("lbt13n")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    serving = None
    try:
        ip("link", "add", "lbt13ra", "netns", server_ns, "type", "veth", "peer", "name", "lbt13rb", "netns", peer_ns)
        ip("-n", server_ns, "addr", "add", "10.194.13.1/24", "dev", "lbt13ra")
        ip("-n", server_ns, "link", "set", "lbt13ra", "up")
        ip("-n", server_ns, "link", "set", "lo", "up")
        ip("-n", server_ns, "rule", "add", "iif", "lbt13ra", "lookup", "113")
        ip("-n", server_ns, "route", "add", "local", "10.77.13.0/24", "dev", "lo", "table", "113")
        ip("-n", peer_ns, "addr", "add", "10.194.13.2/24", "dev", "lbt13rb")
        ip("-n", peer_ns, "link", "set", "lbt13rb", "up")
        ip("-n", peer_ns, "route", "add", "10.77.13.0/24", "via", "10.194.13.1", "dev", "lbt13rb")
        serving = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", RECEIVE],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None
        port = serving.stdout.readline().strip()
        _in(peer_ns, SEND, port, "10.77.13.5")
        assert serving.stdout.readline().split() == ["10.77.13.5", "hello"]  # the kernel's answer
        shown = subprocess.run(["ip", "-n", server_ns, "route", "show", "table", "local"], check=True,
                               capture_output=True, text=True, timeout=10).stdout
        assert "10.77.13." not in shown  # only the rule's table holds it
        collected = json.loads(_in(server_ns, COLLECT))
        mine = [Listener.model_validate(item) for item in collected["listeners"]
                if item["protocol"] == "udp" and item["address"] == "0.0.0.0" and str(item["port"]) == port]
        inner = NetNamespace(inode=INNER, device=4, pids=[serving.pid], entered=True,
                             interfaces=_interfaces(collected["interfaces"]), listeners=mine, sysctl={},
                             local_routes=collected["local_routes"])
        # (the link's broadcasts and multicast groups, which a wildcard UDP listener takes too, allowed:
        # test_bindaddr17_broadcast_multicast judges them)
        [outcome] = judged(inner, allow=["loopback", "10.194.13.0/24", "255.255.255.255/32", "224.0.0.0/4"])
        assert outcome.status == Status.FAIL
        assert outcome.observed["exposure"]["addresses"] == [  # type: ignore[index]
            "10.194.13.1", "10.77.13.0/24", "255.255.255.255", "10.194.13.255", "224.0.0.0/4"]
    finally:
        if serving is not None:
            serving.kill()  # it reads datagrams, not its stdin
        _stop(serving, server_ns, peer_ns)
