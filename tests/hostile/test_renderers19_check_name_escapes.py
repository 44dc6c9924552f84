"""A check name in the evidence reaches the text report and the terminal's next steps as its escapes.

Every text of a finding (subject, message, reason) is shown through ``one_line`` on the terminal and
in the text report, but the "next steps" line of a failing rule, ``RULE: lbaudit explain CHECK --
REMEDY``, wrote the check's name as the evidence holds it.  A check name is any string there (the
evidence's copy of the policy, its findings and check records; whoever edits the file writes the
policy digest to match, whereas the registry refuses a plugin's check name with control characters): one holding ``ESC ] 0 ; ... BEL``
(set the terminal's title) and ``ESC [ 2 J`` (clear the screen) went raw to the terminal of
``lbaudit show`` and into the ``.txt`` report that ``cat`` prints.  Now that line is shown through
``one_line`` too, as every other line of the summary is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.jsonfile import canonical_sha256
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

CONTROL = "\x1b]0;compliant\x07\x1b[2J\x9b31m"
SHOWN = "\\x1b]0;compliant\\x07\\x1b[2J\\x9b31m"


def _with_check_renamed(directory: Path) -> tuple[Path, str]:
    """The fixture evidence with the check of its first failing finding renamed (in the policy, the
    findings and the check records), and the policy digest written to match."""
    path, raw = write_evidence_file(directory, make_evidence())
    data = json.loads(raw)
    old = next(f["check"] for f in data["result"]["findings"] if f["status"] == "fail")
    new = f"{old}{CONTROL}"
    for rule in data["policy"]["rules"]:
        if rule["check"] == old:
            rule["check"] = new
    for finding in data["result"]["findings"]:
        if finding["check"] == old:
            finding["check"] = new
    for record in data["checks"]:
        if record["name"] == old:
            record["name"] = new
    data["policy_sha256"] = canonical_sha256(data["policy"])
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    return path, old


@pytest.fixture
def evidence(tmp_path: Path) -> tuple[Path, str]:
    return _with_check_renamed(tmp_path)


def test_the_text_report_shows_the_check_name_as_escapes(tmp_path: Path, evidence: tuple[Path, str]):
    path, old = evidence
    run = run_cli("report", path, "--format", "text", "--out-dir", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    [report] = (tmp_path / "out").glob("*.txt")
    text = report.read_text(encoding="utf-8")
    # before: the next steps line held ESC ] 0 ; ... BEL, ESC [ 2 J and the 8-bit CSI as they were
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert f"lbaudit explain {old}{SHOWN}" in text


def test_show_sends_no_escape_sequence(evidence: tuple[Path, str]):
    path, old = evidence
    run = run_cli("show", str(path))
    assert run.returncode == 0, run.stderr
    out = run.stdout + run.stderr
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert f"lbaudit explain {old}{SHOWN}" in out
