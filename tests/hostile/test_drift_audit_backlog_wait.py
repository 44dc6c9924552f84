"""Hostile drift.audit_rules: the --backlog_wait_time the next boot loads.

auditctl takes ``--backlog_wait_time N`` in a rules file (audit-userspace src/auditctl.c, setopt:
the value is sent with AUDIT_SET, AUDIT_STATUS_BACKLOG_WAIT_TIME), and the kernel reports it back in
AUDIT_GET (``backlog_wait_time`` of auditctl -s, Linux 3.14 and later).  drift.audit_rules compared
the last -e, -r, -b and -f with the kernel's values but skipped this one, because lbaudit did not
collect the kernel's value: a host whose processes wait 0 jiffies (records lost at once when the
queue is full) while rules.d says 60000, or the reverse, had no finding.  The kernel's value is now
collected (auditctl -s, else netlink) and compared like the others; a statement after ``-e 2`` is
refused by the locked kernel and compares nothing.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from auditor.checks.drift_audit_rules import DriftAuditRulesParams, drift_audit_rules
from auditor.collect import CollectContext
from auditor.collect.audit import collect_audit
from auditor.collect.audit_netlink import parse_status
from auditor.model.facts import AuditFacts
from auditor.model.result import Status
from tests.factories import snapshot
from tests.privileges import require_root

WAIT = "audit control --backlog_wait_time (backlog_wait_time)"


def findings(tmp_path: Path, rules: str, backlog_wait_time: int | None, rules_d: bool = True):
    """``rules`` in /etc/audit/rules.d (compiled by augenrules, which moves the last -e to the end),
    or as /etc/audit/audit.rules itself, loaded as it stands."""
    root = tmp_path / "image"
    (root / "etc" / "audit" / "rules.d").mkdir(parents=True)
    if rules_d:
        (root / "etc" / "audit" / "rules.d" / "10-base.rules").write_text(rules)
    else:
        (root / "etc" / "audit" / "rules.d").rmdir()
        (root / "etc" / "audit" / "audit.rules").write_text(rules)
    offline, _ = collect_audit(CollectContext(root=root, live=False))
    assert offline is not None and offline.persistent_rules is not None
    facts = AuditFacts(enabled=1, rate_limit=0, backlog_limit=8192, failure=1, backlog_wait_time=backlog_wait_time,
                       loaded_rules=[], persistent_rules=offline.persistent_rules,
                       persistent_source=offline.persistent_source)
    return {o.subject: o for o in drift_audit_rules.run(snapshot(audit=facts), DriftAuditRulesParams())
            if o.subject.startswith("audit control")}


@pytest.mark.parametrize("rules, running, expected", [
    ("-D\n--backlog_wait_time 60000\n", 0, Status.FAIL),       # was no finding
    ("-D\n--backlog_wait_time 0\n", 60000, Status.FAIL),
    ("-D\n--backlog_wait_time 1\n--backlog_wait_time 60000\n", 60000, Status.PASS),  # the last one is left
    ("-D\n--backlog_wait_time 60000\n", None, Status.NOT_REVIEWED),  # the kernel's value was not collected
])
def test_the_wait_time_the_boot_leaves_is_compared(tmp_path, rules, running, expected):
    found = findings(tmp_path, rules, running)
    assert {s: o.status for s, o in found.items()} == {WAIT: expected}


def test_the_finding_names_both_values_and_the_line(tmp_path):
    outcome = findings(tmp_path, "-D\n--backlog_wait_time 60000\n", 0)[WAIT]
    assert outcome.message == ("the kernel holds backlog_wait_time 0, but the rules the next boot loads set 60000 "
                               f"(--backlog_wait_time 60000 at {outcome.expected['origin']})")
    assert outcome.evidence[1] == "/facts/audit/backlog_wait_time"


def test_a_wait_time_after_the_lock_sets_nothing(tmp_path):
    rules = "-D\n--backlog_wait_time 1\n-e 2\n--backlog_wait_time 60000\n"
    locked = findings(tmp_path / "compiled", rules, 1, rules_d=False)
    assert locked[WAIT].status == Status.PASS
    assert locked["audit control -e (enabled)"].status == Status.FAIL  # running 1, the boot locks at 2
    # augenrules moves the -e 2 of rules.d after every other line: there the last wait time is set
    assert findings(tmp_path / "rules.d", rules, 1)[WAIT].status == Status.FAIL


@pytest.mark.live  # runs a program (an auditctl of its own) and asks the kernel over netlink
def test_the_kernels_wait_time_is_read_from_auditctl_s_and_netlink(tmp_path):
    programs = tmp_path / "bin"
    programs.mkdir()
    auditctl = programs / "auditctl"
    auditctl.write_text("#!/bin/sh\n[ \"$1\" = -s ] && printf 'enabled 1\\nfailure 1\\npid 0\\nrate_limit 0\\n"
                        "backlog_limit 8192\\nlost 0\\nbacklog 0\\nbacklog_wait_time 15000\\n'\n[ \"$1\" = -l ] && "
                        "echo 'No rules'\nexit 0\n")
    auditctl.chmod(0o755)
    root = tmp_path / "host"
    root.mkdir()
    from auditor.collect.targets import LocalHost
    facts, _ = collect_audit(CollectContext(target=LocalHost(root=root, program_path=(str(programs),),
                                                             proc=str(tmp_path / "noproc")),
                                            sections=frozenset({"audit"})))
    assert (facts.runtime_source, facts.backlog_wait_time) == ("auditctl", 15000)
    # struct audit_status up to backlog_wait_time (Linux 3.14+), and the shorter one of older kernels
    status = parse_status(struct.pack("=10I", 0, 1, 1, 612, 0, 8192, 0, 0, 0, 60000))
    assert status["backlog_wait_time"] == 60000
    assert parse_status(struct.pack("=8I", 0, 1, 1, 612, 0, 8192, 0, 0)).get("backlog_wait_time") is None


@pytest.mark.live
def test_live_wait_time_is_the_kernels(tmp_path):
    require_root()
    from tests.audit_kernel import auditctl_status_of_this_kernel

    printed = auditctl_status_of_this_kernel()
    if "backlog_wait_time" not in printed:
        pytest.skip("this kernel reports no backlog_wait_time")
    facts, _ = collect_audit(CollectContext(program_path=(str(tmp_path),), sections=frozenset({"audit"})))
    assert (facts.runtime_source, facts.backlog_wait_time) == ("netlink", int(printed["backlog_wait_time"]))
