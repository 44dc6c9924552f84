"""``verify --pdf``: a PAdES signature made with a broken digest algorithm, or too small a key,
is not "a valid PAdES signature".

The defect: verify judged the signature's integrity with pyHanko's low-level
``validate_sig_integrity``, which checks the signature with whatever algorithms the CMS names;
pyHanko's own validation refuses the weak ones (its DisallowWeakAlgorithmsPolicy: MD5 and SHA-1
digests, RSA keys under 2048 bits), but verify never asked.  A PAdES update over the rendering
whose message digest was SHA-1 (chosen-prefix collisions cost a few tens of thousands of dollars:
one signature bought over a harmless file then stands for another), whose signer signed the
attributes with SHA-1, or whose RSA key was 1024 bits, verified: exit 0, "followed by a valid
PAdES signature ... covering the whole file".  Now each is exit 13 naming the algorithm.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from asn1crypto import algos, cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from auditor.model.result import ExitCode
from tests.hostile.test_verify import _verify, attested  # noqa: F401 - the module fixture, shared

pytestmark = pytest.mark.xdist_group("hostile_verify")


def _rsa_certificate(directory, bits: int):
    """A self-signed RSA certificate of ``bits`` and its key file, as signers.SimpleSigner.load reads them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"rsa{bits} signer")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"rsa{bits}.crt", directory / f"rsa{bits}.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _signed(attested, md_algorithm: str, cert=None) -> bytes:  # noqa: F811
    """The rendering, then one invisible PAdES signature made by pyHanko with these algorithms."""
    cert_path, key_path = cert or (attested["cert"], attested["cert_key"])
    signer = signers.SimpleSigner.load(str(key_path), str(cert_path))
    metadata = signers.PdfSignatureMetadata(field_name="lbaudit-attestation", md_algorithm=md_algorithm,
                                            subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(attested["pdf"])), metadata,
                            signer=signer).getvalue()


def test_a_sha1_message_digest_fails_13(attested):  # noqa: F811
    result = _verify(attested, _signed(attested, "sha1"))
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH == 13, result.output
    assert "sha1" in result.output and "valid PAdES signature" not in result.output, result.output


def _attributes_signed_with_sha1(attested) -> bytes:  # noqa: F811
    """A SHA-256 PAdES signature whose signed attributes (the file's SHA-256 among them) are then
    signed again with SHA-1 and ECDSA, put back in the same /Contents (pyHanko itself refuses to
    sign with a mechanism whose digest is not the message digest's)."""
    pdf = _signed(attested, "sha256")
    start = pdf.rindex(b"/Contents <") + len(b"/Contents <")
    end = pdf.index(b">", start)
    content = cms.ContentInfo.load(bytes.fromhex(pdf[start:end].decode("ascii")))
    signer_info = content["content"]["signer_infos"][0]
    key = serialization.load_pem_private_key(attested["cert_key"].read_bytes(), password=None)
    signer_info["signature"] = key.sign(signer_info["signed_attrs"].untag().dump(), ec.ECDSA(hashes.SHA1()))
    signer_info["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": "sha1_ecdsa"})
    encoded = content.dump(force=True).hex().encode("ascii")
    assert len(encoded) <= end - start
    return pdf[:start] + encoded.ljust(end - start, b"0") + pdf[end:]


def test_attributes_signed_with_sha1_fail_13(attested):  # noqa: F811
    result = _verify(attested, _attributes_signed_with_sha1(attested))
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH == 13, result.output
    assert "sha1" in result.output and "valid PAdES signature" not in result.output, result.output


def test_a_1024_bit_rsa_key_fails_13(attested):  # noqa: F811
    result = _verify(attested, _signed(attested, "sha256", cert=_rsa_certificate(attested["dir"], 1024)))
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH == 13, result.output
    assert "1024" in result.output and "valid PAdES signature" not in result.output, result.output


@pytest.mark.parametrize("md_algorithm", ["sha256", "sha512"])
def test_strong_algorithms_still_verify(attested, md_algorithm):  # noqa: F811
    result = _verify(attested, _signed(attested, md_algorithm))
    assert result.exit_code == ExitCode.COMPLIANT, result.output
    assert "valid PAdES signature" in result.output, result.output


def test_a_2048_bit_rsa_key_still_verifies(attested):  # noqa: F811
    result = _verify(attested, _signed(attested, "sha256", cert=_rsa_certificate(attested["dir"], 2048)))
    assert result.exit_code == ExitCode.COMPLIANT, result.output
    assert "valid PAdES signature" in result.output, result.output
