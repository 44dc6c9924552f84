"""Hostile corpus, false alarms: a local route in a table no policy rule looks up.

TPROXY set-ups put ``local 0.0.0.0/0 dev lo`` in a table of their own (``table 100``) and steer
marked packets there with ``ip rule add fwmark 1 lookup 100``.  The route makes every address local
only for packets a rule sends to its table: ip_route_input consults the tables the policy rules
name (local, main and default unless more are added), so while no rule looks up table 100 a packet
to 203.0.113.9 arriving on a link is not delivered (it is forwarded, or dropped when the namespace
does not forward).  lbaudit read the local routes of every table and judged a wildcard listener of
another namespace reachable at 0.0.0.0/0 through it: a fail under a policy that allows the
namespace's own network, on a namespace where nothing else reaches it.

Now only the tables some rule of the route's family looks up count (a rule on a firewall mark
counts: the marks are set by firewall rules lbaudit does not read, so fail closed; an l3mdev rule,
which looks up the table of whichever VRF a packet came in on, makes every table count; a rule dump
that fails leaves every table counted).

``test_an_unsteered_table_delivers_nothing_and_lbaudit_passes_it`` proves it on the running kernel:
a peer on the server namespace's link routes 203.0.113.0/24 through it and is not served while no
rule looks up table 100, and is served once one does; lbaudit, run in a third namespace standing
for the host, passes the listener in the first state and fails it (reachable at 0.0.0.0/0) in the
second (a rule on what arrives on the link), and with a rule on a firewall mark only.
"""

from __future__ import annotations

import json
import socket
import struct

import pytest

from auditor.collect import rtnetlink
from tests.hostile.test_judging_route_localnet import _in, _stop
from tests.netns_env import ip, join_by_veth, require_namespaces, unique_name

PORT = 2016
# A UDP listener that answers each datagram: a TCP one would take the SYN but could not answer
# from an address no interface has outside the local table (__ip_dev_find), not being transparent.
SERVE = f"""
import socket, sys, threading
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", {PORT}))
print("ready", flush=True)
def serve():
    while True:
        _data, peer = s.recvfrom(64); s.sendto(b"served", peer)
threading.Thread(target=serve, daemon=True).start()
sys.stdin.read()
"""
SEND = """
import socket, sys
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(2)
c.sendto(b"hello", (sys.argv[1], int(sys.argv[2])))
try:
    print(c.recv(16).decode())
except OSError as exc:
    print(type(exc).__name__)
"""
# Run in the namespace standing for the host: every namespace collected and judged under a policy
# that allows the server's network (and the broadcasts and multicast groups of its link); the status and reachable addresses of the listener on PORT.
JUDGE = f"""
import json
from auditor.collect.live import collect_live
from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
snapshot = collect_live(frozenset({{"sockets", "netns"}}))
params = BindAddressParams(allow=["loopback", "10.194.0.0/16", "255.255.255.255/32", "224.0.0.0/4"])
found = [o for o in net_bind_addresses.run(snapshot, params)
         if o.subject_detail.get("port") == {PORT} and " in netns " in o.subject]
print(json.dumps([(o.subject, o.status.value, (o.observed or {{}}).get("exposure")) for o in found if o.subject.startswith("udp ")]))
"""


def _judged(host_ns: str, server_ns: str) -> tuple[str, list[str] | None]:
    found = json.loads(_in(host_ns, JUDGE))
    [(_subject, status, exposure)] = [item for item in found if item[0].endswith(f"in netns {server_ns}")]
    return status, exposure["addresses"]


@pytest.mark.live
@pytest.mark.slow  # three namespaces, child interpreters and three collections: about 4 s
def test_an_unsteered_table_delivers_nothing_and_lbaudit_passes_it():
    require_namespaces()
    import subprocess
    import sys

    host_ns, server_ns, peer_ns = unique_name("lbuh"), unique_name("lbus"), unique_name("lbup")
    for name in (host_ns, server_ns, peer_ns):
        ip("netns", "add", name)
    serving = None
    try:
        ip("-n", host_ns, "link", "set", "lo", "up")
        link = join_by_veth(server_ns, peer_ns, "10.194.0", "lbuv")
        ip("-n", peer_ns, "route", "add", "203.0.113.0/24", "via", "10.194.0.1")
        ip("-n", server_ns, "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "100")
        serving = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVE],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert serving.stdout is not None and serving.stdout.readline() == "ready\n"

        # no rule looks up table 100: the kernel does not deliver 203.0.113.9 (the namespace does not forward)
        assert _in(peer_ns, SEND, "203.0.113.9", str(PORT)) == "TimeoutError"
        assert _in(peer_ns, SEND, "10.194.0.1", str(PORT)) == "served"
        # before: fail, reachable at 10.194.0.1, 0.0.0.0/0 (the broadcasts and multicast groups a wildcard
        # UDP listener takes from its link are allowed here: test_bindaddr17_broadcast_multicast judges them)
        assert _judged(host_ns, server_ns) == ("pass", ["10.194.0.1", "255.255.255.255", "10.194.0.255", "224.0.0.0/4"])

        # a rule on a firewall mark: the marks are set by firewall rules lbaudit does not read
        ip("-n", server_ns, "rule", "add", "fwmark", "1", "lookup", "100")
        assert _judged(host_ns, server_ns) == ("fail", ["10.194.0.1", "0.0.0.0/0"])
        ip("-n", server_ns, "rule", "del", "fwmark", "1", "lookup", "100")

        # a rule that sends there what arrives on the link: every address is the namespace's own
        ip("-n", server_ns, "rule", "add", "iif", link, "lookup", "100")
        assert _in(peer_ns, SEND, "203.0.113.9", str(PORT)) == "served"
        assert _judged(host_ns, server_ns) == ("fail", ["10.194.0.1", "0.0.0.0/0"])
    finally:
        _stop(serving, server_ns, peer_ns, host_ns)


def _rule(family: int, table: int, action: int = 1, attributes: bytes = b"") -> bytes:
    return rtnetlink.RTMSG.pack(family, 0, 0, 0, table if table < 256 else 252, 0, 0, action, 0) + attributes


def test_the_tables_rules_look_up_are_read_from_each_rule():
    big = struct.pack("=HHI", 8, rtnetlink.FRA_TABLE, 1000)
    assert rtnetlink.parse_rule_table(_rule(socket.AF_INET, 100)) == (socket.AF_INET, 100)
    assert rtnetlink.parse_rule_table(_rule(socket.AF_INET6, 252, attributes=big)) == (socket.AF_INET6, 1000)
    # a blackhole or goto rule looks up no table
    assert rtnetlink.parse_rule_table(_rule(socket.AF_INET, 0, action=6)) is None
    # an l3mdev rule looks up the table of the VRF a packet came in on: any table
    l3mdev = struct.pack("=HHB3x", 5, rtnetlink.FRA_L3MDEV, 1)
    assert rtnetlink.parse_rule_table(_rule(socket.AF_INET, 0, attributes=l3mdev)) == (socket.AF_INET, None)
