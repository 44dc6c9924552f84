"""An image's ip_local_port_range was judged as taken at boot while ip_unprivileged_port_start there is unknown.

Since Linux 4.11 the kernel refuses (EINVAL) a write of ip_local_port_range whose low end is below
ip_unprivileged_port_start at that moment, and keeps the range it had (ipv4_local_port_range,
net/ipv4/sysctl_net_ipv4.c).  lbaudit replays that order where sysctl.d sets both keys
(test_ports_start_written_twice, test_judging_refused_range).  But where the image's kernel command
line may set the start (a GRUB menu line ``sysctl.net.ipv4.ip_unprivileged_port_start=2000``,
applied before init since Linux 5.8), or its boot loader files could not all be read, the start's
boot value is unknown (the collector records a ``persistent/net.ipv4.ip_unprivileged_port_start``
gap), and the check still took the kernel default 1024: sysctl.d's ``1024 65535`` was judged a pool
of 64,512 ports that passed min_pool_size 30,000, and a peak of 450 connections/s passed the
headroom at 45%, where the booted kernel refuses that write and keeps 32768-60999 (28,232 ports:
the pool fails, and 450/s holds more than all of it).  Now whether the range is taken at boot is
unknown there: the pool, bounds and headroom are not_reviewed, naming the start's gap.  A range
that is taken whatever the start, and one that sysctl.d orders after a start it sets, are judged as
before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status

START = "net.ipv4.ip_unprivileged_port_start"
JUDGED = ("ephemeral port pool", "ephemeral port range bounds",
          "ephemeral pool headroom at the declared peak connection rate")
GRUB_MENU = ("menuentry 'Debian' {\n\tlinux\t/boot/vmlinuz-6.1 root=UUID=1 ro "
             "sysctl.net.ipv4.ip_unprivileged_port_start=2000\n}\n")


def image(tmp_path: Path, *sysctl_d: str, grub: str = GRUB_MENU) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    (root / "etc" / "sysctl.d" / "60-net.conf").write_text("".join(f"{line}\n" for line in sysctl_d))
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    (root / "boot" / "grub").mkdir(parents=True)
    (root / "boot" / "grub" / "grub.cfg").write_text(grub)
    return root


def statuses(root: Path) -> dict[str, tuple[Status, str]]:
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    outcomes = [*net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=30000)),
                *net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=450, max_pool_utilization=0.5))]
    return {o.subject: (o.status, o.message or o.reason or "") for o in outcomes if o.subject in JUDGED}


def test_a_range_below_a_start_the_kernel_command_line_may_set_is_not_judged_as_taken(tmp_path):
    found = statuses(image(tmp_path, "net.ipv4.ip_local_port_range = 1024 65535"))
    # was pass for all three: 64,512 ports, 450/s holding 45% of them
    assert {subject: status for subject, (status, _) in found.items()} == dict.fromkeys(JUDGED, Status.NOT_REVIEWED)
    for _, why in found.values():
        assert f"the image's kernel command line may set {START} (/boot/grub/grub.cfg:2 sets {START} = '2000')" in why
        assert "1024 65535" in why


def test_an_unreadable_boot_loader_file_leaves_the_start_unknown_too(tmp_path):
    root = image(tmp_path, "net.ipv4.ip_local_port_range = 1024 65535", "net.ipv4.ip_local_reserved_ports = ")
    (root / "etc" / "kernel").mkdir(parents=True)
    (root / "etc" / "kernel" / "cmdline").mkdir()  # a directory where a file is read: not readable
    found = statuses(root)
    assert {subject: status for subject, (status, _) in found.items()} == dict.fromkeys(JUDGED, Status.NOT_REVIEWED)


@pytest.mark.parametrize("lines", [
    # sysctl.d sets the start before the range, and no command line does: the replayed order decides
    ("net.ipv4.ip_unprivileged_port_start = 1024", "net.ipv4.ip_local_port_range = 1024 65535"),
    # no start anywhere: the kernel default 1024 is in force, 1024 is taken
    ("net.ipv4.ip_local_port_range = 1024 65535",),
])
def test_control_case_a_start_the_image_sets_or_leaves_alone_is_judged(tmp_path, lines):
    found = statuses(image(tmp_path, *lines, grub=GRUB_MENU.replace(f" sysctl.{START}=2000", "")))
    assert found["ephemeral port pool"][0] == Status.PASS, found
    assert found["ephemeral pool headroom at the declared peak connection rate"][0] == Status.PASS, found


def test_a_start_the_command_line_and_a_file_both_write_is_not_replayed(tmp_path):
    # the boot writes both keys, and the start twice with different values: which writes the kernel
    # took is not replayed (as on a running host, test_ports_start_written_twice), not_reviewed
    found = statuses(image(tmp_path, "net.ipv4.ip_unprivileged_port_start = 1024",
                           "net.ipv4.ip_local_port_range = 1024 65535"))
    assert found["ephemeral port pool"][0] == Status.NOT_REVIEWED, found
