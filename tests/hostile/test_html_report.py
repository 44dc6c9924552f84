"""Hostile cases for the HTML report: evidence strings are attacker-controlled (a process name, an
executable path, a host name, a waiver reason) and must render as text, never as markup.

* A process named ``<script>alert(1)</script>`` is a failing finding whose subject the page shows
  as those characters, escaped in the file and as text in the browser's DOM.
* Markup that would run (a script, an ``onerror`` handler) or load (an image, an iframe) from the
  evidence neither runs nor loads in Chromium: the page carries exactly its own script.
* ``lbaudit report --format html,hdf`` of such evidence exits 0 and writes both files.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.model.facts import Gap, ProcessInfo
from auditor.model.policy import Waiver
from auditor.model.result import Severity, Status
from auditor.report import ReportContext
from auditor.report.html import render_html
from auditor.storage.evidence import evidence_bytes, write_evidence
from tests.browser import dump_dom
from tests.cli import run_cli
from tests.evidence_fixtures import CHECKS, EVALUATED_ON, host_listeners, make_policy
from tests.factories import FIXED_TIME, listener, snapshot
from tests.html_dom import Page

SCRIPT_NAME = "<script>alert(1)</script>"
PWN_SCRIPT = "<script>document.body.setAttribute('data-pwned','script')</script>"
PWN_IMAGE = "\"><img src=https://attacker.example/x.png onerror=\"document.body.setAttribute('data-pwned','img')\">"
PWN_FRAME = "</td><iframe src=//attacker.example/></iframe>"
HOSTILE_HOST = "</title><script>document.body.setAttribute('data-pwned','host')</script>"


def _hostile_evidence():
    listeners = host_listeners() + [
        listener("0.0.0.0", 4444, processes=[ProcessInfo(pid=4444, name=SCRIPT_NAME, exe="/tmp/x", user="root")]),
        listener("0.0.0.0", 4445, processes=[ProcessInfo(pid=4445, name=PWN_SCRIPT, exe=PWN_IMAGE, user="root")]),
        listener("::", 4446, v6only=False, processes=[ProcessInfo(pid=4446, name=PWN_IMAGE, user="root")]),
        listener("0.0.0.0", 4447, processes=[ProcessInfo(pid=4447, name=PWN_FRAME, user="root")]),
    ]
    snap = snapshot(listeners=listeners, audit=None, hostname=HOSTILE_HOST,
                    gaps=[Gap(section="audit", reason=f"auditctl: {PWN_IMAGE}")])
    policy = make_policy()
    policy = policy.model_copy(update={"waivers": [*policy.waivers, Waiver(
        rule="wildcard-listeners", subject="tcp 0.0.0.0:4447 *", reason=PWN_SCRIPT, approver="Mallory",
        expires=EVALUATED_ON + timedelta(days=30))]})
    registry = build_registry(list(CHECKS))
    result = evaluate(policy, snap, registry, fail_on=Severity.LOW, today=EVALUATED_ON)
    return build_evidence(policy=policy, snapshot=snap, registry=registry, result=result,
                          started_at=FIXED_TIME + timedelta(seconds=5), finished_at=FIXED_TIME + timedelta(seconds=7),
                          evaluated_on=EVALUATED_ON, timings_ms={})


def _markup(evidence) -> str:
    return render_html(evidence, ReportContext(evidence_bytes=evidence_bytes(evidence),
                                               evidence_path="e.json")).decode("utf-8")


def test_a_process_named_script_is_a_failing_finding_shown_as_text():
    evidence = _hostile_evidence()
    [finding] = [f for f in evidence.result.findings if SCRIPT_NAME in f.subject]
    assert finding.status == Status.FAIL
    markup = _markup(evidence)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert SCRIPT_NAME not in markup
    page = Page(markup)
    assert len(page.tags("script")) == 1  # ours; none from the evidence
    assert page.tags("img") == [] and page.tags("iframe") == []
    assert page.loads() == []
    subjects = [e.words for e in page.elements if e.tag == "td" and "subject" in e.attrs.get("class", "")]
    assert finding.subject in subjects
    assert HOSTILE_HOST in page.tags("title")[0].content


@pytest.mark.integration  # starts Chromium
def test_in_the_browser_hostile_strings_are_text_and_nothing_runs_or_loads(tmp_path):
    evidence = _hostile_evidence()
    html = tmp_path / "report.html"
    html.write_text(_markup(evidence))
    page = Page(dump_dom(html).output)
    [body] = page.tags("body")
    assert "data-pwned" not in body.attrs
    assert "data-ready-ms" in page.by_id("f-shown").attrs  # our script did run
    assert len(page.tags("script")) == 1
    assert page.tags("img") == [] and page.tags("iframe") == []
    assert page.loads() == []
    subjects = {e.words for e in page.elements if e.tag == "td" and "subject" in e.attrs.get("class", "")}
    hostile = {f.subject for f in evidence.result.findings if f.status in (Status.FAIL, Status.WAIVED)
               and f.subject.split()[1].endswith(("4444", "4445", "4446", "4447"))}
    assert len(hostile) == 4 and hostile <= subjects
    waived = [f for f in evidence.result.findings if f.status == Status.WAIVED and ":4447 " in f.subject]
    assert len(waived) == 1 and PWN_SCRIPT in page.by_id("waiver-table").content
    # A filter typed as markup matches the text, it does not inject it.
    page = Page(dump_dom(html, "#q=%3Cscript%3Ealert(1)").output)
    visible = [r for r in page.elements if r.tag == "tr" and "data-status" in r.attrs and not r.hidden]
    assert [r.attrs["data-status"] for r in visible] == ["fail"] and SCRIPT_NAME in visible[0].words


def test_report_writes_html_and_hdf_of_hostile_evidence(tmp_path):
    evidence_file = tmp_path / "e.json"
    write_evidence(_hostile_evidence(), evidence_file)
    run = run_cli("report", evidence_file, "--format", "html,hdf", "--out-dir", tmp_path / "out",
                  env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert run.returncode == 0, run.stderr
    assert SCRIPT_NAME not in (tmp_path / "out" / "corp-baseline.html").read_text()
    hdf = json.loads((tmp_path / "out" / "corp-baseline.hdf.json").read_text())
    descs = [r["code_desc"] for c in hdf["profiles"][0]["controls"] for r in c["results"]]
    assert any(SCRIPT_NAME in d for d in descs)  # JSON carries the string as it is; Heimdall escapes
