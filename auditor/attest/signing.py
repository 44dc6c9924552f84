"""Ed25519 signatures over the evidence JSON, and their verification.

What is signed
    The SHA-256 of the *canonical JSON* of the evidence document (:func:`auditor.model.base.canonical_json`
    of the parsed file: sorted keys, no insignificant whitespace, UTF-8).  Re-indenting or re-ordering
    the keys of ``evidence.json`` therefore keeps the signature valid, while changing any value breaks
    it.  The Ed25519 message is the ASCII text ``lbaudit-evidence-sha256:<hex digest>``; the prefix
    keeps an lbaudit key from ever vouching for some other protocol's 32 bytes.

Snapshots (``lbaudit collect --sign-key``) are signed the same way, in their own domain: the
message is ``lbaudit-snapshot-sha256:<hex>`` and the ``.sig`` has ``"schema":
"lbaudit/snapshot-signature"`` and ``snapshot_sha256``, so an evidence signature can never pass
for a snapshot signature (see :class:`SignedKind`).  ``evaluate --snapshot-pubkey`` checks it with
the same steps and exit codes as ``lbaudit verify``.

Where the signature travels
    In a detached file next to the evidence, ``<evidence>.sig``: a small JSON document::

        {"schema": "lbaudit/evidence-signature", "schema_version": "1.0", "algorithm": "ed25519",
         "evidence_sha256": "<hex of the canonical JSON>", "public_key_sha256": "<key fingerprint>",
         "public_key": "<base64 of the raw 32-byte key>", "signature": "<base64>"}

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
    ``pdf``        (with ``--pdf``) the PDF is exactly what lbaudit       else 13 (VERIFY_PDF_MISMATCH)
                   renders from this evidence (rendered again, compared
                   byte for byte), optionally followed by one valid PAdES
                   signature over the whole file and nothing else
    Unreadable or malformed inputs (key, signature file, PDF, an evidence file that cannot be read,
    or intact signed evidence that is not valid evidence: :func:`auditor.attest.verify.verify`)
    are usage errors (2, :class:`auditor.errors.InputError`): nothing could be verified.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditor.errors import InputError, LbauditError
from auditor.model.base import canonical_json, sha256_hex
from auditor.model.evidence import Evidence
from auditor.model.result import ExitCode
from auditor.safeio import kind_of, replaceable_by_others
from auditor.storage.evidence import load_evidence, parse_evidence
from auditor.storage.jsonfile import loads_strict, parse_document, read_bounded
from auditor.storage.outputs import (
    OutputExists,
    make_directory,
    refuse_standard_stream_file,
    signature_of,
    write_atomic,
)
from auditor.text import quoted_name

SIGNATURE_SCHEMA = "lbaudit/evidence-signature"
SIGNATURE_SCHEMA_VERSION = "1.0"
ALGORITHM = "ed25519"
MESSAGE_PREFIX = b"lbaudit-evidence-sha256:"
MAX_KEY_BYTES = 64 * 1024
MAX_SIGNATURE_BYTES = 64 * 1024


# ------------------------------------------------------------------ keys

def public_key_fingerprint(key: Ed25519PublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return sha256_hex(der)


def _write_private_key(path: Path, data: bytes, force: bool) -> None:
    """Create the key file with mode 0600 from its first byte: never group/world readable, even briefly.

    Without ``force`` the refusal to overwrite is atomic (the writer links, it does not rename);
    with ``force`` the new key replaces the old one whole, so no reader ever sees half a key.
    """
    try:
        write_atomic(path, data, private=True, replace=force)
    except OutputExists as exc:
        raise InputError(f"{path}: a key already exists; refusing to overwrite it (use --force)") from exc


def generate_keypair(out_dir: Path, name: str = "lbaudit", force: bool = False) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>.key`` (PKCS#8 PEM, mode 0600) and ``<name>.pub`` (PEM); return both paths."""
    out_dir = Path(out_dir)
    # The name is a file name inside out_dir, never a path: "../x" or "/etc/x" wrote the private key
    # outside the directory the user named; a newline or a control character makes a name no
    # listing shows faithfully.
    if (not name or name in (".", "..") or "/" in name
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name)):
        raise InputError(f"--name {name!r}: not a plain file name (no '/', no control characters, not empty)")
    private_path = out_dir / f"{name}.key"
    public_path = out_dir / f"{name}.pub"
    # --force replaces key files, never what a symlink there points to (a .pub linked to /etc/passwd
    # was overwritten with the key), nor anything but a regular file: refused before either file is
    # written, and with or without --force (without, a directory there was "a key already exists
    # ... (use --force)", and --force refused it too).
    for path in (private_path, public_path):
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise InputError(f"{path}: cannot write the key: {exc.strerror or exc}") from exc
        if stat.S_ISLNK(mode):
            raise InputError(f"{path}: is a symbolic link; a key is written only to a plain path "
                             "(remove the link or choose another --out/--name)")
        if not stat.S_ISREG(mode):
            raise InputError(f"{path}: cannot write the key: it is {kind_of(mode)}, not a regular file "
                             "(lbaudit replaces only regular files)")
        refuse_standard_stream_file(path, "key")
    if not force:
        existing = [p for p in (private_path, public_path) if os.path.lexists(p)]
        if existing:
            raise InputError(f"{existing[0]}: a key already exists; refusing to overwrite it (use --force)")
    if not out_dir.parent.is_dir():  # one level is created (mode 0700), never a whole tree
        raise InputError(f"{out_dir}: cannot create key directory: {out_dir.parent} does not exist "
                         "(lbaudit does not create it)")
    try:
        make_directory(out_dir, 0o700)
    except InputError as exc:
        raise InputError(f"{out_dir}: cannot create key directory: {exc}") from exc
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_private_key(private_path, private_pem, force)
    try:
        # an unwritable path is an InputError already
        write_atomic(public_path, public_pem, replace=force, through_symlink=False, key=True)
    except OutputExists as exc:
        raise InputError(f"{public_path}: a key already exists; refusing to overwrite it (use --force)") from exc
    return private_path, public_path


def refuse_exposed_key(path: Path) -> None:
    """A private key others can read is no longer private: refuse it, as ssh does, with the fix.
    One that belongs to another user is theirs to read whatever its mode (and to chmod): what it
    signs they could have signed (root signing with alice's 0600 key), as a scheduled scan's key
    already had to be root's alone.  Root's own key is the signer's too: only root reads it."""
    try:
        status = os.stat(path)
    except OSError:
        return  # reading it says what is wrong
    if not stat.S_ISREG(status.st_mode):
        # said before its mode: "permissions 0666 are too open (chmod 600 /dev/zero)" for a device
        raise InputError(f"{path}: is {kind_of(status.st_mode)}, not a private key (a regular file)")
    mode = stat.S_IMODE(status.st_mode)
    signer = os.geteuid() if hasattr(os, "geteuid") else None  # POSIX owners; Windows has none here
    if signer is not None and status.st_uid not in (signer, 0):
        raise InputError(f"{path}: belongs to uid {status.st_uid}, not to the user signing (uid {signer}): "
                         f"its owner can read a private key whatever its mode; a private key must be the signer's "
                         f"alone (chown {signer} {path}; chmod 600 {path})")
    if mode & 0o077:
        raise InputError(f"{path}: permissions {mode:04o} are too open: a private key must be readable by its "
                         f"owner only (chmod 600 {path})")


def refuse_replaceable_public_key(path: Path) -> None:
    """A public key another user may replace is their trust anchor: whoever puts their own key in its
    place has what they sign verified (every snapshot of a fleet, each host's evidence then recording
    it as verified).  Refused, with the fix (auditor.safeio.replaceable_by_others: its owner, its mode,
    the directories above it).  Its group may write it when that group is its owner's private one
    (keygen's ``.pub`` honours the umask but for others: 0664 under a umask of 0); a shared group's
    members could put their key in its place."""
    try:
        why = replaceable_by_others(path)
    except OSError:
        return  # reading it says what is wrong
    if why is not None:
        raise InputError(f"{path}: not trusted as a public key that verifies signatures: {why}")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = read_bounded(Path(path), MAX_KEY_BYTES, "an Ed25519 private key")
    if b"-----BEGIN PUBLIC KEY-----" in data or data.lstrip().startswith(b"ssh-"):
        # said first: "permissions 0644 are too open ... (chmod 600 keys/lbaudit.pub)" sent the user to
        # hide a public key, after which it was still not a private key
        raise InputError(f"{path}: is a public key; signing takes the private key (lbaudit keygen writes it as "
                         "NAME.key beside NAME.pub)")
    refuse_exposed_key(Path(path))
    # ssh-keygen's own format too (`ssh-keygen -t ed25519 -N ""`), whose public line verify takes:
    # such a key was refused as "not an unencrypted PEM private key", which it is not asked to be.
    openssh = b"-----BEGIN OPENSSH PRIVATE KEY-----" in data
    try:
        if openssh:
            key = serialization.load_ssh_private_key(data, password=None)
        else:
            key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # cryptography's way of saying the key needs a password
        raise InputError(f"{path}: an encrypted private key; signing takes an unencrypted one (lbaudit keygen "
                         "writes one; ssh-keygen -t ed25519 -N '' too)") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:  # a key type this cryptography lacks, too
        kind = "OpenSSH" if openssh else "PEM"
        raise InputError(f"{path}: not a readable {kind} private key (lbaudit keygen writes one)") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 private key (lbaudit keygen makes one)")
    return key


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n[A-Za-z0-9+/=\r\n]*-----END \1-----")


def _refuse_more_than_one_key(path: Path, data: bytes) -> None:
    """The public key file is the verifier's trust anchor, so it must name one key and nothing else.

    cryptography reads the first PEM block (or OpenSSH line) and ignores the rest: a file holding
    another key before the signer's verified evidence signed with that other key, and text around
    the block (whatever it says) passed unseen.  One PEM block, or one OpenSSH line, and blank
    space around it."""
    text = data.strip()
    if text.startswith(b"ssh-"):
        if len(text.splitlines()) != 1:
            raise InputError(f"{path}: holds more than one line; a public key file holds exactly one key "
                             "(one ssh-ed25519 line)")
        return
    blocks = list(_PEM_BLOCK.finditer(text))
    begins = text.count(b"-----BEGIN ")
    if max(len(blocks), begins) > 1:
        raise InputError(f"{path}: holds {max(len(blocks), begins)} PEM blocks; a public key file holds exactly one key "
                         "(which of them would be trusted is not for lbaudit to guess)")
    if len(blocks) == 1 and (blocks[0].start() != 0 or blocks[0].end() != len(text)):
        raise InputError(f"{path}: has text outside its PEM block; a public key file holds exactly one key "
                         "and nothing else")


# Ed25519's curve, -x^2 + y^2 = 1 + d x^2 y^2 over GF(p): only to tell its few points of small order.
_FIELD_PRIME = 2**255 - 19
_CURVE_D = -121665 * pow(121666, -1, _FIELD_PRIME) % _FIELD_PRIME


def _edwards_double(x: int, y: int) -> tuple[int, int]:
    p, t = _FIELD_PRIME, _CURVE_D * x * x * y * y % _FIELD_PRIME
    return 2 * x * y * pow(1 + t, -1, p) % p, (y * y + x * x) * pow(1 - t, -1, p) % p


def has_small_order(public_key: bytes) -> bool:
    """Whether the 32 bytes of an Ed25519 public key encode a point of order 1, 2, 4 or 8 (y read
    modulo p, its sign bit ignored: OpenSSL accepts those non-canonical encodings too).

    Under such a key an Ed25519 signature holds for any message, or for one in eight, with no
    private key at all: OpenSSL (so cryptography) verifies ``R = identity, S = 0`` under the
    identity point for every message.  A key lbaudit keygen makes is a multiple of the prime-order
    base point, of small order only were it the identity (a chance of about 2^-250)."""
    p = _FIELD_PRIME
    y = int.from_bytes(public_key, "little") & ((1 << 255) - 1)
    y %= p
    squared = (y * y - 1) * pow(_CURVE_D * y * y + 1, -1, p) % p  # x^2
    x = pow(squared, (p + 3) // 8, p)
    if (x * x - squared) % p:
        x = x * pow(2, (p - 1) // 4, p) % p
    if (x * x - squared) % p:
        return False  # no point of the curve: no signature holds under it
    for _ in range(3):
        x, y = _edwards_double(x, y)
    return (x, y) == (0, 1)


def _raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM public key as ``lbaudit keygen`` writes it; an OpenSSH ``ssh-ed25519`` line works too."""
    data = read_bounded(Path(path), MAX_KEY_BYTES, "an Ed25519 public key")
    refuse_replaceable_public_key(Path(path))
    _refuse_more_than_one_key(Path(path), data)
    try:
        if data.lstrip().startswith(b"ssh-"):
            key = serialization.load_ssh_public_key(data.strip())
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as exc:
        raise InputError(f"{path}: not a PEM public key (lbaudit keygen writes one as NAME.pub)") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path}: not an Ed25519 public key (lbaudit keygen makes one)")
    if has_small_order(_raw_public_key(key)):
        # a trust anchor that anchors nothing: evidence "signed" by nobody verified under it
        raise InputError(f"{path}: not a usable Ed25519 public key: it is a point of small order, under which "
                         "signatures hold without any private key (lbaudit keygen never makes one)")
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


def read_evidence_bytes(evidence_path: Path) -> bytes:
    """The evidence file's bytes for its digest: bounded, and only from a regular file."""
    from auditor.storage.evidence import EVIDENCE_WHAT, MAX_EVIDENCE_BYTES

    return read_bounded(evidence_path, MAX_EVIDENCE_BYTES, EVIDENCE_WHAT)


@dataclass(frozen=True)
class SignedKind:
    """What a detached signature signs: one format, a schema and a message domain per kind.

    The Ed25519 message is ``<prefix><hex digest>``; the prefixes differ, so a signature over
    evidence can never be replayed as one over a snapshot (or the other way round), even when
    somebody arranges for the two documents to have the same digest.
    """

    name: str  # "evidence", "snapshot": used in messages
    schema: str  # of the .sig document
    digest_field: str  # the .sig field holding the signed canonical digest
    prefix: bytes  # of the Ed25519 message


EVIDENCE = SignedKind("evidence", SIGNATURE_SCHEMA, "evidence_sha256", MESSAGE_PREFIX)
SNAPSHOT = SignedKind("snapshot", "lbaudit/snapshot-signature", "snapshot_sha256", b"lbaudit-snapshot-sha256:")


def _message(digest: str, kind: SignedKind = EVIDENCE) -> bytes:
    return kind.prefix + digest.encode("ascii")


def signature_path(evidence_path: Path) -> Path:
    """``<evidence>.sig``, beside the file itself (auditor.storage.outputs.signature_of)."""
    return signature_of(evidence_path)


@dataclass(frozen=True)
class WrittenSignature:
    """A detached signature this process has just written: the key's fingerprint and the ``.sig``
    document's bytes as written (recorded as they are, never read back from beside the file)."""

    fingerprint: str
    document: bytes


def _write_signature(path: Path, raw: bytes, key: Ed25519PrivateKey, kind: SignedKind) -> WrittenSignature:
    """Write ``<path>.sig`` over the canonical digest of ``raw``; return what was written."""
    try:
        digest = canonical_digest(raw)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from exc
    fingerprint = public_key_fingerprint(key.public_key())
    document = {
        "schema": kind.schema,
        "schema_version": SIGNATURE_SCHEMA_VERSION,
        "algorithm": ALGORITHM,
        kind.digest_field: digest,
        "public_key_sha256": fingerprint,
        # The key itself, so that a report can check the signature before it names the key
        # (signature_fingerprint): a fingerprint alone is a claim anyone can write.
        "public_key": base64.b64encode(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                                     serialization.PublicFormat.Raw)).decode("ascii"),
        "signature": base64.b64encode(key.sign(_message(digest, kind))).decode("ascii"),
    }
    data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
    write_atomic(signature_path(path), data)
    return WrittenSignature(fingerprint, data)


def sign_evidence_file(evidence_path: Path, key_path: Path) -> str:
    """Sign an evidence file lbaudit did not just write itself, as it is on disk (validated first);
    write ``<evidence>.sig``; return the key fingerprint.  Evidence this process writes is signed
    from its bytes (:func:`sign_written`)."""
    evidence_path = Path(evidence_path)
    key = load_private_key(key_path)
    _, raw = load_evidence(evidence_path)  # only lbaudit evidence is signed, and only valid evidence
    return _write_signature(evidence_path, raw, key, EVIDENCE).fingerprint


def sign_written(path: Path, raw: bytes, key: Ed25519PrivateKey | Path, *, snapshot: bool = False) -> WrittenSignature:
    """Sign the evidence (or, with ``snapshot``, the snapshot) this process has just built and
    written to ``path`` as ``raw``: the signature is over ``raw``, never over the file read back.
    Between the write and a read-back, whoever can replace the file (a shared out dir, a target's
    snapshot directory) had their file signed with this key.  ``key`` is a loaded key or its file."""
    if not isinstance(key, Ed25519PrivateKey):
        key = load_private_key(Path(key))
    return _write_signature(Path(path), raw, key, SNAPSHOT if snapshot else EVIDENCE)


def sign_written_evidence(evidence_path: Path, raw: bytes, key: Ed25519PrivateKey) -> bytes:
    """:func:`sign_written` for evidence (``lbaudit fleet evaluate``: one loaded key, many hosts);
    the ``.sig`` document written beside it."""
    return sign_written(evidence_path, raw, key).document


@dataclass(frozen=True)
class SignatureDocument:
    signed_sha256: str  # the canonical digest the signature covers (evidence_sha256 / snapshot_sha256)
    public_key_sha256: str
    signature: bytes
    # The signing key as it claims itself (raw Ed25519, 32 bytes); absent from a .sig written before
    # lbaudit recorded it.  Never a trust anchor: verify checks against --pubkey.
    public_key: bytes | None = None


def _is_hex_digest(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def read_signature(path: Path, kind: SignedKind = EVIDENCE) -> SignatureDocument:
    """Parse a ``.sig`` file; anything malformed is an InputError naming the file."""
    what = f"an lbaudit {kind.name} signature"
    return parse_signature(read_bounded(path, MAX_SIGNATURE_BYTES, what), Path(path), kind)


def parse_signature(raw: bytes, path: Path, kind: SignedKind = EVIDENCE) -> SignatureDocument:
    """Parse the bytes of a ``.sig`` document (``path`` names it in messages); InputError if malformed."""
    what = f"an lbaudit {kind.name} signature"
    data = parse_document(raw, str(path), what)
    if not isinstance(data, dict) or data.get("schema") != kind.schema:
        raise InputError(f"{path}: not {what} (expected \"schema\": \"{kind.schema}\")")
    if data.get("schema_version") != SIGNATURE_SCHEMA_VERSION:
        raise InputError(f"{path}: signature schema version {data.get('schema_version')!r} is not supported")
    if data.get("algorithm") != ALGORITHM:
        raise InputError(f"{path}: signature algorithm {data.get('algorithm')!r} is not supported (expected ed25519)")
    # What lbaudit writes, and nothing else: a key it does not know (a misspelt "public_key" that
    # left the key unread) is a document of another writer, refused as every lbaudit document is.
    known = {"schema", "schema_version", "algorithm", kind.digest_field, "public_key_sha256", "public_key", "signature"}
    unknown = sorted(str(key) for key in data if key not in known)
    if unknown:
        names = ", ".join(quoted_name(name) for name in unknown[:5])
        raise InputError(f"{path}: unknown key{'s' if len(unknown) > 1 else ''} {names} in {what} (expected only "
                         f"{', '.join(sorted(known))})")
    for name in (kind.digest_field, "public_key_sha256"):
        if not _is_hex_digest(data.get(name)):
            raise InputError(f"{path}: {name} is not a lowercase hex SHA-256")
    # Text, as lbaudit writes them: str() of a number, a list or null made base64 of them ("1234"
    # decodes), and a document without a signature read as one of no bytes.
    if type(data.get("signature")) is not str:
        raise InputError(f"{path}: signature is not base64 text")
    try:
        signature = base64.b64decode(data["signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"{path}: signature is not base64") from exc
    public_key = None
    if "public_key" in data:
        if type(data["public_key"]) is not str:
            raise InputError(f"{path}: public_key is not an Ed25519 public key (32 bytes, base64)")
        try:
            public_key = base64.b64decode(data["public_key"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InputError(f"{path}: public_key is not base64") from exc
        if len(public_key) != 32:
            raise InputError(f"{path}: public_key is not an Ed25519 public key (32 bytes, base64)")
    return SignatureDocument(data[kind.digest_field], data["public_key_sha256"], signature, public_key)


def _holds_by_its_own_key(signature: SignatureDocument, kind: SignedKind = EVIDENCE) -> bool:
    """Whether the signature was made over its recorded digest by the key it records, the key whose
    fingerprint it names: what lets a report name that key without the verifier's public key."""
    if signature.public_key is None or has_small_order(signature.public_key):
        return False  # a key of small order proves no signer (has_small_order)
    try:
        key = Ed25519PublicKey.from_public_bytes(signature.public_key)
    except ValueError:  # 32 bytes that are no point of the curve: no key signed anything
        return False
    if public_key_fingerprint(key) != signature.public_key_sha256:
        return False
    try:
        key.verify(signature.signature, _message(signature.signed_sha256, kind))
    except InvalidSignature:
        return False
    return True


def signature_fingerprint(evidence_path: Path) -> str | None:
    """The key fingerprint the detached signature names, or None when the evidence is unsigned.

    Whether that key is the one to trust is for ``lbaudit verify --pubkey`` to say; this is what the
    reports print.  A ``.sig`` whose recorded digest is not that of the evidence beside it (left
    over from an earlier run, say) signs something else, and one whose signature does not hold under
    the key it records (a fingerprint written by hand, garbage signature bytes, a .sig written
    before lbaudit recorded the key), proves no key signed anything: either counts as no signature,
    so the reports say "unsigned" rather than naming a key that never signed this evidence.
    """
    evidence_path = Path(evidence_path)
    path = signature_path(evidence_path)
    if not os.path.lexists(path):
        return None
    return key_that_signed(read_signature(path), read_evidence_bytes(evidence_path))


class EvidenceChangedSinceSigned(LbauditError):
    """``lbaudit report``: the ``.sig`` beside the evidence holds under the key it records, over a
    digest that is not the evidence's: the evidence was changed after it was signed (exit 10, as
    ``verify`` says)."""

    exit_code = ExitCode.VERIFY_DIGEST


def key_that_signed_evidence(evidence_path: Path, raw: bytes, refused: str = "no report is rendered from it") -> str | None:
    """For a report of evidence this process did not write: the fingerprint of the key whose ``.sig``
    beside ``evidence_path`` signs the evidence bytes ``raw`` (:func:`key_that_signed`), None when
    there is no ``.sig`` or it proves no key signed anything (as :func:`signature_fingerprint`).

    A ``.sig`` whose signature holds under the key it records, over another digest, proves the
    evidence was changed after that key signed it: :class:`EvidenceChangedSinceSigned`.  Reports
    of it said "unsigned" and exited 0, so an attestation of evidence edited after signing (a
    failure turned pass, counts and verdict to match) went out without a word."""
    path = signature_path(Path(evidence_path))
    if not os.path.exists(path):  # a link to nothing is no signature either, as the reports have read it
        return None
    signature = read_signature(path)
    try:
        digest: str | None = canonical_digest(raw)
        its_digest = f"its canonical SHA-256 is {digest}"
    except ValueError as exc:  # no canonical form (a duplicate key): what lbaudit signed had one
        digest = None
        # said as such: "its canonical SHA-256 is None" named no digest and not what is wrong
        its_digest = f"it has no canonical form ({exc})"
    if digest != signature.signed_sha256 and _holds_by_its_own_key(signature):
        raise EvidenceChangedSinceSigned(
            f"{evidence_path}: changed after it was signed: {its_digest}, but {path} signs "
            f"{signature.signed_sha256} (key {signature.public_key_sha256}); {refused} "
            f"(lbaudit verify fails its digest too, exit 10).  If the evidence is not meant to be signed, remove "
            f"{path.name}")
    return key_that_signed(signature, raw)


def read_evidence_unchanged_since_signed(evidence_path: Path, refused: str = "no report is rendered from it") -> bytes:
    """The bytes of an evidence file a command reads back to print or compare (``show``, ``diff``),
    refused with :class:`EvidenceChangedSinceSigned` (exit 10) when the ``.sig`` beside it proves it
    was changed after it was signed, as ``report`` and ``verify`` refuse it.  One place for every
    such reader: ``show`` printed evidence edited after signing (a host name no digest inside the
    evidence covers) as a valid file, exit 0, after ``diff`` had been taught to refuse it."""
    raw = read_evidence_bytes(evidence_path)
    key_that_signed_evidence(evidence_path, raw, refused)
    return raw


def load_evidence_unchanged_since_signed(evidence_path: Path,
                                         refused: str = "no report is rendered from it") -> tuple[Evidence, bytes]:
    """The evidence at ``evidence_path`` validated, and its bytes, for a command that renders or
    records it (``report``, ``history import``): its ``.sig`` is looked at before anything else, as
    ``show`` and ``diff`` do.  Validated first, a failure turned pass with the summary left as signed
    was refused as contradicting its findings (exit 2) there, and as tampered (exit 10) at the others."""
    raw = read_evidence_unchanged_since_signed(evidence_path, refused)
    return parse_evidence(raw, str(evidence_path)), raw


def key_that_signed(signature: SignatureDocument, raw: bytes) -> str | None:
    """The fingerprint of the key that provably signed the evidence bytes ``raw`` with ``signature``
    (its digest is theirs and it holds under the key it records), else None: see
    :func:`signature_fingerprint`."""
    try:
        matches = canonical_digest(raw) == signature.signed_sha256
    except ValueError:
        matches = False
    return signature.public_key_sha256 if matches and _holds_by_its_own_key(signature) else None


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
    # What the signed bytes say they are (host, policy, when, verdict), read from the evidence once
    # its signature and digest hold: a signed file of host B renamed to A.json verifies, and only
    # this line tells the reader it is B's.  Empty when the evidence was not read.
    subject: str = ""

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


def verify_signature(evidence_path: Path, raw: bytes, key: Ed25519PublicKey,
                      kind: SignedKind = EVIDENCE) -> list[CheckResult]:
    sig_path = signature_path(evidence_path)
    given = public_key_fingerprint(key)
    if not os.path.lexists(sig_path):
        return [
            CheckResult("key", None, f"not checked: the {kind.name} is not signed"),
            CheckResult("signature", False, f"the {kind.name} is not signed: {sig_path} does not exist"),
            CheckResult("digest", None, "not checked: no signed digest to compare with"),
        ]
    sig = read_signature(sig_path, kind)
    try:
        key.verify(sig.signature, _message(sig.signed_sha256, kind))
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
        elif sig.public_key is not None and sig.public_key != key.public_bytes(serialization.Encoding.Raw,
                                                                             serialization.PublicFormat.Raw):
            # The recorded key is what reports check the signature with before they name its key
            # (signature_fingerprint): another one there made every report call verified evidence
            # unsigned, and the .sig was verified although it is not what lbaudit wrote.
            checks.append(CheckResult("signature", False, f"{sig_path.name} was altered: the public key it "
                                                          "records is not the given key, whose fingerprint it names"))
        else:
            checks.append(CheckResult("signature", True, "Ed25519 signature over the recorded digest is valid"))

    try:
        actual = canonical_digest(raw)
    except ValueError as exc:
        checks.append(CheckResult("digest", False, f"the {kind.name} is {exc}, so it is not the signed document"))
    else:
        if actual == sig.signed_sha256:
            checks.append(CheckResult("digest", True, f"canonical SHA-256 {actual} is the signed digest"))
        else:
            checks.append(CheckResult("digest", False, f"the {kind.name} changed after signing: canonical SHA-256 "
                                                       f"{actual}, signed {sig.signed_sha256}"))
    return checks


class SnapshotNotVerified(LbauditError):
    """``evaluate --snapshot-pubkey``: the snapshot's signature does not hold; exit as verify would."""

    def __init__(self, snapshot_path: Path, result: VerifyResult):
        failed = ", ".join(c.name for c in result.failed)
        super().__init__(f"{snapshot_path}: snapshot NOT verified ({failed} failed); refusing to evaluate it")
        self.result = result
        self.exit_code = result.exit_code

    def render(self) -> str:
        lines = [str(self)]
        lines += [f"  {c.name:<10} {({True: 'ok', False: 'FAIL', None: '--'})[c.ok]:<5} {c.detail}"
                  for c in self.result.checks]
        return "\n".join(lines)


def verify_snapshot_bytes(snapshot_path: Path, raw: bytes, key: Ed25519PublicKey) -> VerifyResult:
    """Check the bytes ``raw`` read from ``snapshot_path`` against ``<snapshot>.sig`` and the public key.

    The caller passes the bytes it is about to evaluate, so what is verified is what is evaluated
    (no second read that a rewrite in between could change).  Same checks and exit codes as
    :func:`auditor.attest.verify.verify` without ``--pdf``, in the snapshot signature domain.
    ``key``: loaded once by the caller, so the fingerprint it records is that of the key that verified.
    """
    return VerifyResult(verify_signature(Path(snapshot_path), raw, key, SNAPSHOT))


def snapshot_signature_state(snapshot_path: Path) -> str:
    """Without a public key: "not_checked" when a ``.sig`` lies beside the snapshot, else "unsigned"."""
    return "not_checked" if os.path.lexists(signature_path(Path(snapshot_path))) else "unsigned"
