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
