"""drift.sysctl compared a configured number with the running one as text.

The kernel reads a write of an integer sysctl with base detection (proc_get_long): ``0100000`` is
octal 32768 and ``0x8000`` hex 32768, and it prints the value back in decimal.  A sysctl.d file with
``net.ipv4.ip_local_port_range = 0100000 60999`` sets ``32768 60999`` at every boot, yet drift.sysctl
reported drift ("the configured value returns at the next boot"): a false alarm that trains people
to ignore the check.  Now such values are compared as the kernel's numbers; a value that really
differs still fails, and decimal spellings and text are compared exactly as before.
"""

from __future__ import annotations

import pytest

from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.model.facts import SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, snapshot, sysctl_facts

ORIGIN = "/etc/sysctl.d/60-net.conf:1"


def status(key: str, running: str, configured: str) -> Status:
    runtime = sysctl_facts(dict(LINUX_DEFAULT_SYSCTLS, **{key: running})).runtime
    facts = SysctlFacts(runtime=runtime, persistent={key: SysctlSetting(value=configured, origin=ORIGIN)})
    outcomes = {o.subject: o for o in drift_sysctl.run(snapshot(sysctl=facts), DriftSysctlParams())}
    return outcomes[f"sysctl {key}"].status


@pytest.mark.parametrize(("key", "running", "configured"), [
    ("net.ipv4.ip_local_port_range", "32768\t60999", "0100000 60999"),
    ("net.ipv4.ip_local_port_range", "32768\t60999", "0x8000\t0xEE47"),
    ("net.ipv4.tcp_fin_timeout", "8", "010"),
    ("net.ipv4.tcp_max_tw_buckets", "-1", "-01"),
])
def test_a_number_spelled_as_the_kernel_reads_it_is_no_drift(key: str, running: str, configured: str) -> None:
    assert status(key, running, configured) == Status.PASS


@pytest.mark.parametrize(("key", "running", "configured"), [
    ("net.ipv4.ip_local_port_range", "32768\t60999", "0100001 60999"),  # octal 32769
    ("net.ipv4.ip_local_port_range", "32768\t61000", "0100000"),         # one number: the high end stays 60999
    ("net.ipv4.tcp_fin_timeout", "10", "010"),                            # octal 8, not ten
    ("net.ipv4.tcp_fin_timeout", "8", "08"),                              # refused by the kernel (EINVAL)
    ("net.ipv4.tcp_fin_timeout", "60", "30"),
])
def test_a_number_that_differs_is_still_drift(key: str, running: str, configured: str) -> None:
    assert status(key, running, configured) == Status.FAIL
