"""Hostile host text in the interchange documents: SARIF, JUnit, OSCAL, HDF (and every other format).

Any local user can name a process, and a process name (its user, command line, executable, the
socket's interface, a snapshot's host name) can hold control characters and bidi controls.  The
evidence keeps them as the host had them (the source of truth); the terminal and the HTML report show
them as escapes (``\\u202e``, ``\\x9b``).  The SARIF, JUnit, OSCAL and HDF documents held them raw:
U+202E (right-to-left override) and U+2066 (left-to-right isolate) turned a finding's subject around
in code scanning, a CI server's test page or Heimdall ("Trojan Source"), and the C1 control 0x9B (the
8-bit CSI) went to whatever terminal printed the log.  Now each document is made plain text as a whole
where it is written (``auditor.report._shared.json_document``, ``auditor.report.junit.xml_document``):
every format shows the escapes, as the HTML does, and still validates against its schema.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo, subject_word
from auditor.storage.snapshot import write_snapshot
from auditor.text import plain_json, plain_text, plain_tree
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.report.conftest import hdf_validator, junit_schema, oscal_validator, sarif_validator  # noqa: F401 - fixtures

NON_COMPLIANT = 1
# A right-to-left override, an SGR escape, the 8-bit CSI with "erase display", a left-to-right isolate,
# the right-to-left, Arabic letter and left-to-right marks, DEL and SOH.
HOSTILE = "ssh\u202ed\x1b[31mRED\x9b2J\u2066x\u200f\u061c\u200e\x7f\x01"
SHOWN = "ssh\\u202ed\\x1b[31mRED\\x9b2J\\u2066x\\u200f\\u061c\\u200e\\x7f\\x01"
HOSTNAME = "web\u202e01\x9b"
HOSTNAME_SHOWN = "web\\u202e01\\x9b"
SUBJECT = f"tcp 0.0.0.0:22 {SHOWN} pid 7"
FORMATS = "sarif,junit,oscal,hdf,html,prometheus,text"

# The characters no rendered document may hold raw: C0 controls, DEL, C1 controls, the bidi controls.
# Tab and line feed are every format's own; an HTML page may also hold a form feed and a carriage return.
_NOT_SHOWN_RAW = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
RAW = re.compile(f"[{_NOT_SHOWN_RAW}]")


def _raw_characters(text: str, allowed: str = "\t\n") -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in RAW.findall(text) if c not in allowed})


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    """``lbaudit evaluate`` of a snapshot whose listener's every text field holds the hostile text,
    writing every format to ``out``."""
    process = ProcessInfo(pid=7, name=HOSTILE, user=HOSTILE, exe=f"/usr/bin/{HOSTILE}", argv0=HOSTILE,
                          cmdline=[HOSTILE, f"--flag={HOSTILE}"])
    hostile = listener("0.0.0.0", 22, interface=f"eth{HOSTILE}", user=HOSTILE, processes=[process])
    write_snapshot(snapshot(listeners=[hostile], hostname=HOSTNAME), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("bidi"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--format", FORMATS, "--out-dir", tmp_path / "out", "-q")
    assert result.returncode == NON_COMPLIANT, result.stderr
    return tmp_path


def test_no_format_holds_a_control_or_bidi_character_of_host_text_raw(rendered: Path):
    out = rendered / "out"
    names = sorted(path.name for path in out.iterdir())
    assert names == ["bidi.hdf.json", "bidi.html", "bidi.junit.xml", "bidi.oscal.json", "bidi.prom", "bidi.sarif",
                     "bidi.txt"]
    # before: U+202E, U+2066, U+200E, U+200F, U+061C, DEL and 0x9B raw in SARIF, JUnit, OSCAL and HDF; the
    # marks (U+200E, U+200F, U+061C) raw in the HTML report and the terminal summary too
    found = {name: _raw_characters((out / name).read_text(encoding="utf-8"),
                                   "\t\n\x0c\r" if name.endswith(".html") else "\t\n") for name in names}
    assert found == {name: [] for name in names}


def test_every_document_shows_the_escapes_and_still_validates(
        rendered: Path, sarif_validator, oscal_validator, hdf_validator, junit_schema):  # noqa: F811 - fixtures
    out = rendered / "out"
    sarif = json.loads((out / "bidi.sarif").read_text(encoding="utf-8"))
    assert not list(sarif_validator.iter_errors(sarif))
    (result,) = sarif["runs"][0]["results"]
    assert result["message"]["text"].startswith(f"loopback-only: {SUBJECT}: ")
    (location,) = result["locations"][0]["logicalLocations"]
    assert location["name"] == SUBJECT and location["fullyQualifiedName"] == f"{HOSTNAME_SHOWN}/{SUBJECT}"
    assert sarif["runs"][0]["invocations"][0]["machine"] == HOSTNAME_SHOWN

    oscal = json.loads((out / "bidi.oscal.json").read_text(encoding="utf-8"))
    assert not list(oscal_validator.iter_errors(oscal))
    (observation,) = oscal["assessment-results"]["results"][0]["observations"]
    assert observation["title"] == f"loopback-only: {SUBJECT}"

    hdf = json.loads((out / "bidi.hdf.json").read_text(encoding="utf-8"))
    assert not list(hdf_validator.iter_errors(hdf))
    (hdf_result,) = hdf["profiles"][0]["controls"][0]["results"]
    assert hdf_result["resource_id"] == SUBJECT and hdf["platform"]["target_id"] == HOSTNAME_SHOWN

    assert junit_schema.is_valid(str(out / "bidi.junit.xml"))
    suite = ET.parse(out / "bidi.junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("hostname") == HOSTNAME_SHOWN
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("message") == f"1 of 1 subjects fail: {SUBJECT}"

    assert f'<td class="subject mono">{SUBJECT}</td>' in (out / "bidi.html").read_text(encoding="utf-8")
    assert SUBJECT in (out / "bidi.txt").read_text(encoding="utf-8")


def test_the_evidence_keeps_the_text_as_the_host_had_it_and_identities_are_those_of_the_evidence(rendered: Path):
    evidence = json.loads((rendered / "e.json").read_text(encoding="utf-8"))
    (hostile,) = evidence["snapshot"]["facts"]["sockets"]["listeners"]
    process = hostile["processes"][0]
    assert (process["name"], process["user"], process["exe"]) == (HOSTILE, HOSTILE, f"/usr/bin/{HOSTILE}")
    assert hostile["interface"] == f"eth{HOSTILE}"
    assert evidence["snapshot"]["provenance"]["hostname"] == HOSTNAME
    (finding,) = evidence["result"]["findings"]
    assert finding["subject"] == f"tcp 0.0.0.0:22 {HOSTILE} pid 7"
    # the finding id (a digest of the raw subject) is what code scanning tracks the alert by: unchanged
    sarif = json.loads((rendered / "out" / "bidi.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["results"][0]["partialFingerprints"] == {"lbauditFindingId/v1": finding["id"]}
    hdf = json.loads((rendered / "out" / "bidi.hdf.json").read_text(encoding="utf-8"))
    assert hdf["profiles"][0]["controls"][0]["results"][0]["lbaudit_finding_id"] == finding["id"]


def test_control_case_plain_text_and_its_backslashes_stay_as_they_are(tmp_path: Path):
    name = "java\t-Dx=C:\\temp [a](b) \u05e9\u05dc\u05d5\u05dd \U0001f600"  # tab, backslash, Hebrew, emoji
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22, processes=[ProcessInfo(pid=7, name=name)])]),
                   tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("plain"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--format", "hdf,junit", "--out-dir", tmp_path / "out", "-q")
    assert result.returncode == NON_COMPLIANT, result.stderr
    hdf = json.loads((tmp_path / "out" / "plain.hdf.json").read_text(encoding="utf-8"))
    # the subject writes the name's spaces, ":" and "\\" as escapes (subject_word: a name is one word);
    # the renderers show the subject as it is
    assert hdf["profiles"][0]["controls"][0]["results"][0]["resource_id"] == f"tcp 0.0.0.0:22 {subject_word(name)} pid 7"
    suite = ET.parse(tmp_path / "out" / "plain.junit.xml").getroot().find("testsuite")
    assert suite is not None
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("message") == f"1 of 1 subjects fail: tcp 0.0.0.0:22 {subject_word(name)} pid 7"


def test_the_fleet_junit_shows_a_host_s_hostile_text_as_escapes(tmp_path: Path):
    (tmp_path / "fetch" / "web01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22, processes=[ProcessInfo(pid=7, name=HOSTILE)])],
                            hostname=HOSTNAME), tmp_path / "fetch" / "web01" / "lbaudit.snapshot.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("bidi"))
    result = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", tmp_path / "policy.yaml",
                     "--out-dir", tmp_path / "out", "--jobs", "1", "-q", timeout=120)
    assert result.returncode == NON_COMPLIANT, result.stderr
    (junit,) = (tmp_path / "out").glob("*.junit.xml")
    text = junit.read_text(encoding="utf-8")
    assert _raw_characters(text) == []  # before: U+202E, U+2066, the marks, DEL and 0x9B raw
    suite = ET.fromstring(text).find("testsuite")
    assert suite is not None and suite.get("hostname") == HOSTNAME_SHOWN
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("message") == f"1 of 1 subjects fail: {SUBJECT}"


def test_plain_json_walks_whenever_a_character_is_to_be_escaped():
    # every character of the Basic Multilingual Plane but the surrogates: the JSON text is that of the
    # character made plain text (the check that skips the walk misses none)
    for code in range(0x10000):
        if not 0xD800 <= code <= 0xDFFF:
            assert plain_json(f"k{chr(code)}") == json.dumps(plain_text(f"k{chr(code)}"), ensure_ascii=False), hex(code)
    document = {"k\u202e": ["v\x9b", 1, None, {"\x1b": "\\b\\u001b"}]}  # keys too; escape text stays text
    assert plain_json(document, indent=2) == json.dumps(plain_tree(document), ensure_ascii=False, indent=2)
    assert json.loads(plain_json(document)) == {"k\\u202e": ["v\\x9b", 1, None, {"\\x1b": "\\b\\u001b"}]}


def test_the_pdf_shows_host_text_as_escapes(rendered: Path):
    # before: U+202E, U+200F and the controls (drawn as a missing glyph) on the findings page, the host
    # name's U+202E in the running header, the title and the subject a viewer shows
    from pypdf import PdfReader

    result = run_cli("report", rendered / "e.json", "--pdf", rendered / "r.pdf", "-q")
    assert result.returncode == 0, result.stderr
    reader = PdfReader(rendered / "r.pdf")
    pages = "\n".join(page.extract_text() for page in reader.pages)
    assert _raw_characters(pages) == []
    assert "ssh\\u202ed\\x1b[31mRED\\x9b2J\\u2066x" in pages and f"{HOSTNAME_SHOWN} \u00b7 bidi 1" in pages
    info = reader.metadata or {}
    assert info["/Title"] == f"Compliance attestation: {HOSTNAME_SHOWN}, bidi 1"
    assert _raw_characters(f"{info['/Subject']}{info['/Keywords']}") == []
