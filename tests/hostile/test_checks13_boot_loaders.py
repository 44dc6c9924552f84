"""Hostile offline images, false passes: kernel command lines in boot loader files lbaudit did not read.

Offline, a key a ``sysctl.*`` parameter of the image's kernel command line may set, and no sysctl.d
file sets, has an unknown boot value; where nothing sets ip_local_reserved_ports the kernel's
default (no port reserved) is judged.  The command lines were looked for in kernel-install's
cmdline, GRUB's defaults and menus and /boot/loader/entries only, so one in a Raspberry Pi's
cmdline.txt, an extlinux.conf (U-Boot's distro boot, Alpine's syslinux), systemd-boot's entries on
an ESP mounted at /efi or /boot/efi, or the defaults Alpine's update-extlinux, Debian's u-boot-menu
and flash-kernel and s390's zipl write them from, went unseen: with
``sysctl.net.ipv4.ip_local_reserved_ports=32768-50000`` there, the image's pool (on the booted host
32768-60999 less 17,233 reserved ports: 10,999) passed ``min_pool_size: 20000`` as 28,232 ports.
Those files are read now, and the key's boot value is a gap naming the file and line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks import _sysctl
from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.factories import install_procps_boot

RESERVED = "sysctl.net.ipv4.ip_local_reserved_ports=32768-50000"
POOL = "ephemeral port pool"


def image(tmp_path: Path, path: str, text: str) -> Path:
    root = tmp_path / "image"
    (root / "etc/sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc/sysctl.d/50-ports.conf").write_text("net.ipv4.ip_local_port_range = 32768 60999\n")
    (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    (root / path.lstrip("/")).write_text(text)
    return root


@pytest.mark.parametrize("path, text, line", [
    ("/boot/firmware/cmdline.txt", f"console=serial0,115200 root=PARTUUID=1 {RESERVED} rootwait\n", 1),
    ("/boot/cmdline.txt", f"root=/dev/mmcblk0p2 {RESERVED}\n", 1),
    ("/boot/extlinux/extlinux.conf", f"DEFAULT linux\nLABEL linux\n  KERNEL /vmlinuz\n  APPEND root=/dev/sda1 {RESERVED}\n", 4),
    ("/extlinux/extlinux.conf", f"label l\n\tkernel /Image\n\tappend {RESERVED} quiet\n", 3),
    ("/etc/update-extlinux.conf", f'overwrite=1\ndefault_kernel_opts="quiet {RESERVED}"\n', 2),
    ("/etc/default/u-boot", f'U_BOOT_PARAMETERS="ro quiet {RESERVED}"\n', 1),
    ("/etc/default/flash-kernel", f'LINUX_KERNEL_CMDLINE="quiet {RESERVED}"\n', 1),
    ("/efi/loader/entries/arch.conf", f"title Arch\nlinux /vmlinuz-linux\noptions root=/dev/sda2 {RESERVED}\n", 3),
    ("/boot/efi/loader/entries/arch.conf", f"title Arch\noptions {RESERVED} rw\n", 2),
    ("/etc/zipl.conf", f'[linux]\n    target = /boot\n    parameters = "root=/dev/dasda1 {RESERVED}"\n', 3),
])
def test_a_reserved_list_on_a_boot_loaders_command_line_leaves_the_pool_unknown(tmp_path, path, text, line):
    snap = collect_root(image(tmp_path, path, text), frozenset({"sysctl", "sockets"}))
    [pool] = [o for o in net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=20000,
                                                                                 forbid_listeners_in_range=False))
              if o.subject == POOL]
    assert pool.status == Status.NOT_REVIEWED  # was pass: 28,232 ports, none reserved
    assert _sysctl.ephemeral_pool(snap).reason == (
        f"the image's kernel command line may set net.ipv4.ip_local_reserved_ports ({path}:{line} sets "
        "net.ipv4.ip_local_reserved_ports = '32768-50000'), and which boot entry it starts is not known offline; "
        "no sysctl.d file sets the key, so its value at boot is unknown")


def test_a_commented_out_append_sets_nothing(tmp_path):
    text = f"LABEL linux\n  KERNEL /vmlinuz\n#  APPEND {RESERVED}\n  APPEND root=/dev/sda1\n"
    snap = collect_root(image(tmp_path, "/boot/extlinux/extlinux.conf", text), frozenset({"sysctl", "sockets"}))
    [pool] = [o for o in net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=20000,
                                                                                 forbid_listeners_in_range=False))
              if o.subject == POOL]
    assert pool.status == Status.PASS
