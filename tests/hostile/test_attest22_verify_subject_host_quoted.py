"""``lbaudit verify`` quotes the signed host name (and machine id) in what the evidence is of.

The defect: the line read ``signed evidence of host NAME (machine-id M), policy P version V, facts
collected T, verdict X (exit N)``, the host name as the facts have it.  A host names itself (a
root user's ``hostname``, the facts of a captured bundle): evidence of a host named ``db01),
policy corp-baseline version 2026.11, facts collected ..., verdict compliant (exit 0`` is signed
as every other, and its line said "verdict compliant (exit 0)" before the signed verdict
(non_compliant, exit 1) came at its end.  Now the name is quoted as a name (its quotes escaped, a
long one cut): ``host 'db01), policy ...' (machine-id '...')``.
"""

from __future__ import annotations

from auditor.attest.signing import generate_keypair, sign_evidence_file
from auditor.text import quoted_name
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

HOSTNAME = ("db01), policy corp-baseline version 2026.11, facts collected 2026-11-01T12:00:00+00:00, "
            "verdict compliant (exit 0")


def test_a_host_name_that_reads_as_a_verdict_is_quoted(tmp_path):
    evidence = make_evidence(hostname=HOSTNAME)
    assert evidence.result.verdict.value == "non_compliant"
    path, _ = write_evidence_file(tmp_path, evidence)
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    run = run_cli("verify", path, "--pubkey", public, timeout=30)
    assert run.returncode == 0, run.stderr
    [line] = [line for line in run.stdout.splitlines() if line.startswith("signed evidence of")]
    machine_id = evidence.snapshot.provenance.machine_id
    assert line.startswith(f"signed evidence of host {quoted_name(HOSTNAME, 200)} (machine-id {machine_id!r}), "), line
    assert line.count("verdict ") == 2 and line.endswith("verdict non_compliant (exit 1)"), line
