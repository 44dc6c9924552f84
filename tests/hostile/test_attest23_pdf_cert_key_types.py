"""``--pdf-cert`` / ``--pdf-cert-key`` of a key type cryptography cannot load, or a key that is not
the certificate's, is refused (exit 2, naming the file) before any work.

The defect: a certificate key on a curve cryptography does not support (secp112r1, an EC key with
explicit parameters) raised ``UnsupportedAlgorithm``, which is no ValueError: ``report --pdf-cert``
ended in "internal error: UnsupportedAlgorithm" (exit 70), for the key and for a certificate whose
public key is of such a type.  And the pair was first loaded when the PDF was signed, after the
evaluation and every other report: a key that is not the certificate's was refused only then
(54 s into an evaluate of a 6 MB snapshot), although the README says the key is checked "before any
work".  So were an Ed25519, Ed448 or RSA-PSS certificate (pyHanko cannot sign lbaudit's SHA-256
PDF with them), and an RSA key of 1024 bits signed the PDF (exit 0) that ``verify --pdf`` then
refused as too weak (13).  Now both files are read and matched with the other report options, and
a key pyHanko cannot sign with, or whose signature verify would refuse, is exit 2 there.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _openssl(*args: object) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


def _pair(directory: Path, name: str, curve: str, explicit: bool = False) -> tuple[Path, Path]:
    """A private key (mode 0600) on ``curve`` and a self-signed certificate of it, by openssl."""
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    if explicit:
        _openssl("ecparam", "-name", curve, "-genkey", "-noout", "-param_enc", "explicit", "-out", key)
    else:
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}", "-out", key)
    key.chmod(0o600)
    _openssl("req", "-x509", "-key", key, "-out", cert, "-subj", f"/CN={name}", "-days", "30")
    return cert, key


@pytest.fixture
def evidence(tmp_path):
    path, _ = write_evidence_file(tmp_path / "run", make_evidence())
    return path


def _report(evidence: Path, cert: Path, key: Path):
    out = evidence.parent / "out"
    return run_cli("report", evidence, "--format", "html", "--out-dir", out, "--pdf", out / "a.pdf",
                   "--pdf-cert", cert, "--pdf-cert-key", key, timeout=120), out


@pytest.mark.parametrize("curve, explicit", [("secp112r1", False), ("secp256k1", True)],
                         ids=["unsupported-curve", "explicit-parameters"])
def test_a_certificate_key_of_an_unsupported_type_is_exit_2(evidence, tmp_path, curve, explicit):
    good_cert, _ = _pair(tmp_path, "good", "prime256v1")
    _, odd_key = _pair(tmp_path, "odd", curve, explicit)
    run, out = _report(evidence, good_cert, odd_key)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "internal error" not in run.stderr
    assert str(odd_key) in run.stderr
    assert not out.exists()


def test_a_certificate_of_an_unsupported_key_type_is_exit_2(evidence, tmp_path):
    odd_cert, odd_key = _pair(tmp_path, "odd", "secp112r1")
    run, out = _report(evidence, odd_cert, odd_key)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "internal error" not in run.stderr
    assert str(odd_cert) in run.stderr or str(odd_key) in run.stderr
    assert not out.exists()


def test_a_key_that_is_not_the_certificates_is_refused_before_the_evidence_is_read(evidence, tmp_path):
    # Unreadable evidence shows the order: before, the evidence was read (and refused) first, and the
    # key only after every report was rendered; the certificate pair is an option like the others.
    cert, _ = _pair(tmp_path, "cert", "prime256v1")
    _, other_key = _pair(tmp_path, "other", "prime256v1")
    evidence.write_bytes(b"not json\n")
    run, out = _report(evidence, cert, other_key)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert f"{other_key}: this private key does not belong to the certificate {cert}" in run.stderr
    assert not out.exists()


def test_a_certificate_key_too_weak_for_verify_is_refused_before_a_pdf_is_signed(evidence, tmp_path):
    # An RSA key of 1024 bits: report signed the PDF with it (exit 0), and verify --pdf then refused
    # the signature as too weak (13) -- lbaudit handed out an attestation its own verify rejects.
    key, cert = tmp_path / "weak.key", tmp_path / "weak.pem"
    _openssl("req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=weak",
             "-days", "30")
    key.chmod(0o600)
    run, out = _report(evidence, cert, key)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert f"{key}: an RSA key of 1024 bits" in run.stderr
    assert "at least 2048" in run.stderr
    assert not out.exists()


@pytest.mark.parametrize("algorithm", ["ED25519", "ED448", "RSA-PSS"])
def test_a_certificate_key_pades_cannot_sign_with_is_refused_before_the_evidence_is_read(evidence, tmp_path,
                                                                                        algorithm):
    # pyHanko signs lbaudit's PDF with SHA-256, which these mechanisms do not take: "cannot sign the
    # PDF with this certificate" came only when the PDF was signed, after the evaluation and every
    # other report (the unreadable evidence shows the order, as above).
    key, cert = tmp_path / "k.key", tmp_path / "k.pem"
    _openssl("req", "-x509", "-newkey", algorithm, "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=k",
             "-days", "30")
    key.chmod(0o600)
    evidence.write_bytes(b"not json\n")
    run, out = _report(evidence, cert, key)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert f"{cert}: " in run.stderr and "lbaudit signs a PDF" in run.stderr, run.stderr
    assert not out.exists()
