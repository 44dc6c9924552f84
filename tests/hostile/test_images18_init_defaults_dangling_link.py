"""An image's /etc/default/auditd that is a symbolic link to nothing does not say USE_AUGENRULES is unset.

Without systemd, Debian's /etc/init.d/auditd sources /etc/default/auditd and compiles rules.d only
unless it sets ``USE_AUGENRULES=no``; then the boot loads audit.rules as it stands.  lbaudit read a
link to nothing there (``-> /srv/default/auditd``, a mount the image does not carry) as no file, so
rules.d was taken as what the boot loads and "persistent rules b64" passed on it, while the file the
booted host sources may say ``no`` and load a stale audit.rules without a socket rule.  As for the
other files so linked, it is now not reviewed, naming the link.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.hostile.test_auditlog16_init_script_rules import persistent_b64


def test_a_defaults_file_linked_to_nothing_is_not_reviewed(tmp_path: Path) -> None:
    persistent_b64(tmp_path, None)  # builds the image (no /etc/default/auditd): rules.d passes
    root = tmp_path / "image"
    (root / "etc/default").mkdir()
    os.symlink("/srv/default/auditd", root / "etc/default/auditd")
    snap = collect_root(root, frozenset({"audit"}))
    [found] = [o for o in audit_socket_logging.run(snap, SocketLoggingParams()) if o.subject == "persistent rules b64"]
    assert found.status == Status.NOT_REVIEWED, found
    assert "/etc/default/auditd: not found, through a symbolic link to nothing" in (found.reason or ""), found.reason


def test_without_the_link_rules_d_is_judged(tmp_path: Path) -> None:
    assert persistent_b64(tmp_path, None).status == Status.PASS
