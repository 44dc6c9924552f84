"""Hostile boot configuration of an offline image: sysctls its boot entries set on the kernel command line.

An image's boot loader starts the kernel with a command line kept in the image (kernel-install's
/etc/kernel/cmdline, GRUB_CMDLINE_LINUX in /etc/default/grub, a Boot Loader Specification entry's
``options``, GRUB's generated menu), and since Linux 5.8 its ``sysctl.*`` parameters are written
before init.  Offline, lbaudit read only sysctl.d and assumed the kernel default where no file sets a
key: an image whose GRUB_CMDLINE_LINUX reserves ports 32768-40000 was judged on an empty reserved
list (net.ephemeral_port_range counted 28,232 ports where the booted host has 20,999), and
``sysctl.kernel.io_uring_disabled=2`` there was read as io_uring open at boot.  Which entry an image
boots is not known offline, so such a key is now unknown where no sysctl.d file sets it (a gap that
names the file and line), while a sysctl.d file that sets it still decides (it is applied later).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status

RESERVED = "net.ipv4.ip_local_reserved_ports"
POOL = "ephemeral port pool"


def image(tmp_path: Path, boot_file: str, text: str, *sysctl_d: str) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    (root / "etc" / "sysctl.d" / "60-net.conf").write_text("net.ipv4.ip_local_port_range = 32768 60999\n"
                                                            + "".join(f"{line}\n" for line in sysctl_d))
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    path = root / boot_file.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return root


def pool_outcome(root: Path):
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    [pool] = [o for o in net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=25000))
              if o.subject == POOL]
    return snap, pool


BOOT_FILES = [
    ("/etc/default/grub", 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="quiet sysctl.net.ipv4.ip_local_reserved_ports=32768-40000"\n', 2),
    ("/etc/default/grub.d/50-net.cfg", "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT "
                                       "sysctl.net.ipv4.ip_local_reserved_ports=32768-40000\"\n", 1),
    ("/etc/kernel/cmdline", "root=UUID=1 ro sysctl.net.ipv4.ip_local_reserved_ports=32768-40000\n", 1),
    ("/boot/loader/entries/debian-6.1.conf", "title Debian\nlinux /vmlinuz-6.1\n"
                                             "options root=UUID=1 sysctl/net/ipv4/ip_local_reserved_ports=32768-40000\n", 3),
    ("/boot/grub/grub.cfg", "menuentry 'Debian' {\n\tlinux\t/boot/vmlinuz-6.1 root=UUID=1 ro "
                            "sysctl.net.ipv4.ip_local_reserved_ports=32768-40000\n}\n", 2),
]


@pytest.mark.parametrize("boot_file, text, line", BOOT_FILES)
def test_reserved_ports_on_an_images_kernel_command_line_are_not_assumed_empty(tmp_path, boot_file, text, line):
    snap, pool = pool_outcome(image(tmp_path, boot_file, text))
    [gap] = snap.gaps_for("sysctl", f"persistent/{RESERVED}")
    assert gap.reason.startswith(f"the image's kernel command line may set {RESERVED} ({boot_file}:{line} sets "
                                 f"{RESERVED} = '32768-40000')")
    assert pool.status == Status.NOT_REVIEWED  # was a pass on 28,232 ports
    assert gap.reason in pool.reason


def test_a_sysctl_d_file_that_sets_the_key_still_decides(tmp_path):
    root = image(tmp_path, *BOOT_FILES[0][:2], f"{RESERVED} = 32768-40000")
    snap, pool = pool_outcome(root)
    assert snap.gaps_for("sysctl", f"persistent/{RESERVED}") == []
    assert pool.status == Status.FAIL  # 60999 - 40000 = 20,999 ports


def test_io_uring_disabled_on_an_images_kernel_command_line_is_unknown_at_boot(tmp_path):
    root = image(tmp_path, "/etc/kernel/cmdline", "root=UUID=1 sysctl.kernel.io_uring_disabled=2\n")
    snap = collect_root(root, frozenset({"audit"}))
    assert snap.facts.audit.io_uring_boot is None
    [reason] = [g.reason for g in snap.gaps_for("audit", "io_uring_boot")]
    assert "/etc/kernel/cmdline:1 sets kernel.io_uring_disabled = '2'" in reason


def test_an_image_without_sysctls_on_its_command_lines_assumes_the_default(tmp_path):
    snap, pool = pool_outcome(image(tmp_path, "/etc/default/grub", 'GRUB_CMDLINE_LINUX="quiet"\n'))
    assert snap.gaps_for("sysctl", f"persistent/{RESERVED}") == []
    assert (pool.status, pool.message) == (Status.PASS, "the ephemeral pool has 28,232 ports (32768-60999, 0 of them "
                                                        "reserved; the listeners are not known (not read, or only "
                                                        "those an image's socket units declare), so ports TCP "
                                                        "listeners hold inside the range, which connect() never "
                                                        "takes, are not subtracted), at least the minimum 25,000")


def test_an_unreadable_boot_loader_file_leaves_the_unset_keys_unknown(tmp_path):
    root = image(tmp_path, "/etc/kernel/cmdline", "root=UUID=1\n")
    (root / "etc" / "default" / "grub").mkdir(parents=True)  # not a file lbaudit can read
    snap, pool = pool_outcome(root)
    [gap] = snap.gaps_for("sysctl", f"persistent/{RESERVED}")
    assert gap.reason.startswith("the image's boot loader configuration could not be read completely (/etc/default/grub: ")
    assert pool.status == Status.NOT_REVIEWED
    # the range is set by 60-net.conf, which is applied after the kernel command line: no gap
    assert snap.gaps_for("sysctl", "persistent/net.ipv4.ip_local_port_range") == []
