"""``lbaudit report`` of evidence named through a symbolic link, and that evidence's signature.

The signature of evidence is ``<evidence>.sig`` beside the file itself, not beside a link to it
(auditor/storage/outputs.py ``signature_of``: verify reads it there, evaluate writes it there).
``report`` named it by hand, beside the path as given, in two places:

* its inputs, which no output may replace even with ``--force``: ``report latest.json --pdf
  store/e.json.sig --force`` (latest.json a link to store/e.json) replaced the evidence's signature
  with the PDF, where ``report store/e.json`` refuses the same output (exit 2);
* the signing key the reports print (``report``, and ``evaluate -o latest.json --sign-key``, which
  signs store/e.json): with no ``latest.json.sig`` beside the link, the HDF, HTML and PDF said
  "unsigned" about evidence that is signed, where the same evidence named as itself prints the key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditor.attest.signing import generate_keypair, load_public_key, public_key_fingerprint, sign_evidence_file
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file
from tests.factories import listener, loopback_only_policy, snapshot


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


def test_evaluate_through_a_link_with_a_key_names_the_key_in_its_reports(tmp_path: Path):
    # evaluate signs the file the link names (store/e.json.sig), then renders: the reports looked
    # for latest.json.sig and said "unsigned" about the evidence just signed.
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    _, public = generate_keypair(tmp_path / "keys")
    (tmp_path / "store").mkdir()
    os.symlink("store/e.json", tmp_path / "latest.json")
    run = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "latest.json",
                  "--sign-key", "keys/lbaudit.key", "--format", "hdf", "--out-dir", "out", cwd=tmp_path)
    assert run.returncode == 1, run.stderr  # the listener binds 0.0.0.0: the run fails its rule
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["e.json", "e.json.sig"]
    document = json.loads((tmp_path / "out" / "corp.hdf.json").read_bytes())
    assert document["passthrough"]["lbaudit"]["signature"] == {
        "state": "signed", "key_fingerprint": public_key_fingerprint(load_public_key(public))}
