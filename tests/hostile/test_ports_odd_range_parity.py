"""Hostile judging, false passes: a range of an odd number of ports gives connect() one port fewer.

__inet_hash_connect() (net/ipv4/inet_hashtables.c, Linux 4.6 and later) walks ``high - low + 1``
ports rounded down to even: one parity from an even offset, then the other.  A range of an odd
number of ports therefore loses one port to every connect(): 40000-40002 gives two connections
before EADDRNOTAVAIL, and 40002 is never handed out.  lbaudit counted high - low + 1, so that range
passed ``min_pool_size: 3`` ("3 ports, at least the minimum 3"), and the TIME_WAIT headroom of
0.05 connections a second (3 ports held for 60 s) passed at 100% of a pool that holds two.

``test_the_kernel_gives_two_connections_and_lbaudit_counts_two`` sets the range in a namespace the
test creates, opens connections on its loopback until the kernel refuses one, and judges the
sysctls lbaudit's own collector reads there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.model.facts import SysctlFacts
from auditor.model.result import Status
from tests.factories import snapshot, sysctl_facts
from tests.netns_env import named_namespace, sysctl_in

REPO = Path(__file__).resolve().parents[2]
RANGE = "net.ipv4.ip_local_port_range"
RESERVED = "net.ipv4.ip_local_reserved_ports"

# In the namespace: lbaudit's sysctl collector, then connections to a loopback listener (port 5000,
# outside the range) held open until the kernel refuses one; prints the facts and the ports given.
PROBE = """
import errno, json, socket
from auditor.collect import CollectContext
from auditor.collect.sysctl import collect_sysctl
facts, _ = collect_sysctl(CollectContext())
server = socket.socket(); server.bind(("127.0.0.1", 5000)); server.listen(64)
held, ports, refused = [], [], None
for _ in range(64):
    client = socket.socket()
    try:
        client.connect(("127.0.0.1", 5000))
    except OSError as exc:
        refused = errno.errorcode.get(exc.errno)
        break
    held.append(client); ports.append(client.getsockname()[1])
print(json.dumps({"sysctl": facts.model_dump(mode="json"), "ports": sorted(ports), "refused": refused}))
"""


def pool_finding(values: dict[str, str], minimum: int):
    snap = snapshot(listeners=[], sysctl=sysctl_facts(values), netns=None)
    [pool] = [o for o in net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=minimum,
                                                                                 forbid_listeners_in_range=False))
              if o.subject == "ephemeral port pool"]
    return pool


def headroom_finding(values: dict[str, str], rate: float, maximum: float):
    snap = snapshot(listeners=[], sysctl=sysctl_facts(values), netns=None)
    outcomes = net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=rate,
                                                       max_pool_utilization=maximum))
    [found] = [o for o in outcomes if o.subject == "ephemeral pool headroom at the declared peak connection rate"]
    return found


@pytest.mark.live
def test_the_kernel_gives_two_connections_and_lbaudit_counts_two():
    with named_namespace() as name:
        sysctl_in(name, RANGE, "40000 40002")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", PROBE], capture_output=True,
                              text=True, timeout=60, env=env, check=True)
    found = json.loads(done.stdout)
    assert (found["ports"], found["refused"]) == ([40000, 40001], "EADDRNOTAVAIL")
    facts = SysctlFacts.model_validate(found["sysctl"])
    assert facts.runtime is not None and facts.runtime[RANGE].value.split() == ["40000", "40002"]
    snap = snapshot(listeners=[], sysctl=facts, netns=None)
    [pool] = [o for o in net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=3,
                                                                                 forbid_listeners_in_range=False))
              if o.subject == "ephemeral port pool"]
    assert pool.status == Status.FAIL
    assert pool.observed["searched_by_connect"] == len(found["ports"]) == 2  # type: ignore[index]
    assert pool.message == (
        "the ephemeral pool has 3 ports (40000-40002, 0 of them reserved), and 2 usable: the range holds an "
        "odd number of ports, and the kernel's connect() searches an even number of them, so one is left out of "
        "every search, fewer than the minimum 3")


def test_an_odd_range_at_exactly_the_minimum_fails():
    pool = pool_finding({RANGE: "32768\t61000", RESERVED: ""}, 28_233)
    assert (pool.status, pool.observed["pool_size"], pool.observed["searched_by_connect"]) == (  # type: ignore[index]
        Status.FAIL, 28_233, 28_232)


def test_the_even_default_range_is_searched_whole():
    pool = pool_finding({RANGE: "32768\t60999", RESERVED: ""}, 28_232)
    assert (pool.status, pool.observed["searched_by_connect"]) == (Status.PASS, 28_232)  # type: ignore[index]
    assert "usable" not in pool.message


@pytest.mark.parametrize("reserved, searched", [
    ("", 4),             # 40000-40004: one search walks 40000-40003, another 40001-40004
    ("40000", 3),        # 40001-40003 free in the first window
    ("40004", 3),        # and in the second
    ("40000,40004", 3),  # every search still finds 40001-40003
    ("40002", 3),
])
def test_reserved_ports_are_counted_in_the_window_each_search_walks(reserved, searched):
    pool = pool_finding({RANGE: "40000\t40004", RESERVED: reserved}, 1)
    assert pool.observed["searched_by_connect"] == searched  # type: ignore[index]


def test_one_port_is_one_port():
    pool = pool_finding({RANGE: "40000\t40000", RESERVED: ""}, 1)
    assert (pool.status, pool.observed["searched_by_connect"]) == (Status.PASS, 1)  # type: ignore[index]


def test_an_unread_reserved_list_still_fails_an_odd_range_too_small_to_search():
    snap = snapshot(listeners=[], sysctl=sysctl_facts({RANGE: "40000\t40002"}), netns=None)
    [pool] = [o for o in net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=3,
                                                                                 forbid_listeners_in_range=False))
              if o.subject == "ephemeral port pool"]
    assert pool.status == Status.FAIL
    assert pool.observed["searched_by_connect"] == 2  # type: ignore[index]


def test_the_headroom_of_three_ports_held_is_judged_against_the_two_searched():
    found = headroom_finding({RANGE: "40000\t40002", RESERVED: ""}, 0.05, 1.0)
    assert found.status == Status.FAIL
    assert found.observed["pool_size"] == 2  # type: ignore[index]
    assert "= 163% of the 2-port pool" in found.message  # 0.05/s x 65.12 s = 3.256 ports


def test_a_minimum_only_an_odd_range_at_the_bounds_could_meet_is_refused():
    # 1025-65535 is 64,511 ports, of which connect() searches 64,510: no range within the bounds passes
    with pytest.raises(ValueError, match=r"larger than the 64510 ports between min_low \(1025\) and max_high "
                                         r"\(65535\) \(of the 64511 there, an odd number, connect\(\) searches "
                                         r"64510\): no range could pass"):
        EphemeralRangeParams(min_pool_size=64_511, min_low=1025)
    assert EphemeralRangeParams(min_pool_size=64_510, min_low=1025).min_pool_size == 64_510
