"""``--format html,hdf`` through the command line: ``lbaudit report E --format html,hdf --out-dir D``
writes both from the evidence file, and ``lbaudit evaluate`` of an offline root directory writes
them beside the evidence (the same reporters, looked up by name)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from jsonschema.validators import validator_for

from auditor.storage.evidence import write_evidence
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence
from tests.html_dom import Page
from tests.report.conftest import load_json, reference_file

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "policies" / "corp.yaml"
ROOT = REPO / "tests" / "fixtures" / "roots" / "socket-units"
ENV = {"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _hdf_errors(document) -> list[str]:
    schema = load_json(reference_file("hdf", "exec-json.json"))
    return [e.message for e in validator_for(schema)(schema).iter_errors(document)]


def _check(html: Path, hdf: Path, evidence: dict) -> None:
    page = Page(html.read_text(encoding="utf-8"))
    words = {"compliant": "COMPLIANT", "non_compliant": "NOT COMPLIANT", "incomplete": "INCOMPLETE"}
    assert words[evidence["result"]["verdict"]] in page.by_id("verdict").content
    document = json.loads(hdf.read_text(encoding="utf-8"))
    assert _hdf_errors(document) == []
    statuses = Counter(r["lbaudit_status"] for p in document["profiles"] for c in p["controls"]
                       for r in c["results"] if "lbaudit_status" in r)
    assert dict(statuses) == {k: v for k, v in evidence["result"]["summary"]["by_status"].items() if v}


def test_report_writes_html_and_hdf_into_the_out_dir(tmp_path):
    evidence_file = tmp_path / "corp-baseline.json"
    write_evidence(make_evidence(), evidence_file)
    run = run_cli("report", evidence_file, "--format", "html,hdf", "--out-dir", tmp_path / "out", env=ENV)
    assert run.returncode == 0, run.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["corp-baseline.hdf.json", "corp-baseline.html"]
    _check(out / "corp-baseline.html", out / "corp-baseline.hdf.json", json.loads(evidence_file.read_text()))


def test_evaluate_of_an_offline_root_writes_html_and_hdf(tmp_path):
    run = run_cli("evaluate", "--policy", POLICY, "--target", f"root:{ROOT}", "--no-plugins", "-q",
                  "--format", "html,hdf", "--out-dir", tmp_path, env=ENV)
    assert run.returncode == 1, run.stderr  # the fixture root's listeners fail the corp policy
    evidence = json.loads((tmp_path / "corp-baseline.evidence.json").read_text())
    _check(tmp_path / "corp-baseline.html", tmp_path / "corp-baseline.hdf.json", evidence)
