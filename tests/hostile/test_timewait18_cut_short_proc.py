"""A /proc file read empty or cut short was judged as if the kernel had printed it.

The kernel ends every /proc/sys value and every /proc/net/sockstat line with a newline (an empty
ip_local_reserved_ports reads "\\n"; below).  A read that ends without one is not what the kernel
printed: empty, or cut inside the value.  lbaudit collapsed the newline away and judged what was
left: an empty ip_local_reserved_ports read as "no port reserved", so a pool of 28,232 ports passed
a min_pool_size the real list (say 32768-50000) fails; "32768-50000," cut from
"32768-50000,50001-60999" reserved 11,000 ports fewer than the kernel does; and a sockstat cut
inside "tw 12345" counted 12 sockets in TIME_WAIT, passing a max_time_wait_share that 12,345 fails.
A value without the kernel's closing newline is now a gap (the findings that need it not_reviewed),
and a sockstat without it is refused as the count.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.collect.sockets import read_time_wait
from auditor.collect.sysctl import read_runtime_sysctls
from auditor.model.facts import SysctlFacts
from tests.factories import snapshot

RESERVED = "net.ipv4.ip_local_reserved_ports"
RANGE = "net.ipv4.ip_local_port_range"
POOL = "ephemeral port pool"


@pytest.mark.live
def test_the_kernel_prints_a_newline_after_an_empty_reserved_list_and_after_sockstat():
    assert Path("/proc/sys/net/ipv4/ip_local_reserved_ports").read_bytes().endswith(b"\n")
    assert Path("/proc/net/sockstat").read_bytes().endswith(b"\n")


def _proc_sys(tmp_path: Path, reserved: bytes) -> Path:
    proc_sys = tmp_path / "sys"
    (proc_sys / "net" / "ipv4").mkdir(parents=True)
    (proc_sys / "net" / "ipv4" / "ip_local_port_range").write_bytes(b"32768\t60999\n")
    (proc_sys / "net" / "ipv4" / "ip_local_reserved_ports").write_bytes(reserved)
    return proc_sys


def _pool(proc_sys: Path):
    runtime, gaps = read_runtime_sysctls((RANGE, RESERVED), str(proc_sys))
    snap = snapshot(listeners=[], sysctl=SysctlFacts(runtime=runtime), gaps=gaps, netns=None)
    outcomes = net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=16384))
    return {o.subject: o for o in outcomes}[POOL], gaps


@pytest.mark.parametrize("cut", [b"", b"32768-500", b"32768-50000,"])
def test_a_reserved_list_without_the_kernel_newline_is_not_judged(tmp_path, cut):
    pool, gaps = _pool(_proc_sys(tmp_path, cut))
    # was pass: "" read as no port reserved (28,232 ports); "32768-500" refused only by luck of the cut
    assert pool.status.value == "not_reviewed", pool.message
    assert [g.field for g in gaps] == [f"runtime/{RESERVED}"]
    assert "does not end in the newline the kernel prints after every value" in gaps[0].reason


def test_control_case_the_lists_as_the_kernel_prints_them_are_judged(tmp_path):
    empty, _ = _pool(_proc_sys(tmp_path / "a", b"\n"))
    assert empty.status.value == "pass" and empty.observed["pool_size"] == 28232
    reserved, _ = _pool(_proc_sys(tmp_path / "b", b"32768-50000\n"))
    assert reserved.status.value == "fail" and reserved.observed["pool_size"] == 10999


def test_a_sockstat_cut_inside_the_time_wait_count_is_not_a_count(tmp_path):
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "sockstat").write_text("sockets: used 300\nTCP: inuse 20 orphan 0 tw 12")  # of tw 12345 ...
    with pytest.raises(ValueError, match="does not end in the newline the kernel prints"):
        read_time_wait(str(tmp_path))  # was 12
    (tmp_path / "net" / "sockstat").write_text("sockets: used 300\nTCP: inuse 20 orphan 0 tw 12345 alloc 30 mem 2\n")
    assert read_time_wait(str(tmp_path)) == 12345
