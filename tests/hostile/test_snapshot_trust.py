"""Hostile snapshots: a hand-edited snapshot must not evaluate like a real one.

The defect: ``evaluate --snapshot`` believed whatever the file said.  Now ``collect --sign-key``
signs the snapshot (detached ``.sig``, snapshot signature domain), ``evaluate --snapshot-pubkey``
refuses one whose signature does not hold with ``lbaudit verify``'s exit codes (10 digest, 11
signature, 12 key) and writes nothing, and every report says whether the facts came from a
verified snapshot, and by which key.  Runs the real entry point over a real offline root.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from auditor.attest.signing import (
    EVIDENCE,
    SNAPSHOT,
    _message,
    canonical_digest,
    generate_keypair,
    load_private_key,
    public_key_fingerprint,
)
from auditor.model.result import ExitCode
from tests.cli import Result, run_cli

REPO_ROOT = Path(__file__).resolve().parents[2]
ROOT = REPO_ROOT / "tests" / "fixtures" / "roots" / "sysctl-precedence"
POLICY = REPO_ROOT / "policies" / "corp.yaml"
# What the corp policy finds on that root (checked by test_verified_snapshot_evaluates_and_says_so).
VERDICT_CODE = ExitCode.NON_COMPLIANT


def lbaudit(*args: object) -> Result:
    return run_cli(*args, cwd=REPO_ROOT)


@pytest.fixture(scope="module")
def signed_source(tmp_path_factory):
    directory = tmp_path_factory.mktemp("signed-snapshot")
    private, public = generate_keypair(directory / "keys")
    snapshot = directory / "host.snapshot.json"
    proc = lbaudit("collect", "--root", ROOT, "--output", snapshot, "--sign-key", private)
    assert proc.returncode == 0, proc.stderr
    return directory, private, public


@pytest.fixture
def signed(tmp_path, signed_source):
    """A fresh copy of the signed snapshot and its .sig: (snapshot, private key, public key)."""
    directory, private, public = signed_source
    snapshot = tmp_path / "host.snapshot.json"
    shutil.copy(directory / "host.snapshot.json", snapshot)
    shutil.copy(directory / "host.snapshot.json.sig", tmp_path / "host.snapshot.json.sig")
    return snapshot, private, public


def _evaluate(snapshot: Path, *extra: object, evidence: Path | None = None) -> Result:
    evidence = evidence or snapshot.with_name("evidence.json")
    return lbaudit("evaluate", "--policy", POLICY, "--snapshot", snapshot, "--output", evidence, *extra)


def test_verified_snapshot_evaluates_and_says_so(signed, tmp_path):
    snapshot, private, public = signed
    evidence, pdf = tmp_path / "evidence.json", tmp_path / "attestation.pdf"
    proc = _evaluate(snapshot, "--snapshot-pubkey", public, "--format", "oscal", "--out-dir", tmp_path, "--pdf", pdf,
                     evidence=evidence)
    assert proc.returncode == VERDICT_CODE, proc.stdout + proc.stderr
    fingerprint = public_key_fingerprint(load_private_key(private).public_key())
    prov = json.loads(evidence.read_text())["snapshot"]["provenance"]
    assert (prov["source"], prov["source_signature"], prov["source_signature_key"]) == \
        ("snapshot", "verified", fingerprint)
    assert "verified snapshot" in proc.stdout.replace("\n", " ")
    result = json.loads((tmp_path / "corp-baseline.oscal.json").read_text())["assessment-results"]["results"][0]
    props = {p["name"]: p["value"] for p in result["props"]}
    assert (props["snapshot-signature"], props["snapshot-signature-key"]) == ("verified", fingerprint)
    cover = PdfReader(io.BytesIO(pdf.read_bytes())).pages[0].extract_text()
    assert "verified snapshot" in cover and "UNVERIFIED" not in cover


def test_hand_edited_signed_snapshot_is_refused_with_10_and_nothing_written(signed):
    snapshot, _, public = signed
    data = json.loads(snapshot.read_text())
    configured = data["facts"]["sysctl"]["persistent"]
    assert configured, "the fixture root must give configured sysctls to edit"
    key = sorted(configured)[0]
    configured[key]["value"] = configured[key]["value"] + "0"  # one fact, quietly changed
    snapshot.write_text(json.dumps(data, indent=2))
    evidence = snapshot.with_name("evidence.json")
    proc = _evaluate(snapshot, "--snapshot-pubkey", public, evidence=evidence)
    assert proc.returncode == ExitCode.VERIFY_DIGEST, proc.stdout + proc.stderr
    assert "digest     FAIL" in proc.stderr and "Traceback" not in proc.stderr
    assert not evidence.exists()


def test_snapshot_signed_by_another_key_is_refused_with_12(signed, tmp_path):
    snapshot, _, _ = signed
    _, other_public = generate_keypair(tmp_path / "other")
    proc = _evaluate(snapshot, "--snapshot-pubkey", other_public)
    assert proc.returncode == ExitCode.VERIFY_WRONG_KEY, proc.stdout + proc.stderr


def test_altered_signature_bytes_are_refused_with_11(signed):
    snapshot, _, public = signed
    sig = snapshot.with_name(snapshot.name + ".sig")
    document = json.loads(sig.read_text())
    raw = bytearray(base64.b64decode(document["signature"]))
    raw[5] ^= 0x01
    document["signature"] = base64.b64encode(bytes(raw)).decode()
    sig.write_text(json.dumps(document))
    proc = _evaluate(snapshot, "--snapshot-pubkey", public)
    assert proc.returncode == ExitCode.VERIFY_SIGNATURE, proc.stdout + proc.stderr


def test_unsigned_snapshot_with_a_pubkey_is_refused_with_11(signed):
    snapshot, _, public = signed
    snapshot.with_name(snapshot.name + ".sig").unlink()
    proc = _evaluate(snapshot, "--snapshot-pubkey", public)
    assert proc.returncode == ExitCode.VERIFY_SIGNATURE, proc.stdout + proc.stderr
    assert "not signed" in proc.stderr


def test_an_evidence_signature_cannot_be_replayed_as_a_snapshot_signature(signed):
    """Same key, same digest, but signed in the evidence domain: refused with 11."""
    snapshot, private, public = signed
    key = load_private_key(private)
    digest = canonical_digest(snapshot.read_bytes())
    replayed = {
        "schema": SNAPSHOT.schema, "schema_version": "1.0", "algorithm": "ed25519",
        "snapshot_sha256": digest, "public_key_sha256": public_key_fingerprint(key.public_key()),
        "signature": base64.b64encode(key.sign(_message(digest, EVIDENCE))).decode(),
    }
    assert _message(digest, EVIDENCE) != _message(digest, SNAPSHOT)
    snapshot.with_name(snapshot.name + ".sig").write_text(json.dumps(replayed))
    proc = _evaluate(snapshot, "--snapshot-pubkey", public)
    assert proc.returncode == ExitCode.VERIFY_SIGNATURE, proc.stdout + proc.stderr


def test_an_evidence_sig_file_beside_a_snapshot_is_not_a_snapshot_signature(signed, tmp_path):
    snapshot, private, public = signed
    # Sign the snapshot's bytes with the evidence code path's format, unchanged: wrong schema, exit 2.
    evidence_sig = {"schema": EVIDENCE.schema, "schema_version": "1.0", "algorithm": "ed25519",
                    "evidence_sha256": canonical_digest(snapshot.read_bytes()),
                    "public_key_sha256": "0" * 64, "signature": ""}
    snapshot.with_name(snapshot.name + ".sig").write_text(json.dumps(evidence_sig))
    proc = _evaluate(snapshot, "--snapshot-pubkey", public)
    assert proc.returncode == ExitCode.USAGE, proc.stdout + proc.stderr
    assert "not an lbaudit snapshot signature" in proc.stderr


def test_without_a_pubkey_the_evidence_and_reports_say_unverified(signed, tmp_path):
    snapshot, _, _ = signed
    evidence, pdf = tmp_path / "evidence.json", tmp_path / "attestation.pdf"
    proc = _evaluate(snapshot, "--format", "oscal", "--out-dir", tmp_path, "--pdf", pdf, evidence=evidence)
    assert proc.returncode == VERDICT_CODE, proc.stdout + proc.stderr
    prov = json.loads(evidence.read_text())["snapshot"]["provenance"]
    assert (prov["source_signature"], prov["source_signature_key"]) == ("not_checked", None)
    assert "unverified snapshot" in proc.stdout.replace("\n", " ")
    result = json.loads((tmp_path / "corp-baseline.oscal.json").read_text())["assessment-results"]["results"][0]
    assert {p["name"]: p["value"] for p in result["props"]}["snapshot-signature"] == "not_checked"
    assert "unverified snapshot" in result["remarks"]
    cover = PdfReader(io.BytesIO(pdf.read_bytes())).pages[0].extract_text()
    assert "UNVERIFIED snapshot" in cover


def test_a_snapshot_claiming_to_be_verified_is_not_believed(signed, tmp_path):
    snapshot, _, _ = signed
    snapshot.with_name(snapshot.name + ".sig").unlink()
    data = json.loads(snapshot.read_text())
    data["provenance"].update(source="snapshot", source_signature="verified", source_signature_key="ab" * 32)
    snapshot.write_text(json.dumps(data, indent=2))
    evidence = tmp_path / "evidence.json"
    proc = _evaluate(snapshot, evidence=evidence)
    assert proc.returncode == VERDICT_CODE, proc.stdout + proc.stderr
    prov = json.loads(evidence.read_text())["snapshot"]["provenance"]
    assert (prov["source_signature"], prov["source_signature_key"]) == ("unsigned", None)


def test_collect_again_removes_the_stale_signature(signed):
    snapshot, _, public = signed
    sig = snapshot.with_name(snapshot.name + ".sig")
    assert sig.exists()
    proc = lbaudit("collect", "--root", ROOT, "--output", snapshot, "-q")  # rewritten, not signed
    assert proc.returncode == 0, proc.stderr
    assert not sig.exists()
    proc = _evaluate(snapshot, "--snapshot-pubkey", public)
    assert proc.returncode == ExitCode.VERIFY_SIGNATURE, proc.stdout + proc.stderr


def test_snapshot_pubkey_needs_a_snapshot(signed, tmp_path):
    _, _, public = signed
    proc = lbaudit("evaluate", "--policy", POLICY, "--root", ROOT, "--snapshot-pubkey", public,
                   "--output", tmp_path / "e.json")
    assert proc.returncode == ExitCode.USAGE, proc.stdout + proc.stderr
    assert not (tmp_path / "e.json").exists()


def test_collect_refuses_an_unusable_signing_key_before_writing(tmp_path):
    bad_key = tmp_path / "bad.key"
    bad_key.write_text("not a key\n")
    bad_key.chmod(0o600)
    proc = lbaudit("collect", "--root", ROOT, "--output", tmp_path / "s.json", "--sign-key", bad_key)
    assert proc.returncode == ExitCode.USAGE, proc.stdout + proc.stderr
    assert not (tmp_path / "s.json").exists()
