"""Hostile corpus: a running host whose boot loader turns auditing off at the next boot.

``GRUB_CMDLINE_LINUX="audit=0"`` in /etc/default/grub (or a grub.cfg entry, a UKI's .cmdline) takes
effect at the next boot: the kernel then makes no audit socket and no persistent rule ever loads.
Offline, lbaudit read the image's boot loader files for this and made the persistent scopes not
reviewed; live it read only /proc/cmdline, this boot's, so the persistent scopes (what the next
boot loads) passed on rules.d.  The boot loader files of a running host are now read too.

Live: the files come from a root directory this test writes (a LocalHost rooted there), the
runtime facts from this host's kernel, as a scan of a running host reads them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.live import collect_snapshot
from auditor.model.facts import IMAGE_BOOT_AUDIT_GAP
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, SOCKET_AUDIT_RULES

REASON = ("the boot loader's kernel command line may turn auditing off (/etc/default/grub:1 has audit=0), and which "
          "boot entry the next boot starts is not known: audit=0 or off (audit=on too before Linux 4.17) disables the "
          "kernel's audit until reboot, so no rule is loaded and none records")


def scan(root: Path, grub: str | None):
    (root / "etc" / "audit" / "rules.d").mkdir(parents=True)
    (root / "etc" / "audit" / "rules.d" / "30-net.rules").write_text(SOCKET_AUDIT_RULES)
    (root / "etc" / "audit" / "rules.d" / "10-backlog.rules").write_text(BOOT_BACKLOG_RULES)
    if grub is not None:
        (root / "etc" / "default").mkdir(parents=True)
        (root / "etc" / "default" / "grub").write_text(grub)
    snap = collect_snapshot(CollectContext(root=root, live=True, sections=frozenset({"audit"})))
    boot_loader = [g.reason for g in snap.gaps if g.section == "audit" and g.path == IMAGE_BOOT_AUDIT_GAP]
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
    return boot_loader, found["persistent rules b64"]


@pytest.mark.live  # this host's kernel answers for the runtime facts
def test_next_boot_with_audit_0_is_not_reviewed_on_a_running_host(tmp_path):
    control_gaps, control = scan(tmp_path / "control", None)
    assert control_gaps == []
    gaps, found = scan(tmp_path / "off", 'GRUB_CMDLINE_LINUX="quiet audit=0"\n')
    assert gaps == [REASON]
    if control.status != Status.PASS:
        pytest.skip(f"this host's persistent scope does not pass for another reason: {control.message}")
    assert found.status == Status.NOT_REVIEWED
    assert found.message == f"not reviewed: persistent rules b64: {REASON}"
