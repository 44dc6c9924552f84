"""Every report names the waivers file (``--waivers``) of its run with its SHA-256, as it names the policy files.

A waivers file decides which failures of a run are accepted: the pool's failure below is ``waived``
and the run exit 0 only because of it.  The evidence records the file's path and digest
(``waiver_file``), but no report carried them: the attestation's inputs (PDF and HTML), the OSCAL
back-matter, the SARIF artifacts, the JUnit properties and the HDF profile's dependencies named each
policy file with its SHA-256 and not the waivers file, so whoever checks a report's inputs against
the files could not check the one that waived the failure, and a waiver renewed or widened there
(which leaves the policy's digest alone, by design) showed nowhere.  Now each names it, with its
digest, beside the policy files; a run without a waivers file names none.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.report.conftest import hdf_validator, oscal_validator, sarif_validator  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"  # a 10,001-port ephemeral pool: fails below

POLICY = """id: wfile
version: "1"
owner: T
rules:
  - id: eph
    check: net.ephemeral_port_range
    params: {min_pool_size: 16384}
"""
WAIVERS = """waivers:
  - rule: eph
    subject: ephemeral port pool
    reason: Pool widened in CHG-18
    approver: Jane Doe
    expires: 2099-01-01
"""


def _render(tmp_path: Path, with_file: bool = True) -> tuple[Path, str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS, encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    out = tmp_path / "out"
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--target", f"root:{ROOT}", "-o", evidence,
                  *(("--waivers", waivers) if with_file else ()), "--format", "oscal,sarif,junit", "--out-dir", out,
                  "--color", "never")
    assert run.returncode == (0 if with_file else 1), run.stdout + run.stderr
    statuses = {f["subject"]: f["status"] for f in json.loads(evidence.read_bytes())["result"]["findings"]}
    assert statuses["ephemeral port pool"] == ("waived" if with_file else "fail")
    run = run_cli("report", evidence, "--format", "html,hdf", "--out-dir", out)
    assert run.returncode == 0, run.stdout + run.stderr
    return out, hashlib.sha256(waivers.read_bytes()).hexdigest()


def test_the_attestation_inputs_name_the_waivers_file_with_its_digest(tmp_path):
    out, digest = _render(tmp_path)
    html = (out / "wfile.html").read_text(encoding="utf-8")
    assert "Waivers file" in html
    assert digest in html


def test_oscal_back_matter_holds_the_waivers_file_with_its_digest(tmp_path):
    out, digest = _render(tmp_path)
    resources = json.loads((out / "wfile.oscal.json").read_bytes())["assessment-results"]["back-matter"]["resources"]
    links = [(link["href"], hashes["value"]) for resource in resources for link in resource.get("rlinks", ())
             for hashes in link.get("hashes", ())]
    assert any(href.endswith("waivers.yaml") and value == digest for href, value in links), links


def test_sarif_artifacts_hold_the_waivers_file_with_its_digest(tmp_path):
    out, digest = _render(tmp_path)
    artifacts = json.loads((out / "wfile.sarif").read_bytes())["runs"][0]["artifacts"]
    assert any(a["location"]["uri"].endswith("waivers.yaml") and a["hashes"]["sha-256"] == digest
               and "userSpecifiedConfiguration" in a.get("roles", ()) for a in artifacts), artifacts


def test_junit_properties_hold_the_waivers_file_digest(tmp_path):
    out, digest = _render(tmp_path)
    properties = {p.get("name"): p.get("value")
                  for p in ET.parse(out / "wfile.junit.xml").getroot().iter("property")}
    assert properties.get("waivers.sha256") == digest, properties
    assert properties.get("waivers.path", "").endswith("waivers.yaml"), properties


def test_hdf_profile_depends_on_the_waivers_file(tmp_path):
    out, digest = _render(tmp_path)
    profile = json.loads((out / "wfile.hdf.json").read_bytes())["profiles"][0]
    assert any(d["path"].endswith("waivers.yaml") and d.get("lbaudit_sha256") == digest
               for d in profile["depends"]), profile["depends"]


def test_control_case_a_run_without_a_waivers_file_names_none(tmp_path):
    out, digest = _render(tmp_path, with_file=False)
    for name in ("wfile.html", "wfile.oscal.json", "wfile.sarif", "wfile.junit.xml", "wfile.hdf.json"):
        text = (out / name).read_text(encoding="utf-8")
        assert digest not in text and "waivers.yaml" not in text, name


@pytest.mark.parametrize("name, fixture", [("wfile.oscal.json", "oscal_validator"), ("wfile.sarif", "sarif_validator"),
                                           ("wfile.hdf.json", "hdf_validator")])
def test_each_document_naming_the_waivers_file_stays_valid_against_its_schema(tmp_path, request, name, fixture):
    out, _ = _render(tmp_path)
    validator = request.getfixturevalue(fixture)
    errors = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
              for e in validator.iter_errors(json.loads((out / name).read_bytes()))]
    assert errors == []
