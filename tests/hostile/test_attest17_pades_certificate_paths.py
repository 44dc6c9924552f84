"""``verify --pdf``: a PAdES signature is checked for integrity (its digest, its signature under the
signer's certificate, its coverage) without building certificate paths, which lbaudit never judges.

The defect: verify called pyHanko's full validation with an empty trust store, and pyHanko then
searched every issuer path through the certificates the signature carries.  Certificates that all
name the same issuer form a graph whose paths grow with the factorial of their number: a 12 KB
update carrying eight such certificates took verify 72 s, ten would take hours.  The trust of the
certificate is the PDF reader's to judge (as verify says); the paths are no longer built.
"""

from __future__ import annotations

import io
import time
from datetime import datetime, timedelta, timezone

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from auditor.model.result import ExitCode
from tests.hostile.test_verify import _verify, attested  # noqa: F401 - the module fixture, shared

NOW = datetime.now(timezone.utc)
ISSUER = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "one name for every issuer")])


def _certificate(subject: x509.Name, public_key, signing_key, ca: bool) -> asn1_x509.Certificate:
    built = (x509.CertificateBuilder().subject_name(subject).issuer_name(ISSUER).public_key(public_key)
             .serial_number(x509.random_serial_number())
             .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             .sign(signing_key, hashes.SHA256()))
    return asn1_x509.Certificate.load(built.public_bytes(serialization.Encoding.DER))


def _signed_with_issuer_cycle(attested, count: int) -> bytes:  # noqa: F811
    """The rendering, PAdES-signed by a certificate issued by ``ISSUER``, the signature carrying
    ``count`` certificates of that name each signed by the next one's key (none self-signed)."""
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(count)]
    issuers = [_certificate(ISSUER, keys[i].public_key(), keys[(i + 1) % count], ca=True) for i in range(count)]
    signing_key = ec.generate_private_key(ec.SECP256R1())
    signing_cert = _certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signer")]),
                                signing_key.public_key(), keys[0], ca=False)
    signer = signers.SimpleSigner(
        signing_cert=signing_cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(signing_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore.from_certs(issuers))
    writer = IncrementalPdfFileWriter(io.BytesIO(attested["pdf"]))
    metadata = signers.PdfSignatureMetadata(field_name="lbaudit-attestation", md_algorithm="sha256",
                                            subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(writer, metadata, signer=signer).getvalue()


def test_certificates_naming_one_issuer_do_not_make_verify_search_their_paths(attested):  # noqa: F811
    pdf = _signed_with_issuer_cycle(attested, 8)
    started = time.monotonic()
    result = _verify(attested, pdf)
    elapsed = time.monotonic() - started
    # intact, over the whole file, adding nothing: verified, the signer named for the reader to judge
    assert result.exit_code == ExitCode.COMPLIANT, result.output
    assert "(subject 'Common Name: signer') covering the whole file" in result.output, result.output
    assert elapsed < 20, f"verify took {elapsed:.1f} s"
