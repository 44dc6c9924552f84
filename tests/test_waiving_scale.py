"""judge_waivers (auditor/model/waiving.py) looks a waiver naming one subject up by that subject and
tries a glob only on the failures starting with its literal start: the same judgement as trying every
waiver of a finding's rule on it (the rule written out below), in O(findings) for such waivers, which
evidence read back with 20,000 findings and 200 waivers needs (issue 16)."""

from __future__ import annotations

from datetime import date

import pytest

from auditor.model import waiving
from auditor.model.policy import Waiver
from auditor.model.result import Finding, Severity, Status
from auditor.model.waiving import judge_waivers, subject_matches

TODAY = date(2026, 11, 28)


def finding(rule_id: str, subject: str, status: Status = Status.FAIL) -> Finding:
    return Finding(id=Finding.make_id(rule_id, subject), rule_id=rule_id, check="c", status=status,
                   severity=Severity.HIGH, controls=["SC-7"], subject=subject, message="m")


def waiver(rule: str, subject: str | None, expires: date = date(2099, 1, 1)) -> Waiver:
    return Waiver(rule=rule, subject=subject, reason="accepted", approver="ciso", expires=expires)


def every_waiver_tried(findings: list[Finding], waivers: list[Waiver], failed: tuple[Status, ...]):
    """The judgement as its rule says it: every waiver of the finding's rule tried on each failure."""
    matched: list[list[str]] = [[] for _ in waivers]
    applied = []
    for f in findings:
        chosen = None
        for index, w in enumerate(waivers):
            if f.status in failed and w.rule == f.rule_id and (w.subject is None or subject_matches(w.subject, f.subject)):
                matched[index].append(f.id)
                if chosen is None and w.expires >= TODAY:
                    chosen = w
        applied.append(chosen)
    return applied, matched


def test_indexed_judgement_is_every_waiver_tried() -> None:
    subjects = ["tcp 0.0.0.0:22 sshd pid 1", "tcp 0.0.0.0:8080 web pid 2", "udp [::]:53 dns pid 3",
                "tcp 0.0.0.0:8081 web pid 4", "tcp 127.0.0.1:9 x pid 5", "tcp 0.0.0.0:80 web pid 6"]
    findings = [finding(rule, s, status) for rule in ("a", "b") for s in subjects
                for status in (Status.FAIL, Status.WAIVED, Status.PASS)]
    waivers = [
        waiver("a", "tcp 0.0.0.0:8080 *", expires=date(2020, 1, 1)),  # expired: matches, waives nothing
        waiver("a", "tcp 0.0.0.0:808? web pid ?"),  # a literal start, then "?"
        waiver("a", "tcp 0.0.0.0:22 sshd pid 1"),  # exact
        waiver("a", "tcp 0.0.0.0:22 sshd pid 1", expires=date(2020, 1, 1)),  # exact again, later
        waiver("a", "tcp 0.0.0.0:8080 *"),  # the same start as the expired one
        waiver("a", "*web*"),  # no literal start
        waiver("a", "?cp 127.*"),  # starts with "?"
        waiver("a", "tcp 0.0.0.0:80 web pid 6"),  # exact, after a glob that covers it
        waiver("b", None),  # every failure of its rule
        waiver("b", "udp [::]:53 dns pid 3"),
        waiver("c", "*"),  # a rule without findings
        waiver("a", "no such subject"),
    ]
    for failed in ((Status.FAIL,), (Status.FAIL, Status.WAIVED)):
        judged = judge_waivers(findings, waivers, TODAY, failed=failed)
        applied, matched = every_waiver_tried(findings, waivers, failed)
        assert judged.applied == applied
        assert [state.findings for state in judged.states] == matched
        assert [state.state for state in judged.states] == [
            "expired", "applied", "applied", "expired", "applied", "applied", "applied", "applied", "applied",
            "applied", "unused", "unused"]


@pytest.mark.parametrize("glob", [False, True])
def test_20000_findings_200_waivers_try_each_waiver_on_its_subjects_only(glob: bool,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    findings = [finding("wildcard-listeners", f"tcp 0.0.0.0:{1024 + n} worker-{n:05d} pid {n}") for n in range(20000)]
    waivers = [waiver("wildcard-listeners", f"tcp 0.0.0.0:{1024 + n * 100} worker-{n * 100:05d} pid "
                      + ("*" if glob else str(n * 100))) for n in range(200)]
    tried = 0
    matches = waiving.subject_matches

    def counted(pattern: str, subject: str) -> bool:
        nonlocal tried
        tried += 1
        return matches(pattern, subject)

    monkeypatch.setattr(waiving, "subject_matches", counted)
    judged = judge_waivers(findings, waivers, TODAY, failed=(Status.FAIL, Status.WAIVED))
    assert sum(w is not None for w in judged.applied) == 200
    assert all(len(state.findings) == 1 and state.state == "applied" for state in judged.states)
    # trying each waiver on each failure was 4,000,000 matches; a glob's literal start narrows it to
    # the subjects sharing it ("tcp 0.0.0.0:1124 worker-00100 pid " is one subject's)
    assert tried == (200 if glob else 0)
