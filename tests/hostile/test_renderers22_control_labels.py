"""Evidence whose control judgement names other rules, or another family, than its findings give.

The loader compared each recorded control's status and counts with its findings', not its ``rules``
nor its ``family``; every report renders those as recorded (the reports never re-derive a control).
``SC-7``'s rules edited from ``ipv6-only, wildcard-listeners`` to ``ipv6-only`` (the not applicable
rule alone) made the terminal, the HTML report and OSCAL's finding ("Rules ipv6-only: 1 fail, ...")
say the failing control rested on a rule that failed nothing; its family edited to ``AC`` moved the
failing control out of SC in the HTML report's and the PDF's family charts (SC: nothing other than
satisfied).  Now either is a contradiction: exit 2, naming the field.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

BAD_INPUT = 2


@pytest.mark.parametrize(("field", "value"), [("rules", ["ipv6-only"]), ("family", "AC")])
def test_a_control_labelled_otherwise_than_its_findings_is_refused(tmp_path: Path, field: str, value: object):
    path, raw = write_evidence_file(tmp_path, make_evidence())
    data = json.loads(raw)
    index, control = next((i, c) for i, c in enumerate(data["result"]["controls"]) if c["id"] == "SC-7")
    assert control["status"] == "fail" and control[field] != value
    control[field] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    run = run_cli("report", path, "--format", "oscal,html,text", "--out-dir", tmp_path / "out")
    # before: exit 0, the reports naming the recorded rules and family
    assert run.returncode == BAD_INPUT, (run.returncode, run.stderr)
    assert f"/result/controls/{index}/{field}" in run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
