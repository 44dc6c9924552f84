"""A configured value longer than the kernel reads of one write was judged whole.

The kernel's integer vector handlers (__do_proc_dointvec, __do_proc_douintvec: ip_local_port_range,
tcp_tw_reuse, tcp_max_tw_buckets, ...) read at most PAGE_SIZE - 1 bytes of a write (4,095 with 4 KiB
pages) and take the rest as read; a boot tool that writes through a stdio buffer may send a long
value in pieces, and kernel.sysctl_writes_strict ignores every piece after the first.  lbaudit read
the whole line: ``net.ipv4.ip_local_port_range = 1024``, 5,000 spaces, ``65535`` was judged the range
1024-65535 (64,512 ports, a pass of min_pool_size 60,000), where the kernel takes the low end alone
and keeps the high end 60999 (59,976 ports).  Now a value whose numbers do not all lie within the
first 1,023 bytes (what every kernel and boot tool surely delivers in one write) is not read: the
findings that need it are not_reviewed, saying why.  A long value whose numbers come first (a long
comment-like tail of white space) is read as before.
"""

from __future__ import annotations

import pytest

from auditor.checks import _sysctl
from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.model.facts import Gap, SysctlFacts, SysctlSetting
from auditor.model.result import Status
from tests.factories import snapshot
from tests.netns_env import boot_sysctl_files, procps_sysctl_or_skip, systemd_sysctl_or_skip

POOL = "ephemeral port pool"


def _pool(value: str):
    persistent = {"net.ipv4.ip_local_port_range": SysctlSetting(value=value, origin="/etc/sysctl.d/90.conf:1")}
    image = snapshot(listeners=[], sysctl=SysctlFacts(persistent=persistent), source="root", netns=None,
                     gaps=[Gap(section="netns", kind="not_applicable", reason="offline root directory")])
    return next(o for o in net_ephemeral_port_range.run(image, EphemeralRangeParams(min_pool_size=60000))
                if o.subject == POOL)


def test_a_high_end_beyond_what_the_kernel_reads_of_the_write_is_not_judged():
    pool = _pool("1024" + " " * 5000 + "65535")
    assert pool.status == Status.NOT_REVIEWED, pool.message  # was pass: 64,512 ports
    assert "the kernel reads only the first PAGE_SIZE - 1 bytes of a write" in pool.reason
    assert len(pool.reason) < 1000  # the value is quoted in part


@pytest.mark.parametrize("value", ["30" + "\t" * 3000, "\u20ac" * 300 + "30"])
def test_one_number_and_bytes_not_characters(value):
    if value.startswith("30"):
        assert _sysctl.parse_kernel_int(_sysctl.TW_REUSE, value) == 30  # the number comes first: read
    else:
        # 300 "€" are 900 bytes, then "30": within 1,023 bytes, yet "€" is no white space: EINVAL either way
        with pytest.raises(_sysctl.SysctlValueError):
            _sysctl.parse_kernel_int(_sysctl.TW_REUSE, value)


def test_control_case_a_short_value_and_a_long_tail_are_read_as_before():
    assert _pool("1024 65535").status == Status.PASS
    assert _pool("1024 65535" + " " * 5000).status == Status.PASS
    assert _sysctl.parse_port_range(" " * 1000 + "1024 65535", configured=True) == (1024, 65535)
    with pytest.raises(_sysctl.SysctlValueError, match="depends on where the write is cut"):
        _sysctl.parse_port_range(" " * 1020 + "1024 65535", configured=True)


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["systemd-sysctl", "procps"])
def test_the_boot_tools_set_the_low_end_alone(tmp_path, tool):
    """What the booted kernel holds, with each boot tool applying the line in a fresh namespace: the
    high end written past the first page is not taken (on this kernel's 4 KiB pages)."""
    command = ([systemd_sysctl_or_skip()] if tool == "systemd-sysctl" else [procps_sysctl_or_skip(), "--system"])
    before, booted = boot_sysctl_files(command, tmp_path, {"60-net.conf": "net.ipv4.ip_local_port_range = 1024"
                                                           + " " * 5000 + "65535\n"}, "net.ipv4.ip_local_port_range")
    assert before.split() == ["32768", "60999"]
    assert booted.split() == ["1024", "60999"], booted  # what lbaudit judged as 1024-65535
