"""``path:line`` origins whose line is digits int() cannot read (structured fuzz, scripts/fuzz_inputs.py).

A rule's ``source`` in the evidence (``policy.yaml:5``) and a configured sysctl's ``origin`` in a
snapshot (``/etc/sysctl.d/99-net.conf:3``) end in a line number, which the SARIF, JUnit and HDF
reporters and the sysctl boot order read with ``str.isdigit()`` and ``int()``.  ``isdigit`` is
also true for ``²`` (which int() refuses) and for 5,000 digits (beyond int()'s 4,300): ``report
--format sarif`` of such evidence was exit 70, and drift.sysctl on such a snapshot an ``error``
finding (the run incomplete) instead of its judgement.  Such an origin names no line, and is
rendered and ordered as one without a line number, as any other that ends in none.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.model.base import canonical_sha256
from tests.cli import run_cli
from tests.hostile.test_input_loaders import POLICY, rich_snapshot_bytes

NOT_READABLE_LINES = ["\u00b2", "9" * 5000]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("line-numbers")
    (directory / "policy.yaml").write_text(POLICY)
    (directory / "snap.json").write_bytes(rich_snapshot_bytes())
    run = run_cli("evaluate", "--no-plugins", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "ev.json",
                  "-q", cwd=directory, env={"LBAUDIT_CONFIG": ""})
    assert run.returncode == 1, run.stderr
    return directory


def _evidence_with_rule_sources(evaluated: Path, directory: Path, line: str) -> Path:
    """The evidence with every rule's source ending in ``line``, its policy digest made to match
    (an edit the evidence's own consistency check cannot tell from lbaudit's writing)."""
    data = json.loads((evaluated / "ev.json").read_text())
    for rule in data["policy"]["rules"]:
        rule["source"] = f"policy.yaml:{line}"
    data["policy_sha256"] = canonical_sha256(data["policy"])
    path = directory / "ev.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def _one(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    assert len(found) == 1, (pattern, sorted(p.name for p in directory.iterdir()))
    return found[0]


@pytest.mark.parametrize("line", NOT_READABLE_LINES, ids=["superscript-two", "5000-digits"])
def test_a_rule_source_line_int_cannot_read_is_rendered_as_a_source_without_a_line(evaluated, tmp_path, line):
    evidence = _evidence_with_rule_sources(evaluated, tmp_path, line)
    run = run_cli("report", evidence, "--format", "sarif,junit,hdf", "--out-dir", tmp_path / "out", cwd=tmp_path,
                  env={"LBAUDIT_CONFIG": ""})
    assert run.returncode == 0, (run.returncode, run.stderr)
    sarif = json.loads(_one(tmp_path / "out", "*.sarif").read_text())
    locations = [location["physicalLocation"] for result in sarif["runs"][0]["results"]
                 for location in result.get("locations", [])]
    assert locations, "no SARIF result names the rule's file"
    for location in locations:
        assert "region" not in location, location  # no line to point at
        assert location["artifactLocation"]["uri"].startswith("policy.yaml%3A"), location
    assert _one(tmp_path / "out", "*.xml").read_text().startswith("<?xml")
    assert json.loads(_one(tmp_path / "out", "*hdf*.json").read_text())["profiles"]


def test_a_rule_source_with_a_plain_line_still_points_at_it(evaluated, tmp_path):
    evidence = _evidence_with_rule_sources(evaluated, tmp_path, "12")
    run = run_cli("report", evidence, "--format", "sarif", "--out-dir", tmp_path / "out", cwd=tmp_path,
                  env={"LBAUDIT_CONFIG": ""})
    assert run.returncode == 0, run.stderr
    sarif = json.loads(_one(tmp_path / "out", "*.sarif").read_text())
    regions = {location["physicalLocation"]["region"]["startLine"] for result in sarif["runs"][0]["results"]
               for location in result.get("locations", [])}
    assert regions == {12}


@pytest.mark.parametrize("line", NOT_READABLE_LINES, ids=["superscript-two", "5000-digits"])
def test_a_sysctl_origin_line_int_cannot_read_is_judged_not_an_error(evaluated, tmp_path, line):
    data = json.loads(rich_snapshot_bytes())
    data["facts"]["sysctl"]["persistent"]["net.ipv4.ip_local_port_range"]["origin"] = f"/etc/sysctl.d/99-net.conf:{line}"
    (tmp_path / "snap.json").write_text(json.dumps(data, indent=1))
    run = run_cli("evaluate", "--no-plugins", "--policy", evaluated / "policy.yaml", "--snapshot", "snap.json",
                  "-o", "ev.json", "-q", cwd=tmp_path, env={"LBAUDIT_CONFIG": ""})
    assert run.returncode == 1, (run.returncode, run.stderr)
    findings = json.loads((tmp_path / "ev.json").read_text())["result"]["findings"]
    assert [f["reason"] for f in findings if f["status"] == "error"] == []
    drift = [f for f in findings if f["rule_id"] == "drift-sysctl"]
    assert drift and {f["status"] for f in drift} <= {"pass", "fail"}, [(f["status"], f["reason"]) for f in drift]


# Any digits str.isdigit() takes (Unicode decimal digits, superscripts), many of them, or a sign.
line_texts = st.one_of(
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["9" * 4301, "0", "00", "", " 1", "1 "]),
)


@pytest.mark.slow  # hypothesis: renders each evidence in three formats
@settings(max_examples=20, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(line=line_texts)
def test_any_rule_source_line_renders_sarif_junit_and_hdf(evaluated, tmp_path_factory, line):
    work = tmp_path_factory.mktemp("source-line")
    evidence = _evidence_with_rule_sources(evaluated, work, line)
    run = run_cli("report", evidence, "--format", "sarif,junit,hdf", "--out-dir", work / "out", cwd=work,
                  env={"LBAUDIT_CONFIG": ""})
    assert run.returncode == 0, (run.returncode, run.stderr[-1500:])
