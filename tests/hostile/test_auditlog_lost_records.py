"""Hostile: an audit configuration that drops records is not logging.

The defect: "audit enabled" judged the enabled state, the rate limit and audit=1, and passed a
kernel that had already lost records (``auditctl -s`` lost 1532), one whose backlog holds the
kernel's default 64 records (a burst beyond it is lost while auditd is busy or not yet started),
and one whose failure mode is 0 (a lost record is not even reported).  Each now fails the finding,
naming the number; a snapshot without these values (written before lbaudit read them) passes with
words saying they were not recorded, as for the rate limit.
"""

from __future__ import annotations

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.collect.audit_netlink import parse_status
from auditor.domain.audit_rules import number_from_status, parse_auditctl_status
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.audit_kernel import auditctl_status_of_this_kernel
from tests.factories import X32_OFF, running_auditd, snapshot
from tests.privileges import require_root

# auditctl -s of a Debian 12 host whose kernel lost records at boot (before auditd registered)
STATUS = """enabled 1
failure 1
pid 612
rate_limit 0
backlog_limit 8192
lost 1532
backlog 0
backlog_wait_time 60000
backlog_wait_time_actual 0
loginuid_immutable 0 unlocked
"""


def enabled_finding(lost: int | None = 0, backlog_limit: int | None = 8192, failure: int | None = 1, **params):
    facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, boot_audit="on", lost=lost, backlog_limit=backlog_limit,
                       failure=failure, loaded_rules=[], persistent_rules=[], **running_auditd())
    outcomes = audit_socket_logging.run(snapshot(audit=facts), SocketLoggingParams(**params))
    (found,) = [o for o in outcomes if o.subject == "audit enabled"]
    return found


def test_the_status_values_are_read_from_auditctl_s():
    status, problems = parse_auditctl_status(STATUS)
    assert problems == []
    assert [number_from_status(status, n) for n in ("lost", "backlog_limit", "failure")] == [1532, 8192, 1]
    assert number_from_status({"lost": "x"}, "lost") is None and number_from_status({}, "lost") is None


def test_records_lost_since_boot_fail_with_the_number():
    found = enabled_finding(lost=1532)
    assert found.status == Status.FAIL
    assert "the kernel has lost 1532 audit records since boot" in found.message
    assert found.observed["lost"] == 1532 and found.expected["lost"] == 0
    assert "/facts/audit/lost" in found.evidence


def test_a_tiny_backlog_fails_and_the_threshold_is_a_param():
    found = enabled_finding(backlog_limit=64)
    assert found.status == Status.FAIL
    assert "its backlog limit is 64 records (at least 8192 expected)" in found.message
    assert enabled_finding(backlog_limit=64, min_backlog_limit=64).status == Status.PASS
    assert enabled_finding(backlog_limit=64, min_backlog_limit=0).status == Status.PASS


def test_a_backlog_limit_of_0_is_no_limit_and_passes():
    # kernel/audit.c audit_queue_full(): "audit_backlog_limit && len > audit_backlog_limit", so 0
    # never refuses a record for the queue's length; it failed as "0 records (at least 8192 expected)"
    found = enabled_finding(backlog_limit=0)
    assert found.status == Status.PASS
    assert "no record lost since boot, no backlog limit (0)" in found.message
    assert found.observed["backlog_limit"] == 0 and found.expected["backlog_limit"] == ">= 8192 or 0 (no limit)"
    assert enabled_finding(backlog_limit=1).status == Status.FAIL  # the smallest limit there is still fails


def test_silent_failure_mode_fails():
    found = enabled_finding(failure=0)
    assert found.status == Status.FAIL
    assert "its failure mode is 0 (silent)" in found.message
    assert enabled_finding(failure=2).status == Status.PASS  # panic: nothing is lost unnoticed


def test_no_loss_passes_and_says_so():
    found = enabled_finding()
    assert found.status == Status.PASS
    assert "no record lost since boot, backlog limit 8192" in found.message


def test_snapshot_without_the_values_passes_saying_they_were_not_recorded():
    found = enabled_finding(lost=None, backlog_limit=None, failure=None)
    assert found.status == Status.PASS
    assert "records lost since boot were not recorded in this snapshot" in found.message


def test_netlink_status_carries_the_same_values():
    import struct

    status = parse_status(struct.pack("=8I", 0, 1, 0, 612, 0, 64, 7, 0))
    assert (status["failure"], status["backlog_limit"], status["lost"]) == (0, 64, 7)


@pytest.mark.live
def test_live_values_are_the_kernels():
    require_root()
    printed = auditctl_status_of_this_kernel()
    facts, _ = collect_audit(CollectContext(sections=frozenset({"audit"})))
    assert facts.backlog_limit == int(printed["backlog_limit"])
    assert facts.failure == int(printed["failure"])
    assert facts.lost is not None and facts.lost >= 0  # it only grows between the two readings
    found = [o for o in audit_socket_logging.run(snapshot(audit=facts), SocketLoggingParams())
             if o.subject == "audit enabled"][0]
    if facts.backlog_limit < 8192 or facts.lost or facts.failure == 0 or facts.enabled == 0:
        assert found.status == Status.FAIL


@pytest.mark.live
def test_live_without_auditctl_reads_them_over_netlink(tmp_path):
    require_root()
    printed = auditctl_status_of_this_kernel()
    facts, _ = collect_audit(CollectContext(program_path=(str(tmp_path),), sections=frozenset({"audit"})))
    assert facts.runtime_source == "netlink"
    assert (facts.backlog_limit, facts.failure) == (int(printed["backlog_limit"]), int(printed["failure"]))
