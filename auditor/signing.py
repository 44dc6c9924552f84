"""Ed25519 signatures over the evidence JSON, and their verification.

What is signed
    The SHA-256 of the *canonical JSON* of the evidence document (:func:`auditor.model.base.canonical_json`
    of the parsed file: sorted keys, no insignificant whitespace, UTF-8).  Re-indenting or re-ordering
    the keys of ``evidence.json`` therefore keeps the signature valid, while changing any value breaks
    it.  The Ed25519 message is the ASCII text ``lbaudit-evidence-sha256:<hex digest>``; the prefix
    keeps an lbaudit key from ever vouching for some other protocol's 32 bytes.

Where the signature travels
    In a detached file next to the evidence, ``<evidence>.sig``: a small JSON document::

        {"schema": "lbaudit/evidence-signature", "schema_version": "1.0", "algorithm": "ed25519",
         "evidence_sha256": "<hex of the canonical JSON>", "public_key_sha256": "<key fingerprint>",
         "signature": "<base64>"}

    Detached, so that the evidence file stays exactly the document the reports were rendered from.

Key fingerprint
    SHA-256 (hex) of the DER SubjectPublicKeyInfo of the public key -- the same value for the ``.pub``
    file and the private key it belongs to.

Verification (``lbaudit verify``) runs these checks and exits with the code of the first failure:
    ``key``        the signature names the given public key              else 12 (VERIFY_WRONG_KEY)
    ``signature``  the Ed25519 signature over the recorded digest holds   else 11 (VERIFY_SIGNATURE);
                   also when the evidence has no ``.sig`` at all
    ``digest``     the evidence's canonical digest is the recorded one    else 10 (VERIFY_DIGEST);
                   also when the evidence is no longer valid JSON
    ``pdf``        (with ``--pdf``) the PDF embeds these exact evidence   else 13 (VERIFY_PDF_MISMATCH)
                   bytes and prints their SHA-256
    Unreadable or malformed inputs (key, signature file, PDF, an evidence file that cannot be read)
    are usage errors (2, :class:`auditor.errors.InputError`): nothing could be verified.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditor.errors import InputError
from auditor.jsonfile import loads_strict, parse_document, read_bounded
from auditor.model.base import canonical_json, sha256_hex
from auditor.model.result import ExitCode
from auditor.report.evidence import load_evidence, write_atomic

SIGNATURE_SCHEMA = "lbaudit/evidence-signature"
SIGNATURE_SCHEMA_VERSION = "1.0"
ALGORITHM = "ed25519"
MESSAGE_PREFIX = b"lbaudit-evidence-sha256:"
SIGNATURE_SUFFIX = ".sig"
MAX_KEY_BYTES = 64 * 1024
MAX_SIGNATURE_BYTES = 64 * 1024


# ------------------------------------------------------------------ keys

def public_key_fingerprint(key: Ed25519PublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return sha256_hex(der)


def _write_private_key(path: Path, data: bytes, force: bool) -> None:
    """Create the key file with mode 0600 from its first byte: never group/world readable, even briefly.

    Without ``force``, O_EXCL makes the refusal to overwrite atomic.  With ``force``, the new key goes
    to a fresh 0600 file that then replaces the old one, so no reader ever sees half a key.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    target = path if not force else path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError as exc:
        raise InputError(f"{path}: a key already exists; refusing to overwrite it (use --force)") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot create key file: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, 0o600)  # the umask can only remove bits; make the mode exact anyway
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(target, path)
    except BaseException:
        if force:
            try:
                os.unlink(target)
            except FileNotFoundError:
                pass
        raise


def generate_keypair(out_dir: Path, name: str = "lbaudit", force: bool = False) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>.key`` (PKCS#8 PEM, mode 0600) and ``<name>.pub`` (PEM); return both paths."""
    out_dir = Path(out_dir)
    private_path = out_dir / f"{name}.key"
    public_path = out_dir / f"{name}.pub"
    if not force:
        existing = [p for p in (private_path, public_path) if os.path.lexists(p)]
        if existing:
            raise InputError(f"{existing[0]}: a key already exists; refusing to overwrite it (use --force)")
    try:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create key directory: {exc.strerror or exc}") from exc
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_private_key(private_path, private_pem, force)
    write_atomic(public_path, public_pem, mode=0o644)  # an unwritable path is an InputError already
    return private_path, public_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = read_bounded(Path(path), MAX_KEY_BYTES, "an Ed25519 private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # a key type this cryptography lacks, too
        raise InputError(f"{path}: not an unencrypted PEM private key (lbaudit keygen writes one)") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 private key (lbaudit keygen makes one)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM public key as ``lbaudit keygen`` writes it; an OpenSSH ``ssh-ed25519`` line works too."""
    data = read_bounded(Path(path), MAX_KEY_BYTES, "an Ed25519 public key")
    try:
        if data.lstrip().startswith(b"ssh-"):
            key = serialization.load_ssh_public_key(data.strip())
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as exc:
        raise InputError(f"{path}: not a PEM public key (lbaudit keygen writes one as NAME.pub)") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path}: not an Ed25519 public key (lbaudit keygen makes one)")
    return key


# ------------------------------------------------------------------ the signed digest

def canonical_digest(raw: bytes) -> str:
    """SHA-256 (hex) of the canonical JSON of the document ``raw``; ValueError if it is not strict JSON."""
    try:
        data = loads_strict(raw)  # a duplicate key or NaN has no single canonical form
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    return sha256_hex(canonical_json(data))


def _read_evidence_bytes(evidence_path: Path) -> bytes:
    """The evidence file's bytes for its digest: bounded, and only from a regular file."""
    from auditor.report.evidence import EVIDENCE_WHAT, MAX_EVIDENCE_BYTES

    return read_bounded(evidence_path, MAX_EVIDENCE_BYTES, EVIDENCE_WHAT)


def _message(digest: str) -> bytes:
    return MESSAGE_PREFIX + digest.encode("ascii")


def signature_path(evidence_path: Path) -> Path:
    evidence_path = Path(evidence_path)
    return evidence_path.with_name(evidence_path.name + SIGNATURE_SUFFIX)


def sign_evidence_file(evidence_path: Path, key_path: Path) -> str:
    """Sign the evidence with the Ed25519 key; write ``<evidence>.sig``; return the key fingerprint."""
    evidence_path = Path(evidence_path)
    key = load_private_key(key_path)
    _, raw = load_evidence(evidence_path)  # only lbaudit evidence is signed, and only valid evidence
    try:
        digest = canonical_digest(raw)
    except ValueError as exc:
        raise InputError(f"{evidence_path}: {exc}") from exc
    fingerprint = public_key_fingerprint(key.public_key())
    document = {
        "schema": SIGNATURE_SCHEMA,
        "schema_version": SIGNATURE_SCHEMA_VERSION,
        "algorithm": ALGORITHM,
        "evidence_sha256": digest,
        "public_key_sha256": fingerprint,
        "signature": base64.b64encode(key.sign(_message(digest))).decode("ascii"),
    }
    data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
    write_atomic(signature_path(evidence_path), data, mode=0o644)
    return fingerprint


@dataclass(frozen=True)
class SignatureDocument:
    evidence_sha256: str
    public_key_sha256: str
    signature: bytes


def _is_hex_digest(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def read_signature(path: Path) -> SignatureDocument:
    """Parse a ``.sig`` file; anything malformed is an InputError naming the file."""
    what = "an lbaudit evidence signature"
    data = parse_document(read_bounded(path, MAX_SIGNATURE_BYTES, what), str(path), what)
    if not isinstance(data, dict) or data.get("schema") != SIGNATURE_SCHEMA:
        raise InputError(f"{path}: not an lbaudit evidence signature (expected \"schema\": \"{SIGNATURE_SCHEMA}\")")
    if data.get("schema_version") != SIGNATURE_SCHEMA_VERSION:
        raise InputError(f"{path}: signature schema version {data.get('schema_version')!r} is not supported")
    if data.get("algorithm") != ALGORITHM:
        raise InputError(f"{path}: signature algorithm {data.get('algorithm')!r} is not supported (expected ed25519)")
    for name in ("evidence_sha256", "public_key_sha256"):
        if not _is_hex_digest(data.get(name)):
            raise InputError(f"{path}: {name} is not a lowercase hex SHA-256")
    try:
        signature = base64.b64decode(str(data.get("signature", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"{path}: signature is not base64") from exc
    return SignatureDocument(data["evidence_sha256"], data["public_key_sha256"], signature)


def signature_fingerprint(evidence_path: Path) -> str | None:
    """The key fingerprint the detached signature names, or None when the evidence is unsigned.

    No signature verification (that needs the public key: ``lbaudit verify``); this is what the
    PDF prints.  But a ``.sig`` whose recorded digest is not that of the evidence beside it (left
    over from an earlier run, say) signs something else, so it counts as no signature: the PDF
    then says "unsigned" rather than naming a key that never signed this evidence.
    """
    evidence_path = Path(evidence_path)
    path = signature_path(evidence_path)
    if not os.path.lexists(path):
        return None
    signature = read_signature(path)
    raw = _read_evidence_bytes(evidence_path)
    try:
        matches = canonical_digest(raw) == signature.evidence_sha256
    except ValueError:
        matches = False
    return signature.public_key_sha256 if matches else None


# ------------------------------------------------------------------ verification

@dataclass(frozen=True)
class CheckResult:
    name: str  # "key", "signature", "digest", "pdf"
    ok: bool | None  # None: not checked (the reason is in ``detail``)
    detail: str


FAILURE_CODES = {
    "key": ExitCode.VERIFY_WRONG_KEY,
    "signature": ExitCode.VERIFY_SIGNATURE,
    "digest": ExitCode.VERIFY_DIGEST,
    "pdf": ExitCode.VERIFY_PDF_MISMATCH,
}


@dataclass(frozen=True)
class VerifyResult:
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks) and any(c.ok for c in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.ok is False]

    @property
    def exit_code(self) -> ExitCode:
        """The code of the first failing check, in the order key, signature, digest, pdf."""
        for check in self.checks:
            if check.ok is False:
                return FAILURE_CODES[check.name]
        return ExitCode.COMPLIANT

    def get(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.name == name), None)


def _short(digest: str) -> str:
    return digest[:16]


def _verify_signature(evidence_path: Path, raw: bytes, key: Ed25519PublicKey) -> list[CheckResult]:
    sig_path = signature_path(evidence_path)
    given = public_key_fingerprint(key)
    if not os.path.lexists(sig_path):
        return [
            CheckResult("key", None, "not checked: the evidence is not signed"),
            CheckResult("signature", False, f"the evidence is not signed: {sig_path} does not exist"),
            CheckResult("digest", None, "not checked: no signed digest to compare with"),
        ]
    sig = read_signature(sig_path)
    try:
        key.verify(sig.signature, _message(sig.evidence_sha256))
        signature_holds = True
    except InvalidSignature:
        signature_holds = False

    checks: list[CheckResult] = []
    if sig.public_key_sha256 != given and not signature_holds:
        checks.append(CheckResult("key", False, f"signed by key {sig.public_key_sha256}, "
                                                f"not by the given key {given}"))
        checks.append(CheckResult("signature", None, "not checked: made with another key"))
    else:
        how = "was made with" if signature_holds else "names"
        checks.append(CheckResult("key", True, f"the signature {how} the given key {given}"))
        if not signature_holds:
            checks.append(CheckResult("signature", False, f"the Ed25519 signature in {sig_path.name} does not verify: "
                                                          "the signature or its recorded digest was altered"))
        elif sig.public_key_sha256 != given:
            checks.append(CheckResult("signature", False, f"{sig_path.name} was altered: it names key "
                                                          f"{sig.public_key_sha256}"))
        else:
            checks.append(CheckResult("signature", True, "Ed25519 signature over the recorded digest is valid"))

    try:
        actual = canonical_digest(raw)
    except ValueError as exc:
        checks.append(CheckResult("digest", False, f"the evidence is {exc}, so it is not the signed document"))
    else:
        if actual == sig.evidence_sha256:
            checks.append(CheckResult("digest", True, f"canonical SHA-256 {actual} is the signed digest"))
        else:
            checks.append(CheckResult("digest", False, f"the evidence changed after signing: canonical SHA-256 "
                                                       f"{actual}, signed {sig.evidence_sha256}"))
    return checks


def _verify_pdf(pdf_path: Path, raw: bytes) -> CheckResult:
    from auditor.report.pdf import read_pdf_evidence  # pypdf is only needed with --pdf

    embedded = read_pdf_evidence(pdf_path)
    if embedded.attachment is None:
        return CheckResult("pdf", False, f"{pdf_path.name} carries no embedded lbaudit evidence")
    attached_digest = sha256_hex(embedded.attachment)
    if embedded.recorded_sha256 != attached_digest:
        return CheckResult("pdf", False, f"{pdf_path.name} records evidence SHA-256 {embedded.recorded_sha256}, "
                                         f"but its attachment has {attached_digest}: the PDF was altered")
    if not embedded.printed:
        return CheckResult("pdf", False, f"{pdf_path.name} does not print the SHA-256 of its attachment "
                                         "on its cover: the PDF was altered")
    file_digest = sha256_hex(raw)
    if embedded.attachment == raw:
        return CheckResult("pdf", True, f"{pdf_path.name} prints and embeds this evidence (SHA-256 {file_digest})")
    detail = (f"{pdf_path.name} was rendered from other evidence: it prints SHA-256 {attached_digest}, "
              f"the evidence file has {file_digest}")
    try:
        if canonical_digest(embedded.attachment) == canonical_digest(raw):
            detail += " (same content, different formatting: render the PDF again from this file)"
    except ValueError:
        pass
    return CheckResult("pdf", False, detail)


def verify(evidence_path: Path, pubkey_path: Path, pdf_path: Path | None = None) -> VerifyResult:
    """Check the evidence against its detached signature and the given public key (and a PDF)."""
    evidence_path = Path(evidence_path)
    key = load_public_key(Path(pubkey_path))
    raw = _read_evidence_bytes(evidence_path)
    checks = _verify_signature(evidence_path, raw, key)
    if pdf_path is not None:
        checks.append(_verify_pdf(Path(pdf_path), raw))
    return VerifyResult(checks)
