"""A private key path that names a device or a FIFO is said to be one, never "too open".

The defect: ``--pdf-cert-key /dev/zero`` (and a FIFO there) was refused with "permissions 0666
are too open: a private key must be readable by its owner only (chmod 600 /dev/zero)": the mode
check ran on whatever the path named, and its fix, followed, breaks every program that opens
/dev/zero.  Now a key that is not a regular file is named for what it is (exit 2, before any
work, nothing written), and no chmod is suggested.
"""

from __future__ import annotations

import os

import pytest

from auditor.attest.signing import generate_keypair
from tests.cli import run_cli

ROOT_DIR = "tests/fixtures/roots/audit-rules"


@pytest.mark.parametrize("kind", ["character device", "FIFO"])
def test_a_pdf_certificate_key_that_is_no_file_is_named_for_what_it_is(tmp_path, kind):
    private, _ = generate_keypair(tmp_path / "keys")
    if kind == "FIFO":
        key = tmp_path / "key.fifo"
        os.mkfifo(key, 0o644)
    else:
        key = "/dev/zero"
    evidence = tmp_path / "e.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", "policies/corp.yaml", "--root", ROOT_DIR, "-o", evidence,
                  "--pdf", tmp_path / "a.pdf", "--pdf-cert", private, "--pdf-cert-key", key, timeout=30)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"is a {kind}" in run.stderr
    assert "chmod" not in run.stderr and "too open" not in run.stderr
    assert not evidence.exists()


def test_a_signing_key_that_is_no_file_is_named_for_what_it_is(tmp_path):
    snapshot = tmp_path / "s.json"
    run = run_cli("collect", "--target", f"root:{ROOT_DIR}", "--output", snapshot, "--sign-key", "/dev/zero",
                  timeout=30)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "is a character device" in run.stderr and "chmod" not in run.stderr
    assert not snapshot.exists()
