"""Hostile: a pass names every accepted filter it rests on, that of an always task rule too.

The defect: an ``-a always,task -F auid>=1000`` in front of ``-a never,task`` keeps the never rule
from the tasks it matches (the task list's first match decides), and with ``auid>=1000`` among the
accepted filters lbaudit read it as keeping the never rule from every task.  The pass was right for
what the policy accepts, but it named only the exit rule's accepted filters ("a pass names the
accepted filters it relied on"): the tasks of auid below 1000 reach the never rule and are not
audited at all, and the finding did not say it rested on that filter.  Now the filters of such an
always task rule are named with the others (``observed.accepted_filters_relied_on``), in the
syscall scopes and the io_uring scope, and the rule is among the evidence.
"""

from __future__ import annotations

from auditor.model.result import Status
from tests.factories import SOCKET_AUDIT_RULES
from tests.hostile.test_auditlog_io_uring import OPEN, URING_RULE, judge

TASK_RULES = "-a always,task -F auid>=1000\n-a never,task\n"


def test_an_accepted_filter_of_the_always_task_rule_is_named_by_the_syscall_pass():
    found = judge(OPEN, rules=TASK_RULES + SOCKET_AUDIT_RULES + URING_RULE + "\n", accepted_filters=["auid>=1000"])
    b64 = found["loaded rules b64"]
    assert b64.status == Status.PASS
    assert b64.message.endswith("audited by always,exit rules without narrowing filters other than the accepted "
                                "auid>=1000 (calls they exclude are not recorded)")
    assert b64.observed["accepted_filters_relied_on"] == ["auid>=1000"]
    assert "/facts/audit/loaded_rules/0" in b64.evidence


def test_an_accepted_filter_of_the_always_task_rule_is_named_by_the_io_uring_pass():
    found = judge(OPEN, rules=TASK_RULES + SOCKET_AUDIT_RULES + URING_RULE + "\n", accepted_filters=["auid>=1000"])
    uring = found["loaded rules io_uring"]
    assert uring.status == Status.PASS
    assert uring.message == ("loaded rules io_uring: the io_uring operations accept, connect, bind, listen are "
                             "audited (accepted filters relied on: auid>=1000)")


def test_control_case_without_a_never_task_rule_the_always_task_filter_is_not_relied_on():
    # nothing on the task list takes auditing away, so the always rule's filter decides nothing
    found = judge(OPEN, rules="-a always,task -F auid>=1000\n" + SOCKET_AUDIT_RULES + URING_RULE + "\n",
                  accepted_filters=["auid>=1000"])
    assert found["loaded rules b64"].status == Status.PASS
    assert found["loaded rules b64"].message.endswith("audited by always,exit rules without narrowing filters")
    assert found["loaded rules io_uring"].message == (
        "loaded rules io_uring: the io_uring operations accept, connect, bind, listen are audited")


def test_control_case_an_unaccepted_filter_leaves_the_never_rule_deciding():
    found = judge(OPEN, rules=TASK_RULES + SOCKET_AUDIT_RULES + URING_RULE + "\n")
    assert found["loaded rules b64"].status == Status.FAIL
    assert "shadowed by auditctl -l:2 (-a never,task;" in found["loaded rules b64"].message
