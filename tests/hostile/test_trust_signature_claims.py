"""What the reports say about the evidence's signature, when the ``.sig`` beside it was forged.

The defect: ``report`` (and ``evaluate``, ``fleet``, the history store) named the signing key from
the ``public_key_sha256`` the ``.sig`` claims, once its digest was the evidence's, without any
signature check (the verifier's public key is not at hand when reports are rendered).  A ``.sig``
written by hand, naming the fingerprint of the key an auditor trusts over garbage signature bytes,
made the PDF say the evidence "carries a detached Ed25519 signature by the key with fingerprint
<trusted>" and HDF say ``"state": "signed"``.  Now the ``.sig`` records the signing public key
itself, and a report names the key only when the signature holds under that key and the key has
that fingerprint; otherwise it says unsigned.  ``lbaudit verify --pubkey`` remains what decides
whether that key is to be trusted (exit 11 for the forged one).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditor.attest.signing import MESSAGE_PREFIX, generate_keypair, public_key_fingerprint, sign_evidence_file
from auditor.model.result import ExitCode
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


@pytest.fixture
def signed(tmp_path):
    path, _ = write_evidence_file(tmp_path, make_evidence())
    private, public = generate_keypair(tmp_path / "keys")
    fingerprint = sign_evidence_file(path, private)
    return path, public, fingerprint


def _sig(path: Path) -> Path:
    return path.with_name(path.name + ".sig")


def _rewrite_sig(path: Path, **fields) -> None:
    document = json.loads(_sig(path).read_text(encoding="utf-8"))
    for name, value in fields.items():
        if value is None:
            document.pop(name, None)
        else:
            document[name] = value
    _sig(path).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _hdf_signature(path: Path, out: Path) -> dict:
    run = run_cli("report", path, "--format", "hdf", "--out-dir", out)
    assert run.returncode == 0, run.stderr
    (hdf,) = out.glob("*.json")
    return json.loads(hdf.read_text(encoding="utf-8"))["passthrough"]["lbaudit"]["signature"]


def test_a_genuine_signature_is_named_with_its_key(signed, tmp_path):
    path, _, fingerprint = signed
    assert _hdf_signature(path, tmp_path / "out") == {"state": "signed", "key_fingerprint": fingerprint}


def _garbage_signature(path: Path, fingerprint: str) -> None:
    _rewrite_sig(path, signature=base64.b64encode(bytes(64)).decode("ascii"))


def _no_recorded_key(path: Path, fingerprint: str) -> None:
    """A .sig as a forger writes it from the documented format: digest, fingerprint, any signature."""
    _rewrite_sig(path, public_key=None, signature=base64.b64encode(bytes(64)).decode("ascii"))


def _another_key_naming_the_trusted_fingerprint(path: Path, fingerprint: str) -> None:
    """Signed for real, by the forger's key, which the .sig records, under the trusted fingerprint."""
    forger = Ed25519PrivateKey.generate()
    digest = json.loads(_sig(path).read_text(encoding="utf-8"))["evidence_sha256"]
    raw_key = forger.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    _rewrite_sig(path, public_key=base64.b64encode(raw_key).decode("ascii"), public_key_sha256=fingerprint,
                 signature=base64.b64encode(forger.sign(MESSAGE_PREFIX + digest.encode("ascii"))).decode("ascii"))


FORGERIES = {
    "garbage-signature": _garbage_signature,
    "no-recorded-key": _no_recorded_key,
    "another-key-under-the-trusted-fingerprint": _another_key_naming_the_trusted_fingerprint,
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_signature_is_reported_unsigned_and_fails_verify_with_11(signed, tmp_path, forgery):
    path, public, fingerprint = signed
    FORGERIES[forgery](path, fingerprint)
    assert _hdf_signature(path, tmp_path / "out") == {"state": "unsigned", "key_fingerprint": None}
    run = run_cli("verify", path, "--pubkey", public)
    assert run.returncode == ExitCode.VERIFY_SIGNATURE == 11, (run.stdout, run.stderr)


@pytest.mark.slow
def test_a_forged_signature_is_not_named_on_the_pdf(signed, tmp_path):
    from pypdf import PdfReader

    path, _, fingerprint = signed
    _garbage_signature(path, fingerprint)
    pdf = tmp_path / "attestation.pdf"
    run = run_cli("report", path, "--pdf", pdf)
    assert run.returncode == 0, run.stderr
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages).replace("\n", " ")
    assert "not signed" in text
    assert fingerprint[:16] not in text.replace(" ", "")


def test_a_signature_with_an_undecodable_public_key_is_exit_2_naming_it(signed, tmp_path):
    path, public, _ = signed
    _rewrite_sig(path, public_key="not base64!")
    run = run_cli("report", path, "--format", "hdf", "--out-dir", tmp_path / "out")
    assert run.returncode == 2, run.stdout
    assert "evidence.json.sig: public_key is not base64" in run.stderr
    short = base64.b64encode(bytes(31)).decode("ascii")
    _rewrite_sig(path, public_key=short)
    run = run_cli("verify", path, "--pubkey", public)
    assert run.returncode == 2
    assert "public_key is not an Ed25519 public key (32 bytes, base64)" in run.stderr


def test_the_recorded_key_is_the_signing_key(signed):
    path, public, fingerprint = signed
    document = json.loads(_sig(path).read_text(encoding="utf-8"))
    key = serialization.load_pem_public_key(public.read_bytes())
    assert base64.b64decode(document["public_key"]) == key.public_bytes(serialization.Encoding.Raw,
                                                                        serialization.PublicFormat.Raw)
    assert public_key_fingerprint(key) == document["public_key_sha256"] == fingerprint


@pytest.mark.parametrize("forged", [False, True])
def test_history_import_lists_a_run_signed_only_when_its_signature_holds(signed, tmp_path, forged):
    path, _, fingerprint = signed
    if forged:
        _garbage_signature(path, fingerprint)
    store = tmp_path / "state" / "history.db"
    (tmp_path / "state").mkdir()
    run = run_cli("history", "import", path, "--store", store)
    assert run.returncode == 0, run.stderr
    listed = run_cli("history", "list", "--json", "--store", store)
    (row,) = json.loads(listed.stdout)
    assert row["signature"] == ({"state": "unsigned", "key": None} if forged else
                                {"state": "signed", "key": fingerprint})


def test_a_signature_with_a_key_lbaudit_does_not_write_is_refused_naming_it(signed, tmp_path):
    """A misspelt "public_key" left the key unread and the signature still verified (found by the
    fuzz script): a .sig holds what lbaudit writes and nothing else, as every lbaudit document."""
    path, public, _ = signed
    document = json.loads(_sig(path).read_text(encoding="utf-8"))
    _rewrite_sig(path, public_key=None, ublic_key=document["public_key"])
    run = run_cli("verify", path, "--pubkey", public)
    assert run.returncode == 2, run.stdout  # before: 0, verified
    assert "evidence.json.sig: unknown key 'ublic_key' in an lbaudit evidence signature (expected only " in run.stderr
    run = run_cli("report", path, "--format", "hdf", "--out-dir", tmp_path / "out")
    assert run.returncode == 2 and "unknown key 'ublic_key'" in run.stderr
