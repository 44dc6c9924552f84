"""Hostile corpus: a policy that accepts ``auid>=1000`` / ``auid!=unset`` as not narrowing.

Every daemon started at boot has auid unset (4294967295), and daemons hold most listeners, so
rules with those filters never record their bind, connect or accept.  The filters are the
organisation's to accept, but a pass that relies on them says so (and names them in
``observed.accepted_filters_relied_on``) instead of reading like full coverage.
"""

from __future__ import annotations

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.domain.audit_rules import parse_rules_text
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.factories import SOCKET_AUDIT_RULES, X32_OFF, running_auditd, snapshot

# every way of making the calls, each rule narrowed by the same two filters
NARROWED = "".join(line.replace(" -k net", " -F auid>=1000 -F auid!=unset -k net") + "\n"
                   for line in SOCKET_AUDIT_RULES.splitlines())


def judge(accepted: list[str]) -> dict:
    rules = parse_rules_text(NARROWED, "/etc/audit/rules.d/30-net.rules", "x86_64").rules
    facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=rules, persistent_rules=rules,
                       persistent_source="/etc/audit/rules.d (augenrules)", runtime_source="auditctl",
                       config_dir_exists=True, **running_auditd())
    outcomes = audit_socket_logging.run(snapshot(audit=facts, arch="x86_64"),
                                        SocketLoggingParams(accepted_filters=accepted))
    return {o.subject: o for o in outcomes}


def test_daemon_excluding_filters_fail_by_default():
    assert judge([])["loaded rules b64"].status == Status.FAIL


def test_accepted_daemon_excluding_filters_pass_and_say_what_they_exclude():
    found = judge(["auid>=1000", "auid!=unset"])["loaded rules b64"]
    assert found.status == Status.PASS
    assert found.observed["accepted_filters_relied_on"] == ["auid!=unset", "auid>=1000"]
    assert "other than the accepted auid!=unset, auid>=1000 (calls they exclude are not recorded)" in found.message
