"""Hostile image, round auditlog22: augenrules before audit 3.1.1 reads a rules.d name as a shell pattern.

augenrules up to audit 3.1 (Debian 12's 3.0.9) reads each name ``ls -1v`` lists with ``cat
${SourceRulesDir}/${rules}``, unquoted: the shell expands a name holding ``*``, ``?`` or ``[`` as
a pattern, and cat reads the files it matches instead of the file itself.  A rules.d holding
``[4]0-net.rules`` with the socket rules and a ``40-net.rules`` without them gives the boot
40-net.rules twice and the socket rules never (this host's augenrules, pointed at the test's
directories, shows it).  lbaudit read each name as the file itself, and passed the persistent
scopes.  3.1.1 quoted the name ("${rules}"); audit 4.2 lists rules.d with a glob.  Such a name is
now not reviewed where the target's augenrules expands it or cannot be told.
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

PASS, NOT_REVIEWED = Status.PASS, Status.NOT_REVIEWED
LS_3_0_9 = "for rules in $(/bin/ls -1v ${SourceRulesDir} | grep \"\\.rules$\") ; do\n\tcat ${SourceRulesDir}/${rules}\ndone\n"
LS_3_1_1 = LS_3_0_9.replace("/${rules}", "/\"${rules}\"")
GLOB_4_2 = "for rules in \"${SourceRulesDir}\"/*.rules ; do\n\tprintf '%s\\0' \"${rules}\"\ndone | sort -zV\n"
PATTERN = "[4]0-net.rules"


def image(tmp_path: Path, augenrules: str | None) -> Path:
    root = tmp_path / "image"
    rules_d = root / "etc" / "audit" / "rules.d"
    rules_d.mkdir(parents=True)
    (rules_d / "00-backlog.rules").write_text(BOOT_BACKLOG_RULES)
    (rules_d / "40-net.rules").write_text("## network rules moved\n")
    (rules_d / PATTERN).write_text(SOCKET_AUDIT_RULES)
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    install_kernel_without_x32(root)
    if augenrules is not None:
        (root / "usr" / "sbin" / "augenrules").write_text("#!/bin/sh\n" + augenrules)
    return root


def persistent(root: Path) -> tuple[tuple[Status, Status], str]:
    snap = collect_root(root, frozenset({"audit"}))
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
    b64 = found["persistent rules b64"]
    return (b64.status, found["persistent rules b32"].status), b64.message


@pytest.mark.parametrize("script", [LS_3_1_1, GLOB_4_2])
def test_control_case_augenrules_that_reads_the_name_as_it_is_passes(tmp_path, script):
    assert persistent(image(tmp_path, script))[0] == (PASS, PASS)


@pytest.mark.parametrize("script", [LS_3_0_9, None])
def test_a_name_augenrules_may_expand_as_a_pattern_is_not_reviewed(tmp_path, script):
    statuses, message = persistent(image(tmp_path, script))
    assert statuses == (NOT_REVIEWED, NOT_REVIEWED)
    assert repr(PATTERN) in message and "shell pattern" in message


def test_this_hosts_augenrules_3_0_9_reads_the_match_not_the_file(tmp_path):
    program = shutil.which("augenrules")
    if program is None or shutil.which("awk") is None:
        pytest.skip("augenrules (auditd) is not installed")
    script = Path(program).read_text()
    if "cat ${SourceRulesDir}/${rules}" not in script:
        pytest.skip("this host's augenrules quotes the name")
    root = image(tmp_path, None)
    target = tmp_path / "audit.rules"
    script = script.replace("DestinationFile=/etc/audit/audit.rules", f"DestinationFile={target}")
    script = script.replace("SourceRulesDir=/etc/audit/rules.d", f"SourceRulesDir={root}/etc/audit/rules.d")
    (tmp_path / "augenrules").write_text(script)
    subprocess.run(["sh", str(tmp_path / "augenrules")], capture_output=True, text=True, timeout=60, check=True)
    compiled = target.read_text()
    assert "-b 8192" in compiled and "-S bind" not in compiled
