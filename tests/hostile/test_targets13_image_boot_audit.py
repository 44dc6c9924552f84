"""An offline image whose boot loader starts its kernel with auditing off cannot pass its persistent
audit rules.

audit=0 (or off; audit=on to a kernel before 4.17) makes audit_enable() set audit_initialized to
AUDIT_DISABLED: audit_init() then makes no audit netlink socket, so neither augenrules nor auditctl
can load a rule until reboot, and no rule ever records.  No later audit= undoes it.  lbaudit read
an image's boot loader files for sysctls only: an image with rules.d complete and
GRUB_CMDLINE_LINUX="audit=0" passed "persistent rules b64".  Which boot entry an image starts is
not known offline, so such a command line (or a boot loader file that cannot be read) makes the
persistent scopes not_reviewed, naming the file and line; live, the running command line
``audit=0 audit=1`` is read as off.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.domain.audit_rules import boot_audit_param
from tests.factories import install_procps_boot
from tests.hostile.test_offline_images import evaluate, status, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

B64, B32 = ("audit", "persistent rules b64"), ("audit", "persistent rules b32")
DEBIAN12 = "6.1.0-18-amd64"


@pytest.mark.parametrize(("path", "text", "origin"), [
    ("etc/default/grub", 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="quiet audit=0"\n', "/etc/default/grub:2 has audit=0"),
    ("boot/loader/entries/linux.conf", "title Linux\nlinux /vmlinuz\noptions root=/dev/sda1 audit=off audit=1\n",
     "/boot/loader/entries/linux.conf:3 has audit=off audit=1"),
    ("etc/kernel/cmdline", "root=/dev/sda1 audit=on\n", "/etc/kernel/cmdline:1 has audit=on"),  # 0 before 4.17
])
def test_a_boot_entry_that_turns_auditing_off_leaves_the_persistent_rules_not_reviewed(image: Path, path: str,
                                                                                      text: str, origin: str) -> None:
    write(image, path, text)
    code, findings = evaluate(image)
    for subject in (B64, B32):
        assert status(findings, *subject) == "not_reviewed"
        message = findings[subject]["message"]
        assert f"the image's kernel command line may turn auditing off ({origin}), and which boot entry it starts " \
               "is not known offline" in message, message
    assert code == 3


def test_a_boot_loader_file_that_cannot_be_read_leaves_them_not_reviewed(image: Path) -> None:
    fifo = image / "etc/default/grub"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)  # read as a file it would block: refused, and it may hold audit=0
    code, findings = evaluate(image)
    message = findings[B64]["message"]
    assert status(findings, *B64) == "not_reviewed"
    assert "the image's boot loader configuration could not be read completely (/etc/default/grub: is a FIFO" in message
    assert code == 3


def test_control_case_auditing_on_at_boot_passes(image: Path) -> None:
    write(image, "etc/default/grub", 'GRUB_CMDLINE_LINUX="quiet audit=1 audit_backlog_limit=8192"\n')
    write(image, "boot/loader/entries/linux.conf", "title Linux\noptions root=/dev/sda1 audit=1\n")
    code, findings = evaluate(image)
    assert status(findings, *B64) == "pass" and status(findings, *B32) == "pass"
    assert code == 0


@pytest.mark.parametrize("release", [DEBIAN12, None])
def test_audit_off_on_the_running_command_line_is_not_undone_by_a_later_audit_1(release: str | None) -> None:
    assert boot_audit_param("root=/dev/sda1 audit=0 audit=1\n", release) == "off"
    assert boot_audit_param("root=/dev/sda1 audit=1 audit=0\n", release) == "off"
    assert boot_audit_param("root=/dev/sda1 audit=on audit=1\n", None) == "invalid"  # 0 to a kernel before 4.17
    assert boot_audit_param("root=/dev/sda1 audit=1\n", release) == "on"


# RHEL 8: the entries take their options from GRUB's environment block, which grubby --args
# writes; on EFI /boot/grub2/grubenv is a link into the EFI system partition, where the menu is too.
RHEL8_ENTRY = "title Red Hat Enterprise Linux\nlinux /vmlinuz-4.18.0-553.el8_10.x86_64\noptions $kernelopts $tuned_params\n"
GRUBENV = "# GRUB Environment Block\nsaved_entry=x\nkernelopts=root=/dev/mapper/rhel-root ro {extra}\nboot_success=0\n###\n"


@pytest.mark.parametrize(("layout", "origin"), [
    ({"boot/grub2/grubenv": GRUBENV}, "/boot/grub2/grubenv:3 has audit=0"),
    ({"boot/efi/EFI/redhat/grubenv": GRUBENV, "boot/grub2/grubenv": "../efi/EFI/redhat/grubenv"},
     "/boot/grub2/grubenv:3 has audit=0"),  # one file, named once
    ({"boot/efi/EFI/redhat/grub.cfg": "menuentry 'RHEL' {\n  linux /vmlinuz root=/dev/sda2 ro {extra}\n}\n"},
     "/boot/efi/EFI/redhat/grub.cfg:2 has audit=0"),
    ({"efi/loader/entries/rhel.conf": "title RHEL\noptions root=/dev/sda2 {extra}\n"},
     "/efi/loader/entries/rhel.conf:2 has audit=0"),
])
def test_audit_off_where_rhel_and_systemd_boot_keep_the_command_line_is_read(image: Path, layout: dict[str, str],
                                                                            origin: str) -> None:
    write(image, "boot/loader/entries/rhel.conf", RHEL8_ENTRY)
    for path, text in layout.items():
        if text.startswith("../"):
            (image / path).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(text, image / path)
        else:
            write(image, path, text.replace("{extra}", "audit=0"))
    code, findings = evaluate(image)
    assert status(findings, *B64) == "not_reviewed"
    assert f"may turn auditing off ({origin})" in findings[B64]["message"], findings[B64]["message"]
    assert code == 3


def test_a_grubenv_linked_into_an_efi_partition_the_image_lacks_is_not_known(image: Path) -> None:
    write(image, "boot/loader/entries/rhel.conf", RHEL8_ENTRY)
    (image / "boot/grub2").mkdir(parents=True)
    os.symlink("../efi/EFI/redhat/grubenv", image / "boot/grub2/grubenv")
    code, findings = evaluate(image)
    assert status(findings, *B64) == "not_reviewed"
    assert ("could not be read completely (/boot/grub2/grubenv: not found, through a symbolic link to nothing "
            "(/boot/grub2/grubenv -> ../efi/EFI/redhat/grubenv))") in findings[B64]["message"], findings[B64]["message"]
    assert code == 3


def test_control_case_a_grubenv_with_auditing_on_passes(image: Path) -> None:
    write(image, "boot/loader/entries/rhel.conf", RHEL8_ENTRY)
    write(image, "boot/grub2/grubenv", GRUBENV.replace("{extra}", "audit=1"))
    code, findings = evaluate(image)
    assert status(findings, *B64) == "pass"
    assert code == 0


def test_a_sysctl_in_a_rhel_8_grubenv_is_not_assumed_at_its_kernel_default(tmp_path: Path) -> None:
    from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
    from auditor.collect.rootdir import collect_root
    from auditor.model.result import Status

    root = tmp_path / "image"
    write(root, "etc/sysctl.d/60-net.conf", "net.ipv4.ip_local_port_range = 32768 60999\n")
    install_procps_boot(root)
    write(root, "boot/loader/entries/rhel.conf", RHEL8_ENTRY)
    write(root, "boot/grub2/grubenv", GRUBENV.replace("{extra}", "sysctl.net.ipv4.ip_local_reserved_ports=32768-40000"))
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    [gap] = snap.gaps_for("sysctl", "persistent/net.ipv4.ip_local_reserved_ports")
    assert gap.reason.startswith("the image's kernel command line may set net.ipv4.ip_local_reserved_ports "
                                 "(/boot/grub2/grubenv:3 sets net.ipv4.ip_local_reserved_ports = '32768-40000')")
    [pool] = [o for o in net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=25000))
              if o.subject == "ephemeral port pool"]
    assert pool.status == Status.NOT_REVIEWED  # was a pass on 28,232 ports; the entry boots with 20,999


def uki(cmdline: bytes | None) -> bytes:
    """A minimal PE file as a Unified Kernel Image is: a DOS header, a PE header, one section
    (.cmdline holding ``cmdline``, NUL-terminated as ukify writes it; .linux when None)."""
    data = bytearray(0x200)
    data[0:2] = b"MZ"
    data[0x3C:0x40] = (0x80).to_bytes(4, "little")
    data[0x80:0x84] = b"PE\0\0"
    data[0x84:0x86] = (0x8664).to_bytes(2, "little")  # x86-64
    data[0x86:0x88] = (1).to_bytes(2, "little")  # one section; no optional header (size 0)
    body = (cmdline + b"\0") if cmdline is not None else b"\x7fELF"
    entry = (b".cmdline" if cmdline is not None else b".linux\0\0") + len(body).to_bytes(4, "little")
    entry += (0x1000).to_bytes(4, "little") + len(body).to_bytes(4, "little") + (0x200).to_bytes(4, "little")
    data[0x98:0x98 + len(entry)] = entry
    return bytes(data) + body


@pytest.mark.parametrize("where", ["boot/EFI/Linux/linux-6.8.efi", "efi/EFI/Linux/linux-6.8.efi",
                                   "boot/efi/loader/addons/audit.addon.efi",
                                   "efi/EFI/Linux/linux-6.8.efi.extra.d/audit.addon.efi"])
def test_audit_off_embedded_in_a_unified_kernel_image_is_read(image: Path, where: str) -> None:
    path = image / where
    path.parent.mkdir(parents=True)
    path.write_bytes(uki(b"root=/dev/sda2 quiet audit=0"))
    code, findings = evaluate(image)
    assert status(findings, *B64) == "not_reviewed"
    assert f"may turn auditing off (/{where} (.cmdline) has audit=0)" in findings[B64]["message"], \
        findings[B64]["message"]
    assert code == 3


def test_a_unified_kernel_image_without_a_command_line_boots_with_an_unknown_one(image: Path) -> None:
    path = image / "boot/EFI/Linux/linux-6.8.efi"
    path.parent.mkdir(parents=True)
    path.write_bytes(uki(None))
    code, findings = evaluate(image)
    assert status(findings, *B64) == "not_reviewed"
    assert ("could not be read completely (/boot/EFI/Linux/linux-6.8.efi: a Unified Kernel Image without an "
            "embedded command line (.cmdline)") in findings[B64]["message"], findings[B64]["message"]
    assert code == 3


def test_control_case_a_unified_kernel_image_with_auditing_on_passes(image: Path) -> None:
    path = image / "boot/EFI/Linux/linux-6.8.efi"
    path.parent.mkdir(parents=True)
    path.write_bytes(uki(b"root=/dev/sda2 quiet audit=1"))
    code, findings = evaluate(image)
    assert status(findings, *B64) == "pass"
    assert code == 0
