"""Hostile judging, false passes: ports TCP listeners hold inside the range are never given to connect().

__inet_hash_connect() (net/ipv4/inet_hashtables.c) skips every port whose bind bucket a bind()
made (``tb->fastreuse >= 0 || tb->fastreuseport >= 0``): a TCP (or MPTCP, whose subflow listens on
TCP) listener inside ip_local_port_range takes its port out of every outgoing connection's search,
whatever address it is bound to.  In a namespace with the range 40000-40003 and a listener on
127.0.0.2:40001, the fourth connect() to 127.0.0.1:5000 fails with EADDRNOTAVAIL and 40001 is never
handed out.  lbaudit counted the range's four ports: ``min_pool_size: 4`` passed (with
forbid_listeners_in_range off), and 0.045 new connections a second (2.93 ports held for 65.12 s)
passed the headroom at 73% of a pool that holds three.  A UDP socket on a port of the range does not take
it from TCP (another table), and neither does a listener on a reserved port (never searched).
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
from auditor.model.facts import SocketFacts, SysctlFacts
from auditor.model.result import Status
from tests.factories import install_procps_boot, listener, snapshot, sysctl_facts
from tests.netns_env import named_namespace, sysctl_in

REPO = Path(__file__).resolve().parents[2]
RANGE = "net.ipv4.ip_local_port_range"
RESERVED = "net.ipv4.ip_local_reserved_ports"
POOL = "ephemeral port pool"
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"


def at_worst_hz(collected: dict) -> SysctlFacts:
    """The collected sysctls without the kernel's HZ: the figures here are worked out for the
    coarsest HZ's 65.12 s (what the kernel's HZ changes is tests/hostile/test_pool_kernel_hz.py's)."""
    return SysctlFacts.model_validate({**collected, "kernel_hz": None})

# In the namespace: a TCP listener on 127.0.0.2:40001 and a UDP socket on 40002, lbaudit's sysctl
# and socket collectors, then connections to a loopback listener outside the range until refused.
PROBE = """
import errno, json, socket
from auditor.collect import CollectContext
from auditor.collect.sockets import collect_sockets
from auditor.collect.sysctl import collect_sysctl
inside = socket.socket(); inside.bind(("127.0.0.2", 40001)); inside.listen(8)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 40002))
server = socket.socket(); server.bind(("127.0.0.1", 5000)); server.listen(64)
sysctl, _ = collect_sysctl(CollectContext())
sockets, _ = collect_sockets(CollectContext())
held, ports, refused = [], [], None
for _ in range(16):
    client = socket.socket()
    try:
        client.connect(("127.0.0.1", 5000))
    except OSError as exc:
        refused = errno.errorcode.get(exc.errno)
        break
    held.append(client); ports.append(client.getsockname()[1])
print(json.dumps({"sysctl": sysctl.model_dump(mode="json"), "sockets": sockets.model_dump(mode="json"),
                  "ports": sorted(ports), "refused": refused}))
"""


def judged(snap):
    outcomes = net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=4, min_low=1024,
                                                                       forbid_listeners_in_range=False))
    outcomes += net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=0.045,
                                                       max_pool_utilization=0.8))
    return {o.subject: o for o in outcomes if o.subject in (POOL, HEADROOM)}


@pytest.mark.live
def test_the_kernel_gives_three_connections_and_lbaudit_counts_three():
    with named_namespace() as name:
        sysctl_in(name, RANGE, "40000 40003")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", PROBE], capture_output=True,
                              text=True, timeout=60, env=env, check=True)
    found = json.loads(done.stdout)
    assert (found["ports"], found["refused"]) == ([40000, 40002, 40003], "EADDRNOTAVAIL")
    sockets = SocketFacts.model_validate(found["sockets"])
    snap = snapshot(listeners=sockets.listeners, sysctl=at_worst_hz(found["sysctl"]), netns=None)
    result = judged(snap)
    assert result[POOL].status == Status.FAIL  # was pass: 4 ports
    assert result[POOL].observed["searched_by_connect"] == len(found["ports"]) == 3  # type: ignore[index]
    assert result[POOL].message == (
        "the ephemeral pool has 3 ports (40000-40003, 0 of them reserved, 1 held by TCP listeners: 40001), fewer "
        "than the minimum 4")
    assert result[HEADROOM].status == Status.FAIL  # was pass: 73% of 4
    assert "= 98% of the 3-port pool (without the 1 port TCP listeners hold in the range)" in result[HEADROOM].message


def values(reserved: str = "") -> SysctlFacts:
    return sysctl_facts({RANGE: "40000\t40003", RESERVED: reserved, "net.ipv4.tcp_max_tw_buckets": "262144"})


@pytest.mark.parametrize("listeners, pool", [
    ([listener("127.0.0.1", 40001, "udp")], 4),                  # UDP's ports are another table
    ([listener("127.0.0.1", 40001, "sctp")], 4),                 # and SCTP's
    ([listener("::", 40001), listener("0.0.0.0", 40001)], 3),   # one port, however many listeners
    ([listener("127.0.0.1", 40001, "mptcp")], 3),                # MPTCP listens on TCP too
    ([listener("127.0.0.1", 5000)], 4),                          # outside the range
])
def test_only_tcp_ports_inside_the_range_are_taken(listeners, pool):
    result = judged(snapshot(listeners=listeners, sysctl=values(), netns=None))
    assert result[POOL].observed["searched_by_connect"] == pool  # type: ignore[index]


def test_a_listener_on_a_reserved_port_is_counted_once():
    result = judged(snapshot(listeners=[listener("127.0.0.1", 40001)], sysctl=values("40001"), netns=None))
    assert result[POOL].observed["searched_by_connect"] == 3  # type: ignore[index]
    assert result[POOL].message == ("the ephemeral pool has 3 ports (40000-40003, 1 of them reserved), fewer than "
                                    "the minimum 4")


def test_unread_listeners_are_said_not_subtracted():
    # A pass here was a pass on a pool the unread listeners may have made smaller (one on 40001 leaves
    # three): not_reviewed since pool21 (tests/hostile/test_pool21_pool_unseen_listeners.py).
    result = judged(snapshot(listeners=None, sysctl=values(), netns=None))
    assert result[POOL].status == Status.NOT_REVIEWED
    assert result[POOL].reason == (
        "the ephemeral pool has 4 ports (40000-40003, 0 of them reserved), at least the minimum 4, but the listening "
        "sockets could not be read (the listening sockets were not collected (no reason recorded)): the ports TCP "
        "listeners hold in the range, which connect() never takes, are not known, so the pool may be smaller than "
        "that")


def test_an_images_socket_unit_inside_the_range_is_taken_and_the_rest_said_unknown(tmp_path):
    from auditor.collect.rootdir import collect_root

    root = tmp_path / "image"
    (root / "etc/sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc/sysctl.d/50-ports.conf").write_text(f"{RANGE} = 40000 40003\n")
    units = root / "etc/systemd/system"
    (units / "sockets.target.wants").mkdir(parents=True)
    (units / "inside.socket").write_text("[Socket]\nListenStream=40001\n[Install]\nWantedBy=sockets.target\n")
    (units / "sockets.target.wants/inside.socket").symlink_to("/etc/systemd/system/inside.socket")
    result = judged(collect_root(root, frozenset({"sysctl", "sockets"})))
    assert result[POOL].status == Status.FAIL
    assert result[POOL].message == (
        "the ephemeral pool has 3 ports (40000-40003, 0 of them reserved, 1 held by TCP listeners: 40001; the "
        "listeners are not all known (not read, or only those an image's socket units declare), so ports other TCP "
        "listeners hold inside the range, which connect() never takes, are not subtracted), fewer than the minimum 4")
