"""A certificate whose subject is no readable X.509 name is a verdict or an input error, never a
traceback.

The defect: lbaudit read a certificate's subject after every check of the file was made, outside
what turns a parser's failure into a verdict.  ``verify --pdf`` of a PDF whose PAdES signature was
made (validly) with a certificate whose common name is a UTF8String of invalid UTF-8, a BMPString
of an odd length or a UniversalString of a length no multiple of 4 ended in "internal error: UnicodeDecodeError"
(exit 70): asn1crypto decodes a name only when it is read, to print the signer.  And ``report
--pdf-cert`` of such a certificate (cryptography, too, parses the subject only when asked) ended in
"internal error: ValueError" (exit 70).  Now verify fails the PDF (13, "not a readable signed
revision") and report refuses the certificate (2, naming the file).
"""

from __future__ import annotations

import hashlib
import io

import pytest
from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from auditor.model.result import ExitCode
from tests.cli import run_cli
from tests.hostile.test_verify import _verify, attested  # noqa: F401 - the module fixture, shared

pytestmark = pytest.mark.xdist_group("hostile_verify")

MARK = b"lbaudit-attest22-mark"  # makes a common name's bytes unique in the CMS (21 bytes)
# The DER of a common name's value (tag, content): what each leaves asn1crypto (and cryptography)
# unable to read.
UNREADABLE_NAMES = {
    "UTF8String of invalid UTF-8": (0x0C, b"\xff\xfe" + MARK),
    "BMPString of an odd length": (0x1E, MARK),
    "UniversalString of a length no multiple of 4": (0x1C, MARK + b"XY"),
}
READABLE_NAME = (0x0C, MARK)


def _tlv(tag: int, content: bytes) -> bytes:
    assert len(content) < 128
    return bytes([tag, len(content)]) + content


def _placeholder(value: tuple[int, bytes]) -> bytes:
    """A UTF8String as long as ``value``'s encoding: what asn1crypto builds (and may re-encode:
    it takes a definite length whose last byte is 0x80 for an indefinite one) before ``value``
    takes its place in the bytes."""
    return _tlv(0x0C, b"P" * (len(value[1]) - len(MARK)) + MARK)


def _certificate_named(attested, value: tuple[int, bytes]) -> tuple[bytes, bytes]:  # noqa: F811
    """The fixture's certificate, named by one common name ``value`` and signed again by its own
    key: (its DER, the DER of the same certificate named by the placeholder)."""
    der = x509.load_pem_x509_certificate(attested["cert"].read_bytes()).public_bytes(serialization.Encoding.DER)
    original = asn1_x509.Certificate.load(der)
    placeholder = _placeholder(value)
    tbs = original["tbs_certificate"].copy()
    tbs["subject"] = asn1_x509.Name.load(_tlv(0x30, _tlv(0x31, _tlv(0x30, b"\x06\x03\x55\x04\x03" + placeholder))))
    tbs_der = tbs.dump()
    wanted = tbs_der.replace(placeholder, _tlv(*value))
    key = serialization.load_pem_private_key(attested["cert_key"].read_bytes(), password=None)
    built = asn1_x509.Certificate({"tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
                                   "signature_algorithm": original["signature_algorithm"],
                                   "signature_value": key.sign(wanted, ec.ECDSA(hashes.SHA256()))}).dump()
    return built.replace(placeholder, _tlv(*value)), built


def _signed_with(attested, value: tuple[int, bytes]) -> bytes:  # noqa: F811
    """A valid PAdES signature over the rendering by the key of the certificate named ``value``,
    the CMS carrying that certificate.  pyHanko reads the subject when it signs, so it signs with
    the fixture's certificate; the CMS then carries the certificate named ``value`` instead, its
    signing-certificate attribute hashes it, and the attributes are signed again."""
    certificate, built = _certificate_named(attested, value)
    signer = signers.SimpleSigner.load(str(attested["cert_key"]), str(attested["cert"]))
    pdf = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(attested["pdf"])), signers.PdfSignatureMetadata(
        field_name="lbaudit-attestation", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES),
        signer=signer).getvalue()
    start = pdf.rindex(b"/Contents <") + len(b"/Contents <")
    end = pdf.index(b">", start)
    content = cms.ContentInfo.load(bytes.fromhex(pdf[start:end].decode("ascii")))
    signed_data = content["content"]
    signed_data["certificates"] = cms.CertificateSet([
        cms.CertificateChoices(name="certificate", value=asn1_x509.Certificate.load(built))])
    signer_info = signed_data["signer_infos"][0]
    attributes = list(signer_info["signed_attrs"])
    for attribute in attributes:
        if attribute["type"].native == "signing_certificate_v2":
            identifier = attribute["values"][0]["certs"][0]
            algorithm = identifier["hash_algorithm"]["algorithm"].native
            identifier["cert_hash"] = hashlib.new(algorithm, certificate).digest()
    signer_info["signed_attrs"] = cms.CMSAttributes(attributes)
    key = serialization.load_pem_private_key(attested["cert_key"].read_bytes(), password=None)
    signer_info["signature"] = key.sign(signer_info["signed_attrs"].untag().dump(), ec.ECDSA(hashes.SHA256()))
    placeholder = _placeholder(value)
    encoded = content.dump()
    assert encoded.count(placeholder) == 1
    encoded = encoded.replace(placeholder, _tlv(*value)).hex().encode("ascii")
    assert len(encoded) <= end - start
    return pdf[:start] + encoded.ljust(end - start, b"0") + pdf[end:]


def test_the_swapped_certificate_signs_validly_when_its_name_is_readable(attested):  # noqa: F811
    """The forgery above is sound: with a readable common name the signature verifies, naming it."""
    result = _verify(attested, _signed_with(attested, READABLE_NAME))
    assert result.exit_code == ExitCode.COMPLIANT, result.output
    assert f"(subject 'Common Name: {MARK.decode()}')" in result.output, result.output


@pytest.mark.parametrize("what", sorted(UNREADABLE_NAMES))
def test_verify_of_a_signer_with_an_unreadable_name_fails_13(attested, what):  # noqa: F811
    result = _verify(attested, _signed_with(attested, UNREADABLE_NAMES[what]))
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH == 13, result.output
    assert "internal error" not in result.output and "not a readable signed revision" in result.output, result.output


@pytest.mark.parametrize("what", sorted(UNREADABLE_NAMES))
def test_report_with_a_certificate_of_an_unreadable_name_is_exit_2(attested, tmp_path, what):  # noqa: F811
    cert = tmp_path / "cert.der"
    cert.write_bytes(_certificate_named(attested, UNREADABLE_NAMES[what])[0])
    result = run_cli("report", attested["evidence"], "--pdf", tmp_path / "a.pdf", "--pdf-cert", cert,
                     "--pdf-cert-key", attested["cert_key"], cwd=tmp_path)
    assert result.returncode == ExitCode.USAGE == 2, result.stderr
    assert f"{cert}: not an X.509 certificate" in result.stderr, result.stderr
    assert not (tmp_path / "a.pdf").exists()
