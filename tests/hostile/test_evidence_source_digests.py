"""Evidence whose policy or waivers file digest is no SHA-256: every report prints the digest of
each file the policy was read from (the OSCAL back matter's resource hashes, the PDF's and HTML's
integrity section, SARIF's artifacts) as the SHA-256 a reader can check the file against, and the
evidence took any string there.  An empty one (an edited file) made the OSCAL document fail its
schema (a hash ``value`` is an OSCAL string, never empty), and ``zz`` was printed as a file's
SHA-256.  lbaudit writes each as 64 lower-case hex digits (``sha256_hex``); the evidence is now held
to that, so such a file is refused (exit 2, naming the field) and no report is rendered from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.jsonfile import canonical_sha256
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

USAGE = 2


def _with_source_digest(directory: Path, digest: str) -> Path:
    path, raw = write_evidence_file(directory, make_evidence())
    data = json.loads(raw)
    data["policy"]["sources"][0]["sha256"] = digest
    data["policy_sha256"] = canonical_sha256(data["policy"])  # as whoever edits the file writes it
    path.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("digest", ["", "zz", "AB" * 32, "ab" * 32 + "\n"])
def test_a_policy_file_digest_that_is_no_sha256_is_refused(tmp_path: Path, digest: str):
    evidence = _with_source_digest(tmp_path, digest)
    run = run_cli("report", evidence, "--format", "oscal,sarif", "--out-dir", tmp_path / "out")
    # before: exit 0, and for "" an OSCAL document that failed the OSCAL schema
    assert run.returncode == USAGE, (run.stdout, run.stderr)
    assert "/policy/sources/0/sha256: String should match pattern '^[0-9a-f]{64}$'" in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


def test_control_case_the_digest_lbaudit_wrote_is_read(tmp_path: Path):
    evidence = _with_source_digest(tmp_path, "cd" * 32)
    run = run_cli("report", evidence, "--format", "oscal", "--out-dir", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert "cd" * 32 in (tmp_path / "out" / "corp-baseline.oscal.json").read_text(encoding="utf-8")
