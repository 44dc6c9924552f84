"""Hostile cases: every rendering says what the evidence says, and every command keeps its promise.

* Each control is judged once, in the engine; OSCAL, the PDF, the console, JUnit and SARIF render
  that judgement (the case that broke: every failure of a control waived, which OSCAL called
  not-satisfied while the evidence and the PDF called it satisfied; now all call it not satisfied,
  status waived).
* ``lbaudit diff`` does not call switching a failing rule off an improvement.
* ``--format pdf`` writes a PDF; PDF bookmarks open the page of their section.
* ``LBAUDIT_DISABLE_PLUGIN_AUTOLOAD`` holds for ``lbaudit report`` too (a real dist-info on sys.path).
* Waiver expiry is a UTC day, tested at 23:59:59 and 00:00:00.
* In CI a missing ../shared/reference fails the conformance tests instead of skipping them.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import build_registry
from auditor.engine.waivers import evaluation_day
from auditor.model.evidence import Evidence
from auditor.model.policy import Waiver
from auditor.model.result import Severity, Status
from auditor.report import ReportContext
from auditor.report.console import _render_text
from auditor.report.junit import render_junit
from auditor.report.oscal import render_oscal
from auditor.report.pdf import render_pdf
from auditor.report.sarif import render_sarif
from auditor.storage.evidence import evidence_bytes, write_evidence
from tests.cli import Result, run_cli
from tests.evidence_fixtures import CHECKS, EVALUATED_ON, make_evidence, make_policy, make_snapshot, reconciled
from tests.factories import FIXED_TIME

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF back")


# ------------------------------------------------------------------ helpers

def evidence_for(policy, *, today: date = EVALUATED_ON) -> Evidence:
    """The fixture host evaluated through the real engine against ``policy``."""
    registry = build_registry(list(CHECKS))
    snap = make_snapshot()
    result = evaluate(policy, snap, registry, fail_on=Severity.LOW, today=today)
    return build_evidence(policy=policy, snapshot=snap, registry=registry, result=result,
                          started_at=FIXED_TIME + timedelta(seconds=5), finished_at=FIXED_TIME + timedelta(seconds=7),
                          evaluated_on=today)


def only(policy, *rule_ids: str, waivers: list[Waiver] | None = None):
    return policy.model_copy(update={
        "rules": [r for r in policy.rules if r.id in rule_ids],
        "waivers": waivers if waivers is not None else [w for w in policy.waivers if w.rule in rule_ids],
    })


def waiver(rule: str, expires: date, subject: str | None = None) -> Waiver:
    return Waiver(rule=rule, subject=subject, reason="accepted for the test", approver="Test Approver",
                  expires=expires)


def all_failures_waived() -> Evidence:
    """wildcard-listeners with every failing listener waived: its controls have pass + waived findings."""
    return evidence_for(only(make_policy(), "wildcard-listeners",
                             waivers=[waiver("wildcard-listeners", EVALUATED_ON + timedelta(days=10), "*")]))


def only_waived() -> Evidence:
    """port-range, whose one (failing) finding is waived: its controls have nothing but a waived finding."""
    return evidence_for(only(make_policy(), "port-range",
                             waivers=[waiver("port-range", EVALUATED_ON + timedelta(days=10))]))


def expired_waiver() -> Evidence:
    """port-range, whose waiver expired the day before: the finding fails."""
    return evidence_for(only(make_policy(), "port-range",
                             waivers=[waiver("port-range", EVALUATED_ON - timedelta(days=1))]))


def context_of(evidence: Evidence) -> ReportContext:
    return ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="evidence.json", assessor="A")


def objective(satisfied: bool) -> str:
    return "satisfied" if satisfied else "not satisfied"


def oscal_controls(evidence: Evidence) -> dict[str, tuple[str, str]]:
    doc = json.loads(render_oscal(evidence, context_of(evidence)))
    out = {}
    for finding in doc["assessment-results"]["results"][0].get("findings", []):
        props = {p["name"]: p["value"] for p in finding["props"]}
        out[props["control-id"]] = (props["control-status"], finding["target"]["status"]["state"])
    return out


def sarif_controls(evidence: Evidence) -> dict[str, tuple[str, str]]:
    log = json.loads(render_sarif(evidence, context_of(evidence)))
    return {c["id"]: (c["status"], objective(c["satisfied"])) for c in log["runs"][0]["properties"]["controls"]}


def junit_controls(evidence: Evidence) -> dict[str, str]:
    root = ET.fromstring(render_junit(evidence, context_of(evidence)))
    return {p.get("name").removeprefix("control."): p.get("value")
            for p in root.iter("property") if p.get("name").startswith("control.")}


def console_controls(evidence: Evidence) -> dict[str, tuple[str, str]]:
    text = _render_text(evidence, context_of(evidence)).decode("utf-8")
    rows = {}
    for line in text.splitlines():  # "control AU-2 | fail | not satisfied | socket-audit"
        if line.startswith("control "):
            cells = [c.strip() for c in line.removeprefix("control ").split(" | ")]
            rows[cells[0]] = (cells[1], cells[2])
    return rows


PDF_LABELS = {"fail": "fail", "error": "error", "not reviewed": "not_reviewed", "pass": "pass", "waived": "waived",
              "not applicable": "not_applicable"}


def pdf_controls(evidence: Evidence) -> dict[str, tuple[str, str]]:
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(evidence, context_of(evidence))))
    text = "\n".join(page.extract_text() for page in reader.pages)
    lines = [line.strip() for line in text[text.index("2 Controls"):text.index("3 Findings")].splitlines()]
    rows = {}
    for control in evidence.result.controls:
        start = lines.index(control.id)
        status_at = next(i for i in range(start + 1, len(lines)) if lines[i] in PDF_LABELS)
        # SP 800-53A's "other than satisfied" is OSCAL's "not-satisfied"
        rows[control.id] = (PDF_LABELS[lines[status_at]], lines[status_at + 1].replace("other than", "not"))
    return rows


def lbaudit(*args: object, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess | Result:
    """In this process (tests/cli.py); in a real one when ``env`` is given: the plugin tests put a fake
    distribution on PYTHONPATH, which only a new interpreter reads."""
    if env is None:
        return run_cli(*args, cwd=cwd, env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": None})
    full_env = {k: v for k, v in os.environ.items() if k not in ("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD",)}
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env)
    return subprocess.run([PYTHON, "-m", "auditor.cli", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=full_env, timeout=120)


# ------------------------------------------------------------------ one judgement of each control

VARIANTS = {"fixture": make_evidence, "all-failures-waived": all_failures_waived, "only-waived": only_waived,
            "expired-waiver": expired_waiver}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_rendering_states_the_evidence_rollup_for_every_control(variant):
    evidence = VARIANTS[variant]()
    expected = {c.id: (c.status.value, objective(c.satisfied)) for c in evidence.result.controls}
    assert expected  # the variant judges controls at all
    oscal = {cid: (status, state.replace("-", " ")) for cid, (status, state) in oscal_controls(evidence).items()}
    assert oscal == expected
    assert sarif_controls(evidence) == expected
    assert junit_controls(evidence) == {cid: f"{status} ({state})" for cid, (status, state) in expected.items()}
    assert console_controls(evidence) == expected
    assert pdf_controls(evidence) == expected


def test_a_control_whose_every_failure_is_waived_is_not_satisfied_in_oscal():
    evidence = all_failures_waived()
    status = {c.id: c.status for c in evidence.result.controls}
    # passes beside waived failures: waived (an approved deviation), never "pass" nor "satisfied"
    assert status == {"CM-7": Status.WAIVED, "SC-7": Status.WAIVED, "SC-7(5)": Status.WAIVED}
    assert oscal_controls(evidence) == {"CM-7": ("waived", "not-satisfied"), "SC-7": ("waived", "not-satisfied"),
                                        "SC-7(5)": ("waived", "not-satisfied")}


def test_a_control_with_only_waived_findings_is_waived_not_satisfied_and_an_expired_waiver_fails():
    assert oscal_controls(only_waived()) == {"CM-6": ("waived", "not-satisfied"), "SC-5": ("waived", "not-satisfied")}
    expired = expired_waiver()
    assert [w.state for w in expired.result.waivers] == ["expired"]
    assert oscal_controls(expired) == {"CM-6": ("fail", "not-satisfied"), "SC-5": ("fail", "not-satisfied")}


def test_no_reporter_loads_the_control_catalog():
    for module in ("oscal", "_pdf_sections", "console", "junit", "sarif"):
        source = (REPO / "auditor" / "report" / f"{module}.py").read_text(encoding="utf-8")
        assert "load_catalog" not in source, module
        assert "rollup_status([" not in source or module == "junit", module  # JUnit rolls up rules, not controls


# ------------------------------------------------------------------ diff: lost coverage is a regression

@pytest.fixture
def baseline_file(tmp_path) -> Path:
    path = tmp_path / "before.json"
    write_evidence(make_evidence(), path)
    return path


def _after(tmp_path: Path, evidence: Evidence) -> Path:
    path = tmp_path / "after.json"
    write_evidence(evidence, path)
    return path


def _with_rule(policy, rule_id: str, **update):
    return policy.model_copy(update={"rules": [r.model_copy(update=update) if r.id == rule_id else r
                                               for r in policy.rules]})


def test_diff_disabling_a_failing_rule_is_lost_coverage_not_an_improvement(tmp_path, baseline_file):
    after = _after(tmp_path, evidence_for(_with_rule(make_policy(), "port-range", enabled=False)))
    run = lbaudit("diff", baseline_file, after, "--json")
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["improvements"] == []
    disabled = [c for c in report["policy_changes"] if c["kind"] == "rule_disabled"]
    assert [(c["subject"], c["loses_coverage"]) for c in disabled] == [("port-range", True)]
    assert [(f["before"], f["after"]) for f in disabled[0]["findings"]] == [("fail", None)]
    allowed = lbaudit("diff", baseline_file, after, "--allow-policy-change")
    assert allowed.returncode == 0, allowed.stdout
    assert "[lost coverage] rule_disabled port-range" in allowed.stdout
    assert "improvements: 0" in allowed.stdout


def test_diff_removing_a_failing_rule_exits_1(tmp_path, baseline_file):
    policy = make_policy()
    policy = policy.model_copy(update={"rules": [r for r in policy.rules if r.id != "wildcard-listeners"],
                                       "waivers": [w for w in policy.waivers if w.rule != "wildcard-listeners"]})
    run = lbaudit("diff", baseline_file, _after(tmp_path, evidence_for(policy)))
    assert run.returncode == 1
    assert "[lost coverage] rule_removed wildcard-listeners" in run.stdout
    assert "improvements: 0" in run.stdout


def test_diff_a_new_waiver_over_a_failure_exits_1(tmp_path, baseline_file):
    policy = make_policy()
    policy = policy.model_copy(update={"waivers": [*policy.waivers,
                                                   waiver("port-range", EVALUATED_ON + timedelta(days=5))]})
    run = lbaudit("diff", baseline_file, _after(tmp_path, evidence_for(policy)), "--json")
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert [c["kind"] for c in report["policy_changes"] if c["loses_coverage"]] == ["waiver_added"]
    assert [(c["before"], c["after"]) for c in report["other_changes"]] == [("fail", "waived")]
    assert report["improvements"] == []


def test_diff_lowered_severity_and_changed_params_exit_1(tmp_path, baseline_file):
    policy = _with_rule(make_policy(), "port-range", severity=Severity.INFO, params={"min_ports": 1000})
    run = lbaudit("diff", baseline_file, _after(tmp_path, evidence_for(policy)), "--json")
    assert run.returncode == 1
    kinds = sorted(c["kind"] for c in json.loads(run.stdout)["policy_changes"] if c["loses_coverage"])
    assert kinds == ["params_changed", "severity_lowered"]


def test_diff_a_failure_turning_not_reviewed_is_a_regression(tmp_path, baseline_file):
    evidence = make_evidence()
    findings = [f.model_copy(update={"status": Status.NOT_REVIEWED, "reason": "sysctl unreadable"})
                if f.rule_id == "port-range" else f for f in evidence.result.findings]
    after = reconciled(evidence.model_copy(update={"result": evidence.result.model_copy(update={"findings": findings})}))
    run = lbaudit("diff", baseline_file, _after(tmp_path, after), "--json", "--allow-policy-change")
    assert run.returncode == 1
    assert [(c["rule"], c["before"], c["after"]) for c in json.loads(run.stdout)["regressions"]] == [
        ("port-range", "fail", "not_reviewed")]


def test_diff_findings_vanishing_under_an_enabled_rule_and_a_new_check_version_exit_1(tmp_path, baseline_file):
    evidence = make_evidence()
    findings = [f for f in evidence.result.findings if f.rule_id != "port-range"]
    checks = [c.model_copy(update={"version": "2.0"}) if c.name == "test.wildcard_listeners" else c
              for c in evidence.checks]
    after = reconciled(evidence.model_copy(update={"checks": checks,
                                                   "result": evidence.result.model_copy(update={"findings": findings})}))
    run = lbaudit("diff", baseline_file, _after(tmp_path, after), "--json")
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert sorted((c["kind"], c["subject"]) for c in report["policy_changes"]) == [
        ("check_version_changed", "test.wildcard_listeners"), ("findings_vanished", "port-range")]
    assert report["improvements"] == []


def test_diff_of_a_file_with_itself_exits_0(baseline_file):
    run = lbaudit("diff", baseline_file, baseline_file, "--json")
    assert run.returncode == 0
    report = json.loads(run.stdout)
    assert (report["policy_changes"], report["regressions"], report["lost_coverage"]) == ([], [], 0)


# ------------------------------------------------------------------ --format pdf, bookmarks

def test_format_pdf_writes_the_pdf(tmp_path, baseline_file):
    run = lbaudit("report", baseline_file, "--format", "pdf,text", "--out-dir", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    pdf = tmp_path / "out" / "corp-baseline.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert run.stdout.count("report: ") == 2


def test_format_pdf_and_pdf_on_the_same_path_write_it_once(tmp_path, baseline_file):
    target = tmp_path / "out" / "corp-baseline.pdf"
    run = lbaudit("report", baseline_file, "--format", "pdf", "--out-dir", tmp_path / "out", "--pdf", target)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [f"report: {target}"]


def _outline(reader) -> list:
    def walk(items):
        for item in items:
            if isinstance(item, list):
                yield from walk(item)
            else:
                yield item
    return list(walk(reader.outline))


@pytest.mark.slow  # renders and reads back a PDF
def test_every_bookmark_opens_the_page_its_section_starts_on():
    evidence = make_evidence(extra_listeners=60)  # long enough that sections spread over many pages
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(evidence, context_of(evidence))))
    entries = _outline(reader)
    assert [e.title for e in entries] == ["1 Executive summary", "2 Controls", "3 Findings", "4 Waivers",
                                          "5 Method and scope", "6 Attestation"]
    pages = [reader.get_destination_page_number(e) for e in entries]
    for entry, page in zip(entries, pages):
        assert entry.title in reader.pages[page].extract_text(), (entry.title, page)
    assert pages[0] == 1  # the page after the cover
    assert pages == sorted(pages) and pages[-1] > 2


# ------------------------------------------------------------------ plugin autoload, one decision

def _fake_distribution(site: Path, marker: Path) -> None:
    """A real installed distribution (dist-info with entry points) that registers a reporter and a
    check module (declaring one check: a module of none is refused); importing it leaves a marker
    file, so a test sees whether it was loaded."""
    site.mkdir()
    (site / "fakeplug.py").write_text(textwrap.dedent(f"""
        from pathlib import Path
        from auditor.model.check import CheckParams, check, passed
        from auditor.report import Reporter
        Path({str(marker)!r}).write_text("loaded")
        REPORTER = Reporter(name="fakeplug", extension=".fake", description="fake",
                            render=lambda evidence, context: b"fake")

        class Params(CheckParams):
            pass

        @check(name="fakeplug.x", title="A fake check", version="1", needs=["sysctl"], params=Params,
               severity="low", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
        def x(snapshot, params):
            yield passed("a", "fine")
    """), encoding="utf-8")
    info = site / "fakeplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[lbaudit.reporters]\nfakeplug = fakeplug:REPORTER\n\n[lbaudit.checks]\nfakeplug = fakeplug\n", encoding="utf-8")


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """A site directory on sys.path, as a distribution installed there is: ``importlib.metadata``
    finds its entry points in this process too, so the command line runs in-process
    (:func:`in_site`); taken off sys.path again afterwards."""
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in ("fakeplug", "brokenplug"):
        sys.modules.pop(name, None)


def in_site(*args: object, autoload: bool = True) -> Result:
    """``lbaudit ARGS`` in this process with the plugin site installed; each run imports the plugin
    afresh (as a new process would), so its marker file says whether this run loaded it."""
    for name in ("fakeplug", "brokenplug"):
        sys.modules.pop(name, None)
    return run_cli(*args, env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": None if autoload else "1"})


def test_report_honours_the_autoload_switch(tmp_path, baseline_file, plugin_site):
    marker = tmp_path / "loaded"
    _fake_distribution(plugin_site, marker)
    # Autoload on: the distribution is seen (so the switch below is tested against a live plugin).
    on = in_site("report", baseline_file, "--format", "fakeplug", "--out-dir", tmp_path / "on")
    assert on.returncode == 0, on.stderr
    assert marker.read_text() == "loaded" and (tmp_path / "on" / "corp-baseline.fake").read_bytes() == b"fake"
    marker.unlink()
    off = in_site("report", baseline_file, "--format", "text", "--out-dir", tmp_path / "off", autoload=False)
    assert off.returncode == 0, off.stderr
    assert not marker.exists()
    unknown = in_site("report", baseline_file, "--format", "fakeplug", "--out-dir", tmp_path / "off", autoload=False)
    assert unknown.returncode == 2 and "unknown format 'fakeplug'" in unknown.stderr
    assert not marker.exists()


@pytest.mark.slow  # child interpreters with a fake distribution
def test_report_honours_the_autoload_switch_in_a_new_process(tmp_path, baseline_file):
    """The same switch where a real interpreter reads the distribution from PYTHONPATH."""
    site, marker = tmp_path / "site", tmp_path / "loaded"
    _fake_distribution(site, marker)
    env = {"PYTHONPATH": f"{REPO}{os.pathsep}{site}"}
    on = lbaudit("report", baseline_file, "--format", "fakeplug", "--out-dir", tmp_path / "on", env=env)
    assert on.returncode == 0, on.stderr
    assert marker.read_text() == "loaded"
    marker.unlink()
    off = lbaudit("report", baseline_file, "--format", "fakeplug", "--out-dir", tmp_path / "off",
                  env={**env, "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert off.returncode == 2 and "unknown format 'fakeplug'" in off.stderr
    assert not marker.exists()


@pytest.mark.parametrize("command", [["list-checks", "--json"], ["explain", "net.bind_addresses"],
                                     ["schema", "policy"]])
def test_check_loading_commands_honour_the_autoload_switch(tmp_path, command, plugin_site):
    marker = tmp_path / "loaded"
    _fake_distribution(plugin_site, marker)
    on = in_site(*command)
    assert on.returncode == 0, on.stderr
    assert marker.read_text() == "loaded"  # the switch below is tested against a plugin that loads
    marker.unlink()
    run = in_site(*command, autoload=False)
    assert run.returncode == 0, run.stderr
    assert not marker.exists()


def _broken_distribution(site: Path, group: str) -> None:
    """An installed distribution whose only entry point (in ``group``) fails to import."""
    site.mkdir()
    (site / "brokenplug.py").write_text("raise ImportError('brokenplug needs a module that is not installed')\n",
                                        encoding="utf-8")
    info = site / "brokenplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplug\nVersion: 1.0\n", encoding="utf-8")
    target = "brokenplug:REPORTER" if group == "lbaudit.reporters" else "brokenplug"
    (info / "entry_points.txt").write_text(f"[{group}]\nbrokenplug = {target}\n", encoding="utf-8")


@pytest.mark.parametrize("group", ["lbaudit.checks", "lbaudit.reporters"])
def test_a_broken_entry_point_is_reported_the_same_way_for_checks_and_reporters(tmp_path, baseline_file, group,
                                                                                 plugin_site):
    """One loader: a reporter plugin that failed to import was a traceback (exit 70), while a
    broken check plugin was a usage error naming the entry point."""
    _broken_distribution(plugin_site, group)
    command = ["list-checks"] if group == "lbaudit.checks" else ["report", baseline_file, "--format", "text",
                                                                   "--out-dir", tmp_path / "out"]
    run = in_site(*command)
    assert run.returncode == 2, run.stderr
    assert "plugin entry point 'brokenplug' (brokenplug" in run.stderr and "failed to load" in run.stderr
    assert "brokenplug needs a module that is not installed" in run.stderr and "Traceback" not in run.stderr
    off = in_site(*command, autoload=False)
    assert off.returncode == 0, off.stderr


# ------------------------------------------------------------------ waiver expiry: a UTC day

EXPIRY = date(2026, 11, 27)


@pytest.mark.parametrize(("moment", "status", "state"), [
    (datetime(2026, 11, 27, 23, 59, 59, tzinfo=timezone.utc), Status.WAIVED, "applied"),
    (datetime(2026, 11, 28, 0, 0, 0, tzinfo=timezone.utc), Status.FAIL, "expired"),
    # Other zones: the UTC day decides, not the local one.
    (datetime(2026, 11, 28, 1, 0, 0, tzinfo=timezone(timedelta(hours=2))), Status.WAIVED, "applied"),
    (datetime(2026, 11, 27, 19, 0, 0, tzinfo=timezone(timedelta(hours=-5))), Status.FAIL, "expired"),
])
def test_waiver_expiry_is_the_end_of_its_day_in_utc(moment, status, state):
    policy = only(make_policy(), "port-range", waivers=[waiver("port-range", EXPIRY)])
    evidence = evidence_for(policy, today=evaluation_day(moment))
    assert [f.status for f in evidence.result.findings] == [status]
    assert [w.state for w in evidence.result.waivers] == [state]


def test_a_naive_evaluation_time_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        evaluation_day(datetime(2026, 11, 27, 23, 59, 59))


# ------------------------------------------------------------------ CI: missing reference is a failure

CONFORMANCE_TEST = "tests/report/test_sarif.py::test_validates_against_the_official_schema"


@pytest.mark.slow  # runs pytest in a child interpreter
@pytest.mark.parametrize(("ci", "code", "outcome"), [("true", 1, "CI=true and reference file"), ("", 0, "1 skipped")])
def test_missing_reference_fails_in_ci_and_skips_elsewhere(tmp_path, ci, code, outcome):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update({"PYTHONPATH": str(REPO), "LBAUDIT_REFERENCE_DIR": str(tmp_path / "no-reference")})
    if ci:
        env["CI"] = ci
    run = subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", CONFORMANCE_TEST], cwd=REPO,
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == code, run.stdout[-2000:]
    assert outcome in run.stdout
