"""Hostile settings, false passes: tcp_tw_reuse judged without the TCP timestamps it needs.

The kernel reuses a TIME_WAIT port for a new outgoing connection only when the closed connection
carried TCP timestamps (tcp_twsk_unique: ``if (tcptw->tw_ts_recent_stamp && ...)``), and with
net.ipv4.tcp_timestamps = 0 (a hardening step many guides give, to hide the uptime) the host never
offers them: tcp_tw_reuse = 1 or 2 then reuses nothing, as 0 does.  A policy that relies on reuse for
capacity (``allowed_tw_reuse: [1, 2]``, as ci-runner.yaml) passed such a host as having it: in a
namespace whose 4-port range is held in TIME_WAIT, a fifth connection fails with EADDRNOTAVAIL under
tcp_tw_reuse = 1 and tcp_timestamps = 0, and succeeds (taking a TIME_WAIT port) with timestamps on.
Now the setting is judged as the kernel acts on it: reuse 1 or 2 with timestamps off is judged as 0
(failing where 0 is not allowed, the message saying why), and not_reviewed where timestamps cannot
be read and only the value's effect decides.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.model.facts import SysctlFacts
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, snapshot, sysctl_facts
from tests.netns_env import named_namespace, sysctl_in

REPO = Path(__file__).resolve().parents[2]
REUSE = "net.ipv4.tcp_tw_reuse"
TIMESTAMPS = "net.ipv4.tcp_timestamps"
SUBJECT = f"sysctl {REUSE}"

# Four connections closed by the client (their ports in TIME_WAIT), a pause of over a second (reuse
# needs a newer timestamp second), then a fifth connection to the same destination.
PROBE = """
import errno, json, socket, time
from auditor.collect import CollectContext
from auditor.collect.sysctl import collect_sysctl
facts, _ = collect_sysctl(CollectContext())
server = socket.socket(); server.bind(("127.0.0.1", 5000)); server.listen(64)
for _ in range(4):
    client = socket.socket(); client.connect(("127.0.0.1", 5000))
    accepted, _ = server.accept(); client.close(); accepted.recv(1); accepted.close()
time.sleep(1.5)
refused = None
try:
    socket.socket().connect(("127.0.0.1", 5000))
except OSError as exc:
    refused = errno.errorcode.get(exc.errno)
print(json.dumps({"sysctl": facts.model_dump(mode="json"), "refused": refused}))
"""


def reuse_finding(sysctl: SysctlFacts, allowed: list[int]):
    [found] = [o for o in net_time_wait.run(snapshot(listeners=[], sysctl=sysctl, netns=None),
                                            TimeWaitParams(allowed_tw_reuse=allowed)) if o.subject == SUBJECT]
    return found


def in_namespace(timestamps: str) -> dict:
    with named_namespace() as name:
        sysctl_in(name, "net.ipv4.ip_local_port_range", "40000 40003")
        sysctl_in(name, REUSE, "1")
        sysctl_in(name, TIMESTAMPS, timestamps)
        done = subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", PROBE], capture_output=True,
                              text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    return json.loads(done.stdout)


@pytest.mark.live
def test_with_timestamps_off_reuse_reuses_nothing_and_is_not_passed_as_allowed():
    found = in_namespace("0")
    assert found["refused"] == "EADDRNOTAVAIL"  # tcp_tw_reuse = 1 took no TIME_WAIT port
    result = reuse_finding(SysctlFacts.model_validate(found["sysctl"]), [1, 2])
    assert result.status == Status.FAIL  # was pass: "tcp_tw_reuse = 1 ... is allowed"
    assert result.message == (
        "net.ipv4.tcp_tw_reuse = 1 (reuse TIME_WAIT ports for all outgoing connections (needs TCP timestamps)), but "
        "net.ipv4.tcp_timestamps = 0: no connection carries timestamps, so no TIME_WAIT port is ever reused and the "
        "host acts as with tcp_tw_reuse = 0 (off); allowed: 1, 2")
    assert "/facts/sysctl/runtime/net.ipv4.tcp_timestamps" in result.evidence


@pytest.mark.live
def test_control_case_with_timestamps_on_reuse_takes_a_time_wait_port_and_passes():
    found = in_namespace("1")
    assert found["refused"] is None
    assert reuse_finding(SysctlFacts.model_validate(found["sysctl"]), [1, 2]).status == Status.PASS


def test_reuse_without_timestamps_passes_where_off_is_allowed_and_says_it_is_inert():
    result = reuse_finding(sysctl_facts({**LINUX_DEFAULT_SYSCTLS, REUSE: "2", TIMESTAMPS: "0"}), [0, 2])
    assert result.status == Status.PASS
    assert result.message == (
        "net.ipv4.tcp_tw_reuse = 2 (reuse TIME_WAIT ports for outgoing loopback connections only, the kernel "
        "default), but net.ipv4.tcp_timestamps = 0: no connection carries timestamps, so no TIME_WAIT port is ever "
        "reused and the host acts as with tcp_tw_reuse = 0 (off), which is allowed")


def test_a_value_not_allowed_still_fails_as_written():
    # 1 is configured and takes effect once timestamps are on: the policy forbids the setting
    result = reuse_finding(sysctl_facts({**LINUX_DEFAULT_SYSCTLS, REUSE: "1", TIMESTAMPS: "0"}), [0, 2])
    assert result.status == Status.FAIL


def test_unknown_timestamps_leave_a_reuse_the_policy_relies_on_not_reviewed():
    result = reuse_finding(sysctl_facts({**LINUX_DEFAULT_SYSCTLS, REUSE: "1"}), [1, 2])
    assert result.status == Status.NOT_REVIEWED
    assert result.reason is not None and result.reason.startswith(
        "net.ipv4.tcp_tw_reuse = 1 is allowed, but it reuses TIME_WAIT ports only where TCP timestamps are on, "
        "and net.ipv4.tcp_timestamps could not be read: ")
    # where off is allowed too, the value passes whatever the timestamps
    assert reuse_finding(sysctl_facts({**LINUX_DEFAULT_SYSCTLS, REUSE: "1"}), [0, 1]).status == Status.PASS
