"""Unicode noncharacters in host text reach no report raw (U+FFFE, U+FFFF, U+FDD0-U+FDEF, the last two
code points of every plane).

A process name is any local user's choice, and a snapshot's strings are whatever its file says:
``"ss\\ufffehd"`` is valid JSON and valid UTF-8.  Noncharacters are no text: no XML document may hold
U+FFFE or U+FFFF, an HTML parser flags every noncharacter as an error
("noncharacter-in-input-stream"), and Unicode keeps them for a program's own use, never for
interchange.  Before, the escaping every output goes through (``auditor.text``: ``one_line``,
``document_text``, ``plain_text``, ``plain_json``) left them as they were: the HTML report, the text
report, the terminal summary, SARIF, OSCAL and HDF held them raw, and JUnit (whose own guard turned
them into U+FFFD) showed ``ss\\ufffehd`` and ``ss\\uffffhd`` as one name.  Now each is shown as its
escape (``\\ufffe``), as a control or bidi character is, in every output; the evidence keeps the name
as the host had it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
NONCHARACTERS = ["\ufffe", "\uffff", "\ufdd0", "\ufdef", "\U0001fffe", "\U0010ffff"]
NAMES = [f"ss{char}hd" for char in NONCHARACTERS]
ESCAPES = ["\\ufffe", "\\uffff", "\\ufdd0", "\\ufdef", "\\U0001fffe", "\\U0010ffff"]
ANY_NONCHARACTER = re.compile("[\ufdd0-\ufdef" + "".join(f"{chr(plane << 16 | 0xfffe)}{chr(plane << 16 | 0xffff)}"
                                                          for plane in range(17)) + "]")
FORMATS = {"html": "nc.html", "junit": "nc.junit.xml", "text": "nc.txt", "sarif": "nc.sarif",
           "oscal": "nc.oscal.json", "hdf": "nc.hdf.json"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("noncharacters")
    listeners = [listener("0.0.0.0", 2200 + index, processes=[ProcessInfo(pid=100 + index, name=name)])
                 for index, name in enumerate(NAMES)]
    write_snapshot(snapshot(listeners=listeners, hostname="web\uffff01"), work / "snap.json")
    (work / "policy.yaml").write_text(loopback_only_policy("nc"))
    result = run_cli("evaluate", "--policy", work / "policy.yaml", "--snapshot", work / "snap.json",
                     "-o", work / "e.json", "--format", ",".join(FORMATS), "--out-dir", work / "out",
                     env={"LBAUDIT_CONFIG": ""})
    assert result.returncode == NON_COMPLIANT, result.stderr
    return work, result


@pytest.mark.parametrize("name", list(FORMATS))
def test_no_report_holds_a_noncharacter(run, name: str):
    work, _ = run
    text = (work / "out" / FORMATS[name]).read_text(encoding="utf-8")
    # before: every format but JUnit held U+FFFE, U+FFFF (and the other noncharacters) as they were
    assert ANY_NONCHARACTER.findall(text) == []
    shown = json.dumps(json.loads(text)) if name in ("sarif", "oscal", "hdf") else text
    for escape in ESCAPES:  # each name shown, and told apart from the others
        assert escape in shown or escape.replace("\\", "\\\\") in shown, (name, escape)


def test_junit_tells_the_names_apart(run):
    work, _ = run
    root = ET.parse(work / "out" / "nc.junit.xml").getroot()
    listing = "".join(root.itertext())
    # before: U+FFFE and U+FFFF (and the others) all became U+FFFD, so six names read as one
    assert "\ufffd" not in listing
    for escape in ESCAPES:
        assert f"ss{escape}hd" in listing


def test_the_terminal_summary_holds_no_noncharacter(run):
    _, result = run
    assert ANY_NONCHARACTER.findall(result.stdout + result.stderr) == []
    assert "web\\uffff01" in result.stdout


def test_the_evidence_keeps_the_names_as_the_host_had_them(run):
    work, _ = run
    evidence = json.loads((work / "e.json").read_text(encoding="utf-8"))
    processes = [p["name"] for item in evidence["snapshot"]["facts"]["sockets"]["listeners"] for p in item["processes"]]
    assert processes == NAMES
