"""A snapshot of thousands of network namespaces is judged in time linear in them and its gaps.

Each namespace judged as a snapshot of its own (``_namespaces.as_snapshot``: net.time_wait,
net.ephemeral_port_range, net.bind_addresses) took its gaps by reading every gap of the snapshot
again; audit.socket_logging read every gap again for each namespace's tcp_fastopen; and
net.bind_addresses looked each namespace up in the list of all of them (``list.index``, comparing
pydantic models field by field) to find its TPROXY gaps, reading every gap again too.  A hostile
or very large host's snapshot of 5,000 namespaces (the fleet's limit), four gaps each (transports
not in the kernel, as the collector writes for every namespace; 20,000 of the 50,000 gaps allowed),
took 48 s, 28 s and 90 s in these three (1,000 namespaces took 23 s to evaluate, 7 s now).  The
gaps are now read once a snapshot into an index by namespace (``_namespaces.gaps_by_namespace``),
and each namespace is judged at the index it is listed at; what is judged is the same.
"""

from __future__ import annotations

import time

import pytest

from auditor.checks import _namespaces
from auditor.checks.audit_socket_logging import _running_fastopen
from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import Gap, GapKind, NamespaceFacts, NetInterface, NetNamespace, SocketCounts
from auditor.model.result import Status
from tests.checks.test_net_namespaces import MACVLAN, host_namespace, sysctls
from tests.factories import listener, snapshot

pytestmark = pytest.mark.slow  # thousands of namespaces, built and judged

NAMESPACES = 5_000
LO = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8", "::1/128"])
SECONDS = 5  # they took 28-90 s; linear, about a second


def many_namespaces(count: int = NAMESPACES):
    """``count`` namespaces (one container's each: entered, nothing listening, TPROXY rules not read),
    each with the gaps the collector gives every namespace of a kernel without SCTP and DCCP, and
    one without its tcp_fastopen, whose gap must still be the one named."""
    namespaces = [NetNamespace(inode=4026540000 + i, device=4, pids=[10_000 + i], entered=True, interfaces=[LO],
                               listeners=[], counts=SocketCounts(time_wait=0, tcp_by_state={"TIME_WAIT": 0}),
                               sysctl=sysctls(), local_routes=[], tproxy=None)
                  for i in range(count)]
    last = count  # the host is at 0
    del namespaces[-1].sysctl["net.ipv4.tcp_fastopen"]  # type: ignore[union-attr]
    # a listener allowed where it is bound, whose IP_TRANSPARENT is unknown, in a namespace with a
    # link beyond the host whose TPROXY rules could not be read
    namespaces[-1].interfaces.append(MACVLAN)  # type: ignore[union-attr]
    namespaces[-1].listeners.append(listener("10.201.0.2", 8080, transparent=None, uid=0, user="root", inode=77))  # type: ignore[union-attr]
    gaps = [Gap(section="netns", path=("namespaces", index, "listeners", protocol), kind=GapKind.NOT_APPLICABLE,
                reason=f"{protocol.upper()} is not available in this kernel")
            for index in range(1, count + 1) for protocol in ("dccp", "sctp", "udplite", "mptcp")]
    gaps += [Gap(section="netns", path=("namespaces", last, "sysctl", "net.ipv4.tcp_fastopen"), reason="EACCES on it"),
             Gap(section="netns", path=("namespaces", last, "tproxy"), reason="nft was not found")]
    return snapshot(listeners=[], gaps=gaps, netns=NamespaceFacts(namespaces=[host_namespace(), *namespaces],
                                                                  published=[], published_sources=["nat"]))


def timed(call):
    started = time.process_time()
    result = call()
    return result, time.process_time() - started


def test_each_namespace_takes_its_own_gaps_in_linear_time():
    snap = many_namespaces()
    seen = []
    _, took = timed(lambda: _namespaces.judge_each(snap, lambda one: seen.append(one) or []))
    assert took < SECONDS, f"judging {NAMESPACES} namespaces took {took:.1f} s"
    assert len(seen) == NAMESPACES + 1  # the host, then each other namespace as a snapshot of its own
    assert [g.path for g in seen[1].gaps] == [("listeners", p) for p in ("dccp", "sctp", "udplite", "mptcp")]
    assert [g.path for g in seen[NAMESPACES].gaps] == [*(("listeners", p) for p in ("dccp", "sctp", "udplite", "mptcp")),
                                                       ("runtime", "net.ipv4.tcp_fastopen")]


def test_tcp_fastopen_of_each_namespace_in_linear_time():
    snap = many_namespaces()
    found, took = timed(lambda: _running_fastopen(snap))
    assert took < SECONDS, f"tcp_fastopen of {NAMESPACES} namespaces took {took:.1f} s"
    assert len(found) == NAMESPACES + 1
    where, value, why, pointer = found[-1]
    assert value is None and why == "EACCES on it"
    assert pointer == f"/facts/netns/namespaces/{NAMESPACES}/sysctl/net.ipv4.tcp_fastopen"
    assert all(value is not None for _where, value, _why, _pointer in found[1:-1])


def test_tproxy_doubt_of_each_namespace_in_linear_time():
    snap = many_namespaces()
    outcomes, took = timed(lambda: net_bind_addresses.run(snap, BindAddressParams(allow=["loopback", "10.201.0.2"])))
    assert took < SECONDS, f"net.bind_addresses over {NAMESPACES} namespaces took {took:.1f} s"
    [doubted] = [o for o in outcomes if "10.201.0.2:8080" in o.subject]
    assert doubted.status == Status.NOT_REVIEWED, doubted
    assert "TPROXY rules are unknown (nft was not found)" in doubted.message, doubted.message
