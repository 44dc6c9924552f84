"""The view's words for renderers that list every finding (HTML table, HDF results): one sentence of
observed versus expected per status, every finding once in policy order, and SP 800-53A's wording
of the engine's control judgement."""

from __future__ import annotations

import pytest

from auditor.model.result import STATUS_ORDER, Status
from auditor.report.view import control_judgement, finding_lines, finding_sentence


def test_every_finding_once_in_policy_order_worst_first(evidence):
    lines = finding_lines(evidence)
    assert sorted(line.id for line in lines) == sorted(f.id for f in evidence.result.findings)
    rules = [r.id for r in evidence.policy.rules]
    keys = [(rules.index(line.rule_id), STATUS_ORDER.index(line.status)) for line in lines]
    assert keys == sorted(keys)


def test_one_sentence_per_status(evidence):
    by_status = {f.status: f for f in evidence.result.findings}
    assert set(by_status) == set(Status)
    port = next(f for f in evidence.result.findings if f.rule_id == "port-range")
    assert finding_sentence(port) == "Observed 28232, but expected min: 30000."
    assert finding_sentence(by_status[Status.NOT_REVIEWED]).startswith("Nothing could be observed: auditctl -l")
    assert finding_sentence(by_status[Status.ERROR]).startswith("The check failed before it could judge: ValueError")
    assert finding_sentence(by_status[Status.NOT_APPLICABLE]).startswith("Not applicable: the host has no IPv6")
    waived = finding_sentence(by_status[Status.WAIVED])
    assert waived.startswith("Observed 0.0.0.0, but expected a specific address. Waived until 2026-12-31")
    assert "Dana Whitfield (CISO)" in waived
    privileged = next(f for f in evidence.result.findings if f.rule_id == "privileged-ports")
    assert finding_sentence(privileged) == "Observed 1024, which meets the expectation: >= 1024."


def test_a_line_does_not_repeat_a_reason_its_message_already_gives(evidence):
    lines = {line.status: line for line in finding_lines(evidence)}
    assert lines[Status.NOT_REVIEWED].sentence == ""  # "not reviewed: <reason>" says it all
    assert lines[Status.ERROR].sentence  # "the check raised ValueError" does not give the reason


@pytest.mark.parametrize(("status", "satisfied", "words"), [
    (Status.PASS, True, "satisfied"),
    (Status.WAIVED, True, "satisfied"),
    (Status.NOT_REVIEWED, False, "not reviewed"),
    (Status.FAIL, False, "other than satisfied"),
    (Status.ERROR, False, "other than satisfied"),
    (Status.NOT_APPLICABLE, False, "other than satisfied"),
])
def test_control_judgement_reads_the_engines_judgement(status, satisfied, words):
    assert control_judgement(status, satisfied) == words


# What the workload grouping did with a regular expression, kept here as the reference the string
# code (issue 16: a fifth of building the view of 5,000 findings) must agree with on every name.
_NUMBERED_REFERENCE = __import__("re").compile(r"^(.*?)[-_.@]?\d+$")


def _reference_workload_name(name: str) -> str:
    match = _NUMBERED_REFERENCE.match(name)
    if match and match.group(1):
        return match.group(1) + ("-#" if name[len(match.group(1))] in "-_.@" else "#")
    return name


WORKLOAD_NAMES = [
    "worker-00017", "kworker7", "nginx", "", "7", "-7", "a-", "a--12", "a1-2", "a_1", "a.1", "a@1", "@1", "a@@",
    "php-fpm8.2", "worker-00017\n", "worker7\n\n", "a\n1", "\n", "x\r1", "app\u0661\u0662", "app-\u00b2",
    "node-\uff11", "a" * 300 + "1", "--", "1-1", "sshd: root@pts/0", "python3.11",
]


def test_numbered_workloads_are_named_as_the_regular_expression_names_them():
    import random

    from auditor.report.view import _workload_name

    rng = random.Random(16)
    alphabet = "ab-_.@09\u0661\u00b2\n\r /"
    names = WORKLOAD_NAMES + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(5000)]
    for name in names:
        assert _workload_name(name) == _reference_workload_name(name), repr(name)
    assert _workload_name("worker-00017") == "worker-#" and _workload_name("kworker7") == "kworker#"
