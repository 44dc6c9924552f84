"""Hostile drift.sysctl: a configured value with fewer or more numbers than the key holds.

The kernel reads a /proc/sys write of an integer key with proc_dointvec_minmax (or
proc_dou8vec_minmax): as many numbers as the key holds, separated by white space, and nothing
more.  Whatever follows them after white space is not read (kernel.sysctl_writes_strict=1, the
default since Linux 4.5, ignores the rest the writer sends again); a vector given fewer numbers
keeps the others as they were, so ``ip_local_port_range = 40000`` moves only the low end and the
boot, writing over the kernel default, leaves 40000-60999.  lbaudit refused both forms as EINVAL:
``ip_local_port_range = 32768 60999 5``, ``= 40000`` and ``tcp_fin_timeout = 30 60`` failed
drift.sysctl against the very value the boot sets (false alarms), and an image's ``40000`` left
the ephemeral pool not_reviewed.  Checked on Linux 6.18 by writing each value in a network
namespace; ``test_lbaudit_reads_each_value_as_systemd_sysctl_writes_it`` lets systemd-sysctl write
them.
"""

from __future__ import annotations

import pytest

from auditor.checks import _sysctl
from auditor.checks.drift_sysctl import kernel_reading
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.factories import install_procps_boot
from tests.hostile.test_drift_sysctl_kernel_numbers import judged
from tests.netns_env import boot_one_sysctl, systemd_sysctl_or_skip

RANGE = "net.ipv4.ip_local_port_range"
FIN = "net.ipv4.tcp_fin_timeout"
TW_REUSE = "net.ipv4.tcp_tw_reuse"


@pytest.mark.parametrize("key, configured, running", [
    (RANGE, "40000", "40000\t60999"),            # the high end stays the kernel default (was fail)
    (RANGE, "32768 60999 5", "32768\t60999"),    # the third number is not read (was fail)
    (RANGE, "32768 60999 x", "32768\t60999"),    # nor anything after the second (was fail)
    (FIN, "30 60", "30"),                         # one number for an int key (was fail)
    (TW_REUSE, "1 5", "1"),                       # a u8 key too (was fail)
])
def test_the_numbers_the_kernel_reads_are_compared(key, configured, running):
    assert judged(key, configured, running) == Status.PASS


@pytest.mark.parametrize("key, configured, running", [
    (RANGE, "40000", "40000\t65000"),   # the boot leaves 40000-60999
    (RANGE, "32768 60999 5", "5\t60999"),
    (FIN, "30 60", "60"),               # the boot sets 30
    (RANGE, "61000", "32768\t60999"),   # 61000 above the default high end 60999: EINVAL
    (RANGE, "40000,60999", "40000\t60999"),  # a comma is no separator: EINVAL
    (FIN, "30,60", "30"),
    (RANGE, "", "32768\t60999"),         # no number at all: EINVAL
])
def test_control_cases_a_value_the_boot_does_not_leave_is_drift(key, configured, running):
    assert judged(key, configured, running) == Status.FAIL


def test_an_image_whose_range_has_only_a_low_end_has_a_pool(tmp_path):
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-ports.conf").write_text(f"{RANGE} = 40000\n")
    lookup = _sysctl.ephemeral_pool(collect_root(root, frozenset({"sysctl"})))
    assert (lookup.low, lookup.high, lookup.reason) == (40000, 60999, None)  # was a "malformed value" reason


@pytest.mark.live
def test_lbaudit_reads_each_value_as_systemd_sysctl_writes_it(tmp_path):
    """systemd-sysctl writes each value in a private mount and network namespace, which starts from
    the kernel defaults; lbaudit's reading of the configured value is the value read back, or the
    write is refused (the default stays) exactly when lbaudit says the kernel refuses it."""
    tool = systemd_sysctl_or_skip()
    values = {RANGE: ["40000", "32770 60999 5", "33000 60999 x", "61000", "40000,60999", "0x9c40 60999 1"],
              FIN: ["30 60", "30,60", "045 1"], TW_REUSE: ["1 5", "0 x", "3 1"]}
    for key, texts in values.items():
        for index, text in enumerate(texts):
            _conf, before, booted = boot_one_sysctl(tool, tmp_path / f"{key}-{index}", key, text)
            try:
                read = kernel_reading(key, text, configured=True)
            except _sysctl.SysctlValueError:
                read = None
            assert (read if read is not None else "refused") == (
                kernel_reading(key, booted, configured=False) if booted != before else "refused"), (key, text)
