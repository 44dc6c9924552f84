"""Hostile corpus, false passes: socket rules that select every call, and a rate limit that drops them.

``-r N`` in rules.d sets the kernel's audit rate limit at boot: past N records a second the kernel
drops the record (audit_rate_check, "audit: rate limit exceeded", only printk'd with ``-f 1``).  A
port scan or a busy server's binds and connects then go unrecorded although every rule selects
them.  lbaudit judged the rules and ``-e`` only, so ``-r 1`` with the recommended rules passed.
Each case builds an offline image (rules.d and the image's auditctl) and asserts the exact status
of the ``audit.socket_logging`` persistent findings; the last ``-r`` augenrules loads decides.
"""

from __future__ import annotations

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.model.result import Status
from tests.hostile.test_audit_rules import NET, image, persistent

PASS, FAIL = Status.PASS, Status.FAIL


def test_control_case_no_rate_limit_passes(tmp_path):
    assert persistent(image(tmp_path, {"30-net.rules": "-b 8192\n-r 0\n" + NET})) == (PASS, PASS)


def test_a_rate_limit_of_one_record_a_second_fails(tmp_path):
    snap = image(tmp_path, {"00-base.rules": "-D\n-b 8192\n-r 1\n", "30-net.rules": NET})
    assert persistent(snap) == (FAIL, FAIL)
    outcome = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}["persistent rules b64"]
    assert outcome.observed["missing"] == [] and len(outcome.observed["covered"]) == 4
    assert any("rate limit of 1 records a second" in b for b in outcome.observed["blockers"])
    assert "00-base.rules" in outcome.message


def test_the_last_rate_limit_decides(tmp_path):
    assert persistent(image(tmp_path, {"10-a.rules": "-r 100\n", "90-z.rules": NET + "-r 0\n"})) == (PASS, PASS)
    assert persistent(image(tmp_path / "b", {"10-a.rules": "-r 0\n", "90-z.rules": NET + "-r 0x10\n"})) \
        == (FAIL, FAIL)


def test_a_rate_limit_in_a_file_augenrules_skips_does_not_count(tmp_path):
    # augenrules reads only *.rules files
    assert persistent(image(tmp_path, {"30-net.rules": NET, "99-slow.rules.disabled": "-r 1\n"})) == (PASS, PASS)
