"""Hostile corpus, false alarms: a transparent socket of a transport TPROXY does not hand anything.

IP_TRANSPARENT matters for reach because a TPROXY rule (nftables ``tproxy to``, iptables ``-j
TPROXY``) gives a transparent socket packets for any destination.  The kernel does that for TCP
and UDP only (nft_tproxy_eval_v4/v6 stop on any other transport; xt_TPROXY refuses a rule without
``-p tcp`` or ``-p udp``), and for MPTCP through its TCP subflow, which shares the flag.  A
transparent UDP-Lite, SCTP, DCCP or raw socket gets only what is sent to its own address, yet
lbaudit judged every transparent listener at every address of its family: a UDP-Lite socket on
127.0.0.1 failed a loopback-only policy although nothing beyond the host could reach it.

``test_tproxy_hands_the_link_udp_but_not_udplite_and_lbaudit_says_so`` proves it on the running
kernel: two namespaces joined by a veth, a tproxy rule for each of UDP and UDP-Lite in the server's,
a transparent socket of each on 127.0.0.1, a datagram of each from the peer to the server's veth
address; the UDP one is received, the UDP-Lite one is not; lbaudit's collector in the server's
namespace and net.bind_addresses fail the UDP socket and pass the UDP-Lite one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import Listener
from tests.factories import snapshot
from tests.hostile.test_judging_route_localnet import REPO, _in, _stop
from tests.hostile.test_listeners_transparent import COLLECT
from tests.netns_env import ip, join_by_veth, require_namespaces, route_tproxy, unique_name

IPPROTO_UDPLITE = 136
UDP_PORT, UDPLITE_PORT = 2006, 2007
TPROXY_RULES = f"""
table ip lbt {{
  chain pre {{
    type filter hook prerouting priority mangle;
    meta l4proto udp udp dport {UDP_PORT} tproxy to 127.0.0.1:{UDP_PORT} meta mark set 1 accept
    meta l4proto udplite tproxy to 127.0.0.1:{UDPLITE_PORT} meta mark set 1 accept
  }}
}}
"""
# Binds a transparent UDP and a transparent UDP-Lite socket on 127.0.0.1, prints "ready"; then for
# each line read, prints which of them received a datagram since.
HOLD = f"""
import select, socket, sys
held = {{}}
for name, number, port in (("udp", 17, {UDP_PORT}), ("udplite", {IPPROTO_UDPLITE}, {UDPLITE_PORT})):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, number)
    s.setsockopt(socket.SOL_IP, 19, 1)  # IP_TRANSPARENT
    s.bind(("127.0.0.1", port))
    held[s] = name
print("ready", flush=True)
for _line in sys.stdin:
    ready, _, _ = select.select(list(held), [], [], 1.0)
    for s in ready:
        s.recv(2048)
    print(" ".join(sorted(held[s] for s in ready)) or "nothing", flush=True)
"""
SEND = f"""
import socket, sys
for number, port in ((17, {UDP_PORT}), ({IPPROTO_UDPLITE}, {UDPLITE_PORT})):
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM, number).sendto(b"hello", (sys.argv[1], port))
"""


@pytest.mark.live
@pytest.mark.slow  # two namespaces and child interpreters, about 2 s
def test_tproxy_hands_the_link_udp_but_not_udplite_and_lbaudit_says_so():
    require_namespaces()
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables; scripts/bootstrap --test installs it)")
    server_ns, peer_ns = unique_name("lbtts"), unique_name("lbttp")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    holding = None
    try:
        join_by_veth(server_ns, peer_ns, "10.198.0", "lbttv")
        route_tproxy(server_ns, TPROXY_RULES)
        holding = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", HOLD],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                   env={**os.environ, "PYTHONPATH": str(REPO)})
        assert holding.stdin is not None and holding.stdout is not None
        assert holding.stdout.readline() == "ready\n"
        _in(peer_ns, SEND, "10.198.0.1")
        holding.stdin.write("what came?\n")
        holding.stdin.flush()
        # the kernel: the link reaches the transparent UDP socket through TPROXY, not the UDP-Lite one
        assert holding.stdout.readline() == "udp\n"
        listeners = [Listener.model_validate(item) for item in json.loads(_in(server_ns, COLLECT))]
        ours = [item for item in listeners if item.port in (UDP_PORT, UDPLITE_PORT)]
        if any(item.transparent is None for item in ours):
            pytest.skip("this kernel does not report IP_TRANSPARENT (INET_DIAG_SOCKOPT, Linux 5.10+)")
        verdicts = {o.subject_detail["protocol"]: (o.status.value, o.observed["accepts_networks"],  # type: ignore[index]
                                                   o.observed["transparent"])  # type: ignore[index]
                    for o in net_bind_addresses.run(snapshot(listeners=ours, netns=None), BindAddressParams())
                    if o.subject.startswith("udp")}
        # before: the UDP-Lite socket failed too, judged at 0.0.0.0/0
        assert verdicts == {"udp": ("fail", ["0.0.0.0/0"], True), "udplite": ("pass", ["127.0.0.1/32"], True)}
    finally:
        _stop(holding, server_ns, peer_ns)
