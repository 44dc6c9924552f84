"""Hostile params, a policy no host can pass: the bounds of net.ephemeral_port_range taken to start at port 0.

ipv4_local_port_range() (net/ipv4/sysctl_net_ipv4.c) takes each end from 1 to 65535
(ip_local_port_range_min is {1, 1}): writing ``0 65535`` is EINVAL even with
ip_unprivileged_port_start at 0 (checked on Linux 6.18 in a new namespace), and Windows (1025) and
macOS (1024) start higher still.  The params' check that some range can pass counted the ports
from ``min_low`` as written, so ``min_low: 0`` with ``min_pool_size: 65536`` (0-65535) or 65535
(1-65535 holds 65,535, of which connect() searches 65,534), or ``max_high: 0``, loaded as a policy
and then failed every host it judged.  They are now refused with the reason, as other bounds no
range could meet already were.
"""

from __future__ import annotations

import subprocess

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.model.result import Status
from tests.factories import snapshot, sysctl_facts
from tests.netns_env import require_namespaces

RANGE = "net.ipv4.ip_local_port_range"


@pytest.mark.live
def test_the_kernel_refuses_a_range_that_starts_at_port_0():
    require_namespaces()
    script = ("echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start; "
              "echo '0 65535' > /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo refused; "
              "echo '1 65535' > /proc/sys/net/ipv4/ip_local_port_range; cat /proc/sys/net/ipv4/ip_local_port_range")
    done = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=30,
                          check=True)
    assert done.stdout.split() == ["refused", "1", "65535"]


@pytest.mark.parametrize(("params", "message"), [
    ({"min_low": 0, "min_pool_size": 65536},
     r"min_pool_size \(65536\) is larger than the 65534 ports between min_low \(0\) and max_high \(65535\) \(a range "
     r"starts at port 1 at least; of the 65535 from there, an odd number, connect\(\) searches 65534\): "
     r"no range could pass"),
    ({"min_low": 0, "min_pool_size": 65535},
     r"min_pool_size \(65535\) is larger than the 65534 ports between min_low \(0\) and max_high \(65535\)"),
    ({"min_low": 0, "max_high": 0, "min_pool_size": 1},
     r"max_high \(0\) is below port 1, where every range starts at least \(the kernel refuses 0\): "
     r"no range could pass"),
])
def test_bounds_that_count_port_0_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        EphemeralRangeParams(**params)


def test_the_widest_range_there_is_still_passes():
    params = EphemeralRangeParams(min_low=0, min_pool_size=65534, forbid_listeners_in_range=False)
    snap = snapshot(listeners=[], netns=None, sysctl=sysctl_facts({
        RANGE: "1\t65535", "net.ipv4.ip_local_reserved_ports": "", "net.ipv4.ip_unprivileged_port_start": "0"}))
    statuses = {o.subject: o.status for o in net_ephemeral_port_range.run(snap, params)}
    assert statuses["ephemeral port pool"] == Status.PASS
    assert statuses["ephemeral port range bounds"] == Status.PASS
