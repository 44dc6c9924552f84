"""Hostile text that reaches a report, and fleet inputs, never reach exit 70 (fuzz review, classes
"long text in the PDF", "control characters in JUnit", "fleet names that are not UTF-8",
"OSCAL catalog of the wrong shape").

Before:
- a policy owner or version, a snapshot's host name, OS, kernel or machine id, a gap reason, an
  ``--assessor`` or ``--org-name`` of a few thousand characters made a PDF table cell or the verdict
  panel taller than a page: reportlab's LayoutError, exit 70, nothing written.  Every cell of
  the PDF is now clipped to what its column holds on a page (``_pdf_sections.clipped``/``_fitted``),
  the evidence keeps every character, and ``verify --pdf`` still re-renders the same PDF;
- a snapshot host name holding NUL or ESC went raw into JUnit's ``hostname`` attribute: the file
  was not XML, and ``fleet evaluate`` (which parses each host's JUnit) ended with exit 70;
- a fleet host directory or snapshot file whose name is not UTF-8 was a UnicodeEncodeError when its
  path was recorded: exit 70 for the whole fleet.  That host now fails (exit 2 in its row);
- ``coverage --catalog`` with ``"props": 7`` (or ``"controls": 5``) was a TypeError.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import loopback_only_policy, snapshot

USAGE, NON_COMPLIANT = 2, 1
LONG = "W" * 6_000  # the widest Latin glyph, in no word to break at: 1,180 pt in the cover's column


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("report-inputs")
    (directory / "policy.yaml").write_text(loopback_only_policy("reports"))
    (directory / "snap.json").write_bytes(snapshot_bytes(snapshot()))
    assert run_cli("keygen", "--out", directory / "keys", cwd=directory).returncode == 0
    return directory


def lbaudit(*args: object, cwd: Path):
    return run_cli(*args, cwd=cwd, env={"LBAUDIT_CONFIG": ""}, timeout=120)


def assert_no_crash(run) -> None:
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr


def _snapshot_with(base: Path, tmp_path: Path, change) -> Path:
    data = json.loads((base / "snap.json").read_text())
    change(data)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    return path


def _set_provenance(field: str, value: str):
    def change(data):
        data["provenance"][field] = value
    return change


def _long_gap_reasons(data):
    data["gaps"] = [{"section": "sockets", "field": "listeners/udp6", "reason": LONG, "kind": "unreadable"},
                    {"section": "sockets", "field": "listeners/tcp6", "reason": LONG, "kind": "unreadable"}]


@pytest.mark.parametrize("change", [_set_provenance("hostname", LONG), _set_provenance("os", LONG),
                                    _set_provenance("kernel", LONG), _set_provenance("machine_id", LONG),
                                    _long_gap_reasons],
                         ids=["hostname", "os", "kernel", "machine_id", "gap-reasons"])
def test_a_huge_snapshot_value_fits_the_pdf_and_the_pdf_verifies(base, tmp_path, change):
    snap = _snapshot_with(base, tmp_path, change)
    run = lbaudit("evaluate", "--policy", base / "policy.yaml", "--snapshot", snap, "-o", "e.json", "--pdf", "e.pdf",
                  "--sign-key", base / "keys" / "lbaudit.key", "-q", cwd=tmp_path)
    assert_no_crash(run)
    assert run.returncode in (NON_COMPLIANT, 3), run.stderr
    assert (tmp_path / "e.pdf").stat().st_size > 0
    run = lbaudit("verify", "e.json", "--pubkey", base / "keys" / "lbaudit.pub", "--pdf", "e.pdf", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("field", ["owner", "version", "description"])
def test_a_huge_policy_name_field_fits_the_pdf(base, tmp_path, field):
    text = (base / "policy.yaml").read_text()
    lines = [line for line in text.splitlines() if not line.startswith(f"{field}:")]
    (tmp_path / "p.yaml").write_text("\n".join([f"{field}: {'a' * 6_000}", *lines]) + "\n")
    run = lbaudit("evaluate", "--policy", "p.yaml", "--snapshot", base / "snap.json", "-o", "e.json", "--pdf", "e.pdf",
                  "-q", cwd=tmp_path)
    assert_no_crash(run)
    assert run.returncode in (0, NON_COMPLIANT, 3), run.stderr
    assert (tmp_path / "e.pdf").exists()


@pytest.mark.parametrize("option", ["--assessor", "--org-name"])
def test_a_huge_assessor_or_organisation_fits_the_pdf(base, tmp_path, option):
    run = lbaudit("evaluate", "--policy", base / "policy.yaml", "--snapshot", base / "snap.json", "-o", "e.json",
                  "--pdf", "e.pdf", option, "Example " * 2_000, "-q", cwd=tmp_path)
    assert_no_crash(run)
    assert run.returncode in (0, NON_COMPLIANT, 3), run.stderr
    assert (tmp_path / "e.pdf").exists()


@pytest.mark.parametrize("hostname, written", [("web01\x00x", "web01\\x00x"), ("web01\x1b[31mx", "web01\\x1b[31mx"),
                                                ("web01\ufffex", "web01\\ufffex")])
def test_a_host_name_with_control_characters_gives_well_formed_junit(base, tmp_path, hostname, written):
    snap = _snapshot_with(base, tmp_path, _set_provenance("hostname", hostname))
    run = lbaudit("evaluate", "--policy", base / "policy.yaml", "--snapshot", snap, "-o", "e.json", "--format", "junit",
                  "--out-dir", "r", "-q", cwd=tmp_path)
    assert_no_crash(run)
    (report,) = (tmp_path / "r").glob("*.junit.xml")
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.get("hostname") == written


def _fleet(tmp_path: Path, hosts: dict[bytes, dict[bytes, bytes]]) -> Path:
    fleet = os.path.join(os.fsencode(tmp_path), b"fleet")
    for host, files in hosts.items():
        os.makedirs(os.path.join(fleet, host))
        for name, data in files.items():
            with open(os.path.join(fleet, host, name), "wb") as handle:
                handle.write(data)
    return Path(os.fsdecode(fleet))


@pytest.mark.parametrize("host, name, shown", [
    (b"bad\xff", b"h.snapshot.json", "bad\\xff: is not valid UTF-8"),
    (b"web02", b"h\xff.snapshot.json", "h\\xff.snapshot.json: is not valid UTF-8"),
])
def test_a_fleet_name_that_is_not_utf8_fails_its_host_not_the_fleet(base, tmp_path, host, name, shown):
    snap = (base / "snap.json").read_bytes()
    fleet = _fleet(tmp_path, {b"web01": {b"h.snapshot.json": snap}, host: {name: snap}})
    run = lbaudit("fleet", "evaluate", "--policy", base / "policy.yaml", "--snapshots", fleet, "--out-dir", "out",
                  "--jobs", "1", cwd=tmp_path)
    assert_no_crash(run)
    assert run.returncode == USAGE, run.stderr
    summary = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())
    rows = {row["host"]: row for row in summary["hosts"]}
    assert rows["web01"]["exit_code"] in (0, NON_COMPLIANT, 3)
    (failed,) = [row for name_, row in rows.items() if name_ != "web01"]
    assert failed["exit_code"] == USAGE and shown in failed["error"], failed
    ET.parse(tmp_path / "out" / "fleet.junit.xml")


def test_a_fleet_host_whose_name_holds_nul_is_judged_and_its_junit_parses(base, tmp_path):
    snap = (base / "snap.json").read_bytes().replace(b'"web01.example.test"', b'"web01\\u0000x"')
    assert b"\\u0000" in snap
    fleet = _fleet(tmp_path, {b"web01": {b"h.snapshot.json": snap}})
    run = lbaudit("fleet", "evaluate", "--policy", base / "policy.yaml", "--snapshots", fleet, "--out-dir", "out",
                  "--jobs", "1", cwd=tmp_path)
    assert_no_crash(run)
    assert run.returncode in (0, NON_COMPLIANT, 3), run.stderr
    ET.parse(tmp_path / "out" / "fleet.junit.xml")


# The metadata names the baseline (coverage refuses a catalog that does not say it is --baseline's).
LOW_METADATA = {"title": "X LOW IMPACT BASELINE"}


@pytest.mark.parametrize("catalog", [
    {"catalog": {"metadata": LOW_METADATA, "groups": [{"controls": [{"id": "ac-1", "title": "P", "props": 7}]}]}},
    {"catalog": {"metadata": LOW_METADATA, "groups": [{"controls": [{"id": "ac-1", "title": "P", "props": [1, None]}]}]}},
    {"catalog": {"metadata": LOW_METADATA, "controls": 5}},
    {"catalog": {"metadata": LOW_METADATA, "groups": "x",
                 "controls": [{"id": "ac-1", "title": "P", "controls": [None, 3]}]}},
], ids=["props-int", "props-not-objects", "controls-int", "groups-text"])
def test_a_catalog_with_lists_of_the_wrong_type_is_read_or_refused(base, tmp_path, catalog):
    (tmp_path / "c.json").write_text(json.dumps(catalog))
    run = lbaudit("coverage", "--policy", base / "policy.yaml", "--baseline", "low", "--catalog", "c.json", cwd=tmp_path)
    assert_no_crash(run)
    if catalog["catalog"].get("controls") == 5:
        assert run.returncode == USAGE and "c.json: the catalog holds no SP 800-53 controls" in run.stderr, run.stderr
    else:
        assert run.returncode == 0, run.stderr
        assert "AC-1" in run.stdout
