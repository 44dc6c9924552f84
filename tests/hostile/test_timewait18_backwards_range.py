"""A backwards ip_local_port_range was judged as an empty pool: false failures of facts not known.

The kernel refuses a range whose low end is above its high end (ipv4_local_port_range: EINVAL, the
range in force stays; below, in a namespace), so no kernel holds "60999 32768", and an image whose
sysctl.d writes it boots with the range it had.  lbaudit built a pool of it anyway, of 0 ports:
``net.ephemeral_port_range`` failed "the ephemeral pool has 0 ports", and ``net.time_wait`` failed
the headroom "the ephemeral pool is empty: no outgoing connection can get a port" and the TIME_WAIT
share "the ephemeral pool is empty", on an image that boots with 28,232 ports.  The listener
finding already said "the range it really uses is not known".  The pool is now unknown wherever the
range runs backwards: the pool, headroom and share findings are not_reviewed, naming it, while the
bounds finding still fails "the low end 60999 is above the high end 32768" (the configuration is
wrong, whatever the kernel then keeps).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.model.facts import HostSnapshot
from tests.factories import install_procps_boot, snapshot, sysctl_facts
from tests.netns_env import named_namespace

RANGE = "net.ipv4.ip_local_port_range"
POOL = "ephemeral port pool"
BOUNDS = "ephemeral port range bounds"
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"
SHARE = "TIME_WAIT share of the ephemeral pool"


def judged(snap: HostSnapshot) -> dict[str, tuple[str, str]]:
    outcomes = net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=16384))
    outcomes += net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=100, max_time_wait_share=0.5))
    return {o.subject: (o.status.value, o.message) for o in outcomes if o.subject in (POOL, BOUNDS, HEADROOM, SHARE)}


@pytest.mark.live
def test_the_kernel_refuses_a_backwards_range_and_keeps_its_own():
    with named_namespace() as name:
        written = subprocess.run(["ip", "netns", "exec", name, "sysctl", "-w", f"{RANGE}=60999 32768"],
                                 capture_output=True, text=True, timeout=10)
        kept = subprocess.run(["ip", "netns", "exec", name, "cat", "/proc/sys/net/ipv4/ip_local_port_range"],
                              capture_output=True, text=True, timeout=10, check=True)
    assert written.returncode != 0 and "Invalid argument" in written.stderr
    assert kept.stdout.split() == ["32768", "60999"]


def test_an_image_that_writes_a_backwards_range_has_no_known_pool(tmp_path: Path):
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-ports.conf").write_text(f"{RANGE} = 60999 32768\n")
    found = judged(collect_root(root, frozenset({"sysctl", "sockets"})))
    assert found[BOUNDS] == ("fail", "ephemeral range 60999-32768: the low end 60999 is above the high end 32768")
    # was fail: "the ephemeral pool has 0 ports (60999-32768, 0 of them reserved), fewer than the minimum 16,384"
    assert found[POOL][0] == "not_reviewed", found[POOL]
    # was fail: "the ephemeral pool is empty: no outgoing connection can get a port"
    assert found[HEADROOM][0] == "not_reviewed", found[HEADROOM]
    for subject in (POOL, HEADROOM):
        assert "60999 32768 (/etc/sysctl.d/60-ports.conf:1) runs backwards" in found[subject][1]
        assert "refused by the kernel" in found[subject][1]


def test_a_running_backwards_range_no_kernel_printed_has_no_known_pool():
    facts = sysctl_facts(net__ipv4__ip_local_port_range="60999 32768")
    found = judged(snapshot(listeners=[], time_wait=20000, sysctl=facts, netns=None))
    assert found[BOUNDS][0] == "fail"
    # was fail: 0 ports; the headroom "is empty"; the share "20,000 sockets ... and the pool is empty"
    for subject in (POOL, HEADROOM, SHARE):
        assert found[subject][0] == "not_reviewed", found[subject]
        assert "runs backwards" in found[subject][1] and "not a value the kernel holds" in found[subject][1]


def test_control_case_a_range_of_one_port_is_still_a_pool():
    facts = sysctl_facts(net__ipv4__ip_local_port_range="40000 40000")
    found = judged(snapshot(listeners=[], time_wait=0, sysctl=facts, netns=None))
    assert found[POOL][0] == "fail" and "has 1 ports" in found[POOL][1]
    assert found[BOUNDS][0] == "pass"
    assert found[HEADROOM][0] == "fail"
