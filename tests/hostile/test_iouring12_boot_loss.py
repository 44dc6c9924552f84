"""Hostile: the boot's -b and -f, which make the kernel lose records after boot, in the persistent scope.

The defect: audit.socket_logging's persistent scopes judged the boot's last ``-e 0`` and ``-r N``
(auditing off, records past a rate dropped) but not its ``-b`` or ``-f``: rules.d with ``-b 64``
(a burst of more than 64 queued records is lost once the rules load) or ``-f 0`` (a lost record
not even reported) passed, while the same values running fail 'audit enabled'.  The last
statement of each in load order is what the kernel holds after boot; with no -b, the kernel command
line's ``audit_backlog_limit=`` is.  Each case is an offline image (rules.d and the image's
auditctl) collected by the real collector.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.model.result import Status
from tests.factories import SOCKET_AUDIT_RULES
from tests.hostile.test_rules12_audit_rules import image, persistent


def b64(tmp_path: Path, control: str) -> tuple[Status, str]:
    return persistent(image(tmp_path, {"10-control.rules": control, "30-net.rules": SOCKET_AUDIT_RULES}))[
        "persistent rules b64"]


def test_a_small_boot_backlog_limit_fails_the_persistent_scope(tmp_path):
    status, message = b64(tmp_path, "-b 8192\n-b 64\n")
    assert status == Status.FAIL
    assert message == ("persistent rules b64: syscalls audited: -b 64 at /etc/audit/rules.d/10-control.rules:2 sets a "
                       "backlog limit of 64 records (at least 8192 expected): a burst of events beyond it while "
                       "auditd is busy is lost after boot")


def test_a_silent_boot_failure_mode_fails_the_persistent_scope(tmp_path):
    status, message = b64(tmp_path, "-f 0\n")
    assert status == Status.FAIL
    assert message == ("persistent rules b64: syscalls audited: -f 0 at /etc/audit/rules.d/10-control.rules:1 sets the "
                       "failure mode to 0 (silent): after boot a lost record is not even reported in the kernel log "
                       "(AU-5 asks for an alert on an audit processing failure)")


@pytest.mark.parametrize("control", ["-b 8192\n-f 1\n", "-b 64\n-b 0\n", "-b 8192\n-f 0\n-f 2\n", "-b 0x2000\n"])
def test_control_case_the_last_statement_keeping_records_passes(tmp_path, control):
    # the last of each decides; 0 is no backlog limit; auditctl reads 0x2000 as 8192
    assert b64(tmp_path, control)[0] == Status.PASS


def test_the_policy_minimum_is_the_bar_and_0_turns_it_off(tmp_path):
    snap = image(tmp_path, {"10-control.rules": "-b 1024\n", "30-net.rules": SOCKET_AUDIT_RULES})
    judged = {o.subject: o.status for o in audit_socket_logging.run(snap, SocketLoggingParams(min_backlog_limit=1024))}
    assert judged["persistent rules b64"] == Status.PASS
    unjudged = {o.subject: o.status for o in audit_socket_logging.run(snap, SocketLoggingParams(min_backlog_limit=0))}
    assert unjudged["persistent rules b64"] == Status.PASS
    strict = {o.subject: o.status for o in audit_socket_logging.run(snap, SocketLoggingParams(min_backlog_limit=2048))}
    assert strict["persistent rules b64"] == Status.FAIL


def test_min_backlog_limit_is_used_by_the_persistent_scope_without_require_enabled():
    params = SocketLoggingParams(require_enabled=False)
    assert "min_backlog_limit" not in params.unused_params()
    assert "min_backlog_limit" in SocketLoggingParams(require_enabled=False, require_persistent=False).unused_params()
