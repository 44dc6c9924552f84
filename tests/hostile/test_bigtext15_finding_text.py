"""A finding's text of tens of megabytes in the evidence, rendered by every format.

A finding's message and reason are a host's or a plugin's text: a process command line, a plugin
check's reason.  The evidence may hold up to 256 MB (``MAX_EVIDENCE_BYTES``), and every report
repeated such a text whole, SARIF twice, OSCAL three times, each escaped: 80 MB of text in the
evidence gave some 500 MB of reports and 1.2 GB of memory to render them.  Now each text of a finding
is cut in one place (``auditor.report._shared.bounded_evidence``) at ``MAX_REPORT_TEXT_CHARS``
characters with a marker saying how much more the evidence holds, and the reports name the evidence
by its digest.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.model.facts import Gap
from auditor.report._shared import MAX_REPORT_TEXT_CHARS, bounded_text
from auditor.storage.evidence import MAX_EVIDENCE_BYTES
from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.report.conftest import hdf_validator, junit_schema, oscal_validator, sarif_validator  # noqa: F401 - fixtures

REPORTED = 0  # `lbaudit report` and `show` read the evidence; they do not gate on its verdict
NON_COMPLIANT = 1
INCOMPLETE = 3
TEXT_CHARS = 40 * 1024 * 1024  # the message and the reason each: 80 MB, within the evidence's cap
REST = TEXT_CHARS - MAX_REPORT_TEXT_CHARS
MARKER = f"\u2026 ({REST:,} more characters and 0 more lines in the evidence)"
FORMATS = "sarif,junit,oscal,hdf,html,prometheus,text"
TEXT_FORMATS = ("big.sarif", "big.junit.xml", "big.oscal.json", "big.hdf.json", "big.html", "big.txt")
# What a `lbaudit report` of this evidence may take: it reads 80 MB of text (the file, its JSON, the
# model: some 450 MB), not the reports' copies of it (1.2 GB before).
MAX_RSS_BYTES = 640 * 1024 * 1024
MAX_OUTPUT_BYTES = 20 * 1024 * 1024

# Runs `lbaudit report` in a process of its own and prints the peak resident size of its child (the
# run), so that no other process this test suite waited for is counted.
_MEASURED = """
import resource, subprocess, sys
code = subprocess.run([sys.executable, "-m", "auditor.cli", *sys.argv[1:]]).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """Evidence of a failing listener whose message and reason are 40 MB each, every format rendered
    from it by ``lbaudit report`` in a process of its own; the directory and the run's peak RSS."""
    base = tmp_path_factory.mktemp("bigtext")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), base / "snap.json")
    (base / "policy.yaml").write_text(loopback_only_policy("big"))
    result = run_cli("evaluate", "--policy", base / "policy.yaml", "--snapshot", base / "snap.json",
                     "-o", base / "small.json", "-q")
    assert result.returncode == NON_COMPLIANT, result.stderr
    evidence = json.loads((base / "small.json").read_text(encoding="utf-8"))
    (finding,) = evidence["result"]["findings"]
    finding["message"] = "m" * TEXT_CHARS
    finding["reason"] = "r" * TEXT_CHARS
    data = json.dumps(evidence, sort_keys=True).encode("utf-8")
    assert 2 * TEXT_CHARS < len(data) < MAX_EVIDENCE_BYTES
    (base / "big.json").write_bytes(data)
    run = subprocess.run([sys.executable, "-c", _MEASURED, "report", str(base / "big.json"), "--format", FORMATS,
                          "--out-dir", str(base / "out"), "-q"],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    code, rss = run.stdout.split()
    assert (int(code), run.stderr) == (REPORTED, "")
    return base, int(rss)


@pytest.mark.slow  # a child interpreter reading 80 MB of evidence
def test_every_format_is_bounded_in_size_and_memory(reported: tuple[Path, int]):
    base, rss = reported
    out = base / "out"
    sizes = {path.name: path.stat().st_size for path in out.iterdir()}
    assert sorted(sizes) == sorted([*TEXT_FORMATS, "big.prom"])
    # before: 503 MB of reports (SARIF 126 MB, OSCAL 168 MB, 42 MB each other) and a peak of 1.26 GB
    assert sum(sizes.values()) < MAX_OUTPUT_BYTES, sizes
    assert rss < MAX_RSS_BYTES, rss


@pytest.mark.slow  # a child interpreter reading 80 MB of evidence
def test_each_format_shows_the_cut_text_with_the_marker(reported: tuple[Path, int]):
    out = reported[0] / "out"
    for name in TEXT_FORMATS:
        text = (out / name).read_text(encoding="utf-8")
        assert f"{'m' * MAX_REPORT_TEXT_CHARS}{MARKER}" in text, name
        assert "m" * (MAX_REPORT_TEXT_CHARS + 1) not in text, name
    sarif = json.loads((out / "big.sarif").read_text(encoding="utf-8"))
    (result,) = sarif["runs"][0]["results"]
    assert result["message"]["text"].startswith(f"loopback-only: tcp 0.0.0.0:22 owner unknown: {'m' * MAX_REPORT_TEXT_CHARS}{MARKER}")


@pytest.mark.slow  # a child interpreter reading 80 MB of evidence
def test_the_reports_still_validate_and_name_the_evidence_by_its_digest(
        reported: tuple[Path, int], sarif_validator, oscal_validator, hdf_validator, junit_schema):  # noqa: F811
    base, _ = reported
    out = base / "out"
    digest = hashlib.sha256((base / "big.json").read_bytes()).hexdigest()
    for name, validator in (("big.sarif", sarif_validator), ("big.oscal.json", oscal_validator),
                            ("big.hdf.json", hdf_validator)):
        text = (out / name).read_text(encoding="utf-8")
        assert not list(validator.iter_errors(json.loads(text))), name
        assert digest in text, name
    assert junit_schema.is_valid(str(out / "big.junit.xml"))
    suite = ET.parse(out / "big.junit.xml").getroot().find("testsuite")
    assert suite is not None
    # the evidence itself is unchanged: the full text is there
    evidence = json.loads((base / "big.json").read_text(encoding="utf-8"))
    assert evidence["result"]["findings"][0]["reason"] == "r" * TEXT_CHARS


@pytest.mark.slow  # a child interpreter reading 80 MB of evidence
def test_the_same_evidence_renders_the_same_bytes(reported: tuple[Path, int]):
    base, _ = reported
    result = run_cli("report", base / "big.json", "--format", "sarif,oscal,text", "--out-dir", base / "again", "-q")
    assert result.returncode == REPORTED, result.stderr
    for name in ("big.sarif", "big.oscal.json", "big.txt"):
        assert (base / "again" / name).read_bytes() == (base / "out" / name).read_bytes(), name


def test_a_text_at_the_limit_is_whole_and_one_beyond_it_says_so():
    assert bounded_text("x" * MAX_REPORT_TEXT_CHARS) == "x" * MAX_REPORT_TEXT_CHARS
    longer = "x" * MAX_REPORT_TEXT_CHARS + "\nab\nc"
    assert bounded_text(longer) == "x" * MAX_REPORT_TEXT_CHARS + "\u2026 (5 more characters and 2 more lines in the evidence)"


GAP_CHARS = 16 * 1024 * 1024


@pytest.mark.slow  # evaluates and reports a snapshot of 16 MB
def test_a_gap_reason_of_megabytes_is_cut_in_every_place_a_report_repeats_it(tmp_path: Path):
    """A snapshot's gap reason (a collector's or a plugin's words, or a snapshot file's) becomes the
    reason of each finding it leaves unjudged, a reason the run is incomplete and a row of the scope:
    before, every format repeated it in each of those places (302 MB of reports of a 16 MB reason)."""
    write_snapshot(snapshot(listeners=None, time_wait=None, gaps=[Gap(section="sockets", reason="g" * GAP_CHARS)]),
                   tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("gap"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "-q")
    assert result.returncode == INCOMPLETE, result.stderr
    result = run_cli("report", tmp_path / "e.json", "--format", FORMATS, "--out-dir", tmp_path / "out", "-q")
    assert result.returncode == REPORTED, result.stderr
    sizes = {path.name: path.stat().st_size for path in (tmp_path / "out").iterdir()}
    assert sum(sizes.values()) < 4 * 1024 * 1024, sizes
    for name in ("gap.sarif", "gap.hdf.json", "gap.html", "gap.junit.xml", "gap.oscal.json", "gap.txt"):
        text = (tmp_path / "out" / name).read_text(encoding="utf-8")
        assert "g" * MAX_REPORT_TEXT_CHARS + "\u2026 (" in text, name
        assert "g" * (MAX_REPORT_TEXT_CHARS + 1) not in text, name
    evidence = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))
    assert evidence["snapshot"]["gaps"][0]["reason"] == "g" * GAP_CHARS  # the evidence keeps it whole
    # and the summary `show --json` prints (before: the reason three times, 50 MB on standard output)
    shown = run_cli("show", tmp_path / "e.json", "--json")
    assert shown.returncode == REPORTED, shown.stderr
    assert len(shown.stdout) < 1024 * 1024
    summary = json.loads(shown.stdout)
    (unjudged,) = summary["not_judged"]
    assert unjudged["reason"].startswith("g" * MAX_REPORT_TEXT_CHARS + "\u2026 (")
