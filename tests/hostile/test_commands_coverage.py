"""``lbaudit coverage --catalog``: a catalog is counted as the baseline --baseline names only when its
own metadata says it is that baseline, and every control it counts has a title that is text.

Before: the PRIVACY catalog and the full SP 800-53 catalog (1007 controls) were reported as the LOW
baseline, since only a title naming another impact level was refused; a control's ``"title": 5`` was
printed as "5"; an escape sequence in a title went to the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.report.conftest import REFERENCE, reference_file

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "tests" / "fixtures" / "coverage" / "policy.yaml"
NIST = "NIST_SP-800-53_rev5_{}-baseline-resolved-profile_catalog.json"
EXPECTED_LOW = ("expected the resolved-profile catalog of the LOW baseline "
                "(NIST's NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog.json)")


def coverage(*args: object):
    return run_cli("coverage", "--policy", POLICY, *args, cwd=REPO, env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})


def write_catalog(path: Path, metadata: dict, controls: list) -> Path:
    path.write_text(json.dumps({"catalog": {"metadata": metadata, "controls": controls}}))
    return path


def assert_refused(run, message: str) -> None:
    assert run.returncode == 2, run.stderr
    assert run.stderr == f"lbaudit: {message}\n"
    assert run.stdout == ""


needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"{REFERENCE} is not present")


@needs_reference
@pytest.mark.parametrize("given, level", [("HIGH", "low"), ("PRIVACY", "low"), ("LOW", "moderate"), ("MODERATE", "high")])
def test_an_official_catalog_of_another_baseline_is_refused(given, level):
    catalog = reference_file("nist", NIST.format(given))
    run = coverage("--baseline", level, "--catalog", catalog)
    title = f"NIST Special Publication 800-53 Revision 5.1.1 {given}{' IMPACT' if given != 'PRIVACY' else ''} BASELINE"
    assert_refused(run, f"{catalog}: this is the {given} baseline catalog (title {title!r}), not {level.upper()}; "
                        f"expected the resolved-profile catalog of the {level.upper()} baseline (NIST's "
                        f"NIST_SP-800-53_rev5_{level.upper()}-baseline-resolved-profile_catalog.json)")


@needs_reference
def test_the_full_catalog_is_not_a_baseline():
    catalog = reference_file("nist", "oscal-content-v1.0.0", "NIST_SP-800-53_rev5_catalog.json")
    run = coverage("--baseline", "low", "--catalog", catalog)
    assert_refused(run, f"{catalog}: the catalog does not say which baseline it is (neither its metadata title "
                        "'NIST Special Publication 800-53 Revision 5: Security and Privacy Controls for Federal "
                        "Information Systems and Organizations' nor a source-profile link names a LOW, MODERATE or "
                        f"HIGH baseline); {EXPECTED_LOW}")


@needs_reference
@pytest.mark.parametrize("level, total", [("low", 149), ("high", 370)])
def test_the_official_catalog_of_the_baseline_is_accepted(level, total):
    run = coverage("--baseline", level, "--catalog", reference_file("nist", NIST.format(level.upper())), "--json")
    assert run.returncode == 0, run.stderr
    baseline = json.loads(run.stdout)["baseline"]
    assert (baseline["level"], baseline["controls"], baseline["complete"]) == (level, total, True)


def test_a_catalog_naming_no_baseline_is_refused(tmp_path):
    catalog = write_catalog(tmp_path / "c.json", {"title": "Our controls"}, [{"id": "ac-1", "title": "Policy"}])
    run = coverage("--baseline", "low", "--catalog", catalog)
    assert_refused(run, f"{catalog}: the catalog does not say which baseline it is (neither its metadata title "
                        f"'Our controls' nor a source-profile link names a LOW, MODERATE or HIGH baseline); {EXPECTED_LOW}")


def test_a_catalog_without_a_title_is_refused(tmp_path):
    catalog = write_catalog(tmp_path / "c.json", {"title": 5}, [{"id": "ac-1", "title": "Policy"}])
    run = coverage("--baseline", "low", "--catalog", catalog)
    assert_refused(run, f"{catalog}: the catalog does not say which baseline it is (neither its metadata title "
                        f"missing nor a source-profile link names a LOW, MODERATE or HIGH baseline); {EXPECTED_LOW}")


def test_title_and_source_profile_naming_two_baselines_is_refused(tmp_path):
    metadata = {"title": "Copy of the HIGH IMPACT BASELINE",
                "links": [{"rel": "source-profile", "href": "NIST_SP-800-53_rev5_LOW-baseline_profile.xml"}]}
    catalog = write_catalog(tmp_path / "c.json", metadata, [{"id": "ac-1", "title": "Policy"}])
    run = coverage("--baseline", "low", "--catalog", catalog)
    assert_refused(run, f"{catalog}: the catalog names more than one baseline (HIGH in title 'Copy of the HIGH IMPACT "
                        "BASELINE'; LOW in source-profile 'NIST_SP-800-53_rev5_LOW-baseline_profile.xml'); "
                        + EXPECTED_LOW)


def test_the_source_profile_link_names_the_baseline(tmp_path):
    metadata = {"title": "Tailored", "version": "3",
                "links": [{"rel": "source-profile", "href": "profiles/NIST_SP-800-53_rev5_LOW-baseline_profile.xml"}]}
    catalog = write_catalog(tmp_path / "c.json", metadata,
                            [{"id": "ac-1", "title": "Policy and Procedures"}, {"id": "au-2", "title": "Event Logging"}])
    run = coverage("--baseline", "low", "--catalog", catalog, "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["baseline"] == {"level": "low", "source": str(catalog), "catalog": "Tailored 3", "complete": True,
                                "controls": 2}
    assert data["covered"] == [{"id": "AU-2", "title": "Event Logging", "rules": ["binds"]}]  # the policy adds AU-2 to rule binds
    assert data["not_covered"] == [{"id": "AC-1", "title": "Policy and Procedures"}]


@pytest.mark.parametrize("control, shown", [
    ({"id": "ac-1", "title": 5}, 'control ac-1: "title" is 5 (int)'),
    ({"id": "ac-1", "title": ["Policy"]}, 'control ac-1: "title" is ["Policy"] (list)'),
    ({"id": "ac-1", "title": "  "}, "control ac-1: \"title\" is '  ' (str)"),
    ({"id": "ac-1"}, 'control ac-1: "title" is missing'),
])
def test_a_control_title_that_is_not_text_is_refused(tmp_path, control, shown):
    catalog = write_catalog(tmp_path / "c.json", {"title": "X LOW IMPACT BASELINE"}, [control])
    run = coverage("--baseline", "low", "--catalog", catalog)
    assert_refused(run, f"{catalog}: {shown}; expected a non-empty string (OSCAL requires every control's title)")


def test_a_control_id_that_is_not_text_is_refused(tmp_path):
    # skipped before, a baseline with fewer controls than it has: a share of a smaller set
    catalog = write_catalog(tmp_path / "c.json", {"title": "X LOW IMPACT BASELINE"},
                            [{"id": 7, "title": "Policy"}, {"id": "ac-2", "title": "Accounts"}])
    run = coverage("--baseline", "low", "--catalog", catalog)
    assert_refused(run, f'{catalog}: a control\'s "id" is 7 (int); expected a string such as "ac-2"')


def test_control_characters_in_a_title_are_shown_escaped(tmp_path):
    catalog = write_catalog(tmp_path / "c.json", {"title": "X LOW\nIMPACT BASELINE\x1b[2J"},
                            [{"id": "ac-1", "title": "Policy\x1b[31m\nand Procedures"}])
    run = coverage("--baseline", "low", "--catalog", catalog)
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout
    assert f"Baseline: X LOW\\nIMPACT BASELINE\\x1b[2J ({catalog}), 1 controls\n" in run.stdout
    assert "  AC-1      Policy\\x1b[31m\\nand Procedures\n" in run.stdout
