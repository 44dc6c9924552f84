"""PAdES signing of the PDF attestation with a self-signed X.509 certificate, validated by pyHanko."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from auditor.attest.pades import FIELD_NAME, sign_pdf
from auditor.attest.signing import generate_keypair, sign_evidence_file
from auditor.attest.verify import verify
from auditor.errors import InputError
from auditor.model.result import ExitCode
from auditor.report import ReportContext
from auditor.report.pdf import render_pdf
from tests.evidence_fixtures import make_evidence, write_evidence_file

NOW = datetime.now(timezone.utc)


def _pyhanko_validation():  # noqa: ANN202 - pyHanko's own functions
    """pyHanko's reader and validator, imported by the tests that use them: importing pyHanko (and
    the aiohttp it brings) costs ~0.6 s of CPU, which every pytest-xdist worker paid at collection,
    also the one that runs none of these tests (tests/hostile/test_verify.py imports this module)."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    return load_cert_from_pemder, PdfFileReader, validate_pdf_signature, ValidationContext


def _self_signed(directory: Path, name: str = "lbaudit attestation signer") -> tuple[Path, Path, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Security")])
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name.split()[0]}.crt", directory / f"{name.split()[0]}.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path, key


@pytest.fixture(scope="module")
def evidence():
    return make_evidence()


@pytest.fixture(scope="module")
def signed_setup(tmp_path_factory, evidence):
    """Signed evidence, its PDF, and a PAdES-signed copy of that PDF: rendered and signed once for
    the module (the tests only read them; each writes what it makes in its own tmp_path)."""
    tmp_path = tmp_path_factory.mktemp("pades")
    path, raw = write_evidence_file(tmp_path, evidence)
    private, public = generate_keypair(tmp_path / "keys")
    fingerprint = sign_evidence_file(path, private)
    pdf = render_pdf(evidence, ReportContext(evidence_bytes=raw, evidence_path=path.name,
                                             signature_fingerprint=fingerprint))
    cert_path, key_path, _ = _self_signed(tmp_path)
    return path, public, pdf, cert_path, key_path, sign_pdf(pdf, cert_path, key_path)


def test_pyhanko_reports_the_signature_intact_valid_and_trusted(signed_setup):
    _, _, _, cert_path, _, signed_pdf = signed_setup
    load_cert_from_pemder, PdfFileReader, validate_pdf_signature, ValidationContext = _pyhanko_validation()
    reader = PdfFileReader(io.BytesIO(signed_pdf))
    assert len(reader.embedded_signatures) == 1
    signature = reader.embedded_signatures[0]
    assert signature.field_name == FIELD_NAME
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[load_cert_from_pemder(str(cert_path))]))
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"


def test_signing_is_an_incremental_update_so_verify_pdf_still_holds(signed_setup, tmp_path):
    path, public, pdf, _, _, signed_pdf = signed_setup
    assert signed_pdf.startswith(pdf) and len(signed_pdf) > len(pdf)
    target = tmp_path / "signed.pdf"
    target.write_bytes(signed_pdf)
    result = verify(path, public, target)
    assert result.exit_code == ExitCode.COMPLIANT and result.get("pdf").ok


def test_changing_a_byte_of_the_signed_pdf_breaks_its_integrity(signed_setup):
    _, _, pdf, cert_path, _, signed_pdf = signed_setup
    at = signed_pdf.index(b"ReportLab Generated PDF document")  # inside the signed byte range
    tampered = signed_pdf[:at] + b"X" + signed_pdf[at + 1:]
    load_cert_from_pemder, PdfFileReader, validate_pdf_signature, ValidationContext = _pyhanko_validation()
    signature = PdfFileReader(io.BytesIO(tampered)).embedded_signatures[0]
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[load_cert_from_pemder(str(cert_path))]))
    assert not status.intact
    assert not status.bottom_line


def test_a_key_that_does_not_belong_to_the_certificate_is_refused(signed_setup, tmp_path):
    _, _, pdf, cert_path, _, _ = signed_setup
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    _, other_key, _ = _self_signed(other_dir, "other signer")
    with pytest.raises(InputError, match="does not belong to the certificate"):
        sign_pdf(pdf, cert_path, other_key)


def test_unreadable_or_wrong_files_are_input_errors(signed_setup, tmp_path):
    _, _, pdf, cert_path, key_path, _ = signed_setup
    with pytest.raises(InputError, match="not an X.509 certificate"):
        sign_pdf(pdf, key_path, key_path)
    with pytest.raises(InputError, match="cannot read"):
        sign_pdf(pdf, cert_path, tmp_path / "absent.pem")
    encrypted = tmp_path / "encrypted.pem"
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    encrypted.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(b"secret")))
    with pytest.raises(InputError, match="encrypted"):
        sign_pdf(pdf, cert_path, encrypted)


# ------------------------------------------------------------------ the attestation page names the PDF signer

@pytest.mark.slow  # PAdES-signs and verifies a PDF
def test_the_attestation_page_names_the_pades_certificate_and_verify_holds_it_to_that(tmp_path, evidence):
    """`report --pdf-cert` renders the certificate's name and fingerprint on the attestation page;
    verify accepts the PDF signed with that certificate, and refuses it unsigned or signed by another."""
    from pypdf import PdfReader

    from auditor.attest.pades import certificate_signer
    from tests.cli import run_cli

    path, _ = write_evidence_file(tmp_path, evidence)
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    cert_path, key_path, _ = _self_signed(tmp_path)
    pdf = tmp_path / "signed.pdf"
    result = run_cli("report", path, "--pdf", pdf, "--pdf-cert", cert_path, "--pdf-cert-key", key_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    signer = certificate_signer(cert_path)
    text = " ".join(page.extract_text() for page in PdfReader(str(pdf)).pages[-2:])
    assert "this PDF is signed (PAdES) with the certificate" in " ".join(text.split())
    assert signer.split("(certificate SHA-256 ")[1][:32] in text.replace("\n", "").replace(" ", "")
    assert verify(path, public, pdf).exit_code == ExitCode.COMPLIANT

    from auditor.report.pdf import find_render_inputs
    [inputs] = find_render_inputs(pdf.read_bytes())
    assert inputs.pdf_signer == signer
    rendering = render_pdf(evidence, inputs.context(path.read_bytes()))
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(rendering)  # the pages claim a PAdES signature the file does not carry
    checked = verify(path, public, unsigned)
    assert checked.exit_code == ExitCode.VERIFY_PDF_MISMATCH and "carries no PAdES signature" in checked.get("pdf").detail
    other_cert, other_key, _ = _self_signed(tmp_path, "other signer")
    forged = tmp_path / "other.pdf"
    forged.write_bytes(sign_pdf(rendering, other_cert, other_key))
    checked = verify(path, public, forged)
    assert checked.exit_code == ExitCode.VERIFY_PDF_MISMATCH and "states it is signed with the certificate" in \
        checked.get("pdf").detail
