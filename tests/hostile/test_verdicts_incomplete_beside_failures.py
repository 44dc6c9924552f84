"""A run that fails and also could not judge everything says "incomplete" in every output's summary.

The evidence records such a run ``non_compliant`` (exit 1: a counted failure decides) and
``complete: false``.  Every output said the second half: OSCAL's ``complete`` prop, SARIF's
``executionSuccessful``, JUnit's and HDF's errors, Prometheus's missing last-successful-scan time,
the HTML and PDF sentence ("so the assessment is also incomplete") and ``--json``'s ``not_judged``,
except the verdict line of the text report and of the terminal (``evaluate``, ``show``), which read
``verdict: NON-COMPLIANT (exit 1): 1 failing finding; ...`` as if every rule had been judged: fixing
the one failure would not have made the run compliant, and the line did not say so.

The evidence: the fixture checks through the engine (tests/evidence_fixtures.py), one failing rule
(port-range), one not reviewed (audit-socket-calls) and one whose check raises (broken-check),
written to a file and rendered by ``lbaudit report`` and ``lbaudit show``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

ALSO_INCOMPLETE = ("also incomplete: 2 findings could not be judged (error or not reviewed), so the run would "
                   "not be compliant without its failures")


def test_every_output_of_a_failing_and_incomplete_run_says_incomplete(tmp_path):
    evidence = make_evidence(only_rules=["port-range", "audit-socket-calls", "broken-check"])
    assert (evidence.result.verdict.value, evidence.result.exit_code, evidence.result.complete) == (
        "non_compliant", 1, False)
    path, _ = write_evidence_file(tmp_path, evidence)
    out = tmp_path / "out"
    run = run_cli("report", path, "--format", "hdf,html,junit,oscal,prometheus,sarif,text", "--out-dir", out,
                  timeout=120)
    assert run.returncode == 0, run.stderr
    text = (out / "corp-baseline.txt").read_text(encoding="utf-8").splitlines()
    [verdict] = [line for line in text if line.startswith("verdict: ")]
    assert verdict == ("verdict: NON-COMPLIANT (exit 1): 1 failing finding; this run fails on failures of severity "
                       f"low or above; {ALSO_INCOMPLETE}")
    terminal = run_cli("show", path, "--color", "never", terminal=400)
    assert terminal.returncode == 0, terminal.stderr
    assert f"verdict: NON-COMPLIANT (exit 1): 1 failing finding; this run fails on failures of severity low or " \
           f"above; {ALSO_INCOMPLETE}" in terminal.stdout
    html = (out / "corp-baseline.html").read_text(encoding="utf-8")
    assert "so the assessment is also incomplete." in re.search(
        r'<p class="verdict-sentence">([^<]*)</p>', html).group(1)
    result = json.loads((out / "corp-baseline.oscal.json").read_text(encoding="utf-8"))["assessment-results"]
    assert {p["name"]: p["value"] for p in result["results"][0]["props"]}["complete"] == "false"
    sarif = json.loads((out / "corp-baseline.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False
    suite = ET.fromstring((out / "corp-baseline.junit.xml").read_bytes()).find("testsuite")
    assert (suite.get("failures"), suite.get("errors")) == ("1", "2")
    hdf = json.loads((out / "corp-baseline.hdf.json").read_text(encoding="utf-8"))
    # Heimdall: failed, "Profile Error" and "Not Reviewed" (the skip message says so)
    results = {c["id"]: [(r["status"], r.get("skip_message", "")[:13]) for r in c["results"]]
               for c in hdf["profiles"][0]["controls"]}
    assert results == {"port-range": [("failed", "")], "broken-check": [("error", "")],
                       "audit-socket-calls": [("skipped", "not reviewed:")]}
    prom = (out / "corp-baseline.prom").read_text(encoding="utf-8")
    assert "lbaudit_last_successful_scan_timestamp_seconds" not in prom
    summary = json.loads(run_cli("show", path, "--json").stdout)
    assert [f["status"] for f in summary["not_judged"]] == ["not_reviewed", "error"]
