"""The interchange formats through the command line: ``lbaudit report`` from an evidence file gives
exactly the golden files, and ``lbaudit evaluate --format oscal,sarif,junit`` on this host (with a
real loopback listener open) writes documents that the official schemas accept."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from auditor.storage.evidence import write_evidence
from tests.cli import Result, run_cli
from tests.evidence_fixtures import make_evidence
from tests.report.conftest import GOLDEN_DIR

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "tests" / "fixtures" / "coverage" / "policy.yaml"
EXTENSIONS = (".oscal.json", ".sarif", ".junit.xml")


def lbaudit(*args: object) -> Result:
    return run_cli(*args, cwd=REPO, env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})


def test_report_from_the_evidence_file_gives_the_golden_bytes(tmp_path):
    evidence_file = tmp_path / "corp-baseline.json"
    write_evidence(make_evidence(), evidence_file)
    # Reports beside the evidence (the golden layout): each links to it as "corp-baseline.json".
    run = lbaudit("report", evidence_file, "--format", "oscal,sarif,junit", "--assessor", "Jane Auditor")
    assert run.returncode == 0, run.stderr
    for extension in EXTENSIONS:
        name = f"corp-baseline{extension}"
        assert (tmp_path / name).read_bytes() == (GOLDEN_DIR / name).read_bytes(), name


def test_reports_in_another_directory_link_back_to_the_evidence(tmp_path):
    evidence_file = tmp_path / "corp-baseline.json"
    write_evidence(make_evidence(), evidence_file)
    run = lbaudit("report", evidence_file, "--format", "sarif", "--out-dir", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    sarif = (tmp_path / "out" / "corp-baseline.sarif").read_text()
    assert "../corp-baseline.json" in sarif


@pytest.mark.live
def test_evaluate_on_this_host_writes_valid_documents(tmp_path, oscal_validator, sarif_validator, junit_schema):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        run = lbaudit("evaluate", "--policy", POLICY, "--format", "oscal,sarif,junit", "--out-dir", tmp_path, "-q")
    assert run.returncode in (0, 1, 3), run.stderr  # the verdict depends on the host; the documents must not
    oscal = json.loads((tmp_path / "coverage-test.oscal.json").read_text())
    assert list(oscal_validator.iter_errors(oscal)) == []
    sarif = json.loads((tmp_path / "coverage-test.sarif").read_text())
    assert list(sarif_validator.iter_errors(sarif)) == []
    junit_schema.validate((tmp_path / "coverage-test.junit.xml").read_text())

    # The loopback listener passes: it is an OSCAL observation, and no SARIF result (code scanning
    # makes every result an alert, whatever its kind), only counted among the run's passes.
    observations = json.dumps(oscal["assessment-results"]["results"][0]["observations"])
    if f"127.0.0.1:{port}" not in observations:
        pytest.fail(f"the loopback listener on port {port} is not among the OSCAL observations")
    assert not [r for r in sarif["runs"][0]["results"] if r["properties"]["policyRule"] == "binds"
                and r["locations"][0]["logicalLocations"][0]["properties"].get("port") == port]
    assert sarif["runs"][0]["properties"]["findingsByStatus"]["pass"] >= 1
    for result in sarif["runs"][0]["results"]:  # each problem at its rule's line of the policy
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] > 0
    reviewed = oscal["assessment-results"]["results"][0]["reviewed-controls"]["control-selections"][0]
    assert "si-4" not in [c["control-id"] for c in reviewed["include-controls"]]  # only a disabled rule maps to it
