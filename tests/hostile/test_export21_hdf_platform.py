"""The HDF export names the platform the evidence records, not Linux whatever the host.

The defect: the HDF profile said ``supports: [{"platform-family": "linux"}]`` and the document's
``platform.name`` fell back to ``linux`` for every evidence, so the Heimdall file of a Windows or
macOS host (judged from a captured bundle: ``lbaudit evaluate --target replay:DIR``) stated that the
profile runs on Linux alone and, for a bundle of an older capture script without ``ver.txt`` (no OS
name recorded), that the host itself was Linux.  InSpec reads ``supports`` as the platforms a
profile may run on (a target outside them is skipped as unsupported), so a reader of the file was
told that the results were of a host the profile does not apply to.  Now both come from the
evidence's ``snapshot.provenance.platform`` (InSpec's families: ``linux``, ``windows``, ``darwin``).

Real runs: the fixture bundles replayed through ``lbaudit evaluate`` with the shipped policy, the
HDF read back and checked against MITRE's exec-json schema.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli import REPO, run_cli
from tests.report.conftest import hdf_validator as hdf_validator  # noqa: F401 - the fixture, used by name

BUNDLES = REPO / "tests" / "fixtures" / "bundles"
POLICY = REPO / "policies" / "corp.yaml"
NON_COMPLIANT = 1


def _hdf_of_replay(tmp_path: Path, bundle: Path) -> tuple[dict, dict]:
    out = tmp_path / "out"
    result = run_cli("evaluate", "--policy", POLICY, "--target", f"replay:{bundle}", "-o", tmp_path / "e.json",
                     "--out-dir", out, "--format", "hdf", "-q")
    assert result.returncode == NON_COMPLIANT, result.stderr
    provenance = json.loads((tmp_path / "e.json").read_text())["snapshot"]["provenance"]
    return json.loads((out / "corp-baseline.hdf.json").read_text()), provenance


@pytest.mark.parametrize(("bundle", "platform", "family"), [
    ("windows-audited", "windows", "windows"),
    ("macos-default", "macos", "darwin"),
])
def test_a_bundle_host_is_not_called_linux(tmp_path, hdf_validator, bundle, platform, family):  # noqa: F811
    document, provenance = _hdf_of_replay(tmp_path, BUNDLES / bundle)
    assert provenance["platform"] == platform  # what the evidence records
    assert not list(hdf_validator.iter_errors(document))
    # before: [{"platform-family": "linux"}] for every host
    assert document["profiles"][0]["supports"] == [{"platform-family": family}]
    assert document["platform"]["name"] == provenance["os"]


def test_a_windows_bundle_without_its_os_name_is_still_windows(tmp_path, hdf_validator):  # noqa: F811
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLES / "windows-audited", bundle)
    (bundle / "ver.txt").unlink()  # an older capture script wrote none
    document, provenance = _hdf_of_replay(tmp_path, bundle)
    assert provenance["platform"] == "windows"
    assert not list(hdf_validator.iter_errors(document))
    assert "linux" not in json.dumps([document["platform"], document["profiles"][0]["supports"]]).lower()
    assert document["profiles"][0]["supports"] == [{"platform-family": "windows"}]


def test_control_case_a_linux_host_stays_linux(tmp_path, hdf_validator):  # noqa: F811
    root = REPO / "tests" / "fixtures" / "roots" / "socket-units"
    out = tmp_path / "out"
    result = run_cli("evaluate", "--policy", POLICY, "--root", root, "-o", tmp_path / "e.json", "--out-dir", out,
                     "--format", "hdf", "-q")
    assert result.returncode in (0, 1, 3), result.stderr
    document = json.loads((out / "corp-baseline.hdf.json").read_text())
    assert not list(hdf_validator.iter_errors(document))
    assert document["profiles"][0]["supports"] == [{"platform-family": "linux"}]
    assert document["platform"]["name"] == "linux"  # no OS name recorded for this root
