"""Hostile Windows exclusions: overlapping excluded port ranges in a snapshot were subtracted twice.

``netsh int ipv4 show excludedportrange`` lists each exclusion the stack holds, and they may overlap:
an administered exclusion inside a block Hyper-V or WSL reserved, or one block listed twice.  lbaudit's
own replay merges them before it writes the snapshot, but the check summed whatever spans a
snapshot holds (one written by another collector, or by hand): 50000-50099 and 50050-50149 took 200
ports from the range, not the 150 excluded, and two identical rows of a range's every port made a
pool of minus its size ("has -16,384 ports").  The spans are now merged where every pool is built,
as Linux's reserved list is.
"""

from __future__ import annotations

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.model.facts import DynamicPortRange, PortSpan, SysctlFacts
from tests.factories import snapshot

TCP4 = "ephemeral port pool (tcp/ipv4 dynamic port range)"


def windows(spans: list[tuple[int, int]]):
    ranges = [DynamicPortRange(protocol=protocol, family=family, start=49152, count=16384, origin="netsh",
                               excluded=[PortSpan(first=a, last=b) for a, b in spans])
              for protocol in ("tcp", "udp") for family in ("ipv4", "ipv6")]
    sysctl = SysctlFacts(platform="windows", dynamic_ports=ranges, runtime={})
    return snapshot(listeners=[], sysctl=sysctl, netns=None, platform="windows")


def pool(spans: list[tuple[int, int]], minimum: int):
    outcomes = net_ephemeral_port_range.run(windows(spans), EphemeralRangeParams(
        min_pool_size=minimum, min_low=1024, forbid_listeners_in_range=False))
    return {o.subject: o for o in outcomes}[TCP4]


def test_overlapping_exclusions_are_counted_once():
    found = pool([(50000, 50099), (50050, 50149)], 16384 - 150)
    assert found.status.value == "pass"  # was fail: 16,184 ports, 200 excluded
    assert found.observed["pool_size"] == 16234  # type: ignore[index]
    assert found.observed["excluded"] == "50000-50149"  # type: ignore[index]
    assert found.message == (
        "the Windows tcp/ipv4 dynamic port range 49152-65535 (netsh int ipv4 show dynamicport tcp) has 16,234 ports "
        "(16,384 less 150 excluded (50000-50149)), at least the minimum 16,234")


def test_a_block_listed_twice_never_makes_a_negative_pool():
    found = pool([(49152, 65535), (49152, 65535)], 1)
    assert found.status.value == "fail"
    assert found.observed["pool_size"] == 0  # type: ignore[index]  # was -16,384
    assert "has 0 ports (16,384 less 16,384 excluded (49152-65535))" in found.message
