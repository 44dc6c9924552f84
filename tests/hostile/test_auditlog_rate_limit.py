"""Hostile corpus, false passes: socket rules that select every call, and a rate limit that drops them.

``-r N`` in rules.d sets the kernel's audit rate limit at boot: past N records a second the kernel
drops the record (audit_rate_check, "audit: rate limit exceeded", only printk'd with ``-f 1``).  A
port scan or a busy server's binds and connects then go unrecorded although every rule selects
them.  lbaudit judged the rules and ``-e`` only, so ``-r 1`` with the recommended rules passed.
Each case builds an offline image (rules.d and the image's auditctl) and asserts the exact status
of the ``audit.socket_logging`` persistent findings; the last ``-r`` augenrules loads decides.
"""

from __future__ import annotations

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.live import collect_snapshot
from auditor.domain.audit_rules import (
    enabled_from_status,
    parse_auditctl_status,
    parse_rules_text,
    rate_limit_from_status,
)
from auditor.model.check import Outcome
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.audit_kernel import auditctl_status_of_this_kernel
from tests.factories import BOOT_BACKLOG_RULES, X32_OFF, snapshot
from tests.hostile.test_audit_rules import NET, image, persistent
from tests.privileges import require_root

PASS, FAIL = Status.PASS, Status.FAIL


def test_control_case_no_rate_limit_passes(tmp_path):
    assert persistent(image(tmp_path, {"30-net.rules": "-b 8192\n-r 0\n" + NET})) == (PASS, PASS)


def test_a_rate_limit_of_one_record_a_second_fails(tmp_path):
    snap = image(tmp_path, {"00-base.rules": "-D\n-b 8192\n-r 1\n", "30-net.rules": NET})
    assert persistent(snap) == (FAIL, FAIL)
    outcome = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}["persistent rules b64"]
    assert outcome.observed["missing"] == [] and len(outcome.observed["covered"]) == 5
    assert any("rate limit of 1 records a second" in b for b in outcome.observed["blockers"])
    assert "00-base.rules" in outcome.message


def test_the_last_rate_limit_decides(tmp_path):
    assert persistent(image(tmp_path, {"00-b.rules": BOOT_BACKLOG_RULES, "10-a.rules": "-r 100\n", "90-z.rules": NET + "-r 0\n"})) == (PASS, PASS)
    assert persistent(image(tmp_path / "b", {"00-b.rules": BOOT_BACKLOG_RULES, "10-a.rules": "-r 0\n", "90-z.rules": NET + "-r 0x10\n"})) \
        == (FAIL, FAIL)


def test_a_rate_limit_in_a_file_augenrules_skips_does_not_count(tmp_path):
    # augenrules reads only *.rules files
    assert persistent(image(tmp_path, {"00-b.rules": BOOT_BACKLOG_RULES, "30-net.rules": NET, "99-slow.rules.disabled": "-r 1\n"})) == (PASS, PASS)


# ---------------------------------------------------------------- the loaded rate limit (auditctl -s)

# captured `auditctl -s` of audit 3.x and of audit 2.3 (one AUDIT_STATUS line)
STATUS_3X = ("enabled 1\nfailure 1\npid 812\nrate_limit {rate}\nbacklog_limit 8192\nlost 0\nbacklog 0\n"
             "backlog_wait_time 60000\nbacklog_wait_time_actual 0\nloginuid_immutable 0 unlocked\n")
STATUS_23 = "AUDIT_STATUS: enabled=1 flag=1 pid=812 rate_limit={rate} backlog_limit=320 lost=0 backlog=0\n"


def loaded(status_text: str | None) -> dict[str, Outcome]:
    rate_limit = None
    if status_text is not None:
        status, problems = parse_auditctl_status(status_text)
        assert problems == [] and enabled_from_status(status) == 1
        rate_limit = rate_limit_from_status(status)
    rules = parse_rules_text(NET, "auditctl -l", "x86_64").rules
    facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=rate_limit, loaded_rules=rules, persistent_rules=rules,
                       persistent_source="/etc/audit/rules.d (augenrules)", runtime_source="auditctl",
                       config_dir_exists=True, machine="x86_64")
    return {o.subject: o for o in audit_socket_logging.run(snapshot(audit=facts), SocketLoggingParams())}


def test_control_case_no_loaded_rate_limit_passes():
    for text in (STATUS_3X, STATUS_23):
        found = loaded(text.format(rate=0))
        assert found["audit enabled"].status == PASS and found["loaded rules b64"].status == PASS
        assert found["audit enabled"].observed == {"enabled": 1, "rate_limit": 0}


def test_a_loaded_rate_limit_fails_the_enabled_finding():
    for text in (STATUS_3X, STATUS_23):
        found = loaded(text.format(rate=5))
        assert found["audit enabled"].status == FAIL
        assert "rate limit is 5 records a second" in found["audit enabled"].message


def test_a_snapshot_without_the_rate_limit_says_so_when_it_passes():
    found = loaded(None)
    assert found["audit enabled"].status == PASS
    assert "rate limit was not recorded" in found["audit enabled"].message


@pytest.mark.live
def test_live_collection_records_the_kernels_rate_limit(tmp_path):
    require_root()
    expected = int(auditctl_status_of_this_kernel()["rate_limit"])
    with_auditctl = collect_snapshot(CollectContext(sections=frozenset({"audit"})))
    assert with_auditctl.facts.audit.runtime_source == "auditctl"
    assert with_auditctl.facts.audit.rate_limit == expected
    over_netlink = collect_snapshot(CollectContext(program_path=(str(tmp_path),), sections=frozenset({"audit"})))
    assert over_netlink.facts.audit.runtime_source == "netlink"
    assert over_netlink.facts.audit.rate_limit == expected
