"""An Ed25519 public key of small order proves no signer: refused as ``--pubkey``, and a ``.sig``
recording one signs nothing.

The defect: under a point of order 1, 2, 4 or 8 an Ed25519 signature holds with no private key
at all (OpenSSL, so cryptography, verifies ``R = identity, S = 0`` under the identity point for
every message, and under the other seven points for one message in eight or so).  lbaudit read
such a point as a public key like any other: with a ``.pub`` holding the identity point,
``lbaudit verify`` said "verified" (exit 0) for evidence nobody signed, its ``.sig`` written by
hand; and a ``.sig`` recording that key "held by its own key", so reports named it as the key that
signed evidence anyone could have edited.  Now such a key file is exit 2 naming it, and such a
``.sig`` is no signature (the reports say unsigned).
"""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditor.attest.signing import (
    canonical_digest,
    generate_keypair,
    has_small_order,
    public_key_fingerprint,
    sign_evidence_file,
    signature_fingerprint,
)
from auditor.cli import cli
from auditor.model.result import ExitCode
from tests.evidence_fixtures import make_evidence, write_evidence_file

P = 2**255 - 19
ORDER_8_Y = ("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
             "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")


def _encoded(y: int, sign: int = 0) -> bytes:
    return (y | sign << 255).to_bytes(32, "little")


IDENTITY = _encoded(1)
# The eight points of small order (libsodium's list), and encodings OpenSSL reads as some of them.
SMALL_ORDER = {
    "identity": IDENTITY, "order 2": _encoded(P - 1), "order 4": _encoded(0), "order 4, x negative": _encoded(0, 1),
    **{f"order 8 ({n}{', x negative' if sign else ''})": _encoded(int.from_bytes(bytes.fromhex(y), "little"), sign)
       for n, y in enumerate(ORDER_8_Y) for sign in (0, 1)},
    "p (y = 0)": _encoded(P), "p + 1 (y = 1)": _encoded(P + 1), "identity, sign bit set": _encoded(1, 1),
}


def _pem(raw: bytes) -> bytes:
    return Ed25519PublicKey.from_public_bytes(raw).public_bytes(serialization.Encoding.PEM,
                                                                serialization.PublicFormat.SubjectPublicKeyInfo)


def _forge_signature(evidence_path, raw_key: bytes) -> None:
    """The .sig anyone can write for the evidence as it is: recorded key ``raw_key``, signature
    ``R = identity, S = 0``."""
    key = Ed25519PublicKey.from_public_bytes(raw_key)
    document = {"schema": "lbaudit/evidence-signature", "schema_version": "1.0", "algorithm": "ed25519",
                "evidence_sha256": canonical_digest(evidence_path.read_bytes()),
                "public_key_sha256": public_key_fingerprint(key),
                "public_key": base64.b64encode(raw_key).decode("ascii"),
                "signature": base64.b64encode(IDENTITY + bytes(32)).decode("ascii")}
    evidence_path.with_name(evidence_path.name + ".sig").write_text(json.dumps(document, indent=2))


@pytest.fixture(scope="module")
def unsigned(tmp_path_factory):
    """Evidence nobody signed, with a .sig written by hand under the identity point."""
    directory = tmp_path_factory.mktemp("small-order")
    path, _ = write_evidence_file(directory, make_evidence())
    _forge_signature(path, IDENTITY)
    return path


def _verify(evidence_path, pubkey_path):
    return CliRunner().invoke(cli, ["verify", str(evidence_path), "--pubkey", str(pubkey_path)])


def test_evidence_nobody_signed_is_not_verified_under_the_identity_point(unsigned, tmp_path):
    pubkey = tmp_path / "anything.pub"
    pubkey.write_bytes(_pem(IDENTITY))
    result = _verify(unsigned, pubkey)
    assert result.exit_code == ExitCode.USAGE == 2, result.output
    assert "verified:" not in result.output, result.output
    assert f"{pubkey}: not a usable Ed25519 public key: it is a point of small order" in result.output, result.output


@pytest.mark.parametrize("name", sorted(SMALL_ORDER))
def test_every_point_of_small_order_is_refused_as_the_public_key(unsigned, tmp_path, name):
    pubkey = tmp_path / "small.pub"
    pubkey.write_bytes(_pem(SMALL_ORDER[name]))
    result = _verify(unsigned, pubkey)
    assert result.exit_code == ExitCode.USAGE == 2, result.output
    assert "point of small order" in result.output, result.output


def test_a_sig_recording_the_identity_point_names_no_signing_key(unsigned):
    """What the reports print as the signing key (``report``, ``show``; pipeline and history import
    read it the same way): nothing, not the fingerprint of a key that signs every message."""
    assert signature_fingerprint(unsigned) is None


def test_keys_keygen_makes_still_verify(tmp_path):
    path, _ = write_evidence_file(tmp_path, make_evidence())
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    result = _verify(path, public)
    assert result.exit_code == ExitCode.COMPLIANT, result.output
    assert signature_fingerprint(path) is not None


def test_no_generated_key_has_small_order():
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    assert not any(has_small_order(Ed25519PrivateKey.generate().public_key().public_bytes(*raw)) for _ in range(500))
    assert all(has_small_order(point) for point in SMALL_ORDER.values())
