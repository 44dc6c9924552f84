"""Evidence of Windows and macOS snapshots renders in every format, and each names the platform."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.cli import run_cli

BUNDLES = Path(__file__).resolve().parents[1] / "fixtures" / "bundles"
# One pytest-xdist worker runs this module (--dist loadgroup): otherwise both set up
# the two evaluations of ``rendered`` (a PDF each, ~1.5 s of CPU), each for its own share of the tests.
pytestmark = pytest.mark.xdist_group("platform_reports")


@pytest.fixture(scope="module", params=[("windows-default-fr", "windows", "Microsoft Windows 10.0.20348.2340"),
                                        ("macos-default", "macos", "macOS 14.1.1")], ids=["windows", "macos"])
def rendered(request, tmp_path_factory):
    bundle, platform, os_name = request.param
    out = tmp_path_factory.mktemp(platform)
    result = run_cli("evaluate", "--policy", "policies/corp.yaml", "--target", f"replay:{BUNDLES / bundle}",
                     "--output", out / "e.json", "--format", "oscal,sarif,junit", "--out-dir", out / "reports",
                     "--pdf", out / "a.pdf", "-q")
    assert result.returncode == 1, result.stderr  # these hosts fail corp.yaml
    return out, platform, os_name


def test_evidence_names_platform_build_and_how_each_fact_was_obtained(rendered):
    out, platform, _ = rendered
    evidence = json.loads((out / "e.json").read_text())
    provenance = evidence["snapshot"]["provenance"]
    assert provenance["platform"] == platform and provenance["os_build"]
    assert provenance["source"] == "replay"
    assert all("replayed from the bundle" in method for method in provenance["methods"].values())


def test_oscal_names_the_platform(rendered):
    out, platform, os_name = rendered
    [path] = (out / "reports").glob("*.oscal.json")
    text = path.read_text()
    assert '"name": "platform",\n' in text or '"name": "platform"' in text
    assert f'"value": "{platform}"' in text and os_name in text


def test_sarif_names_the_platform(rendered):
    out, platform, _ = rendered
    [path] = (out / "reports").glob("*.sarif")
    assert json.loads(path.read_text())["runs"][0]["properties"]["platform"] == platform


def test_junit_names_the_platform(rendered):
    out, platform, _ = rendered
    [path] = (out / "reports").glob("*.junit.xml")
    assert f'<property name="platform" value="{platform}"' in path.read_text()


def test_pdf_names_the_os_and_the_captured_bundle(rendered):
    out, _, os_name = rendered
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO((out / "a.pdf").read_bytes())).pages))
    assert os_name in text
    assert "captured bundle" in text
