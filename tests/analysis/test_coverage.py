"""Control coverage against the SP 800-53B baselines: the pure computation on Policy objects, the
official OSCAL resolved-profile catalogs (../shared/reference/nist, skipped when absent), and
``lbaudit coverage`` end to end, bad input included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.analysis.coverage import (
    catalog_baseline,
    compute_coverage,
    display_control_id,
    policy_controls,
    shipped_baseline,
)
from auditor.engine.registry import build_registry
from auditor.errors import InputError
from auditor.model.controls import oscal_control_id
from tests.cli import Result, run_cli
from tests.evidence_fixtures import CHECKS, make_policy
from tests.report.conftest import REFERENCE, reference_file

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "tests" / "fixtures" / "coverage" / "policy.yaml"


def nist_catalog(level: str) -> Path:
    return reference_file("nist", f"NIST_SP-800-53_rev5_{level.upper()}-baseline-resolved-profile_catalog.json")


@pytest.fixture(scope="module")
def registry():
    return build_registry(CHECKS)


def test_display_id_inverts_oscal_id():
    for control in ("SC-7", "SC-7(5)", "AU-12(1)", "SI-4(4)"):
        assert display_control_id(oscal_control_id(control)) == control
    assert display_control_id("sc-7_smt") is None


def test_enabled_rules_map_check_and_extra_controls(registry):
    mapped = policy_controls(make_policy(), registry)
    assert mapped["SC-7(5)"] == ("wildcard-listeners",)  # a rule's extra control
    assert mapped["SC-7"] == ("ipv6-only", "wildcard-listeners")
    assert "SI-4" not in mapped  # only the disabled rule maps to it


def test_coverage_against_the_shipped_moderate_data(registry):
    baseline = shipped_baseline("moderate", registry.catalog)
    assert baseline.complete is False
    assert "SC-7(5)" in {c.id for c in baseline.controls} and "SC-6" not in {c.id for c in baseline.controls}
    result = compute_coverage(make_policy(), baseline, registry)
    assert [c.id for c in result.covered] == [
        "AC-4", "AU-2", "AU-12", "CA-7", "CM-6", "CM-7", "SC-5", "SC-7", "SC-7(5)",
    ]
    assert "SI-4" in [c.id for c in result.not_covered]
    assert len(result.covered) + len(result.not_covered) == len(baseline.controls)
    assert result.share == pytest.approx(9 / len(baseline.controls))
    assert result.outside == ()
    assert any("--catalog" in note for note in result.notes)  # the share is of a subset, and it says so


def test_controls_outside_the_low_baseline_are_listed_apart(registry):
    result = compute_coverage(make_policy(), shipped_baseline("low", registry.catalog), registry)
    assert [(c.id, c.rules) for c in result.outside] == [
        ("AC-4", ("privileged-ports",)), ("SC-7(5)", ("wildcard-listeners",)),
    ]
    assert "SC-7(5)" not in [c.id for c in result.covered]


@pytest.mark.parametrize("level, total", [("low", 149), ("moderate", 287), ("high", 370)])
def test_official_resolved_catalogs_give_the_full_baseline(registry, level, total):
    baseline = catalog_baseline(nist_catalog(level), level)
    assert baseline.complete and len(baseline.controls) == total
    result = compute_coverage(make_policy(), baseline, registry)
    covered = {c.id: c.title for c in result.covered}
    assert covered["SC-7"] == "Boundary Protection"
    assert ("SC-7(5)" in covered) == (level != "low")
    assert len(result.covered) + len(result.not_covered) == total
    assert result.to_json()["summary"]["share"] == round(len(covered) / total, 4)


def test_shipped_membership_agrees_with_the_official_catalogs(registry):
    # Every shipped control the data calls MODERATE is in NIST's MODERATE catalog, and vice versa.
    official = {c.id for c in catalog_baseline(nist_catalog("moderate"), "moderate").controls}
    shipped = {c.id for c in shipped_baseline("moderate", registry.catalog).controls}
    assert shipped <= official
    assert {c for c in registry.catalog.controls if c in official} == shipped


@pytest.mark.parametrize("content, message", [
    (b"{not json", "not valid JSON (line 1)"),
    (b"[1, 2]", "not an OSCAL catalog"),
    (b'{"profile": {}}', "top-level 'profile'"),
    (b'{"catalog": {"metadata": {"title": "MODERATE baseline"}, "groups": []}}', "holds no SP 800-53 controls"),
    (b'{"catalog": {"metadata": {"title": "X HIGH IMPACT BASELINE"}, "controls": [{"id": "ac-1"}]}}',
     "this is the HIGH baseline catalog"),
])
def test_bad_catalogs_name_the_file(tmp_path, content, message):
    path = tmp_path / "catalog.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as raised:
        catalog_baseline(path, "moderate")
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_missing_catalog_names_the_file(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        catalog_baseline(tmp_path / "absent.json", "low")


def test_withdrawn_controls_do_not_count(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"catalog": {"metadata": {"title": "t LOW baseline"}, "groups": [{"controls": [
        {"id": "ac-2", "title": "Account Management", "controls": [{"id": "ac-2.10", "title": "gone",
                                                                    "props": [{"name": "status", "value": "withdrawn"}]}]},
    ]}]}}))
    assert [c.id for c in catalog_baseline(path, "low").controls] == ["AC-2"]


# ------------------------------------------------------------------ the command

def lbaudit(*args: object) -> Result:
    return run_cli("coverage", *args, cwd=REPO, env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})


def test_command_text_output():
    run = lbaudit("--policy", POLICY, "--baseline", "moderate")
    assert run.returncode == 0, run.stderr
    assert "Covered: 6 of " in run.stdout
    assert "SC-6      Resource Availability  [rules: pool]" in run.stdout  # outside MODERATE
    assert "SI-4      System Monitoring" in run.stdout.split("Not covered:")[1]  # the disabled rule's control


def test_command_json_with_the_official_catalog():
    catalog = nist_catalog("moderate")
    run = lbaudit("--policy", POLICY, "--baseline", "MODERATE", "--catalog", catalog, "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["baseline"] == {
        "level": "moderate", "source": str(catalog), "complete": True, "controls": 287,
        "catalog": "NIST Special Publication 800-53 Revision 5.1.1 MODERATE IMPACT BASELINE 5.1.1+u4",
    }
    assert [c["id"] for c in data["covered"]] == ["AU-2", "CM-6", "CM-7", "SC-5", "SC-7", "SC-7(5)"]
    assert data["summary"] == {"covered": 6, "not_covered": 281, "outside_baseline": 1, "share": round(6 / 287, 4)}


@pytest.mark.parametrize("args, names", [
    (("--baseline", "low", "--catalog", "{policy}"), "{policy}: not valid JSON"),
    (("--baseline", "low", "--catalog", "{moderate}"), "{moderate}: this is the MODERATE baseline catalog"),
])
def test_command_bad_catalog_is_one_line_exit_2(args, names):
    if not REFERENCE.is_dir():
        pytest.skip(f"{REFERENCE} is not present")
    values = {"policy": POLICY, "moderate": nist_catalog("moderate")}
    run = lbaudit("--policy", POLICY, *[a.format(**values) for a in args])
    assert run.returncode == 2
    assert run.stderr.startswith("lbaudit: " + names.format(**values))
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert run.stdout == ""


def test_command_bad_policy_exit_2(tmp_path):
    policy = tmp_path / "broken.yaml"
    policy.write_text("id: x\nversion: '1'\nowner: me\nrules:\n  - id: a\n    check: no.such_check\n")
    run = lbaudit("--policy", policy, "--baseline", "low")
    assert run.returncode == 2
    assert str(policy) in run.stderr.splitlines()[0] and "Traceback" not in run.stderr
    missing = lbaudit("--policy", tmp_path / "absent.yaml", "--baseline", "low")
    assert missing.returncode == 2 and "absent.yaml" in missing.stderr and "Traceback" not in missing.stderr
