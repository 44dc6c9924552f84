"""An image's boot loader files are read within one budget: files, bytes and command lines.

Before: the kernel command lines of an image (read for sysctl.* parameters, audit=, syscall.x32=)
came from every BLS entry, every grub.d file, every EFI vendor directory's grub.cfg and grubenv,
every Unified Kernel Image, with no bound on their number or their total size (each file alone was
bounded at 4 MiB, and links to one file read once, but hard links are other names of one file).
20 EFI vendor directories each holding a hard link to one 4 MiB grub.cfg of ``linux`` lines took
217 s and 562 MB here, for 2.2 million command lines that each of three sections then looked at.
Now at most 256 files (of which a real image names some 30), 8 MiB together and 1,024 command lines are read; past any of them none is
used and the image's boot loader configuration is "could not be read completely": every key it
could set is a gap, never a default or a pass.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from auditor.collect import rootfs
from auditor.collect.rootdir import collect_root
from auditor.collect.sysctl import image_boot_cmdlines
from tests.factories import install_procps_boot

LINE = b"  linux /vmlinuz root=/dev/sda1 quiet\n"


def image(tmp_path: Path) -> Path:
    root = tmp_path / "image"
    (root / "etc/sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc/sysctl.d/10-range.conf").write_text("net.ipv4.ip_local_port_range = 32768 60999\n")
    (root / "boot/efi/EFI").mkdir(parents=True)
    return root


def cmdlines(root: Path) -> tuple[list[tuple[str, str]], list[str]]:
    with rootfs.one_view_of_each_root():
        return image_boot_cmdlines(root)


def test_many_hard_links_of_one_grub_cfg_are_not_all_read(tmp_path):
    root = image(tmp_path)
    (root / "menu.cfg").write_bytes(LINE * 4)
    for number in range(300):
        vendor = root / f"boot/efi/EFI/v{number:03d}"
        vendor.mkdir()
        os.link(root / "menu.cfg", vendor / "grub.cfg")
    found, problems = cmdlines(root)
    assert found == []  # before: 1,200 command lines from 300 files
    # 300 vendors' grub.cfg and grubenv, and the places every image is looked at
    assert problems == ["the image's boot loader directories name 618 files that may hold a kernel command line, "
                        "more than the 256 lbaudit looks at"]


def test_boot_loader_files_larger_together_than_the_budget_are_not_used(tmp_path):
    root = image(tmp_path)
    (root / "menu.cfg").write_bytes(b"#" * (3 * 1024 * 1024) + LINE)  # 3 MiB of comment, one entry
    for number in range(3):
        vendor = root / f"boot/efi/EFI/v{number}"
        vendor.mkdir()
        os.link(root / "menu.cfg", vendor / "grub.cfg")
    found, problems = cmdlines(root)
    assert found == []
    assert problems == ["/boot/efi/EFI/v2/grub.cfg: the image's boot loader files hold more than 8,388,608 bytes "
                        "together, more than lbaudit reads"]


def test_a_grub_cfg_of_100000_entries_is_not_held(tmp_path):
    root = image(tmp_path)
    (root / "boot/grub").mkdir()
    (root / "boot/grub/grub.cfg").write_bytes(LINE * 100_000)  # 3.7 MiB
    started = time.monotonic()
    snap = collect_root(root, frozenset({"sysctl"}))
    assert time.monotonic() - started < 30  # before: about 10 s for the parse alone, then each line judged
    found, problems = cmdlines(root)
    assert found == []
    assert problems == ["/boot/grub/grub.cfg: the image's boot loader files hold more than 1,024 kernel command "
                        "lines, more than lbaudit reads"]
    gaps = {gap.path: gap.reason for gap in snap.gaps}
    assert ("persistent", "net.ipv4.tcp_timestamps") in gaps  # a key no file sets: not the kernel default
    assert "more than 1,024 kernel command lines" in gaps[("persistent", "net.ipv4.tcp_timestamps")]


def test_control_case_a_real_sized_boot_configuration_is_read(tmp_path):
    root = image(tmp_path)
    (root / "boot/grub").mkdir()
    (root / "boot/grub/grub.cfg").write_bytes(LINE * 40)
    (root / "boot/efi/EFI/debian").mkdir()
    (root / "boot/efi/EFI/debian/grub.cfg").write_bytes(LINE)
    found, problems = cmdlines(root)
    assert problems == []
    assert len(found) == 41
