"""The texts of the evidence's check records (a check's title, rationale and remediation) are cut in
the reports as every other text of the evidence is.

Every report but the evidence's own copy and the PDF renders from ``bounded_evidence``: each text of a
finding, of the host, the policy and the tool at most ``MAX_REPORT_TEXT_CHARS`` characters.  The check
records were left whole, and OSCAL repeats a check's rationale (in the risk's statement) and its
remediation once per failing finding: evidence whose check records held 1 MB texts (the evidence is
any file ``lbaudit report`` is given; a plugin may declare 262,144 characters of each) and 54 failing
findings gave a 110 MB OSCAL document, a minute to render; at the evidence's 256 MB cap, gigabytes.  Now the check records
(and the run's waiver outcomes and control titles) are cut with the rest; the evidence keeps them whole.
"""

from __future__ import annotations

import json

import pytest

from auditor.storage.jsonfile import canonical_sha256
from auditor.text import MAX_REPORT_TEXT_CHARS
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

LONG = 300_000
FORMATS = {"oscal": ".oscal.json", "sarif": ".sarif", "hdf": ".hdf.json", "text": ".txt", "junit": ".junit.xml"}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("records")
    path, raw = write_evidence_file(work, make_evidence(extra_listeners=20))
    data = json.loads(raw)
    failing = sum(1 for f in data["result"]["findings"] if f["status"] == "fail")
    assert failing > 20
    for record in data["checks"]:
        # one sentence each (the terminal's next step quotes the remediation's first one)
        record["title"] = "t" * LONG
        record["rationale"] = "r" * LONG
        record["remediation"] = "m" * LONG
    data["policy_sha256"] = canonical_sha256(data["policy"])
    path.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    run = run_cli("report", path, "--format", ",".join(FORMATS), "--out-dir", work / "out")
    assert run.returncode == 0, run.stderr
    return {name: next((work / "out").glob(f"*{ext}")).read_text(encoding="utf-8") for name, ext in FORMATS.items()}


@pytest.mark.parametrize("name", list(FORMATS))
def test_no_check_record_text_is_repeated_whole(reports: dict[str, str], name: str):
    text = reports[name]
    # before: OSCAL held each 300,000-character text once per failing finding (some 14 MB here)
    for letter in "trm":
        assert letter * (MAX_REPORT_TEXT_CHARS + 1) not in text, (name, letter)


def test_oscal_says_how_much_more_the_evidence_holds(reports: dict[str, str]):
    more = f"\u2026 ({LONG - MAX_REPORT_TEXT_CHARS:,} more characters and 0 more lines in the evidence)"
    risks = json.loads(reports["oscal"])["assessment-results"]["results"][0]["risks"]
    remediations = [remediation["description"] for risk in risks for remediation in risk.get("remediations", [])]
    assert remediations and set(remediations) == {"m" * MAX_REPORT_TEXT_CHARS + more}
    assert len(reports["oscal"]) < 8_000_000
