"""net.bind_addresses against real sockets this test opens, collected from the live host.

No traffic is sent: the sockets only listen (or, for UDP, are bound).  Ports are chosen by the
kernel (bind to port 0), so the test does not collide with anything else on the host.
"""

from __future__ import annotations

import os
import socket
from typing import Iterator

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.collect import CollectContext
from auditor.collect.sockets import collect_sockets
from auditor.model.facts import Facts, HostSnapshot
from auditor.model.result import Status
from tests.factories import provenance
from tests.netenv import ipv6_loopback_available

# (protocol, family, bind address, v6only to set or None to leave the default, expected status)
OPENED = [
    ("tcp", socket.AF_INET, "127.0.0.1", None, Status.PASS),
    ("tcp", socket.AF_INET6, "::1", None, Status.PASS),
    ("tcp", socket.AF_INET, "0.0.0.0", None, Status.FAIL),
    ("tcp", socket.AF_INET6, "::", False, Status.FAIL),  # dual-stack: all IPv6 and IPv4
    ("tcp", socket.AF_INET6, "::", True, Status.FAIL),  # IPv6 only, still beyond loopback
    ("udp", socket.AF_INET, "0.0.0.0", None, Status.FAIL),
    ("udp", socket.AF_INET6, "::1", None, Status.PASS),
]




@pytest.fixture
def opened() -> Iterator[list[tuple[str, str, int, bool | None, Status]]]:
    if not ipv6_loopback_available():
        pytest.skip("IPv6 is disabled on this host: :: and ::1 listeners cannot be opened")
    sockets: list[socket.socket] = []
    described = []
    try:
        for protocol, family, address, v6only, expected in OPENED:
            kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
            sock = socket.socket(family, kind)
            sockets.append(sock)
            if v6only is not None:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
            sock.bind((address, 0))
            if protocol == "tcp":
                sock.listen(1)
            described.append((protocol, address, sock.getsockname()[1], v6only, expected))
        yield described
    finally:
        for sock in sockets:
            sock.close()


def _live_snapshot() -> HostSnapshot:
    facts, gaps = collect_sockets(CollectContext(sections=frozenset({"sockets"})))
    return HostSnapshot(provenance=provenance(), facts=Facts(sockets=facts), gaps=gaps)


def _ours(outcomes, opened):
    """Outcomes about the sockets this test opened, keyed by (protocol, address, port)."""
    wanted = {(p, a, port) for p, a, port, _v6, _s in opened}
    found = {}
    for outcome in outcomes:
        detail = outcome.subject_detail
        key = (detail.get("protocol"), detail.get("address"), detail.get("port"))
        if key in wanted:
            found[key] = outcome
    return found


@pytest.mark.live
def test_wildcard_listeners_fail_and_loopback_ones_pass(opened):
    snap = _live_snapshot()
    outcomes = net_bind_addresses.run(snap, BindAddressParams())
    ours = _ours(outcomes, opened)
    assert set(ours) == {(p, a, port) for p, a, port, _v6, _s in opened}, "the collector missed a socket we opened"

    pid = os.getpid()
    for protocol, address, port, v6only, expected in opened:
        outcome = ours[(protocol, address, port)]
        assert outcome.status == expected, outcome.message
        assert outcome.subject_detail["pid"] == pid
        assert f"pid {pid}" in outcome.subject
        if expected == Status.FAIL:
            assert f":{port} " in outcome.message and f"pid {pid}" in outcome.message
            assert outcome.observed["wildcard"] is True
        if address == "::":
            # The collector read IPV6_V6ONLY back from the kernel; the verdict text says what it means.
            assert outcome.observed["v6only"] is v6only
            words = "dual-stack" if v6only is False else "all IPv6 addresses"
            assert words in outcome.observed["accepts"]
        assert outcome.evidence and outcome.evidence[0].startswith("/facts/sockets/listeners/")
        index = int(outcome.evidence[0].rsplit("/", 1)[1])
        assert snap.facts.sockets.listeners[index].port == port


@pytest.mark.live
def test_an_exception_for_this_executable_allows_its_wildcard_listener(opened):
    exe = os.readlink("/proc/self/exe")
    tcp_wildcard_port = next(port for p, a, port, _v6, _s in opened if (p, a) == ("tcp", "0.0.0.0"))
    params = BindAddressParams(
        exceptions=[{"match": {"exe": exe, "ports": [tcp_wildcard_port], "protocol": "tcp"},
                     "allow": ["any"], "reason": "test service"}]
    )
    ours = _ours(net_bind_addresses.run(_live_snapshot(), params), opened)
    allowed = ours[("tcp", "0.0.0.0", tcp_wildcard_port)]
    assert allowed.status == Status.PASS and "exception 1 (test service)" in allowed.message
    # The other wildcards are on other ports: the exception does not reach them.
    assert ours[("udp", "0.0.0.0", next(port for p, a, port, _v6, _s in opened if p == "udp" and a == "0.0.0.0"))].status == Status.FAIL
