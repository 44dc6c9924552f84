"""``lbaudit coverage --catalog`` with NIST's resolved catalog of a Revision 4 baseline.

Before: a catalog is checked only for the impact level its metadata names, so NIST's
``NIST_SP-800-53_rev4_LOW-baseline-resolved-profile_catalog.json`` (title "NIST Special Publication
800-53 Revision 4 LOW IMPACT BASELINE") was counted as the Rev. 5 LOW baseline: exit 0 under the
heading "NIST SP 800-53 Rev. 5 LOW baseline coverage", Rev. 4's control set (115 controls, not
Rev. 5's 149) and Rev. 4's titles printed beside lbaudit's Rev. 5 mappings ("AU-2 Audit Events" for
what Rev. 5 calls Event Logging, SA-12 and others that Rev. 5 withdrew).  Now a catalog whose title or
profile link names another revision than 5 is refused (exit 2), naming where it says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "tests" / "fixtures" / "coverage" / "policy.yaml"
# The metadata of oscal-content's rev4 LOW resolved catalog, with three of its controls as it titles them.
REV4_METADATA = {"title": "NIST Special Publication 800-53 Revision 4 LOW IMPACT BASELINE", "version": "2015-01-22",
                 "oscal-version": "1.0.0",
                 "links": [{"href": "NIST_SP-800-53_rev4_LOW-baseline_profile.json", "rel": "resolution-source"}]}
REV4_GROUPS = [{"id": "au", "class": "family", "title": "Audit and Accountability",
                "controls": [{"id": "au-2", "class": "SP800-53", "title": "Audit Events"},
                             {"id": "au-12", "class": "SP800-53", "title": "Audit Generation"}]},
               {"id": "sc", "class": "family", "title": "System and Communications Protection",
                "controls": [{"id": "sc-7", "class": "SP800-53", "title": "Boundary Protection"}]}]
EXPECTED_LOW = ("expected the resolved-profile catalog of the LOW baseline "
                "(NIST's NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog.json)")


def coverage(catalog: Path, *args: str):
    return run_cli("coverage", "--policy", POLICY, "--baseline", "low", "--catalog", catalog, *args, cwd=REPO,
                   env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})


def write(path: Path, metadata: dict) -> Path:
    path.write_text(json.dumps({"catalog": {"uuid": "449fa536-1f5d-4bca-b2e8-0bed2a1de687", "metadata": metadata,
                                            "groups": REV4_GROUPS}}))
    return path


def test_the_rev4_baseline_is_not_counted_as_the_rev5_one(tmp_path: Path) -> None:
    catalog = write(tmp_path / "rev4-low.json", REV4_METADATA)
    run = coverage(catalog, "--json")
    assert run.returncode == 2, run.stdout
    assert run.stdout == ""
    assert run.stderr == (f"lbaudit: {catalog}: the catalog is of SP 800-53 Revision 4 (title 'NIST Special "
                          "Publication 800-53 Revision 4 LOW IMPACT BASELINE'; resolution-source "
                          "'NIST_SP-800-53_rev4_LOW-baseline_profile.json'), not Revision 5, which lbaudit's checks "
                          f"map to; {EXPECTED_LOW}\n")


@pytest.mark.parametrize("metadata", [
    {"title": "SP 800-53 Rev. 4 Low Baseline"},
    {"title": "800-53r4 LOW baseline"},
    {"title": "Tailored LOW baseline",
     "links": [{"rel": "source-profile", "href": "profiles/NIST_SP-800-53_rev4_LOW-baseline_profile.xml"}]},
])
def test_a_revision_named_anywhere_in_the_metadata_is_read(tmp_path: Path, metadata: dict) -> None:
    run = coverage(write(tmp_path / "c.json", metadata))
    assert run.returncode == 2 and "the catalog is of SP 800-53 Revision 4 (" in run.stderr, run.stdout + run.stderr
    assert run.stdout == ""


@pytest.mark.parametrize("title", ["NIST Special Publication 800-53 Revision 5.1.1 LOW IMPACT BASELINE",
                                   "NIST SP 800-53 Rev 5 LOW baseline, tailored", "Our LOW IMPACT BASELINE",
                                   "LOW baseline, reviewed 4 times", "Acme LOW IMPACT BASELINE rev 3",
                                   "SP 800-53r5 LOW baseline"])
def test_a_rev5_catalog_or_one_naming_no_revision_is_still_read(tmp_path: Path, title: str) -> None:
    run = coverage(write(tmp_path / "c.json", {"title": title}), "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["baseline"]["controls"] == 3
    assert [c["id"] for c in data["covered"]] == ["AU-2", "SC-7"]
