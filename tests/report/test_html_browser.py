"""The HTML report in a real browser (Debian's headless Chromium): the script runs under the page's
Content-Security-Policy, the DOM holds the verdict and every failing subject and nothing that loads
from the network, the filters work, and 5,000 findings open and filter in bounded time.

Screenshots: with LBAUDIT_SCREENSHOT_DIR set, the PNGs are kept there to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from auditor.model.result import Status
from auditor.report import ReportContext
from auditor.report.html import PAGE_SIZE, render_html
from auditor.report.view import VERDICT_WORDS
from auditor.storage.evidence import evidence_bytes
from tests.browser import dump_dom, screenshot
from tests.evidence_fixtures import make_evidence
from tests.html_dom import Page

pytestmark = pytest.mark.integration  # each test starts Chromium (tests/browser.py)

SCALE = 5000
# Generous bounds for a shared 2-core machine; a freezing page takes far longer.
FILTER_MS = 2000.0
READY_MS = 20000.0
BROWSER_SECONDS = 90.0
ATTENTION = (Status.FAIL, Status.ERROR, Status.NOT_REVIEWED)


def _write(evidence, directory: Path, name: str) -> Path:
    path = directory / name
    path.write_bytes(render_html(evidence, ReportContext(evidence_bytes=evidence_bytes(evidence),
                                                         evidence_path="evidence.json")))
    return path


def _keep(png: Path) -> None:
    keep = os.environ.get("LBAUDIT_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)


def _rows(page: Page):
    return [e for e in page.elements if e.tag == "tr" and "data-status" in e.attrs]


def test_the_browser_shows_the_verdict_every_failing_subject_and_loads_nothing(evidence, tmp_path):
    html = _write(evidence, tmp_path, "report.html")
    page = Page(dump_dom(html).output)
    assert VERDICT_WORDS[evidence.result.verdict] in page.by_id("verdict").content
    shown = page.by_id("f-shown")
    assert "data-ready-ms" in shown.attrs  # the script ran: the CSP admitted it (a wrong hash would block it)
    assert shown.attrs["data-matching"] == str(len(evidence.result.findings))
    visible = [r for r in _rows(page) if not r.hidden]
    assert len(visible) == len(evidence.result.findings)
    subjects = {r.words for r in page.elements if r.tag == "td" and "subject" in r.attrs.get("class", "")}
    failing = {f.subject for f in evidence.result.findings if f.status in ATTENTION}
    assert failing and failing <= subjects
    assert page.loads() == []
    png = tmp_path / "lbaudit-report.png"
    screenshot(html, png)
    _keep(png)


def test_a_filter_in_the_fragment_shows_only_its_rows(evidence, tmp_path):
    html = _write(evidence, tmp_path, "report.html")
    page = Page(dump_dom(html, "#status=fail&control=SC-7(5)").output)
    visible = {r.attrs["id"] for r in _rows(page) if not r.hidden}
    expected = {f"f-{f.id}" for f in evidence.result.findings if f.status == Status.FAIL and "SC-7(5)" in f.controls}
    assert expected and visible == expected
    page = Page(dump_dom(html, "#q=REDIS-server").output)  # free text, any case
    assert [r.words for r in _rows(page) if not r.hidden] and all(
        "redis-server" in r.words for r in _rows(page) if not r.hidden)


@pytest.fixture(scope="module")
def large_report(tmp_path_factory):
    evidence = make_evidence(extra_listeners=SCALE)
    assert len(evidence.result.findings) > SCALE
    return evidence, _write(evidence, tmp_path_factory.mktemp("large"), "report-5000.html")


def test_5000_findings_open_and_filter_in_bounded_time(large_report, tmp_path):
    evidence, html = large_report
    load = dump_dom(html)
    page = Page(load.output)
    shown = page.by_id("f-shown")
    assert float(shown.attrs["data-ready-ms"]) < READY_MS
    assert len(_rows(page)) == len(evidence.result.findings)  # every row is in the DOM ...
    assert shown.attrs["data-visible"] == str(PAGE_SIZE)  # ... and one page of them is laid out
    assert load.seconds < BROWSER_SECONDS
    failing = [f for f in evidence.result.findings if f.status == Status.FAIL]
    wanted = [f for f in failing if "worker-0499" in f.subject]
    load = dump_dom(html, "#status=fail&q=worker-0499")
    page = Page(load.output)
    shown = page.by_id("f-shown")
    assert shown.attrs["data-matching"] == str(len(wanted)) == "10"
    assert float(shown.attrs["data-filter-ms"]) < FILTER_MS
    assert sorted(r.attrs["id"] for r in _rows(page) if not r.hidden) == sorted(f"f-{f.id}" for f in wanted)
    print(f"\n5,000 findings: page ready {float(page.by_id('f-shown').attrs['data-ready-ms']):.0f} ms after "
          f"navigation, text+status filter {shown.attrs['data-filter-ms']} ms, browser run {load.seconds:.1f} s")
    png = tmp_path / "lbaudit-report-5000.png"
    screenshot(html, png, fragment="#status=fail&q=worker-0499")
    _keep(png)
