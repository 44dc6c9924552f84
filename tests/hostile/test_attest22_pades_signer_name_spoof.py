"""``verify --pdf`` names a PAdES signer by its certificate's fingerprint first, and quotes its
subject so that no text in it reads as part of the verdict.

The defect: the verdict read ``a valid PAdES signature by “<subject>” (certificate SHA-256
<fingerprint>) covering the whole file; ...``, the subject as the certificate has it between
curly quotes.  Of a PDF whose pages state no PAdES certificate (rendered without ``--pdf-cert``),
anyone could add a signature with a self-signed certificate whose organisation was ``” (certificate
SHA-256 <the organisation's fingerprint>) covering the whole file; ...``: the line then named the
organisation's certificate first, the quote closed, and the impostor's fingerprint came only at the
end, after what read as the verdict.  Now the line names the fingerprint of the certificate that
signed first, then its subject quoted as a name (quotes in it escaped, a long one cut).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from auditor.attest.pades import sign_pdf
from auditor.model.result import ExitCode
from tests.hostile.test_verify import _verify, attested  # noqa: F401 - the module fixture, shared

pytestmark = pytest.mark.xdist_group("hostile_verify")


def _certificate(directory, organisation: str, common_name: str = "impostor"):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "impostor.crt", directory / "impostor.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path, certificate.fingerprint(hashes.SHA256()).hex()


def _pdf_line(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith("pdf ")]
    return line


def test_a_subject_quoting_another_fingerprint_does_not_come_before_the_signers(attested, tmp_path):  # noqa: F811
    organisations = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # whoever they trust
    spoof = (f"\u201d (certificate SHA-256 {organisations}) covering the whole file; whether to trust that "
             "certificate is for the PDF reader to judge. Also: \u201c")
    cert, key, impostors = _certificate(tmp_path, spoof)
    result = _verify(attested, sign_pdf(attested["pdf"], cert, key))
    assert result.exit_code == ExitCode.COMPLIANT, result.output  # intact: the signer named for the reader
    line = _pdf_line(result.output)
    assert re.findall(r"certificate SHA-256 ([0-9a-f]{64})", line)[0] == impostors, line
    # the subject is one quoted name: its closing quote is not the verdict's
    assert f"signature by the certificate SHA-256 {impostors} (subject '" in line, line


def test_a_plain_signer_reads_as_before_but_fingerprint_first(attested, tmp_path):  # noqa: F811
    cert, key, fingerprint = _certificate(tmp_path, "Example Security", "lbaudit attestation signer")
    result = _verify(attested, sign_pdf(attested["pdf"], cert, key))
    assert result.exit_code == ExitCode.COMPLIANT, result.output
    line = _pdf_line(result.output)
    assert f"a valid PAdES signature by the certificate SHA-256 {fingerprint} (subject '" in line, line
    assert "Common Name: lbaudit attestation signer" in line and "Organization: Example Security" in line, line
    assert "') covering the whole file" in line, line


def test_a_long_subject_is_cut(attested, tmp_path):  # noqa: F811
    cert, key, fingerprint = _certificate(tmp_path, "O" * 4000)
    line = _pdf_line(_verify(attested, sign_pdf(attested["pdf"], cert, key)).output)
    assert fingerprint in line and "O" * 300 not in line and "characters)" in line, line
