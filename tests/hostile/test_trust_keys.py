"""Hostile key files for ``lbaudit keygen`` and ``lbaudit verify --pubkey``.

The defects:

* ``keygen --force`` wrote the new public key *through* a symlink at NAME.pub, so a link to any file
  (here: a file outside the key directory standing for /etc/passwd) was overwritten with the key,
  after the private key had already been replaced.  Now a symlink at either key path is refused
  (exit 2) before either file is written.
* ``verify --pubkey`` read the first PEM block (or OpenSSH line) of the file and ignored the rest:
  a public key file holding someone else's key first verified evidence that key signed (exit 0),
  and text around the block passed unseen.  The public key is the verifier's trust anchor; a file
  with more than one key, or anything beside it, is exit 2.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditor.attest.signing import generate_keypair, sign_evidence_file
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


def _ssh(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """Evidence signed by an attacker's key, the attacker's key, and the real signer's public key."""
    directory = tmp_path_factory.mktemp("signed")
    path, _ = write_evidence_file(directory, make_evidence())
    attacker_private, attacker_public = generate_keypair(directory / "attacker")
    sign_evidence_file(path, attacker_private)
    _, genuine_public = generate_keypair(directory / "genuine")
    return path, attacker_public.read_bytes(), genuine_public.read_bytes()


def _verify_with(signed, tmp_path: Path, content: bytes):
    evidence, _, _ = signed
    pubkey = tmp_path / "trusted.pub"
    pubkey.write_bytes(content)
    return run_cli("verify", evidence, "--pubkey", pubkey, timeout=30)


def test_the_signers_own_key_verifies(signed, tmp_path):
    _, attacker, _ = signed
    assert _verify_with(signed, tmp_path, attacker).returncode == 0


@pytest.mark.parametrize("order", ["other-key-first", "trusted-key-first"])
def test_a_pubkey_file_with_two_pem_keys_is_exit_2(signed, tmp_path, order):
    _, attacker, genuine = signed
    run = _verify_with(signed, tmp_path, attacker + genuine if order == "other-key-first" else genuine + attacker)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "trusted.pub: holds 2 PEM blocks; a public key file holds exactly one key" in run.stderr
    assert "verified" not in run.stdout


@pytest.mark.parametrize("content", [
    pytest.param(lambda pem: b"comment before the key\n" + pem, id="text-before"),
    pytest.param(lambda pem: pem + b"text after the key\n", id="text-after"),
])
def test_a_pubkey_file_with_text_around_its_key_is_exit_2(signed, tmp_path, content):
    _, attacker, _ = signed
    run = _verify_with(signed, tmp_path, content(attacker))
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "trusted.pub: has text outside its PEM block" in run.stderr


def test_a_pubkey_file_with_two_openssh_lines_is_exit_2(signed, tmp_path):
    _, attacker_pem, _ = signed
    attacker = serialization.load_pem_public_key(attacker_pem)
    line = attacker.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    assert _verify_with(signed, tmp_path, line + b" signer@host\n").returncode == 0  # one line is fine
    run = _verify_with(signed, tmp_path, line + b"\n" + _ssh(Ed25519PrivateKey.generate()) + b"\n")
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "trusted.pub: holds more than one line" in run.stderr


@pytest.mark.parametrize("which", ["lbaudit.pub", "lbaudit.key"])
def test_keygen_force_refuses_a_symlinked_key_file_and_writes_nothing(tmp_path, which):
    keys = tmp_path / "keys"
    generate_keypair(keys)
    before = {p.name: p.read_bytes() for p in keys.iterdir()}
    victim = tmp_path / "passwd"
    victim.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (keys / which).unlink()
    os.symlink(victim, keys / which)
    run = run_cli("keygen", "--out", keys, "--force")
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert f"{which}: is a symbolic link; a key is written only to a plain path" in run.stderr
    assert victim.read_text(encoding="utf-8") == "root:x:0:0:root:/root:/bin/bash\n"
    other = "lbaudit.key" if which == "lbaudit.pub" else "lbaudit.pub"
    assert (keys / other).read_bytes() == before[other]  # the other key is not replaced either
    assert os.path.islink(keys / which)


def test_keygen_without_force_refuses_a_dangling_symlink(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    os.symlink(tmp_path / "elsewhere.pub", keys / "lbaudit.pub")
    run = run_cli("keygen", "--out", keys)
    assert run.returncode == 2
    # named for what it is (tests/hostile/test_outputs16_keygen_paths.py), not "a key already exists"
    assert "lbaudit.pub: is a symbolic link; a key is written only to a plain path" in run.stderr
    assert not (tmp_path / "elsewhere.pub").exists() and not (keys / "lbaudit.key").exists()


def test_keygen_force_keeps_the_private_key_0600_and_the_public_key_a_plain_file(tmp_path):
    keys = tmp_path / "keys"
    generate_keypair(keys)
    assert run_cli("keygen", "--out", keys, "--force", umask=0).returncode == 0
    assert stat.S_IMODE(os.lstat(keys / "lbaudit.key").st_mode) == 0o600
    assert stat.S_ISREG(os.lstat(keys / "lbaudit.pub").st_mode)
