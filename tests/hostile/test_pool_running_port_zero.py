"""Hostile values, false passes: a running ip_local_port_range whose low end is 0 was judged.

The kernel never holds a range that starts at port 0 (ipv4_local_port_range's minimum is {1, 1}:
"0 65535" is EINVAL, whatever ip_unprivileged_port_start is), so a running value "0 65535" was not
printed by a kernel: a snapshot edited, damaged or written by another collector.  Judged as read, it
made a pool of 65,536 ports, port 0 among them (no connection is ever given port 0: it means "any"),
which passed ``min_pool_size: 65534`` with a listener holding one of them, which no kernel's pool
then meets (1-65535 is 65,535 ports, of which connect() searches 65,534, less the listener's), and
its bounds passed ``min_low: 0``.  A configured 0 was already refused
(the boot's write fails); a running one is now not_reviewed, naming the value, on every finding that
needs the range.
"""

from __future__ import annotations

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.model.result import Status
from tests.factories import listener, snapshot, sysctl_facts

REASON = ("net.ipv4.ip_local_port_range = 0 65535 is not a value the kernel holds: the range starts at port 1 at "
          "least (the kernel refuses 0), so this running value was not printed by a kernel (an edited or damaged "
          "snapshot?)")


def judged(value: str):
    snap = snapshot(listeners=[listener("127.0.0.1", 40000)], sysctl=sysctl_facts(net__ipv4__ip_local_port_range=value),
                    netns=None)
    outcomes = net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=65534, min_low=0))
    outcomes += net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=1))
    return {o.subject: o for o in outcomes}


@pytest.mark.parametrize("value", ["0 65535", "0\t65535"])
def test_a_running_range_from_port_0_is_not_reviewed(value):
    found = judged(value)
    for subject in ("ephemeral port pool", "ephemeral port range bounds",
                    "ephemeral pool headroom at the declared peak connection rate"):
        assert found[subject].status == Status.NOT_REVIEWED, subject  # pool and bounds were pass
        assert found[subject].reason == REASON.replace("0 65535", value)
    assert found["listeners in the ephemeral port range"].status == Status.NOT_REVIEWED


def test_control_case_a_running_range_from_port_1_is_judged():
    found = judged("1 65535")
    assert found["ephemeral port pool"].status == Status.FAIL  # 65,535 ports, of which connect() searches 65,534
    assert found["ephemeral port pool"].observed["searched_by_connect"] == 65533  # type: ignore[index]  # less 40000
    assert found["ephemeral port range bounds"].status == Status.PASS
