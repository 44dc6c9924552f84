"""The HTML report as written: one self-contained page (inline style and script admitted by hash,
nothing loaded), everything the issue asks it to say, taken from the evidence as it stands.

What a browser makes of it (the script runs under the CSP, filters, 5,000 findings) is
tests/report/test_html_browser.py; hostile evidence strings are tests/hostile/test_html_report.py.
"""

from __future__ import annotations

import base64
import hashlib
import re

import jinja2
import pytest

from auditor.model.result import Status
from auditor.report import ReportContext, select_reporters
from auditor.report.html import page_values, render_html, render_page
from auditor.report.view import STATUS_LABELS, control_judgement
from auditor.storage.evidence import evidence_bytes, load_evidence, write_evidence
from tests.html_dom import Page


@pytest.fixture(scope="module")
def markup(evidence, context) -> str:
    return render_html(evidence, context).decode("utf-8")


@pytest.fixture(scope="module")
def page(markup) -> Page:
    return Page(markup)


def _csp_sources(page: Page) -> dict[str, str]:
    [meta] = [m for m in page.tags("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in meta.attrs["content"].split(";"))


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def test_one_page_that_loads_nothing(page):
    assert page.loads() == []
    [style] = page.tags("style")
    [script] = page.tags("script")
    assert "src" not in script.attrs
    sources = _csp_sources(page)
    assert sources["default-src"] == "'none'"
    # The policy admits exactly the inlined stylesheet and script: nothing else could run or load.
    assert sources["style-src"] == _sha256(style.content)
    assert sources["script-src"] == _sha256(script.content)
    assert sources["base-uri"] == "'none'" and sources["form-action"] == "'none'"
    assert page.tags("svg")  # the charts are inline SVG


def test_no_address_of_anything_outside_the_page(markup):
    assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", markup, re.IGNORECASE) == []


def test_verdict_counts_and_the_severity_matrix(page, evidence):
    verdict = page.by_id("verdict").content
    assert "NOT COMPLIANT" in verdict and "policy corp-baseline 2026.11" in verdict
    counts = " ".join(page.by_id("status-counts").content.split())
    for status, count in evidence.result.summary.by_status.items():
        assert f"{count} {STATUS_LABELS[Status(status)]}" in counts
    matrix = page.by_id("severity-matrix")
    rows = [e for e in page.elements if e.tag == "tr" and e in _inside(page, matrix)]
    high = next(r.words for r in rows if r.words.startswith("high "))
    grid = {(f.severity.value, f.status) for f in evidence.result.findings}
    assert ("high", Status.FAIL) in grid
    fails_high = sum(1 for f in evidence.result.findings if f.severity.value == "high" and f.status == Status.FAIL)
    assert high.split()[1] == str(fails_high)


def _inside(page: Page, container) -> list:
    start = page.elements.index(container)
    end = start + 1
    while end < len(page.elements) and page.elements[end].tag != container.tag:
        end += 1
    return page.elements[start:end]


def test_controls_as_the_evidence_judges_them(page, evidence):
    rows = {r.words.split()[0]: r for r in page.elements if r.tag == "tr" and "j-" in r.attrs.get("class", "")}
    assert len(rows) == len(evidence.result.controls)
    for control in evidence.result.controls:
        judgement = rows[control.id].attrs["class"].removeprefix("j-").replace("-", " ")
        assert judgement == control_judgement(control.status, control.satisfied)
        if control.satisfied:
            assert judgement == "satisfied"
        elif control.status == Status.NOT_REVIEWED:
            assert judgement == "not reviewed"
        else:
            assert judgement == "other than satisfied"
    assert {"satisfied", "not reviewed", "other than satisfied"} <= {
        r.attrs["class"].removeprefix("j-").replace("-", " ") for r in rows.values()}


def test_every_finding_is_a_row_with_its_filter_keys(page, evidence):
    table_rows = [e for e in page.elements if e.tag == "tr" and "data-status" in e.attrs]
    assert len(table_rows) == len(evidence.result.findings)
    by_id = {r.attrs["id"]: r for r in table_rows}
    for finding in evidence.result.findings:
        row = by_id[f"f-{finding.id}"]
        assert row.attrs["data-status"] == finding.status.value
        assert row.attrs["data-severity"] == finding.severity.value
        assert row.attrs["data-rule"] == finding.rule_id
        assert row.attrs["data-controls"].split() == list(finding.controls)
        assert finding.subject in row.content
        assert not row.hidden  # the page holds every row; the script decides what is shown
    # Observed versus expected as a sentence, not a field dump.
    port = next(r for r in table_rows if r.attrs["data-rule"] == "port-range")
    assert "Observed 28232, but expected min: 30000." in port.content
    options = {e.attrs.get("value") for e in page.elements if e.tag == "option"}
    assert {"fail", "high", "wildcard-listeners", "SC-7(5)"} <= options


def test_waivers_method_scope_and_integrity(page, evidence, context):
    waivers = page.by_id("waiver-table").content
    for waiver in evidence.result.waivers:
        assert waiver.reason in waivers and waiver.approver in waivers
    states = [e.content for e in page.elements if e.tag == "td" and e.attrs.get("class") == "state"]
    assert sorted(states) == sorted(w.state for w in evidence.result.waivers)
    method = " ".join(page.by_id("method").content.split())
    assert "root (uid 0), privileged" in method
    assert "auditctl -l: permission denied (needs CAP_AUDIT_CONTROL)" in page.by_id("gaps").content
    integrity = page.by_id("integrity").content
    assert hashlib.sha256(context.evidence_bytes).hexdigest() in integrity
    assert evidence.policy_sha256 in integrity
    assert "Not signed." in page.by_id("signature-state").content
    assert "sha256sum corp-baseline.json" in integrity


def test_a_signed_evidence_says_by_which_key_and_how_to_verify(evidence):
    context = ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="e.json",
                            signature_fingerprint="cd" * 32)
    page = Page(render_html(evidence, context).decode())
    assert "cd" * 32 in page.by_id("signature-state").content
    assert "lbaudit verify e.json --pubkey SIGNER.pub" in " ".join(page.by_id("integrity").content.split())


def test_the_same_evidence_renders_the_same_bytes(evidence, context, tmp_path, markup):
    path = tmp_path / "corp-baseline.json"
    data = write_evidence(evidence, path)
    again = render_html(load_evidence(path)[0], ReportContext(evidence_bytes=data, evidence_path="corp-baseline.json",
                                                          assessor="Jane Auditor"))
    assert again.decode() == markup


def test_history_and_fleet_seams_are_blocks_a_template_fills(evidence, context):
    extending = jinja2.DictLoader({"trend.html.j2": (
        '{% extends "report.html.j2" %}{% block history_trends %}<section id="trends">{{ drift }}</section>'
        '{% endblock %}{% block fleet_overview %}<section id="fleet">{{ hosts|length }} hosts</section>{% endblock %}')})
    markup = render_page(page_values(evidence, context), template="trend.html.j2",
                         extra={"drift": "<b>2 new failures</b>", "hosts": ["a", "b"]}, loader=extending)
    page = Page(markup)
    assert page.by_id("trends").content == "<b>2 new failures</b>"  # escaped, like everything else
    assert page.by_id("fleet").content == "2 hosts"
    assert page.by_id("verdict")
    plain = Page(render_html(evidence, context).decode())
    assert not [e for e in plain.elements if e.attrs.get("id") in ("trends", "fleet")]


def test_registered_by_name():
    reporter = select_reporters(["html"], plugins=False)["html"]
    assert reporter.render is render_html and reporter.extension == ".html"


def test_a_count_of_one_among_thousands_still_shows_in_the_chart():
    from auditor.report.html import CHART_WIDTH, MIN_SEGMENT, _bar

    segments = _bar([("fail", "s-fail", 5000), ("error", "s-error", 1), ("pass", "s-pass", 0)])
    assert [s.label for s in segments] == ["fail", "error"]
    assert segments[1].width >= MIN_SEGMENT * 0.99
    assert abs(segments[-1].x + segments[-1].width - CHART_WIDTH) < 0.05
