"""Hostile figures, false passes: a declared peak that holds the whole pool in TIME_WAIT passed at a maximum of 100%.

``max_pool_utilization`` may be 1 (a policy that fails only past the pool), and the headroom passed
whenever ``rate x 60 s / pool`` was at most it: 470.5333 new connections a second on the default
range hold 28,232 ports, every port of the pool, and passed as "= 100% of the 28,232-port pool ...,
at most 100%".  With every port in TIME_WAIT the next connect() to that destination finds none and
fails with EADDRNOTAVAIL (below: a namespace whose four ports all sit in TIME_WAIT refuses the fifth
connection; tcp_tw_reuse is 0 there, else loopback connections reuse TIME_WAIT ports), and the
connections still open hold ports too.  A pool the peak fills is now a failure whatever the maximum.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.model.facts import KernelHz, SysctlFacts
from auditor.model.result import Status
from tests.factories import snapshot, sysctl_facts
from tests.netns_env import named_namespace, sysctl_in

REPO = Path(__file__).resolve().parents[2]
RANGE = "net.ipv4.ip_local_port_range"
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"

# In the namespace: lbaudit's sysctl collector, then four connections closed by the client (each
# port in TIME_WAIT for 60 s at least) and a fifth connection to the same destination.
PROBE = """
import errno, json, socket
from auditor.collect import CollectContext
from auditor.collect.sysctl import collect_sysctl
facts, _ = collect_sysctl(CollectContext())
server = socket.socket(); server.bind(("127.0.0.1", 5000)); server.listen(64)
ports = []
for _ in range(4):
    client = socket.socket(); client.connect(("127.0.0.1", 5000)); ports.append(client.getsockname()[1])
    accepted, _ = server.accept(); client.close(); accepted.recv(1); accepted.close()
refused = None
try:
    socket.socket().connect(("127.0.0.1", 5000))
except OSError as exc:
    refused = errno.errorcode.get(exc.errno)
print(json.dumps({"sysctl": facts.model_dump(mode="json"), "ports": sorted(ports), "refused": refused}))
"""


def headroom(sysctl: SysctlFacts, rate: float, maximum: float):
    outcomes = net_time_wait.run(snapshot(listeners=[], sysctl=sysctl, netns=None),
                                 TimeWaitParams(peak_new_connections_per_second=rate, max_pool_utilization=maximum))
    [found] = [o for o in outcomes if o.subject == HEADROOM]
    return found


@pytest.mark.live
def test_a_pool_held_whole_in_time_wait_refuses_the_next_connection():
    with named_namespace() as name:
        sysctl_in(name, RANGE, "40000 40003")
        sysctl_in(name, "net.ipv4.tcp_tw_reuse", "0")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", PROBE], capture_output=True,
                              text=True, timeout=60, env=env, check=True)
    found = json.loads(done.stdout)
    assert (found["ports"], found["refused"]) == ([40000, 40001, 40002, 40003], "EADDRNOTAVAIL")
    # four connections a minute hold the four ports: the pool is full at the peak
    result = headroom(SysctlFacts.model_validate(found["sysctl"]), 4 / 60, 1.0)
    assert result.status == Status.FAIL  # was pass: "= 100% of the 4-port pool ..., at most 100%"


def test_the_default_pool_filled_by_the_declared_peak_fails_at_a_maximum_of_100_percent():
    # A rate that fills the pool exactly as written: at HZ 128 TIME_WAIT holds a port 64 s at the
    # most, and 441.125/s x 64 s is 28,232 ports.  (This was 28_232 / 65.12, whose decimal form,
    # 433.5380835380835, holds 28,231.9999999999975 ports: filled only in binary floating point;
    # the verdict now takes a policy's numbers as written.)
    hz128 = sysctl_facts().model_copy(update={"kernel_hz": KernelHz(hz=128, source="/proc/config.gz: CONFIG_HZ=128")})
    result = headroom(hz128, 441.125, 1.0)
    assert result.status == Status.FAIL
    assert result.observed["utilization"] == 1.0  # type: ignore[index]
    assert result.message.startswith("441.125 new connections/s x 64 s TIME_WAIT (Linux: ")
    assert result.message.endswith(
        "holds 28,232 ports per (source, destination, port) tuple = 100% of the 28,232-port pool (which sustains at "
        "most 441/s): every port of the pool, so the next connection fails with EADDRNOTAVAIL at the peak, whatever "
        "the maximum (100%) allows")


def test_a_pool_not_quite_full_still_passes_the_maximum_it_meets():
    result = headroom(sysctl_facts(), 28_231 / 65.12, 1.0)
    assert result.status == Status.PASS
    assert result.message.endswith("= 99.996% of the 28,232-port pool (which sustains at most 433/s), at most 100%")
