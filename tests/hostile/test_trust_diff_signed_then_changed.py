"""``lbaudit diff`` refuses evidence that its own ``.sig`` proves was changed after it was signed.

The defect: ``report`` and ``verify`` refuse such evidence (exit 10), but ``diff`` compared it
without a word: a scheduled scan whose failing finding was edited into a pass after signing (the
verdict left to be derived from the findings) read as an improvement, exit 0.  Now diff checks the
signature of the bytes it compares, before comparing them, and exits 10 naming the file.
"""

from __future__ import annotations

import json

from auditor.attest.signing import generate_keypair, sign_evidence_file
from auditor.model.result import ExitCode
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


def _scans(tmp_path):
    evidence = make_evidence()
    before, _ = write_evidence_file(tmp_path / "before", evidence)
    after, raw = write_evidence_file(tmp_path / "after", evidence)
    private, _public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(after, private)
    return before, after, raw


def test_a_signed_scan_edited_into_a_pass_is_refused_with_10(tmp_path):
    before, after, raw = _scans(tmp_path)
    data = json.loads(raw)
    failing = next(f for f in data["result"]["findings"] if f["status"] == "fail")
    failing["status"] = "pass"  # the edit an attacker makes; diff derives the verdict from the findings
    after.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")

    run = run_cli("diff", before, after, timeout=60)

    assert run.returncode == int(ExitCode.VERIFY_DIGEST), (run.stdout, run.stderr)
    assert f"{after}: changed after it was signed" in run.stderr
    assert run.stdout == ""


def test_control_an_intact_signed_scan_is_compared(tmp_path):
    before, after, _ = _scans(tmp_path)
    run = run_cli("diff", before, after, timeout=60)
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert run.stdout.startswith("verdict: non_compliant -> non_compliant")
