"""``lbaudit report`` of signed evidence that was edited after it was signed.

Whoever edits evidence can make it consistent (a failure turned pass, the counts, verdict and
control judgements to match: the loader refuses only evidence that contradicts itself), but not
sign it again.  ``report`` rendered such a file, beside its ``.sig``, as "unsigned" and exited 0:
a PDF attestation, HDF and HTML report of the edited evidence went out without a word, although the
``.sig`` beside it, valid under the key it records, proves the evidence changed after that key
signed it (``verify`` exits 10 on it).  Now ``report`` refuses it with verify's exit code 10, says
so, and writes nothing.  A ``.sig`` that proves nothing (its signature does not hold under the key
it records) still reads as unsigned, as the README says.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from auditor.attest.signing import generate_keypair, sign_evidence_file
from auditor.model.result import Status
from auditor.storage.evidence import evidence_bytes, parse_evidence
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, reconciled, write_evidence_file

DIGEST_MISMATCH, RENDERED = 10, 0


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, str]:
    path, _ = write_evidence_file(tmp_path, make_evidence())
    private, _ = generate_keypair(tmp_path / "keys")
    return path, sign_evidence_file(path, private)


def _failures_turned_passes(path: Path) -> None:
    """The evidence with the failing listeners passes, and everything recorded about them to match."""
    evidence = parse_evidence(path.read_bytes(), str(path))
    findings = [f.model_copy(update={"status": Status.PASS})
                if f.status is Status.FAIL and f.rule_id == "wildcard-listeners" else f
                for f in evidence.result.findings]
    edited = reconciled(evidence.model_copy(update={"result": evidence.result.model_copy(update={"findings": findings})}))
    path.write_bytes(evidence_bytes(edited))
    parse_evidence(path.read_bytes(), str(path))  # consistent: the loader alone does not see the edit


def test_report_of_evidence_edited_after_signing_is_exit_10_and_writes_nothing(tmp_path: Path, signed):
    path, fingerprint = signed
    _failures_turned_passes(path)
    run = run_cli("report", path, "--format", "hdf,html,junit", "--out-dir", tmp_path / "out",
                  "--pdf", tmp_path / "attestation.pdf")
    # before: exit 0, and every report of the edited evidence, which says "unsigned"
    assert run.returncode == DIGEST_MISMATCH, (run.stdout, run.stderr)
    assert f"{path}: changed after it was signed: its canonical SHA-256 is " in run.stderr
    assert f"(key {fingerprint}); no report is rendered from it" in run.stderr
    assert "If the evidence is not meant to be signed, remove evidence.json.sig" in run.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "attestation.pdf").exists()
    verify = run_cli("verify", path, "--pubkey", tmp_path / "keys" / "lbaudit.pub")
    assert verify.returncode == DIGEST_MISMATCH  # the same judgement


def test_control_case_signed_evidence_renders_naming_its_key(tmp_path: Path, signed):
    path, fingerprint = signed
    data = json.loads(path.read_bytes())
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")  # re-indented: still what was signed
    run = run_cli("report", path, "--format", "hdf", "--out-dir", tmp_path / "out")
    assert run.returncode == RENDERED, run.stderr
    hdf = json.loads((tmp_path / "out" / "corp-baseline.hdf.json").read_text(encoding="utf-8"))
    assert hdf["passthrough"]["lbaudit"]["signature"] == {"state": "signed", "key_fingerprint": fingerprint}


def test_control_case_a_sig_that_proves_nothing_still_reads_unsigned(tmp_path: Path, signed):
    path, _ = signed
    sig = path.with_name(path.name + ".sig")
    document = json.loads(sig.read_bytes())
    document["signature"] = base64.b64encode(bytes(64)).decode("ascii")  # holds under no key
    sig.write_text(json.dumps(document), encoding="utf-8")
    _failures_turned_passes(path)
    run = run_cli("report", path, "--format", "hdf", "--out-dir", tmp_path / "out")
    assert run.returncode == RENDERED, run.stderr
    hdf = json.loads((tmp_path / "out" / "corp-baseline.hdf.json").read_text(encoding="utf-8"))
    assert hdf["passthrough"]["lbaudit"]["signature"] == {"state": "unsigned", "key_fingerprint": None}
