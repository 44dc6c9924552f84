"""``lbaudit report`` of evidence named through a symbolic link, and that evidence's signature.

The signature of evidence is ``<evidence>.sig`` beside the file itself, not beside a link to it
(auditor/storage/outputs.py ``signature_of``: verify reads it there, evaluate writes it there).
``report`` named it by hand, beside the path as given, in two places:

* its inputs, which no output may replace even with ``--force``: ``report latest.json --pdf
  store/e.json.sig --force`` (latest.json a link to store/e.json) replaced the evidence's signature
  with the PDF, where ``report store/e.json`` refuses the same output (exit 2);
* the signing key the reports print: with no ``latest.json.sig`` beside the link, the HDF, HTML and
  PDF said "unsigned" about evidence that is signed, where the same evidence named as itself
  prints the key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditor.attest.signing import generate_keypair, load_public_key, public_key_fingerprint, sign_evidence_file
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


@pytest.fixture
def linked(tmp_path: Path) -> tuple[Path, Path, str]:
    """store/e.json signed (store/e.json.sig), latest.json a link to it; the key's fingerprint."""
    evidence, _ = write_evidence_file(tmp_path / "store", make_evidence(), name="e.json")
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(evidence, private)
    os.symlink("store/e.json", tmp_path / "latest.json")
    return tmp_path, evidence, public_key_fingerprint(load_public_key(public))


@pytest.mark.parametrize("named", ["latest.json", "store/e.json"])
def test_force_never_replaces_the_signature_of_evidence_named_through_a_link(linked, named):
    work, evidence, _ = linked
    signature = evidence.with_name("e.json.sig")
    before = signature.read_bytes()
    run = run_cli("report", named, "--pdf", "store/e.json.sig", "--force", cwd=work)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert ("lbaudit: store/e.json.sig (pdf report) is the same file as the evidence signature store/e.json.sig: "
            "writing it would destroy an input") in run.stderr
    assert signature.read_bytes() == before  # before the fix (through the link): the PDF
    assert run_cli("verify", "store/e.json", "--pubkey", "keys/lbaudit.pub", "-q", cwd=work).returncode == 0


@pytest.mark.parametrize("named", ["latest.json", "store/e.json"])
def test_reports_of_evidence_named_through_a_link_name_its_signing_key(linked, named):
    work, _, fingerprint = linked
    run = run_cli("report", named, "--format", "hdf", "--out-dir", "out", "-q", cwd=work)
    assert run.returncode == 0, run.stderr
    document = json.loads((work / "out" / "corp-baseline.hdf.json").read_bytes())
    signature = document["passthrough"]["lbaudit"]["signature"]
    assert signature == {"state": "signed", "key_fingerprint": fingerprint}  # before (the link): unsigned, null
