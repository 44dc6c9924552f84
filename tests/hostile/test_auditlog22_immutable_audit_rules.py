"""Hostile image, round auditlog22: an audit.rules that augenrules cannot rewrite is loaded as it stands.

augenrules compiles rules.d into a temporary file, then ``cp`` s it over /etc/audit/audit.rules and
runs ``auditctl -R /etc/audit/audit.rules``; the script does not stop when the copy fails.  A file
made immutable (``chattr +i``, which hardening guides suggest for the audit configuration) or
append-only (``chattr +a``: cp truncates it) refuses the copy, so the boot loads the audit.rules
already there, whatever rules.d says.  lbaudit judged rules.d whenever the directory existed: rules.d
covering every socket call passed the persistent scopes while the boot loaded a stale audit.rules
without one.  The test machine's own augenrules (a copy pointed at the test's directories) shows
the copy refused and the file unchanged.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, ELF_X86_64, SOCKET_AUDIT_RULES, install_kernel_without_x32

PASS, FAIL = Status.PASS, Status.FAIL
STALE = "## generated long ago\n-a always,exit -F arch=b64 -S execve -k exec\n"


@pytest.fixture
def image(tmp_path: Path):
    root = tmp_path / "image"
    audit = root / "etc" / "audit"
    (audit / "rules.d").mkdir(parents=True)
    (audit / "rules.d" / "00-backlog.rules").write_text(BOOT_BACKLOG_RULES)
    (audit / "rules.d" / "30-net.rules").write_text(SOCKET_AUDIT_RULES)
    (audit / "audit.rules").write_text(STALE)
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    install_kernel_without_x32(root)
    yield root
    subprocess.run(["chattr", "-i", "-a", str(audit / "audit.rules")], check=False)  # so that pytest can remove it


def chattr(path: Path, flag: str) -> None:
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr {flag}: {done.stderr.strip()} (needs root and a file system with inode flags)")


def persistent(root: Path) -> tuple[tuple[Status, Status], str | None]:
    snap = collect_root(root, frozenset({"audit"}))
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
    return (found["persistent rules b64"].status, found["persistent rules b32"].status), snap.facts.audit.persistent_source


def test_control_case_rules_d_is_what_augenrules_loads(image):
    assert persistent(image) == ((PASS, PASS), "/etc/audit/rules.d (augenrules)")


@pytest.mark.parametrize("flag", ["+i", "+a"])
def test_an_audit_rules_augenrules_cannot_rewrite_is_judged_as_it_stands(image, flag):
    chattr(image / "etc" / "audit" / "audit.rules", flag)
    statuses, source = persistent(image)
    assert statuses == (FAIL, FAIL)
    assert source is not None and source.startswith("/etc/audit/audit.rules (")
    assert "augenrules cannot rewrite it" in source


def test_augenrules_itself_leaves_an_immutable_audit_rules_as_it_was(image, tmp_path):
    program = shutil.which("augenrules")
    if program is None or shutil.which("awk") is None:
        pytest.skip("augenrules (auditd) is not installed")
    target = image / "etc" / "audit" / "audit.rules"
    chattr(target, "+i")
    script = Path(program).read_text()
    script = script.replace("DestinationFile=/etc/audit/audit.rules", f"DestinationFile={target}")
    script = script.replace("SourceRulesDir=/etc/audit/rules.d", f"SourceRulesDir={image}/etc/audit/rules.d")
    copy = tmp_path / "augenrules"
    copy.write_text(script)
    subprocess.run(["sh", str(copy)], capture_output=True, text=True, timeout=60)  # without --load: loads nothing
    assert target.read_text() == STALE
