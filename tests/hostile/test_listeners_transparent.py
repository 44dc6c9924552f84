"""Hostile corpus, false passes: a transparent listener on 127.0.0.1 that the link reaches.

A socket with IP_TRANSPARENT (IPV6_TRANSPARENT) is what a TPROXY rule (iptables ``-j TPROXY``,
nftables ``tproxy to``) hands connections to: the packet keeps its destination, any destination,
and is given to the socket whatever address the socket is bound to.  A transparent listener on
127.0.0.1 with such a rule serves the whole link, and lbaudit judged it at 127.0.0.1: a pass under
``allow: [loopback]``.  The kernel reports the flag with every socket (INET_DIAG_SOCKOPT, Linux
5.10+); lbaudit now judges a transparent listener at every address of its family.

``test_the_link_reaches_a_transparent_loopback_listener_and_lbaudit_fails_it`` proves it on the
running kernel: two namespaces joined by a veth, a TPROXY rule in the server's, a peer that
connects to the server's veth address and is served by the 127.0.0.1 listener, and lbaudit's
collector in the server's namespace.  A listener without the flag stays a pass (the control: the
same rule cannot hand it anything).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect import netlink
from auditor.model.facts import Listener
from tests.factories import snapshot
from tests.hostile.test_judging_route_localnet import _in, _stop
from tests.netns_env import ip, join_by_veth, require_namespaces, route_tproxy, unique_name

IP_TRANSPARENT = 19
# Listens on 127.0.0.1:PORT, transparent or not (argv), prints "ready"; serves each connection a line.
SERVE = """
import socket, sys, threading
port, transparent = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_IP, 19, transparent)
s.bind(("127.0.0.1", port)); s.listen(8)
print("ready", flush=True)
def serve():
    while True:
        c, _ = s.accept(); c.sendall(b"served\\n"); c.close()
threading.Thread(target=serve, daemon=True).start()
sys.stdin.read()
"""
CONNECT = """
import socket, sys
c = socket.socket(); c.settimeout(2)
try:
    c.connect((sys.argv[1], int(sys.argv[2]))); print(c.recv(16).decode().strip())
except OSError as exc:
    print(type(exc).__name__)
"""
COLLECT = """
import json
from auditor.collect.live import collect_live
taken = collect_live(frozenset({"sockets"}))
print(json.dumps([l.model_dump(mode="json") for l in taken.facts.sockets.listeners]))
"""
PORT = 2004
TPROXY_RULES = f"""
table ip lbt {{
  chain pre {{
    type filter hook prerouting priority mangle;
    tcp dport {PORT} tproxy to 127.0.0.1:{PORT} meta mark set 1 accept
  }}
}}
"""


def _start(server_ns: str, transparent: int) -> subprocess.Popen[str]:
    import os
    import sys

    from tests.hostile.test_judging_route_localnet import REPO

    serving = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVE, str(PORT), str(transparent)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    assert serving.stdout is not None and serving.stdout.readline() == "ready\n"
    return serving


@pytest.mark.live
@pytest.mark.slow  # two namespaces and child interpreters, about 3 s
def test_the_link_reaches_a_transparent_loopback_listener_and_lbaudit_fails_it():
    require_namespaces()
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables; scripts/bootstrap --test installs it)")
    server_ns, peer_ns = unique_name("lbts"), unique_name("lbtp")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    serving = None
    try:
        join_by_veth(server_ns, peer_ns, "10.196.0", "lbtv")
        route_tproxy(server_ns, TPROXY_RULES)
        verdicts = {}
        for transparent in (1, 0):
            serving = _start(server_ns, transparent)
            reached = _in(peer_ns, CONNECT, "10.196.0.1", str(PORT))
            listeners = [Listener.model_validate(item) for item in json.loads(_in(server_ns, COLLECT))]
            _stop(serving)
            serving = None
            [ours] = [item for item in listeners if item.port == PORT]
            assert ours.address == "127.0.0.1"
            if ours.transparent is None and transparent:
                pytest.skip("this kernel does not report IP_TRANSPARENT (INET_DIAG_SOCKOPT, Linux 5.10+)")
            [outcome] = [o for o in net_bind_addresses.run(snapshot(listeners=[ours], netns=None), BindAddressParams())
                         if o.subject.startswith("tcp ")]
            verdicts[transparent] = (reached, ours.transparent, outcome.status.value)
        # the kernel: the link reaches the transparent listener only; lbaudit: it fails that one only
        assert verdicts == {1: ("served", True, "fail"),  # before: pass (judged at 127.0.0.1)
                            0: ("ConnectionRefusedError", False, "pass")}  # known clear (recorded since 1.2)
    finally:
        _stop(serving, server_ns, peer_ns)


def test_the_transparent_bit_is_read_where_the_kernel_puts_it():
    """struct inet_diag_sockopt: recverr, is_icsk, freebind, hdrincl, mc_loop, transparent, ... as
    bit-fields of the first byte (low bit first on little-endian machines)."""
    import sys

    bit = 5 if sys.byteorder == "little" else 2
    assert netlink.parse_transparent(bytes([1 << bit, 0])) is True
    assert netlink.parse_transparent(bytes([0xFF & ~(1 << bit), 0xFF])) is False  # every other option set
    assert netlink.parse_transparent(None) is None and netlink.parse_transparent(b"") is None


@pytest.mark.parametrize(("address", "v6only", "judged_as"), [
    ("127.0.0.1", None, ["0.0.0.0/0"]),
    ("::ffff:127.0.0.1", False, ["0.0.0.0/0"]),
    ("::1", True, ["::/0"]),
    ("::1", False, ["::/0"]),  # bound to an IPv6 address: no IPv4 reaches it, dual-stack or not
    ("::", False, ["0.0.0.0/0", "::/0"]),
    ("::", None, ["0.0.0.0/0", "::/0"]),
])
def test_a_transparent_listener_is_judged_at_every_address_of_what_it_accepts(address, v6only, judged_as):
    held = Listener(protocol="udp", family="ipv6" if ":" in address else "ipv4", address=address, port=53,
                    v6only=v6only, transparent=True)
    [outcome] = [o for o in net_bind_addresses.run(snapshot(listeners=[held], netns=None),
                                                    BindAddressParams(allow=["loopback", "10.0.0.0/8"]))
                 if o.subject.startswith("udp ")]
    assert outcome.status.value == "fail"
    assert outcome.observed["accepts_networks"] == judged_as  # type: ignore[index]
    assert outcome.observed["transparent"] is True  # type: ignore[index]
