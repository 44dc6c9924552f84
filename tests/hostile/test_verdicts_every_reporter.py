"""Every reporter, every status: no output renders a finding or a control as pass, success or
satisfied unless the evidence says ``pass``, and a run with an ``error`` or ``not_reviewed`` finding
(or nothing judged) says "incomplete" in each output's own summary.

Each case is a real run of the fixture checks (tests/evidence_fixtures.py) through the engine with
one enabled rule whose one finding has the status named, written to an evidence file and rendered
by ``lbaudit report`` into every built-in format, which is then read back as its consumer reads it:
the OSCAL objective state, SARIF result kinds and ``executionSuccessful``, JUnit test cases (what
Jenkins and GitLab count), HDF result statuses, the HTML and PDF verdicts and control
determinations, the text summary, the Prometheus metrics and ``show --json``.

The defects this found: a control whose every failure was waived was "satisfied" in OSCAL, SARIF,
JUnit, HTML, the PDF and the terminal (an auditor reads "satisfied" as tested and passing); a failure
below ``--fail-on`` was a JUnit ``<failure>`` (a red build) in a run whose exit code is 0.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.model.evidence import Evidence
from auditor.model.policy import Waiver
from auditor.model.result import Severity, Status
from tests.cli import run_cli
from tests.evidence_fixtures import CHECKS, EVALUATED_ON, make_policy, make_snapshot, write_evidence_file
from tests.factories import FIXED_TIME
from tests.report.conftest import (  # noqa: F401 - the session fixtures with the official schemas, used by name
    hdf_validator,
    junit_schema,
    oscal_validator,
    sarif_validator,
)

pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF back")

FORMATS = ("hdf", "html", "junit", "oscal", "pdf", "prometheus", "sarif", "text", "show-json", "terminal")
REPORT_FORMATS = ("hdf", "html", "junit", "oscal", "pdf", "prometheus", "sarif", "text")  # lbaudit report writes
FAIL_BELOW = "fail_below_threshold"  # a failure under --fail-on: listed, not counted (exit 0)
INCOMPLETE = {"error", "not_reviewed", "not_applicable"}  # not_applicable alone: nothing judged


def _evidence(rule: str, *, fail_on: Severity = Severity.LOW, waived: bool = False) -> Evidence:
    policy = make_policy()
    waivers = [Waiver(rule=rule, reason="accepted for the test", approver="Test Approver",
                      expires=EVALUATED_ON + timedelta(days=10))] if waived else []
    policy = policy.model_copy(update={"rules": [r for r in policy.rules if r.id == rule], "waivers": waivers})
    registry = build_registry(list(CHECKS))
    snap = make_snapshot()
    result = evaluate(policy, snap, registry, fail_on=fail_on, today=EVALUATED_ON)
    return build_evidence(policy=policy, snapshot=snap, registry=registry, result=result,
                          started_at=FIXED_TIME + timedelta(seconds=5), finished_at=FIXED_TIME + timedelta(seconds=7),
                          evaluated_on=EVALUATED_ON)


# status -> (the evidence whose one finding has it, the exit code the evidence records)
CASES = {
    "pass": (lambda: _evidence("privileged-ports"), 0),
    "fail": (lambda: _evidence("port-range"), 1),
    FAIL_BELOW: (lambda: _evidence("port-range", fail_on=Severity.HIGH), 0),
    "waived": (lambda: _evidence("port-range", waived=True), 0),
    "not_reviewed": (lambda: _evidence("audit-socket-calls"), 3),
    "error": (lambda: _evidence("broken-check"), 3),
    "not_applicable": (lambda: _evidence("ipv6-only"), 3),
}


def test_the_matrix_holds_every_status_the_evidence_schema_defines():
    assert {s.value for s in Status} <= set(CASES)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, dict[str, object]]:
    """Each case's evidence and its outputs, rendered once."""
    out: dict[str, dict[str, object]] = {}
    for case, (build, exit_code) in CASES.items():
        directory = tmp_path_factory.mktemp(case)
        evidence = build()
        finding_status = FAIL if case == FAIL_BELOW else case
        assert [f.status.value for f in evidence.result.findings] == [finding_status]
        assert evidence.result.exit_code == exit_code
        path, _ = write_evidence_file(directory, evidence)
        report = run_cli("report", path, "--format", ",".join(REPORT_FORMATS),
                         "--out-dir", directory / "out", timeout=120)
        assert report.returncode == 0, report.stderr
        show = run_cli("show", path, "--json")
        assert show.returncode == 0, show.stderr  # show reads; the summary carries the exit code
        files = {p.name.removeprefix("corp-baseline."): p for p in (directory / "out").iterdir()}
        terminal = run_cli("show", path, "--color", "never", terminal=160)
        assert terminal.returncode == 0, terminal.stderr
        out[case] = {"evidence": evidence, "files": files, "show-json": json.loads(show.stdout),
                     "terminal": terminal.stdout}
    return out


FAIL = "fail"


def _file(rendered: dict, case: str, suffix: str) -> Path:
    return rendered[case]["files"][suffix]


def _check_oscal(case: str, data: dict) -> None:
    document = json.loads(_file(data, case, "oscal.json").read_text(encoding="utf-8"))
    result = document["assessment-results"]["results"][0]
    props = {p["name"]: p["value"] for p in result["props"]}
    assert props["complete"] == ("false" if case in INCOMPLETE else "true")
    states = {f["target"]["status"]["state"] for f in result["findings"]}
    reasons = {f["target"]["status"]["reason"] for f in result["findings"]}
    if case == "pass":
        assert (states, reasons) == ({"satisfied"}, {"pass"})
    else:
        assert states == {"not-satisfied"}
        assert "pass" not in reasons
    if case == "waived":
        remarks = {f["target"]["status"]["remarks"] for f in result["findings"]}
        assert all("waived" in r and "deviation" in r for r in remarks), remarks
        assert [r["status"] for r in result["risks"]] == ["deviation-approved"]


def _check_sarif(case: str, data: dict) -> None:
    run = json.loads(_file(data, case, "sarif").read_text(encoding="utf-8"))["runs"][0]
    kinds = [r["kind"] for r in run["results"]]
    # a pass or not applicable finding is no result (code scanning makes every result an alert,
    # whatever its kind): the run's properties count it
    assert (kinds == []) == (case in ("pass", "not_applicable")) and "pass" not in kinds
    assert run["properties"]["findingsByStatus"]["fail" if case == FAIL_BELOW else case] == 1
    assert run["invocations"][0]["executionSuccessful"] == (case not in INCOMPLETE)
    assert {c["satisfied"] for c in run["properties"]["controls"]} == {case == "pass"}
    if case == "waived":
        assert [s["status"] for s in run["results"][0]["suppressions"]] == ["accepted"]


def _check_junit(case: str, data: dict) -> None:
    root = ET.fromstring(_file(data, case, "junit.xml").read_bytes())
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    passed = [c for c in cases if not any(c.find(k) is not None for k in ("failure", "error", "skipped"))]
    assert bool(passed) == (case == "pass"), [ET.tostring(c) for c in cases]
    # what a CI server counts: a failure exactly when the exit code is 1, an error when it is 3
    assert int(suite.get("failures")) == (1 if case == FAIL else 0)
    assert (int(suite.get("errors")) > 0) == (case in INCOMPLETE)
    if case == FAIL_BELOW:
        skipped = cases[0].find("skipped")
        assert skipped.get("type") == FAIL_BELOW
        assert "fail below --fail-on high" in skipped.get("message")
    controls = {p.get("value") for p in suite.iter("property") if p.get("name").startswith("control.")}
    assert all(v.endswith("(satisfied)") == (case == "pass") for v in controls), controls


def _check_hdf(case: str, data: dict) -> None:
    document = json.loads(_file(data, case, "hdf.json").read_text(encoding="utf-8"))
    statuses = [r["status"] for p in document["profiles"] for c in p["controls"] for r in c["results"]]
    assert ("passed" in statuses) == (case == "pass"), statuses
    assert ("error" in statuses) == (case in INCOMPLETE), statuses
    assert ("failed" in statuses) == (case in (FAIL, FAIL_BELOW)), statuses


def _verdict_word(case: str, non_compliant: str = "NON-COMPLIANT") -> str:
    """The verdict's word in the summary; the HTML and the PDF spell non-compliant "NOT COMPLIANT"."""
    return {0: "COMPLIANT", 1: non_compliant, 3: "INCOMPLETE"}[CASES[case][1]]


def _check_html(case: str, data: dict) -> None:
    html = _file(data, case, "html").read_text(encoding="utf-8")
    assert re.search(r"<title>([A-Z -]+):", html).group(1) == _verdict_word(case, "NOT COMPLIANT")
    counts = dict((j, int(n)) for j, n in re.findall(r'class="j-([a-z-]+)"><span class="n">(\d+)</span>', html))
    assert (counts["satisfied"] > 0) == (case == "pass"), counts
    sentence = re.search(r'<p class="verdict-sentence">([^<]*)</p>', html).group(1)
    assert sentence == HEADLINES[case]


# The verdict sentence the HTML and the PDF print under the verdict: a waived failure is named there
# (before, a run whose failures were all waived read "no finding failed", as a run without any).
HEADLINES = {
    "pass": "The system meets policy corp-baseline 2026.11: no finding failed at or above severity low, and "
            "every rule could be reviewed.",
    "fail": "The system does not meet policy corp-baseline 2026.11: 1 finding failed at or above severity low.",
    FAIL_BELOW: "The system meets policy corp-baseline 2026.11: no finding failed at or above severity high, and "
                "every rule could be reviewed. 1 finding failed below that severity.",
    "waived": "The system meets policy corp-baseline 2026.11: no finding failed at or above severity low but "
              "those waived, and every rule could be reviewed. 1 failing finding is waived: an approved "
              "deviation, not a pass (listed with its waiver).",
    "not_reviewed": "Compliance with policy corp-baseline 2026.11 could not be established: 1 finding could not "
                    "be reviewed or errored. No finding failed at or above severity low.",
    "error": "Compliance with policy corp-baseline 2026.11 could not be established: 1 finding could not be "
             "reviewed or errored. No finding failed at or above severity low.",
    "not_applicable": "Compliance with policy corp-baseline 2026.11 could not be established: nothing was "
                      "judged: every finding is not_applicable. No finding failed at or above severity low.",
}


def _check_pdf(case: str, data: dict) -> None:
    reader = pypdf.PdfReader(io.BytesIO(_file(data, case, "pdf").read_bytes()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    cover = text.split("Scope of this assessment")[0].splitlines()
    assert [line for line in cover if line in ("COMPLIANT", "NOT COMPLIANT", "INCOMPLETE")] == [
        _verdict_word(case, "NOT COMPLIANT")]
    assert HEADLINES[case] in " ".join(" ".join(cover).split())
    table = [line.strip() for line in text[text.index("2 Controls"):text.index("3 Findings")].splitlines()]
    evidence: Evidence = data[case]["evidence"]
    for control in evidence.result.controls:
        after = table[table.index(control.id):]
        determination = next(line for line in after if line in ("satisfied", "other than satisfied",
                                                                 "other than", "not reviewed"))
        assert (determination == "satisfied") == (case == "pass"), (control.id, determination)


def _check_text(case: str, data: dict) -> None:
    lines = _file(data, case, "txt").read_text(encoding="utf-8").splitlines()
    verdict = next(line for line in lines if line.startswith("verdict: "))
    assert verdict.startswith(f"verdict: {_verdict_word(case)} (exit {CASES[case][1]})"), verdict
    controls = [line.split(" | ")[2] for line in lines if line.startswith("control ")]
    assert controls and all((c == "satisfied") == (case == "pass") for c in controls), controls


def _check_prometheus(case: str, data: dict) -> None:
    text = _file(data, case, "prom").read_text(encoding="utf-8")
    metrics = dict(re.findall(r'^(lbaudit_[a-z_]+\{[^}]*\}) (\S+)$', text, re.MULTILINE))
    verdict = {0: "compliant", 1: "non_compliant", 3: "incomplete"}[CASES[case][1]]
    assert metrics[f'lbaudit_verdict{{policy="corp-baseline",verdict="{verdict}"}}'] == "1"
    rule = data[case]["evidence"].result.findings[0].rule_id
    passing = metrics[f'lbaudit_rule_status{{policy="corp-baseline",rule="{rule}",status="pass"}}']
    assert passing == ("1" if case == "pass" else "0")
    assert ("lbaudit_last_successful_scan_timestamp_seconds" in text) == (case not in INCOMPLETE)


def _check_show_json(case: str, data: dict) -> None:
    summary = data[case]["show-json"]
    assert summary["exit_code"] == CASES[case][1]
    assert (summary["verdict"] == "compliant") == (CASES[case][1] == 0)
    assert bool(summary["not_judged"]) == (case in ("error", "not_reviewed"))
    assert [f["counted"] for f in summary["failing"]] == {FAIL: [True], FAIL_BELOW: [False]}.get(case, [])


def _check_terminal(case: str, data: dict) -> None:
    """The rich tables ``show`` prints on a terminal: the Controls table's objective column and the verdict."""
    lines = data[case]["terminal"].splitlines()
    assert any(line.startswith(f"verdict: {_verdict_word(case)} (exit {CASES[case][1]})") for line in lines)
    evidence: Evidence = data[case]["evidence"]
    rows = {cells[0]: cells for line in lines
            if (cells := [c.strip() for c in line.strip("│ ").split("│")])[0] in {c.id for c in evidence.result.controls}}
    assert set(rows) == {c.id for c in evidence.result.controls}
    assert all((row[2] == "satisfied") == (case == "pass") for row in rows.values()), rows


CHECKERS = {"terminal": _check_terminal, "oscal": _check_oscal, "sarif": _check_sarif, "junit": _check_junit, "hdf": _check_hdf,
            "html": _check_html, "pdf": _check_pdf, "text": _check_text, "prometheus": _check_prometheus,
            "show-json": _check_show_json}


def test_every_format_has_a_checker():
    assert set(CHECKERS) == set(FORMATS)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("output", FORMATS)
def test_no_output_renders_anything_but_pass_as_passing(rendered, output, case):
    CHECKERS[output](case, rendered)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_case_stays_valid_for_its_schema(
        rendered, case, oscal_validator, sarif_validator, hdf_validator, junit_schema):  # noqa: F811 - fixtures
    """The words chosen for a waived control or a failure below --fail-on are ones the formats define."""
    for suffix, validator in (("oscal.json", oscal_validator), ("sarif", sarif_validator),
                              ("hdf.json", hdf_validator)):
        document = json.loads(_file(rendered, case, suffix).read_text(encoding="utf-8"))
        assert not [e.message for e in validator.iter_errors(document)][:3], suffix
    junit_schema.validate(str(_file(rendered, case, "junit.xml")))
