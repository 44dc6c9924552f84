"""A key or certificate path that leads nowhere is exit 2 saying why, not only that it cannot be read.

``--sign-key``, ``--snapshot-pubkey``, ``--pdf-cert`` and ``--pdf-cert-key`` are checked to be
readable before any work (so a nightly scan does not evaluate, then fail at the signing).  The check
said "x: cannot read signing key" and no more: a missing file, a link to nowhere and a link loop
read the same, and the user was left to find out which.  The reason is now the message's end.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import snapshot

REPO = Path(__file__).resolve().parents[2]
CORP = REPO / "policies" / "corp.yaml"


def _missing(path: Path) -> None:
    pass


def _link_to_nowhere(path: Path) -> None:
    path.symlink_to(path.with_name("nowhere"))


def _link_loop(path: Path) -> None:
    path.symlink_to(path.name)


CASES = {"missing": (_missing, "No such file or directory"),
         "link-to-nowhere": (_link_to_nowhere, "No such file or directory"),
         "link-loop": (_link_loop, "Too many levels of symbolic links")}
OPTIONS = {"--sign-key": "signing key", "--snapshot-pubkey": "snapshot public key"}


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    write_snapshot(snapshot(), tmp_path / "host.snapshot.json")
    return tmp_path


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("case", list(CASES))
def test_an_unreadable_key_path_says_why(inputs, option, case):
    make, reason = CASES[case]
    key = inputs / "lbaudit.key"
    make(key)
    evidence = inputs / "evidence.json"
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", inputs / "host.snapshot.json", "-o", evidence, "-q",
                     option, key, cwd=inputs)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr == f"lbaudit: {key}: cannot read {OPTIONS[option]}: {reason}\n"
    assert not evidence.exists()


@pytest.mark.parametrize("case", list(CASES))
def test_an_unreadable_certificate_path_says_why(inputs, case):
    make, reason = CASES[case]
    cert = inputs / "signer.crt"
    make(cert)
    key = inputs / "signer.key"
    key.write_bytes(b"")
    os.chmod(key, 0o600)
    evidence = inputs / "evidence.json"
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", inputs / "host.snapshot.json", "-o", evidence, "-q",
                     "--pdf", inputs / "a.pdf", "--pdf-cert", cert, "--pdf-cert-key", key, cwd=inputs)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr == f"lbaudit: {cert}: cannot read certificate: {reason}\n"
    assert not evidence.exists()
