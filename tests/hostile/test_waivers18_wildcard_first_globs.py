"""Globs starting with a wildcard are no longer each tried on every failure of their rule.

Waivers are matched by rule, a glob naming one subject by a dict, and one starting with literal text
(``tcp 0.0.0.0:8080 *``) only against the failures whose subject starts so (issue 16).  A glob
starting with a wildcard (``*:8080 *``, "whatever address") was still tried on every failure of its
rule: evidence read back (``lbaudit report``, ``show``, ``verify`` judge its waivers again), written
by whoever wrote the file, with 500 such waivers and 20,000 failures took 73 s in
:func:`auditor.model.waiving.judge_waivers`, and 2,000 took three minutes: a hang.  Now such a glob is
indexed by a run of its literal text, and tried only on the failures whose subject holds that run.
What matches is unchanged (checked against a plain regular-expression reading of each glob).
"""

from __future__ import annotations

import random
import re
import time
from datetime import date

from auditor.model.policy import Waiver
from auditor.model.result import Finding, Severity, Status
from auditor.model.waiving import judge_waivers

TODAY = date(2026, 6, 1)


def _failure(number: int, subject: str, rule: str = "bind") -> Finding:
    return Finding(id=f"f{number}", rule_id=rule, check="net.bind_addresses", status=Status.FAIL,
                   severity=Severity.HIGH, controls=[], subject=subject, message="listens beyond loopback")


def _waiver(subject: str | None, expires: date = date(2099, 1, 1), rule: str = "bind") -> Waiver:
    return Waiver(rule=rule, subject=subject, reason="CHG-18", approver="Jane Doe", expires=expires)


def test_many_globs_starting_with_a_wildcard_over_many_failures_are_judged_in_seconds():
    findings = [_failure(i, f"tcp 0.0.0.0:{i % 60000 + 1} prog{i} pid {i}") for i in range(20000)]
    waivers = [_waiver(f"*:{70000 + j} *") for j in range(500)]  # no port of a failure: each matches nothing
    started = time.monotonic()
    judgement = judge_waivers(findings, waivers, TODAY)
    elapsed = time.monotonic() - started
    assert elapsed < 20, f"{elapsed:.1f} s (73 s before)"
    assert judgement.applied == [None] * len(findings)
    assert {state.state for state in judgement.states} == {"unused"}


def _reference(glob: str | None, subject: str) -> bool:
    if glob is None:
        return True
    pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.fullmatch(pattern, subject, re.DOTALL) is not None


def test_what_each_waiver_matches_and_which_waives_each_failure_are_unchanged():
    rng = random.Random(18)
    alphabet = "ab: 1"
    subjects = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(400)]
    findings = [_failure(i, subject) for i, subject in enumerate(subjects)]
    globs: list[str | None] = [None]
    for _ in range(300):
        globs.append("".join(rng.choice(alphabet + "**??") for _ in range(rng.randint(1, 12))))
    for _ in range(300):  # a wildcard first, then literal text long enough to index the glob by
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(4, 7)))
        more = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3)))
        globs.append(rng.choice(["*", "?", "*?"]) + text + rng.choice(["*", "?*", "", "?", "*?"]) + more
                     + rng.choice(["", "*"]))
    waivers = [_waiver(glob, expires=rng.choice([date(2026, 5, 31), TODAY, date(2099, 1, 1)])) for glob in globs]
    judgement = judge_waivers(findings, waivers, TODAY)
    for waiver, state in zip(waivers, judgement.states):
        assert state.findings == [f.id for f in findings if _reference(waiver.subject, f.subject)], waiver.subject
    for finding, applied in zip(findings, judgement.applied):
        expected = next((w for w in waivers if w.expires >= TODAY and _reference(w.subject, finding.subject)), None)
        assert applied is expected, finding.subject
