"""Hostile evidence, signatures and paths for ``lbaudit verify``: every case ends in its exact exit code.

The defect: verify checked the signature and the digest only, so evidence signed as it was written
by a faulty tool (a verdict of compliant over failing findings), or a signed JSON file that is no
lbaudit evidence at all, was "verified" (exit 0) although every report refuses to render it.  Now
evidence whose signature and digest hold is read as evidence too: exit 2, naming what is wrong.
The other cases pin the codes of the README's "Exit codes" for what a hostile corpus would try.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from auditor.attest.signing import (
    generate_keypair,
    load_private_key,
    load_public_key,
    sign_evidence_file,
    sign_written_evidence,
)
from auditor.model.result import ExitCode
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


@pytest.fixture
def signed(tmp_path):
    path, raw = write_evidence_file(tmp_path, make_evidence())
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    return path, raw, private, public


def _verify(path: Path, public: Path):
    return run_cli("verify", path, "--pubkey", public, timeout=30)


def test_signed_evidence_contradicting_its_findings_is_not_verified(signed):
    path, raw, private, public = signed
    data = json.loads(raw)
    data["result"]["verdict"], data["result"]["exit_code"] = "compliant", 0
    edited = (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    path.write_bytes(edited)
    sign_written_evidence(path, edited, load_private_key(private))  # signed as a faulty tool would
    run = _verify(path, public)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "the evidence contradicts its own findings" in run.stderr
    assert "/result/verdict: records 'compliant', but the findings give 'non_compliant'" in run.stderr
    assert "verified:" not in run.stdout


def test_a_signed_json_document_that_is_not_evidence_is_not_verified(signed):
    path, _, private, public = signed
    other = b'{"schema": "something/else", "verdict": "compliant"}\n'
    path.write_bytes(other)
    sign_written_evidence(path, other, load_private_key(private))
    run = _verify(path, public)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert str(path) in run.stderr


def test_intact_signed_evidence_is_verified(signed):
    path, _, _, public = signed
    run = _verify(path, public)
    assert run.returncode == 0, run.stderr
    assert f"verified: {path}" in run.stdout


@pytest.mark.parametrize("change", [
    pytest.param(lambda raw: b"\xef\xbb\xbf" + raw, id="utf8-bom"),
    pytest.param(lambda raw: raw + b"{}", id="trailing-document"),
    pytest.param(lambda raw: raw.replace(b'{\n  "checks"', b'{\n  "checks": [],\n  "checks"', 1), id="duplicate-key"),
    pytest.param(lambda raw: raw.replace(b'"exit_code": 1', b'"exit_code": 1.0', 1), id="int-as-float"),
    pytest.param(lambda raw: raw.replace(b'"exit_code": 1', b'"exit_code": 1e400', 1), id="out-of-range"),
    pytest.param(lambda raw: raw.replace(b'"web01.example.test"', b'"web01.example.test\\ud800"', 1),
                 id="lone-surrogate"),
    pytest.param(lambda raw: raw.replace(b"web01", b"\xc0\xafweb01", 1), id="overlong-utf8"),
    pytest.param(lambda raw: b"[" * 100_000 + b"]" * 100_000, id="deep-nesting"),
])
def test_evidence_altered_at_the_parser_level_fails_the_digest_with_10(signed, change):
    path, raw, _, public = signed
    path.write_bytes(change(raw))
    run = _verify(path, public)
    assert run.returncode == ExitCode.VERIFY_DIGEST == 10, (run.stdout, run.stderr)


def test_the_signature_of_other_evidence_fails_the_digest_with_10(signed, tmp_path):
    path, _, private, public = signed
    other, _ = write_evidence_file(tmp_path / "other", make_evidence(hostname="web02.example.test"))
    sign_evidence_file(other, private)
    os.replace(other.with_name("evidence.json.sig"), path.with_name("evidence.json.sig"))
    run = _verify(path, public)
    assert run.returncode == 10, (run.stdout, run.stderr)
    assert "the evidence changed after signing" in run.stdout


@pytest.mark.parametrize("which", ["evidence", "signature", "pubkey"])
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
def test_a_path_that_is_no_regular_file_is_exit_2_without_hanging(signed, which, kind):
    path, _, _, public = signed
    target = {"evidence": path, "signature": path.with_name("evidence.json.sig"), "pubkey": public}[which]
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "dev-zero":
        os.symlink("/dev/zero", target)
    else:
        target.mkdir()
    run = _verify(path, public)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert str(target) in run.stderr or f"'{target}'" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_signature_recording_another_public_key_than_the_one_it_names_is_not_verified(signed, tmp_path):
    # The signature holds under the given key and names its fingerprint, but the public key it
    # records (which the reports check the signature with before naming a key) is another one:
    # verify said "verified" while every report called the evidence unsigned.
    path, _, _, public = signed
    _, other_public = generate_keypair(tmp_path / "other")
    other_raw = load_public_key(other_public).public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = Path(f"{path}.sig")
    document = json.loads(signature.read_bytes())
    document["public_key"] = base64.b64encode(other_raw).decode("ascii")
    signature.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    run = _verify(path, public)
    assert run.returncode == int(ExitCode.VERIFY_SIGNATURE), (run.stdout, run.stderr)
    assert ("signature  FAIL  evidence.json.sig was altered: the public key it records is not the given key, "
            "whose fingerprint it names") in run.stdout
    assert f"NOT verified: {path} (signature failed; exit 11)" in run.stderr
