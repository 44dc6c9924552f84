"""Hostile macOS captures where launchd has com.apple.auditd loaded but the kernel does not audit.

launchd starts auditd on demand (com.apple.auditd.plist: a MachService on the kernel's audit
trigger port, ``-l``, no RunAtLoad, ``TimeOut`` 60), and auditd under launchd exits after a minute
idle while the kernel keeps auditing (OpenBSM auditd.c: ``close_misc``, not ``close_all``, under
launchd).  So neither "loaded" (``launchctl print`` exits 0) nor "state = running" says whether the
kernel audits: a host with the service loaded and auditing never started (or stopped with
``audit -t``) passed "audit(4) is on".  ``audit -c`` answers it: it "exit[s] successfully only if
auditing is enabled in the kernel" (audit(8) of macOS).  The capture records it with its exit code
on the last line (``audit-condition.txt``), as it does for launchctl.

Each case copies the ``macos-audited`` fixture bundle (launchctl exit 0, ``state = not running``),
writes or removes ``audit-condition.txt`` and replays it with ``lbaudit evaluate --target
replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited

AUDIT_ONLY = """\
id: audit-only
version: "1"
owner: Security Engineering
rules:
  - id: socket-audit
    check: audit.socket_logging
"""
ENABLED = ("socket-audit", "audit(4) enabled")


def replay(tmp_path: Path, condition: str | None) -> tuple[int, dict]:
    def edit(directory: Path) -> None:
        path = directory / "audit-condition.txt"
        if condition is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(condition)
    code, found, _ = replay_edited(tmp_path, "macos-audited", edit, AUDIT_ONLY)
    return code, found[ENABLED]


def test_control_case_the_kernel_audits_passes(tmp_path):
    code, finding = replay(tmp_path, "0\n")
    assert (code, finding["status"]) == (0, "pass")
    assert "audit -c exited 0" in finding["message"]


def test_loaded_but_the_kernel_not_auditing_fails(tmp_path):
    code, finding = replay(tmp_path, "1\n")
    assert code == 1  # was 0: "launchd has com.apple.auditd loaded" passed
    assert finding["status"] == "fail"
    assert "audit -c exited 1: auditing is not enabled in the kernel" in finding["message"]


def test_a_capture_without_audit_c_is_not_reviewed_never_passed(tmp_path):
    code, finding = replay(tmp_path, None)
    assert code == 3  # was 0: loaded was taken for auditing
    assert finding["status"] == "not_reviewed"
    assert "bundle file audit-condition.txt: missing from the bundle (written by an older lbaudit capture script?" \
        in finding["message"]
    assert "launchd starts auditd on demand" in finding["message"]


@pytest.mark.parametrize("condition, shown", [
    ("audit: illegal option -- c\nUsage: audit -e | -i | -n | -s | -t \n255\n", "audit: illegal option -- c"),
    ("audit: Operation not permitted\n1\n", "audit: Operation not permitted"),
])
def test_an_audit_c_that_says_something_else_is_not_reviewed(tmp_path, condition, shown):
    code, finding = replay(tmp_path, condition)
    assert code == 3
    assert finding["status"] == "not_reviewed"
    assert shown in finding["message"]


def test_an_audit_c_capture_without_its_exit_code_is_not_reviewed(tmp_path):
    code, finding = replay(tmp_path, "\n")
    assert code == 3
    assert finding["status"] == "not_reviewed"


def test_the_kernel_auditing_without_auditd_loaded_fails_saying_so(tmp_path):
    def edit(directory: Path) -> None:
        (directory / "audit-condition.txt").write_text("0\n")
        (directory / "auditd-launchctl.txt").write_text('Could not find service "com.apple.auditd" in domain for '
                                                        "system\n113\n")
    code, found, _ = replay_edited(tmp_path, "macos-audited", edit, AUDIT_ONLY)
    finding = found[ENABLED]
    assert (code, finding["status"]) == (1, "fail")
    assert ("audit -c exited 0 (the kernel audits now), but launchctl print system/com.apple.auditd exited 113: "
            "auditd is not loaded") in finding["message"]
