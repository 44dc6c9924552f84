"""Line breaks of host text in the reports that lay findings out in lines: JUnit and the PDF.

A process name (any local user's choice: ``prctl(PR_SET_NAME)``, ``exec -a``), its user, an
interface name can hold a line feed.  The terminal and the text report show it as ``\\n``; the
JUnit report wrote it raw into its failure text and its ``system-out``, one finding a line
(``[fail] SUBJECT: MESSAGE``), so that a process named ``sshd\\n  [pass] tcp 127.0.0.1:22 ...`` added a
passing finding of its own to the list a CI server shows; and the PDF attestation broke the
"What was found" cell there, so that the same name wrote an ``Expected: ...`` line of its choosing
under the real one.  Now every text of a finding that a report lays out as a line (subject, message,
reason, each value observed or expected, the workload) is one line there, its line breaks shown as
``\\n`` as on the terminal.  The evidence keeps the name as the host had it.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo, subject_word
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
FORGED_FINDING = "[pass] FORGED"
FORGED_EXPECTATION = "Expected: FORGED"
NAME = f"sshd\n{FORGED_FINDING}\n{FORGED_EXPECTATION}"


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    process = ProcessInfo(pid=7, name=NAME, user=NAME, exe="/usr/sbin/sshd", argv0=NAME)
    hostile = listener("0.0.0.0", 22, interface=f"eth0\n{FORGED_EXPECTATION}", user=NAME, processes=[process])
    write_snapshot(snapshot(listeners=[hostile]), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("lines"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--format", "junit", "--out-dir", tmp_path / "out",
                     "--pdf", tmp_path / "out" / "lines.pdf", "-q")
    assert result.returncode == NON_COMPLIANT, result.stderr
    return tmp_path / "out"


def _starting(lines: list[str], marker: str) -> list[str]:
    return [line for line in lines if line.strip().startswith(marker)]


def test_junit_lists_each_finding_on_one_line(rendered: Path):
    case = ET.parse(rendered / "lines.junit.xml").getroot().find("./testsuite/testcase")
    assert case is not None
    failure, output = case.find("failure"), case.find("system-out")
    assert failure is not None and output is not None
    body, listing = (failure.text or "").splitlines(), (output.text or "").splitlines()
    # before: "[pass] FORGED" began a line of the failure text and of the listing of findings
    assert _starting(body, FORGED_FINDING) == [] and _starting(listing, FORGED_FINDING) == []
    assert _starting(body, FORGED_EXPECTATION) == []
    assert [line for line in listing if line.startswith("  [")] == [
        f"  [fail] tcp 0.0.0.0:22 ? (comm sshd\\n{subject_word(FORGED_FINDING)}\\n{subject_word(FORGED_EXPECTATION)}, "
        "unproven) pid 7"]  # the name one word of the subject (its spaces and ':' escaped), on one line
    assert body[0].startswith(f"[fail] tcp 0.0.0.0:22 ? (comm sshd\\n{subject_word(FORGED_FINDING)}\\n")
    # the failure's message attribute names the subject as one line too
    assert "\n" not in failure.get("message", "")


def test_pdf_shows_no_line_of_the_process_name(rendered: Path):
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", rendered / "lines.pdf", "-"], capture_output=True,
                          check=True, timeout=120).stdout.decode("utf-8")
    lines = text.splitlines()
    # before: "Expected: FORGED" and "[pass] FORGED" each began a line of the findings table
    assert _starting(lines, FORGED_EXPECTATION) == [] and _starting(lines, FORGED_FINDING) == []
    # the name is there, with its line breaks shown as the terminal shows them
    assert f"\\n{FORGED_FINDING}\\n{FORGED_EXPECTATION}" in text.replace("\n", " ").replace("\\n ", "\\n")


def test_a_host_key_of_an_observed_value_is_one_line_too():
    from auditor.report.view import value_sentence, value_text

    # a check's observed value may be keyed by the host's text (sysctl keys read from sysctl.d files)
    observed = {"net.ipv4.x\nExpected: FORGED": "/etc/sysctl.d/a\nExpected: FORGED.conf"}
    assert _starting(value_text(observed).splitlines(), FORGED_EXPECTATION) == []
    assert value_text(observed) == "net.ipv4.x\\nExpected: FORGED: /etc/sysctl.d/a\\nExpected: FORGED.conf"
    assert "\n" not in value_sentence(observed)
