"""Hostile: boot rules with no -b leave the kernel's default backlog limit of 64.

The defect: audit.socket_logging's persistent scopes judged the boot rules' last ``-b`` (else the
kernel command line's ``audit_backlog_limit=``) against ``min_backlog_limit``, but boot rules with
no ``-b`` at all and a command line without ``audit_backlog_limit=`` passed, although the kernel
then keeps its default (kernel/audit.c: ``audit_backlog_limit = 64``), far below the 8192 the
policy asks for: a burst beyond 64 queued records is lost after every boot.  Now that fails; when
the command line was not read (an offline image, or a gap) it is not_reviewed.  Each case is an
offline image (rules.d and the image's auditctl) collected by the real collector; the command line
cases give it the running kernel's command line as the live collector records it.
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.rootdir import collect_root
from auditor.domain.auditctl_output import boot_audit_param, boot_backlog_limit_param
from auditor.model.facts import HostSnapshot
from auditor.model.result import Status
from tests.factories import ELF_X86_64, SOCKET_AUDIT_RULES, install_kernel_without_x32

SUBJECT = "persistent rules b64"


def image(tmp_path: Path, files: dict[str, str]) -> HostSnapshot:
    """An offline image whose rules.d holds exactly these files (and an x86_64 auditctl)."""
    root = tmp_path / "image"
    rules_d = root / "etc" / "audit" / "rules.d"
    rules_d.mkdir(parents=True)
    for name, text in files.items():
        (rules_d / name).write_text(text)
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    install_kernel_without_x32(root)  # offline, x32 is read from the image's kernels
    return collect_root(root, frozenset({"audit"}))


def with_cmdline(snap: HostSnapshot, cmdline: str) -> HostSnapshot:
    """The snapshot as a live collection that read ``cmdline`` from /proc/cmdline records it."""
    audit = snap.facts.audit.model_copy(update={"boot_audit": boot_audit_param(cmdline, "6.8.0"),  # type: ignore[union-attr]
                                                "boot_backlog_limit": boot_backlog_limit_param(cmdline)})
    return snap.model_copy(update={"facts": snap.facts.model_copy(update={"audit": audit})})


def judge(snap: HostSnapshot, **params) -> tuple[Status, str]:
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams(**params))}[SUBJECT]
    return found.status, found.message


def rules_without_b(tmp_path: Path) -> HostSnapshot:
    return image(tmp_path, {"10-control.rules": "-D\n-f 1\n", "30-net.rules": SOCKET_AUDIT_RULES})


def test_no_boot_b_and_no_cmdline_limit_fails_at_the_kernel_default(tmp_path):
    status, message = judge(with_cmdline(rules_without_b(tmp_path), "BOOT_IMAGE=/vmlinuz root=/dev/sda1 audit=1"))
    assert status == Status.FAIL
    assert message == ("persistent rules b64: syscalls audited: no -b of these rules sets a backlog limit and the "
                       "kernel command line has no audit_backlog_limit=, so the kernel's default of 64 records "
                       "applies (at least 8192 expected): a burst of events beyond it while auditd is busy is lost "
                       "after boot")


def test_no_boot_b_in_an_offline_image_is_not_reviewed(tmp_path):
    # the image's kernel command line is not read: whether it sets audit_backlog_limit= is not known
    status, message = judge(rules_without_b(tmp_path))
    assert status == Status.NOT_REVIEWED
    assert message == ("not reviewed: persistent rules b64: no -b of these rules sets a backlog limit, so after "
                       "boot the kernel "
                       "holds the kernel command line's audit_backlog_limit=, else its default of 64 records (at "
                       "least 8192 expected), and whether the command line sets it is not known (it is not read in "
                       "an offline root directory)")


def test_control_case_boot_b_8192_passes(tmp_path):
    snap = image(tmp_path, {"10-control.rules": "-D\n-b 8192\n", "30-net.rules": SOCKET_AUDIT_RULES})
    assert judge(snap)[0] == Status.PASS
    assert judge(with_cmdline(snap, "root=/dev/sda1 audit=1"))[0] == Status.PASS


def test_control_case_cmdline_audit_backlog_limit_passes(tmp_path):
    snap = with_cmdline(rules_without_b(tmp_path), "root=/dev/sda1 audit=1 audit_backlog_limit=8192")
    assert judge(snap)[0] == Status.PASS


def test_control_case_boot_b_0_is_no_limit(tmp_path):
    snap = image(tmp_path, {"10-control.rules": "-D\n-b 0\n", "30-net.rules": SOCKET_AUDIT_RULES})
    assert judge(snap)[0] == Status.PASS


def test_control_case_min_backlog_limit_0_or_at_most_64_is_not_judged_on_the_default(tmp_path):
    snap = rules_without_b(tmp_path)
    assert judge(snap, min_backlog_limit=0)[0] == Status.PASS
    assert judge(snap, min_backlog_limit=64)[0] == Status.PASS
    assert judge(with_cmdline(snap, "audit=1"), min_backlog_limit=65)[0] == Status.FAIL
