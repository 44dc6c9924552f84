"""A private key that belongs to another user is not private to the one signing with it.

The defect: ``--sign-key`` (and ``--pdf-cert-key``) refused a key whose mode lets its group or
others read it, but not a key file owned by another user: that user reads it whatever its mode
(and may chmod it), so every signature it makes is theirs to make too, and ``verify --pubkey``
calls their forgeries verified.  Root signing with ``/home/alice/lbaudit.key`` (alice's, 0600)
signed its evidence and snapshots (exit 0).  A scheduled scan already refused such a key
(``schedule install``: "its key must be root's alone"); now every signer does: exit 2, nothing
written, naming the owner and the fix.
"""

from __future__ import annotations

import os

import pytest

from auditor.attest.signing import generate_keypair
from tests.cli import run_cli

ROOT_DIR = "tests/fixtures/roots/audit-rules"
ANOTHER_UID = 54321

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user takes root")


def test_a_signing_key_owned_by_another_user_is_refused(tmp_path):
    private, _ = generate_keypair(tmp_path / "keys")
    os.chown(private, ANOTHER_UID, -1)
    snapshot = tmp_path / "s.json"
    run = run_cli("collect", "--target", f"root:{ROOT_DIR}", "--output", snapshot, "--sign-key", private)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"uid {ANOTHER_UID}" in run.stderr and "chown" in run.stderr
    assert not snapshot.exists() and not snapshot.with_name("s.json.sig").exists()


def test_a_pdf_certificate_key_owned_by_another_user_is_refused(tmp_path):
    private, _ = generate_keypair(tmp_path / "keys")
    os.chown(private, ANOTHER_UID, -1)
    (tmp_path / "cert.pem").write_text("refused before it is read\n")
    evidence = tmp_path / "e.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", "policies/corp.yaml", "--root", ROOT_DIR, "-o", evidence,
                  "--pdf", tmp_path / "a.pdf", "--pdf-cert", tmp_path / "cert.pem", "--pdf-cert-key", private)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"uid {ANOTHER_UID}" in run.stderr
    assert not evidence.exists()


def test_the_signers_own_key_signs(tmp_path):
    private, _ = generate_keypair(tmp_path / "keys")
    snapshot = tmp_path / "s.json"
    run = run_cli("collect", "--target", f"root:{ROOT_DIR}", "--output", snapshot, "--sign-key", private)
    assert run.returncode == 0, run.stderr
    assert snapshot.with_name("s.json.sig").is_file()
