"""Hostile drift.sysctl: net.ipv4.tcp_fastopen compared as text, not as the kernel reads it.

lbaudit collects net.ipv4.tcp_fastopen (snapshot 1.4, for audit.socket_logging), so drift.sysctl
compares it with the boot configuration, but ``kernel_reading`` modelled every collected integer
key except this one: its configured and running values were compared as text.  The kernel reads a
write of it with proc_dointvec (base auto-detection, one number, the rest unread), so
``tcp_fastopen = 0x3``, ``= 03``, ``= 3 1`` and ``= -0`` boot as 3 (or 0) and a host running
exactly that failed with "the configured value returns at the next boot" (false alarms), while
``= +1`` and ``= 99999999999`` (EINVAL: the boot sets nothing) were reported as a mere difference
rather than as a value the boot refuses.  Each verdict is what Linux 6.18 does with the write
(checked by writing each value in a network namespace of its own, below).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.model.facts import SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, snapshot, sysctl_facts

KEY = "net.ipv4.tcp_fastopen"


def judged(configured: str, running: str):
    runtime = sysctl_facts(dict(LINUX_DEFAULT_SYSCTLS, **{KEY: running})).runtime
    persistent = {KEY: SysctlSetting(value=configured, origin="/etc/sysctl.d/60-tfo.conf:1")}
    snap = snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=persistent))
    [outcome] = [o for o in drift_sysctl.run(snap, DriftSysctlParams()) if o.subject == f"sysctl {KEY}"]
    return outcome


SAME = [("0x3", "3"), ("03", "3"), ("3 1", "3"), ("-0", "0"), ("010", "8"), ("3\t", "3")]
DIFFERENT = [("010", "10"), ("0x3", "1"), ("3 1", "1")]
REFUSED = [("+1", "1"), ("99999999999", "1"), ("1x", "1")]


@pytest.mark.parametrize("configured, running", SAME)
def test_a_value_the_kernel_reads_as_the_running_one_is_no_drift(configured, running):
    outcome = judged(configured, running)
    assert outcome.status == Status.PASS, outcome.message  # was fail: compared as text


@pytest.mark.parametrize("configured, running", DIFFERENT)
def test_a_value_the_kernel_reads_otherwise_is_drift(configured, running):
    assert judged(configured, running).status == Status.FAIL


@pytest.mark.parametrize("configured, running", REFUSED)
def test_a_value_the_kernel_refuses_at_boot_is_said_to_be_refused(configured, running):
    outcome = judged(configured, running)
    assert outcome.status == Status.FAIL
    assert "refuses" in outcome.message, outcome.message  # was: "differs from", as if the boot set it


def test_a_running_value_the_kernel_never_prints_is_not_reviewed():
    assert judged("3", "0x3").status == Status.NOT_REVIEWED


def _kernel_writes(value: str) -> str | None:
    """What this kernel holds after writing ``value`` in a new network namespace (None: refused)."""
    script = f"printf '%s' \"$1\" > /proc/sys/{KEY.replace('.', '/')} && cat /proc/sys/{KEY.replace('.', '/')}"
    done = subprocess.run(["unshare", "--net", "sh", "-c", script, "sh", value], capture_output=True, text=True,
                          timeout=30, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
@pytest.mark.parametrize("configured, running", SAME + DIFFERENT + REFUSED)
def test_the_kernel_agrees(configured, running):
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("cannot make a network namespace here")
    held = _kernel_writes(configured)
    if (configured, running) in REFUSED:
        assert held is None
    else:
        assert (held == running) == ((configured, running) in SAME)


def test_every_collected_key_is_read_as_the_kernel_reads_it():
    """The class, not the instance: a key lbaudit collects but ``kernel_reading`` does not model
    falls back to a comparison as text, which the kernel's own reading of a write does not follow."""
    from auditor.checks.drift_sysctl import kernel_reading
    from auditor.domain.sysctl import collected_runtime_keys
    from auditor.model.facts import SNAPSHOT_SCHEMA_VERSION

    unmodelled = [key for key in collected_runtime_keys(SNAPSHOT_SCHEMA_VERSION)
                  if kernel_reading(key, "1", configured=True) is None]
    assert unmodelled == []
