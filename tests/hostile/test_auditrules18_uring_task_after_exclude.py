"""Hostile judging, io_uring: a never task rule behind an exclude rule that drops every SYSCALL record.

The kernel gives a task no audit context when a never rule on the task list matches it at fork, and
then neither its syscalls nor its io_uring operations are recorded (audit_uring_entry needs the
context).  lbaudit looked for such task rules and for exclude rules in one pass over the rule list
and stopped at the first rule that stops every syscall record: an ``-a always,exclude -F
msgtype=SYSCALL`` written before ``-a never,task`` (a rules file's order; the kernel lists the task
list first) ended the pass, and the io_uring verdict, which sets that exclude rule aside (it drops
SYSCALL, not URINGOP, records), never saw the never task rule: the io_uring operations were
"covered" while no task had an audit context.
"""

from __future__ import annotations

from auditor.checks._audit_coverage import judge_uring_op
from auditor.domain.audit_rules import parse_rules_text

URING = "-a always,io_uring -S bind,listen,connect,accept -k net\n"


def verdict(text: str):
    rules = parse_rules_text(text, "/etc/audit/audit.rules", "x86_64").rules
    return judge_uring_op(rules, "bind", frozenset())


def test_control_case_the_io_uring_rule_covers_bind():
    assert verdict(URING).status == "covered"


def test_control_case_a_never_task_rule_alone_shadows_it():
    found = verdict("-a never,task\n" + URING)
    assert (found.status, found.decided_by.rule.text) == ("shadowed", "-a never,task")


def test_a_never_task_rule_behind_an_exclude_rule_still_shadows_it():
    found = verdict("-a always,exclude -F msgtype=SYSCALL\n-a never,task\n" + URING)
    assert found.status == "shadowed"
    assert found.decided_by.rule.text == "-a never,task"


def test_a_filtered_never_task_rule_behind_an_exclude_rule_still_narrows_it():
    found = verdict("-a always,exclude -F msgtype=SYSCALL\n-a never,task -F uid=33\n" + URING)
    assert found.status == "narrowed"
    assert [h.rule.text for h in found.against] == ["-a never,task -F uid=33"]
