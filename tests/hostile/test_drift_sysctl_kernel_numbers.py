"""Hostile drift.sysctl: a configured value and the running value compared as the kernel reads them.

drift.sysctl compared the two values as text (white space collapsed), while systemd-sysctl writes
the configured text to /proc/sys and the kernel reads it with base auto-detection (proc_get_long):
``tcp_max_tw_buckets = 0100000`` boots as 32768, so a running ``32768`` was reported as drift (a
false alarm) and a running ``100000`` passed, though the next boot sets 32768 (a missed drift).
A value the kernel refuses at boot (``tcp_tw_reuse = 3``, ``+5``, ``-0`` on a u8 key, a port range
below 1 or backwards) sets nothing, so the configuration does not hold the running value: fail.
Checked on Linux 6.18 by writing each value in a network namespace (see
test_ports_kernel_number_syntax.py for the shared parsers).
"""

from __future__ import annotations

import pytest

from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.model.facts import SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, snapshot, sysctl_facts


def judged(key: str, configured: str, running: str) -> Status:
    runtime = sysctl_facts(dict(LINUX_DEFAULT_SYSCTLS, **{key: running})).runtime
    persistent = {key: SysctlSetting(value=configured, origin="/etc/sysctl.d/60-net.conf:1")}
    snap = snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=persistent))
    [outcome] = [o for o in drift_sysctl.run(snap, DriftSysctlParams()) if o.subject == f"sysctl {key}"]
    return outcome.status


@pytest.mark.parametrize("key, configured, running", [
    ("net.ipv4.tcp_max_tw_buckets", "0100000", "32768"),     # octal (was fail: a false alarm)
    ("net.ipv4.tcp_max_tw_buckets", "0x8000", "32768"),      # hex (was fail)
    ("net.ipv4.tcp_fin_timeout", "036", "30"),               # (was fail)
    ("net.ipv4.ip_local_port_range", "010000 060000", "4096\t24576"),  # (was fail)
    ("net.ipv4.ip_local_port_range", "0x2710\t60000", "10000\t60000"),  # (was fail)
    ("net.ipv4.tcp_tw_reuse", "0x2", "2"),                   # (was fail)
])
def test_a_value_the_kernel_reads_as_the_running_one_is_no_drift(key, configured, running):
    assert judged(key, configured, running) == Status.PASS


@pytest.mark.parametrize("key, configured, running", [
    ("net.ipv4.tcp_max_tw_buckets", "0100000", "100000"),    # boots as 32768 (was pass: a missed drift)
    ("net.ipv4.ip_local_port_range", "010000 060000", "10000\t60000"),  # boots as 4096-24576 (was pass)
])
def test_a_value_the_kernel_reads_otherwise_is_drift(key, configured, running):
    assert judged(key, configured, running) == Status.FAIL


@pytest.mark.parametrize("key, configured, running", [
    ("net.ipv4.tcp_tw_reuse", "3", "3"),                     # u8 0-2: EINVAL (was pass)
    ("net.ipv4.tcp_timestamps", "-0", "0"),                  # a sign on a u8 key: EINVAL (was fail only as text)
    ("net.ipv4.tcp_fin_timeout", "+30", "30"),               # '+' is EINVAL
    ("net.ipv4.ip_local_port_range", "0 65535", "0 65535"),  # below the table minimum 1 (was pass)
    ("net.ipv4.ip_local_port_range", "61000 32768", "61000 32768"),  # backwards (was pass)
    ("net.ipv4.tcp_max_tw_buckets", "000000000000000000001", "1"),  # 21 characters: EINVAL
    ("net.ipv4.ip_unprivileged_port_start", "65536", "65536"),
])
def test_a_value_the_kernel_refuses_at_boot_is_drift(key, configured, running):
    assert judged(key, configured, running) == Status.FAIL


def test_a_running_value_the_kernel_never_prints_is_not_reviewed():
    assert judged("net.ipv4.tcp_max_tw_buckets", "32768", "0x8000") == Status.NOT_REVIEWED
