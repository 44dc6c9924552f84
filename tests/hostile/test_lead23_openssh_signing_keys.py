"""An Ed25519 key in ssh-keygen's own format signs, as its public line verifies.

The defect: ``verify --pubkey`` takes an ``ssh-ed25519`` public line, but ``--sign-key`` refused the
private key ssh-keygen writes beside it (``-----BEGIN OPENSSH PRIVATE KEY-----``) as "not an
unencrypted PEM private key": a message about a format the user did not give, for a key that was
neither encrypted nor of another type.  Now it signs; one with a passphrase is refused as
encrypted, one of another type as not Ed25519, each exit 2 with nothing written.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli import run_cli

ROOT_DIR = "tests/fixtures/roots/audit-rules"

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen (openssh-client) is not installed")


def _ssh_key(tmp_path: Path, kind: str, passphrase: str = "") -> Path:
    tmp_path.mkdir(exist_ok=True)
    key = tmp_path / f"id_{kind}"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", "lbaudit test", "-f", str(key)],
                   check=True, capture_output=True, timeout=60)
    assert key.read_bytes().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    return key


def test_an_openssh_ed25519_key_signs_and_its_public_line_verifies(tmp_path):
    key = _ssh_key(tmp_path, "ed25519")
    evidence = tmp_path / "e.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", "policies/corp.yaml", "--root", ROOT_DIR, "-o", evidence,
                  "-q", "--sign-key", key)
    assert run.returncode in (0, 1, 3), run.stdout + run.stderr  # the image's verdict; signed either way
    assert evidence.with_name("e.json.sig").is_file()
    verified = run_cli("verify", evidence, "--pubkey", key.with_name("id_ed25519.pub"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    other = _ssh_key(tmp_path / "other", "ed25519")
    assert run_cli("verify", evidence, "--pubkey", other.with_name("id_ed25519.pub")).returncode != 0


def test_an_openssh_key_with_a_passphrase_is_refused_as_encrypted(tmp_path):
    key = _ssh_key(tmp_path, "ed25519", passphrase="correct horse")
    snapshot = tmp_path / "s.json"
    run = run_cli("collect", "--target", f"root:{ROOT_DIR}", "--output", snapshot, "--sign-key", key)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "an encrypted private key" in run.stderr
    assert not snapshot.exists()


def test_an_openssh_key_of_another_type_is_refused_as_not_ed25519(tmp_path):
    key = _ssh_key(tmp_path, "ecdsa")
    snapshot = tmp_path / "s.json"
    run = run_cli("collect", "--target", f"root:{ROOT_DIR}", "--output", snapshot, "--sign-key", key)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "not an Ed25519 private key" in run.stderr
    assert not snapshot.exists()
