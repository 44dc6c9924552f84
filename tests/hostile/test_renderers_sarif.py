"""Hostile process names in SARIF message text, read the way a SARIF viewer reads it.

The defect: ``message.text`` is plain text in which SARIF 2.1.0 (3.11.6) defines embedded links,
``[text](target)``, that viewers render as links (code scanning's alert, an IDE's SARIF viewer).  The
subject went in as it was, so a process called ``[Fixed, see](https://example.invalid/x)`` was a link
in the alert that lbaudit never wrote.  Now the ``](`` of host text is escaped (``\\](``: a literal
bracket; a backslash before it is escaped too), and the text a viewer shows, escapes undone, is
the finding's own text.  Every log validates against the SARIF 2.1.0 schema from ../shared/reference.
"""

from __future__ import annotations

import json

import pytest

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.model.evidence import Evidence
from auditor.model.facts import ProcessInfo, subject_word
from auditor.model.result import Severity, Status
from auditor.report import ReportContext
from auditor.report.sarif import render_sarif
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import CHECKS, EVALUATED_ON, host_listeners, make_policy, make_snapshot
from tests.factories import FIXED_TIME, listener
from tests.hostile.test_renderings import only
from tests.report.conftest import sarif_validator as sarif_validator  # noqa: F401 - the fixture, used by name


def embedded_links(text: str) -> list[tuple[str, str]]:
    """The embedded links a viewer finds in SARIF message text (3.11.6): an unescaped ``[``, text, an
    unescaped ``]`` right before ``(``, the target up to ``)``; a backslash escapes the next character."""
    links, i, opened = [], 0, None
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            opened = i
        elif char == "]" and opened is not None and text[i + 1:i + 2] == "(":
            end = text.find(")", i + 2)
            if end > 0:
                links.append((text[opened + 1:i], text[i + 2:end]))
                i, opened = end + 1, None
                continue
        i += 1
    return links


def shown(text: str) -> str:
    """The message as a viewer shows it: each backslash escape undone."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "\\[]":
            out.append(text[i + 1])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _evidence(process: str) -> Evidence:
    snap = make_snapshot()
    # no exe or argv[0] to prove the name against: the subject shows it as reported (an exe that
    # does not name it would show it as "? (comm NAME, unproven)", the name still in the subject)
    extra = listener("0.0.0.0", 9000, processes=[ProcessInfo(pid=4242, name=process, user="app")])
    snap = snap.model_copy(update={"facts": snap.facts.model_copy(update={
        "sockets": snap.facts.sockets.model_copy(update={"listeners": [*host_listeners(), extra]})})})
    policy = only(make_policy(), "wildcard-listeners")
    registry = build_registry(list(CHECKS))
    result = evaluate(policy, snap, registry, fail_on=Severity.LOW, today=EVALUATED_ON)
    return build_evidence(policy=policy, snapshot=snap, registry=registry, result=result, started_at=FIXED_TIME,
                          finished_at=FIXED_TIME, evaluated_on=EVALUATED_ON)


@pytest.mark.parametrize("process", [
    "[Fixed, see](https://example.invalid/x)",
    "[Fixed](0)",
    "a\\](https://example.invalid/x)",  # a backslash of the name's own may not escape the escape
    "[x]\\\\](1)",
])
def test_a_process_name_is_no_embedded_link_in_sarif(sarif_validator, process):
    evidence = _evidence(process)
    failing = [f for f in evidence.result.findings if f.status == Status.FAIL and "pid 4242" in f.subject]
    assert [f.subject for f in failing] == [f"tcp 0.0.0.0:9000 {subject_word(process)} pid 4242"]
    log = json.loads(render_sarif(evidence, ReportContext(evidence_bytes(evidence), evidence_path="e.json")))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in sarif_validator.iter_errors(log)] == []
    results = log["runs"][0]["results"]
    assert [embedded_links(r["message"]["text"]) for r in results] == [[] for _ in results]
    (result,) = [r for r in results if r["properties"]["findingId"] == failing[0].id]
    assert (result["kind"], result["level"]) == ("fail", "error")
    assert shown(result["message"]["text"]) == (f"wildcard-listeners: {failing[0].subject}: {failing[0].message}"
                                                "; expected \"a specific address\"")


def test_control_case_the_link_finder_finds_the_link_the_old_message_held():
    assert embedded_links("wildcard-listeners: tcp 0.0.0.0:9000 [Fixed, see](https://example.invalid/x) pid 4242") \
        == [("Fixed, see", "https://example.invalid/x")]
    assert embedded_links("tcp [::]:6379 redis-server pid 901") == []
