"""``lbaudit verify`` names what the signed bytes are of, never only the file's name.

The defect: verify printed "verified: A.json" and nothing else.  The host, the policy and the time
are in the signed content, not in the file name, so evidence signed for host B, renamed to A.json
with its .sig beside it, "verified" as if it were A's: an auditor comparing the line with the file
name was shown nothing wrong.  Now a verified run prints the signed host, policy, collection time
and verdict, read from the verified content.
"""

from __future__ import annotations

from auditor.attest.signing import generate_keypair, sign_evidence_file
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


def test_a_renamed_signed_evidence_file_is_verified_as_the_host_it_is_of(tmp_path):
    evidence = make_evidence(hostname="db07.example.test")
    path, _ = write_evidence_file(tmp_path / "b", evidence)
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    renamed = tmp_path / "web01.example.test.json"
    path.rename(renamed)
    path.with_name(path.name + ".sig").rename(renamed.with_name(renamed.name + ".sig"))

    run = run_cli("verify", renamed, "--pubkey", public, timeout=30)

    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == f"verified: {renamed}"
    result = evidence.result
    assert lines[-2] == (
        f"signed evidence of host 'db07.example.test' (machine-id '{evidence.snapshot.provenance.machine_id}'), "
        f"policy {evidence.policy.id} version {evidence.policy.version}, "
        f"facts collected {evidence.snapshot.provenance.collected_at.isoformat()}, "
        f"verdict {result.verdict.value} (exit {result.exit_code})")


def test_quiet_verify_prints_nothing_but_keeps_its_code(tmp_path):
    path, _ = write_evidence_file(tmp_path, make_evidence())
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    run = run_cli("verify", path, "--pubkey", public, "--quiet", timeout=30)
    assert (run.returncode, run.stdout) == (0, "")
