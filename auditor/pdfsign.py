"""Sign a PDF attestation itself (PAdES baseline B, with pyHanko), so PDF readers show it as signed.

This is in addition to the Ed25519 signature over the evidence: that one proves the evidence, this
one lets an auditor's PDF reader show who issued the document.  Signing is an incremental update:
the rendered bytes stay in the file unchanged, so ``lbaudit verify --pdf`` still finds the embedded
evidence.  A PAdES signature carries a signing time, so signed PDFs are not byte-for-byte
reproducible; the unsigned rendering is.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from auditor.errors import InputError
from auditor.safeio import FileTooLarge, read_regular

FIELD_NAME = "lbaudit-attestation"
MAX_PEM_BYTES = 1024 * 1024


def _read(path: Path, what: str) -> bytes:
    try:
        return read_regular(path, MAX_PEM_BYTES)  # a FIFO or device would block or never end
    except FileTooLarge as exc:
        raise InputError(f"{path}: larger than {MAX_PEM_BYTES} bytes; not a {what}") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc


def _load_certificate(path: Path, data: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise InputError(f"{path}: not an X.509 certificate (PEM or DER)") from exc


def _load_private_key(path: Path, data: bytes):  # noqa: ANN202 - any of cryptography's key types
    try:
        if b"-----BEGIN" in data:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_der_private_key(data, password=None)
    except TypeError as exc:
        raise InputError(f"{path}: the private key is encrypted; give an unencrypted key") from exc
    except ValueError as exc:
        raise InputError(f"{path}: not a private key (PEM or DER)") from exc


def sign_pdf(pdf: bytes, cert_path: Path, key_path: Path) -> bytes:
    """Return ``pdf`` with a PAdES signature made with the X.509 certificate and its private key."""
    try:
        from asn1crypto import keys as asn1_keys
        from asn1crypto import x509 as asn1_x509
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers
        from pyhanko_certvalidator.registry import SimpleCertificateStore
    except ImportError as exc:
        raise InputError("--pdf-cert needs pyHanko: pip install 'lbaudit[pades]'") from exc

    cert_path, key_path = Path(cert_path), Path(key_path)
    cert_data, key_data = _read(cert_path, "X.509 certificate"), _read(key_path, "private key")
    certificate = _load_certificate(cert_path, cert_data)
    private_key = _load_private_key(key_path, key_data)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if private_key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
        raise InputError(f"{key_path}: this private key does not belong to the certificate {cert_path}")

    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore(),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="lbaudit compliance attestation",
    )
    pyhanko_log = logging.getLogger("pyhanko")
    level = pyhanko_log.level
    pyhanko_log.setLevel(logging.ERROR)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        output = signers.sign_pdf(writer, metadata, signer=signer)
    except Exception as exc:  # noqa: BLE001 - e.g. a key type PAdES cannot use; say so, not a traceback
        raise InputError(f"{cert_path}: cannot sign the PDF with this certificate: {type(exc).__name__}: {exc}") from exc
    finally:
        pyhanko_log.setLevel(level)
    return output.getvalue()
