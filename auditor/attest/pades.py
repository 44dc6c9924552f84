"""Sign a PDF attestation itself (PAdES baseline B, with pyHanko), so PDF readers show it as signed.

This is in addition to the Ed25519 signature over the evidence: that one proves the evidence, this
one lets an auditor's PDF reader show who issued the document.  Signing is an incremental update:
the rendered bytes stay in the file unchanged, so ``lbaudit verify --pdf`` still finds them.  A PAdES signature carries a signing time, so signed PDFs are not byte-for-byte
reproducible; the unsigned rendering is.

``lbaudit verify --pdf`` accepts such a signature after the rendering it reproduces, and nothing
else (:func:`check_pades_update`).
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from auditor.errors import InputError
from auditor.safeio import FileTooLarge, read_regular
from auditor.text import cut_text, quoted_name

FIELD_NAME = "lbaudit-attestation"
MAX_PEM_BYTES = 1024 * 1024


def _read(path: Path, what: str) -> bytes:
    try:
        # a FIFO or device would block or never end; /proc/kmsg gives away what it holds
        return read_regular(path, MAX_PEM_BYTES, document=what)
    except FileTooLarge as exc:
        raise InputError(f"{path}: larger than {MAX_PEM_BYTES} bytes; not a {what}") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc


def _load_certificate(path: Path, data: bytes) -> x509.Certificate:
    try:
        certificate = (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
                       else x509.load_der_x509_certificate(data))
        # cryptography parses the subject only when it is read: one of invalid UTF-8 was a
        # ValueError (exit 70) where the attestation names its signer
        certificate.subject.rfc4514_string()
    except ValueError as exc:
        raise InputError(f"{path}: not an X.509 certificate (PEM or DER)") from exc
    try:
        certificate.public_key()  # read when the key is matched; its type is known only then
    except (ValueError, UnsupportedAlgorithm) as exc:
        # UnsupportedAlgorithm is no ValueError: a certificate of a secp112r1 key was exit 70
        raise InputError(f"{path}: the certificate's public key is of a type lbaudit cannot sign with "
                         f"({cut_text(str(exc), 200)})") from exc
    return certificate


def _load_private_key(path: Path, data: bytes):  # noqa: ANN202 - any of cryptography's key types
    try:
        if b"-----BEGIN" in data:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_der_private_key(data, password=None)
    except TypeError as exc:
        raise InputError(f"{path}: the private key is encrypted; give an unencrypted key") from exc
    except ValueError as exc:
        raise InputError(f"{path}: not a private key (PEM or DER)") from exc
    except UnsupportedAlgorithm as exc:  # no ValueError: a key on secp112r1 was exit 70
        raise InputError(f"{path}: a private key of a type lbaudit cannot sign with "
                         f"({cut_text(str(exc), 200)})") from exc


def load_signing_pair(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, Any]:
    """The certificate and its private key that sign a PDF (``--pdf-cert``, ``--pdf-cert-key``),
    read and matched: InputError naming the file when either cannot be used or the key is not the
    certificate's.  Called with the other report options, before any work (a key that was not the
    certificate's was refused only when the PDF was signed, after the evaluation and every other
    report), and again when the PDF is signed."""
    cert_path, key_path = Path(cert_path), Path(key_path)
    cert_data, key_data = _read(cert_path, "X.509 certificate"), _read(key_path, "private key")
    certificate = _load_certificate(cert_path, cert_data)
    private_key = _load_private_key(key_path, key_data)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if private_key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
        raise InputError(f"{key_path}: this private key does not belong to the certificate {cert_path}")
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

    # pyHanko signs with SHA-256, which Ed25519 (SHA-512), Ed448 (SHAKE256) and an RSA-PSS
    # certificate (a mechanism it lacks) do not take: refused here, not after all the work.
    pss = getattr(certificate, "public_key_algorithm_oid", None) == x509.oid.PublicKeyAlgorithmOID.RSASSA_PSS
    if pss or not isinstance(private_key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, dsa.DSAPrivateKey)):
        kind = "an RSA-PSS" if pss else f"an {type(private_key).__name__.removesuffix('PrivateKey')}"
        raise InputError(f"{cert_path}: certifies {kind} key; lbaudit signs a PDF (PAdES, SHA-256) with an RSA, "
                         "ECDSA or DSA key only")
    weak = _too_weak(private_key)
    if weak is not None:
        raise InputError(f"{key_path}: {weak}: lbaudit verify --pdf refuses a PAdES signature made with it as too "
                         "weak (pyHanko's policy), so a PDF signed with it could never be verified")
    return certificate, private_key


def _too_weak(private_key: Any) -> str | None:
    """What about the key pyHanko's own validation refuses as weak (its default policy, which
    :func:`_weak_algorithm` applies on ``verify --pdf``), else None: an RSA key of 1024 bits signed
    the PDF, exit 0, and ``verify --pdf`` of that PDF then failed with 13."""
    from cryptography.hazmat.primitives.asymmetric import dsa, rsa

    try:
        from pyhanko_certvalidator.policy_decl import DisallowWeakAlgorithmsPolicy
    except ImportError:
        return None  # signing needs pyHanko and says so
    policy = DisallowWeakAlgorithmsPolicy()
    for kind, name, threshold in ((rsa.RSAPrivateKey, "an RSA", policy.rsa_key_size_threshold),
                                  (dsa.DSAPrivateKey, "a DSA", policy.dsa_key_size_threshold)):
        if isinstance(private_key, kind) and private_key.key_size < threshold:
            return f"{name} key of {private_key.key_size} bits (at least {threshold} are needed)"
    return None


def certificate_signer(cert_path: Path) -> str:
    """How an attestation names the certificate that will sign it (PAdES): its subject and the
    SHA-256 of the certificate, the fingerprint ``lbaudit verify --pdf`` compares with the signature."""
    from cryptography.hazmat.primitives import hashes

    cert = _load_certificate(cert_path, _read(cert_path, "certificate"))
    return f"{cert.subject.rfc4514_string()} (certificate SHA-256 {cert.fingerprint(hashes.SHA256()).hex()})"


SIGNER_FINGERPRINT = re.compile(r"\(certificate SHA-256 ([0-9a-f]{64})\)$")
# How :func:`check_pades_update` begins what it found when the signature holds, by a certificate
# other than the one the rendering states (``lbaudit verify --pdf`` says which it states).
NOT_THE_STATED_SIGNER = "not the stated certificate"


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

    certificate, private_key = load_signing_pair(cert_path, key_path)
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


# ------------------------------------------------------------------ checking one (lbaudit verify --pdf)

PADES_MISSING = "cannot verify the PAdES revision: install lbaudit[pades]"
# The most bytes an update signing the rendering may hold: lbaudit's is about 6 KiB (an invisible
# field, the CMS signature with its certificate, an xref of a dozen entries), and a CMS carrying a
# certificate chain and its revocation data stays well below this.  pyHanko parses whatever it is
# given whole (every xref entry into memory: 2,000,000 of them in 40 MB took 49 s and 590 MB).
MAX_PADES_UPDATE_BYTES = 4 * 1024 * 1024
# The most objects that update may write or free: lbaudit's writes seven (page, form, catalog, info,
# field, signature, metadata); revocation data in the same revision adds a few dozen.  pyHanko's
# difference analysis costs about 0.6 ms an object: 70,000 in 4 MB took 42 s.
MAX_PADES_UPDATE_OBJECTS = 256
# The most one xref stream, or one object stream, of that update may decode to (pyHanko's own
# limits allow 256 MiB and 64 MiB: a 62 KB Flate xref stream of 16,000,000 entries took 208 s and
# 1.5 GB).  A signature's xref stream lists a few objects; about as many entries as the 4 MiB classic
# table an update may hold fit in 1 MiB, an object stream of them in a few hundred KiB.
MAX_XREF_STREAM_BYTES = 1024 * 1024
MAX_OBJECT_STREAM_BYTES = 4 * 1024 * 1024


def _reader(pdf: bytes):  # noqa: ANN202 - a pyHanko PdfFileReader
    """pyHanko's reader of ``pdf``, its xref and object streams bounded (pyHanko 0.38 and later:
    older ones have no such limits, and decode what the file announces)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        from pyhanko.pdf_utils.decode_limits import (
            DEFAULT_PURPOSE_LIMITS,
            DecodeLimits,
            DecodePurpose,
            StreamDecodeLimits,
        )
    except ImportError:
        return PdfFileReader(io.BytesIO(pdf))
    limits = DecodeLimits(per_purpose={
        **DEFAULT_PURPOSE_LIMITS,
        DecodePurpose.XREF_STREAM: StreamDecodeLimits(max_ratio=None, max_output_size=MAX_XREF_STREAM_BYTES),
        DecodePurpose.OBJECT_STREAM: StreamDecodeLimits(max_ratio=None, max_output_size=MAX_OBJECT_STREAM_BYTES),
    })
    return PdfFileReader(io.BytesIO(pdf), decode_limits=limits)


# The most of a PAdES signer's subject a verdict quotes (a name is a few dozen characters).
MAX_SHOWN_SUBJECT = 200
# The most of a message of pyHanko's a verdict quotes (a list of every object it cannot explain).
MAX_QUOTED_FINDING = 400
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*\Z")


def _startxref(revision: bytes) -> int | None:
    match = _STARTXREF.search(revision[-64:])
    return int(match.group(1)) if match else None


def _zero_area(rect: Any) -> bool:
    try:
        x1, y1, x2, y2 = (float(v) for v in rect)
    except (TypeError, ValueError):
        return False
    return x1 == x2 or y1 == y2


def _diff_policy():  # noqa: ANN202 - a pyHanko DiffPolicy
    """pyHanko's default difference analysis, except that the update may set ``/SigFlags`` on the
    form: the rendering has an empty form without flags, and signing it sets them (flags only)."""
    from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, FormUpdatingRule, StandardDiffPolicy

    default_form_rule = DEFAULT_DIFF_POLICY.form_rule
    return StandardDiffPolicy(
        global_rules=DEFAULT_DIFF_POLICY.global_rules,
        form_rule=FormUpdatingRule(field_rules=default_form_rule.field_rules,
                                   ignored_acroform_keys=frozenset(default_form_rule.ignored_acroform_keys)
                                   | {"/SigFlags"}),
    )


# What signing itself writes in the document information: the date of the change, and the signing
# tool appended to the producer (pyHanko: "<rendered producer>; pyHanko 0.38.0").
_INFO_SET_BY_SIGNING = frozenset({"/ModDate", "/Producer"})
# The XMP properties signing itself writes (pyHanko: xmp:ModifyDate and pdf:Producer on an
# rdf:Description about ""); a title (dc:title, the browser tab of pdf.js), author, subject or
# keywords there is what a viewer shows of the document.
_XMP_SET_BY_SIGNING = frozenset({
    ("http://ns.adobe.com/xap/1.0/", "ModifyDate"), ("http://ns.adobe.com/xap/1.0/", "MetadataDate"),
    ("http://ns.adobe.com/pdf/1.3/", "Producer"), ("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "about"),
})


def _resolved(resolver: Any, value: Any) -> Any:
    from pyhanko.pdf_utils.generic import IndirectObject

    return resolver.get_object(value.reference) if isinstance(value, IndirectObject) else value


def _document_info(resolver: Any) -> dict[str, Any]:
    """The ``/Info`` dictionary of one revision, its values resolved in that revision."""
    trailer = resolver.trailer_view
    if "/Info" not in trailer:
        return {}
    info = _resolved(resolver, trailer.raw_get("/Info"))
    if not hasattr(info, "raw_get"):
        raise ValueError("/Info is not a dictionary")
    return {str(key): _resolved(resolver, info.raw_get(key)) for key in info}


def _xmp_properties(resolver: Any) -> dict[tuple[str, str], Any]:
    """The properties of the XMP metadata of one revision's catalog (empty without any)."""
    from pyhanko.pdf_utils.metadata.xmp_xml import parse_xmp

    root = resolver.root
    if "/Metadata" not in root:
        return {}
    stream = _resolved(resolver, root.raw_get("/Metadata"))
    properties: dict[tuple[str, str], Any] = {}
    try:  # pyHanko 0.38 bounds what a metadata stream may decompress to; older ones cannot
        from pyhanko.pdf_utils.decode_limits import DecodePurpose

        data = stream.read_data(DecodePurpose.XMP_METADATA)
    except ImportError:
        data = stream.data
    for structure in parse_xmp(io.BytesIO(data)):
        for name, value in structure:
            properties[(name.ns, name.local_name)] = value
    return properties


def _byte_range_refused(signature: Any, file_length: int) -> str | None:
    """Why the signature's /ByteRange is not the one shape that signs a whole file, else None:
    ``[0 a b c]`` whose gap ``a..b`` is exactly the /Contents hex string and that ends at the end
    of the file.

    Judged before pyHanko hashes anything: it hashes every (offset, length) pair listed, each up to
    the end of the file, before it judges the coverage, so a /ByteRange of 20,000 pairs
    ``0 1000000000`` in a 372 KB PDF took 50 s, and the time grew with the square of the file."""
    byte_range = signature.byte_range
    values = list(byte_range) if isinstance(byte_range, list) and len(byte_range) == 4 else None
    if values is None or not all(type(v) is not bool and isinstance(v, int) for v in values):
        count = len(byte_range) if isinstance(byte_range, list) else None
        return ("its /ByteRange is not four integers" + (f" (it lists {count:,} values)" if count is not None else ""))
    start, first, second, rest = (int(v) for v in values)
    contents = len(signature.pkcs7_content) * 2 + 2  # the hex string and its <>
    if start != 0 or first <= 0 or rest < 0 or second != first + contents or second + rest != file_length:
        return (f"its /ByteRange [{start} {first} {second} {rest}] is not [0 a b c] with the signature's "
                f"/Contents exactly between a and b and b + c the file's length ({file_length})")
    return None


def _shown_metadata_changed(reader: Any) -> str | None:
    """What the signed revision changes of the document metadata a PDF viewer shows (its title bar,
    its tab, its document properties), else None.

    pyHanko's difference analysis lets an update rewrite ``/Info`` and add XMP metadata at will (its
    DocInfoRule and MetadataUpdateRule); lbaudit writes the host, the assessor and the verdict
    there, so a PAdES update that retitled NOT COMPLIANT evidence "COMPLIANT" verified."""
    rendered, signed = reader.get_historical_resolver(0), reader.get_historical_resolver(1)
    before, after = _document_info(rendered), _document_info(signed)
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new or key == "/ModDate":
            continue
        if key == "/Producer" and isinstance(old, str) and isinstance(new, str) and new.startswith(old):
            continue
        return (f"the signed revision changes the document information a PDF viewer shows ({quoted_name(key)}), "
                "not just adds a signature")
    before_xmp, after_xmp = _xmp_properties(rendered), _xmp_properties(signed)
    for name in sorted(set(before_xmp) | set(after_xmp)):
        if before_xmp.get(name) == after_xmp.get(name):
            continue
        if name in _XMP_SET_BY_SIGNING and (name not in after_xmp or type(after_xmp[name].value) is str):
            continue  # a plain text value: no structure a viewer could show something else from
        return (f"the signed revision changes the XMP metadata a PDF viewer shows ({quoted_name(name[1])} of "
                f"{quoted_name(name[0])}), not just adds a signature")
    return None


def _weak_algorithm(signer_info: Any, certificate: Any) -> str | None:
    """The algorithm of the signature that pyHanko's own validation refuses as weak (its default
    policy: an MD5 or SHA-1 digest, of the file or of the signed attributes; an RSA key under 2048
    bits, a DSA key under 3192), said as such, else None.

    ``validate_sig_integrity`` checks a signature with whatever algorithms the CMS names: a SHA-1
    message digest (chosen-prefix collisions are bought, so one signature over a harmless file
    stands for another) verified as "a valid PAdES signature"."""
    from pyhanko_certvalidator.policy_decl import DisallowWeakAlgorithmsPolicy

    policy = DisallowWeakAlgorithmsPolicy()
    digest = signer_info["digest_algorithm"]
    if not policy.digest_algorithm_allowed(digest, None).allowed:
        return f"the digest algorithm {digest['algorithm'].native}"
    mechanism = signer_info["signature_algorithm"]
    allowed = policy.signature_algorithm_allowed(mechanism, None, certificate.public_key)
    if not allowed.allowed:
        reason = f": {allowed.failure_reason}" if allowed.failure_reason else ""
        return f"the signature algorithm {mechanism['algorithm'].native}{reason}"
    return None


def check_pades_update(pdf: bytes, rendered_length: int, signer_sha256: str | None = None) -> tuple[bool, str]:
    """Whether the bytes of ``pdf`` after its first ``rendered_length`` (the rendering lbaudit
    reproduced) are exactly one incremental update holding an invisible PAdES signature over the
    whole file that changes nothing else; ``(ok, what was found)``.

    Cryptographic integrity only: whether the certificate is trusted is for the reader's PDF viewer
    and its trust store to judge (lbaudit has none), so the detail names the signer instead.
    A signature is not enough on its own: the signed revision could itself repaint a page, so
    pyHanko's difference analysis must find nothing but the signature field between the rendering
    and the signed revision, the signature's widget must have no area (nothing drawn), and the
    document metadata a viewer shows must be the rendering's (:func:`_shown_metadata_changed`).
    """
    try:
        from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
        from pyhanko.sign.validation.generic_cms import validate_sig_integrity
    except ImportError:
        return False, PADES_MISSING
    appended = len(pdf) - rendered_length
    if appended > MAX_PADES_UPDATE_BYTES:
        return False, (f"the update after it is {appended:,} bytes, larger than a PAdES signature's "
                       f"(at most {MAX_PADES_UPDATE_BYTES:,}): not parsed")
    base_startxref = _startxref(pdf[:rendered_length])
    if base_startxref is None:
        return False, "the rendered revision does not end in startxref/%%EOF"
    pyhanko_log = logging.getLogger("pyhanko")
    level = pyhanko_log.level
    pyhanko_log.setLevel(logging.CRITICAL)  # our verdict says what is wrong; its warnings would not
    try:
        reader = _reader(pdf)
        xrefs = reader.xrefs
        if xrefs.total_revisions != 2:
            return False, f"{xrefs.total_revisions - 1} revisions follow the rendering (a PAdES signature is one)"
        if xrefs.get_startxref_for_revision(0) != base_startxref or \
                xrefs.get_startxref_for_revision(1) < rendered_length:
            return False, "the appended revision does not build on the rendered one"
        written = len(xrefs.explicit_refs_in_revision(1)) + len(xrefs.refs_freed_in_revision(1))
        if written > MAX_PADES_UPDATE_OBJECTS:
            return False, (f"the appended revision writes {written:,} objects, more than a PAdES signature's "
                           f"(at most {MAX_PADES_UPDATE_OBJECTS}): not analysed")
        signatures = reader.embedded_signatures
        if not signatures:
            return False, "it is an update that signs nothing (only a PAdES signature may follow the rendering)"
        if len(signatures) != 1:
            return False, f"the appended revision holds {len(signatures)} signatures, not one PAdES signature"
        signature = signatures[0]
        if signature.signed_revision != 1:
            return False, "the signature does not sign the appended revision"
        refused = _byte_range_refused(signature, len(pdf))
        if refused is not None:
            return False, f"the signature does not sign the whole file: {refused}"
        if signature.sig_object.get("/SubFilter") != "/ETSI.CAdES.detached":
            return False, f"the signature is not PAdES (/SubFilter {signature.sig_object.get('/SubFilter')})"
        widgets = [signature.sig_field, *[kid.get_object() for kid in signature.sig_field.get("/Kids", [])]]
        if any("/Rect" in w and not _zero_area(w["/Rect"]) for w in widgets):
            return False, "the signature has a visible appearance (lbaudit signs invisibly; it could paint the page)"
        diff = _diff_policy().review_file(reader, 0)
        if isinstance(diff, SuspiciousModification):
            return False, ("the signed revision changes the document, not just adds a signature "
                           f"({cut_text(str(diff), MAX_QUOTED_FINDING)})")
        if diff.modification_level > ModificationLevel.FORM_FILLING or \
                set(diff.changed_form_fields) - {signature.field_name}:
            return False, "the signed revision changes more than its own signature field"
        shown = _shown_metadata_changed(reader)
        if shown is not None:
            return False, shown
        weak = _weak_algorithm(signature.signer_info, signature.signer_cert)
        if weak is not None:
            return False, f"the PAdES signature uses {weak}: too weak to prove what was signed (pyHanko refuses it)"
        # No trust roots: lbaudit judges integrity only, and must not consult the system's trust list.
        # Integrity only, never pyHanko's full validation: lbaudit has no trust roots to judge the
        # certificate with, and with none pyHanko searched every issuer path through the
        # certificates the signature carries (eight naming one issuer took 72 s, ten hours).
        signature.compute_integrity_info(skip_diff=True)  # the digest and the coverage; the diff is above
        intact, valid = validate_sig_integrity(signature.signer_info, signature.signer_cert, "data",
                                               signature.compute_digest())
        coverage = signature.coverage
        # Read here, as all of the file is: asn1crypto decodes a name only when it is read, and a
        # signer's common name of invalid UTF-8 was a UnicodeDecodeError (exit 70) below.
        who, fingerprint = signature.signer_cert.subject.human_friendly, signature.signer_cert.sha256.hex()
    except Exception as exc:  # noqa: BLE001 - a parser failure on an untrusted file is a verdict
        return False, f"not a readable signed revision ({type(exc).__name__}: {cut_text(str(exc), MAX_QUOTED_FINDING)})"
    finally:
        pyhanko_log.setLevel(level)
    if not (intact and valid):
        return False, "the PAdES signature does not verify: the signed bytes were altered"
    if coverage is None or coverage.name != "ENTIRE_FILE":
        return False, "the PAdES signature does not cover the whole file"
    # The signer by its fingerprint first, then its subject as a quoted name: the subject is the
    # signer's text, and between curly quotes one holding "” (certificate SHA-256 <another's>) ..."
    # named another certificate before the one that signed.
    signer = f"the certificate SHA-256 {fingerprint} (subject {quoted_name(who, MAX_SHOWN_SUBJECT)})"
    if signer_sha256 is not None and fingerprint != signer_sha256:
        # Compared with the certificate's own fingerprint, never searched for in the sentence below:
        # a certificate whose common name was the stated fingerprint passed that search.
        return False, f"{NOT_THE_STATED_SIGNER}: a valid PAdES signature by {signer}"
    return True, (f"a valid PAdES signature by {signer} covering the whole file; whether to trust that certificate "
                  "is for the PDF reader to judge")
