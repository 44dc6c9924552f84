"""The detached signature of evidence written through a symbolic link.

An output named through a link is written through it: ``-o latest.json``, a link to store/e.json,
replaces store/e.json.  Its signature (``<evidence>.sig``, written with ``--sign-key`` and removed
without, read by ``verify``) was placed beside the link instead, latest.json.sig, so store/e.json
kept the earlier run's store/e.json.sig beside the new evidence: ``verify store/e.json`` said the
evidence had changed after signing (exit 10, a false alarm of tampering), and a run without a key
left that stale signature vouching for evidence it never signed.  Now the signature is beside the
file itself, for the writer and for ``verify`` alike (auditor/storage/outputs.py ``signature_of``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.attest.signing import generate_keypair
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

WRITTEN, VERIFIED, SIGNATURE_INVALID = 1, 0, 11  # the snapshot's listener binds 0.0.0.0: the run fails its rule


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    generate_keypair(tmp_path / "keys")
    (tmp_path / "store").mkdir()
    return tmp_path


def evaluate(work: Path, *args: object):
    return run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", *args, cwd=work)


def verify(work: Path, evidence: str) -> int:
    return run_cli("verify", evidence, "--pubkey", "keys/lbaudit.pub", "-q", cwd=work).returncode


@pytest.mark.parametrize("link_to", ["store/e.json", "ABSOLUTE"])
def test_a_signed_run_through_a_link_signs_the_file_it_wrote(work, link_to):
    assert evaluate(work, "-o", "store/e.json", "--sign-key", "keys/lbaudit.key").returncode == WRITTEN
    os.symlink(work / "store" / "e.json" if link_to == "ABSOLUTE" else link_to, work / "latest.json")
    assert evaluate(work, "-o", "latest.json", "--sign-key", "keys/lbaudit.key").returncode == WRITTEN
    assert sorted(p.name for p in work.iterdir() if p.name.startswith("latest")) == ["latest.json"]
    assert sorted(p.name for p in (work / "store").iterdir()) == ["e.json", "e.json.sig"]
    assert verify(work, "store/e.json") == VERIFIED  # before: 10, the earlier run's signature beside it
    assert verify(work, "latest.json") == VERIFIED


def test_an_unsigned_run_through_a_link_removes_the_signature_beside_the_file_it_wrote(work):
    assert evaluate(work, "-o", "store/e.json", "--sign-key", "keys/lbaudit.key").returncode == WRITTEN
    os.symlink("store/e.json", work / "latest.json")
    assert evaluate(work, "-o", "latest.json").returncode == WRITTEN
    assert sorted(p.name for p in (work / "store").iterdir()) == ["e.json"]  # before: the stale e.json.sig stayed
    assert verify(work, "store/e.json") == SIGNATURE_INVALID  # not signed: no signature to check


def test_control_case_a_signed_run_without_links_is_verified(work):
    assert evaluate(work, "-o", "store/e.json", "--sign-key", "keys/lbaudit.key").returncode == WRITTEN
    assert sorted(p.name for p in (work / "store").iterdir()) == ["e.json", "e.json.sig"]
    assert verify(work, "store/e.json") == VERIFIED
