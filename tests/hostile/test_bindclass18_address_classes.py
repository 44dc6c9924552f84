"""Hostile corpus, false passes: addresses that look loopback, private or link-local but are not.

The named sets are the policy's words, not Python's ``ipaddress.is_private`` (which also calls
100.64.0.0/10's neighbours 192.0.0.0/24 and 198.18.0.0/15, 64:ff9b:1::/48 and others private, and
says nothing of what reaches a socket): ``loopback`` is 127.0.0.0/8 and ::1, ``private`` RFC 1918
and fc00::/7, ``link-local`` 169.254.0.0/16 and fe80::/10 (netaddr.NAMED_SETS).  An IPv4-mapped
address (``::ffff:a.b.c.d``) is the IPv4 address a.b.c.d, as the kernel delivers IPv4 to it; every
other IPv6 address is itself, whatever IPv4 address it embeds: an IPv4-compatible ``::127.0.0.1``,
NAT64's ``64:ff9b::10.0.0.1`` and 6to4's ``2002:a00:1::1`` are IPv6 addresses of an interface,
reachable from its link, and so are CGNAT, benchmarking and site-local addresses.

Real sockets bound to real addresses of a veth link in a network namespace of the test's own,
collected and judged with every named set but ``any`` allowed: each look-alike fails, and the
listeners the sets do name pass.  (These held already; the test keeps them so.)
"""

from __future__ import annotations

import socket
import subprocess

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from tests.hostile.test_listeners_holders import _in_own_namespace
from tests.privileges import require_root

LOOK_ALIKES = ["::127.0.0.1", "64:ff9b::a00:1", "64:ff9b::7f00:1", "2002:a00:1::1", "fec0::1", "100.64.0.1",
               "198.18.0.1", "192.0.0.8", "0.1.2.3", "ff02::1:3"]
NAMED = ["127.0.0.2", "::1", "::ffff:127.0.0.1", "10.0.0.1", "::ffff:10.0.0.1", "fd00::1", "169.254.7.7",
         "::ffff:169.254.7.7"]


def _bind(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM if address.startswith("ff") else socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if address == "::127.0.0.1":  # an IPv4-compatible address is never local: bound ahead of it (IPV6_FREEBIND)
        sock.setsockopt(socket.IPPROTO_IPV6, 78, 1)
    if address.startswith("ff"):
        sock.bind((address, port, 0, socket.if_nametoindex("d0")))
    else:
        sock.bind((address, port))
        sock.listen()
    return sock


@pytest.mark.live
def test_look_alikes_of_the_named_sets_fail_and_the_named_addresses_pass():
    require_root()

    def scenario():
        from auditor.collect.live import collect_live

        for command in (["ip", "link", "set", "lo", "up"], ["ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"],
                        ["ip", "link", "set", "d1", "up"],
                        ["ip", "link", "set", "d0", "up"],
                        *(["ip", "addr", "add", f"{a}/{128 if ':' in a else 32}", "dev", "d0", "nodad"
                           if ":" in a else "noprefixroute"]
                          for a in [*LOOK_ALIKES, *NAMED] if not a.startswith(("ff", "::ffff:", "127.", "::1"))),
                        ["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]):
            subprocess.run(command, check=True, capture_output=True)
        held = {}
        # A port of its own for each address: with SO_REUSEADDR the kernel hands port 0 binds on
        # different addresses the same port, and the judgements are told apart by port.
        for port, address in enumerate([*LOOK_ALIKES, *NAMED], start=41000):
            try:
                sock = _bind(address, port)
            except OSError as exc:
                raise OSError(f"{address}: {exc}") from None
            held[sock.getsockname()[1]] = (address, sock)
        taken = collect_live(frozenset({"sockets"}))
        params = BindAddressParams.model_validate({"allow": ["loopback", "private", "link-local"]})
        judged = {int(o.subject_detail["port"]): o.status.value for o in net_bind_addresses.run(taken, params)
                  if o.subject_detail.get("port")}
        return {address: judged.get(port) for port, (address, _sock) in held.items()}

    found = _in_own_namespace(scenario)
    assert {a: found[a] for a in LOOK_ALIKES} == dict.fromkeys(LOOK_ALIKES, "fail")
    assert {a: found[a] for a in NAMED} == dict.fromkeys(NAMED, "pass")
