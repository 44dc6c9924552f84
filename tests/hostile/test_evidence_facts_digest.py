"""Evidence whose ``facts_sha256`` is not the digest of the facts and gaps it records is refused.

Every attestation prints ``facts_sha256`` as the digest of what was observed (the PDF's inputs
table, SARIF, OSCAL, JUnit, HDF; the history store keeps it as the run's snapshot digest), and the
reader checked ``policy_sha256`` against the recorded policy but never this one: a gap removed from
the recorded snapshot (what could not be read, gone) or a listener's address edited, with the digest
left as it was, was rendered under the digest of the facts that were judged.  Now it is exit 2,
naming the field, as an edited policy is.
"""

from __future__ import annotations

from auditor.storage.evidence import evidence_bytes
from tests.cli import run_cli
from tests.evidence_fixtures import make_policy
from tests.hostile.test_renderings import evidence_for

REFUSED = "the evidence contradicts its own findings"


def _written(tmp_path, evidence):
    path = tmp_path / "evidence.json"
    path.write_bytes(evidence_bytes(evidence))
    return path


def test_a_gap_removed_from_the_recorded_snapshot_is_refused(tmp_path):
    evidence = evidence_for(make_policy())
    assert evidence.snapshot.gaps
    edited = evidence.model_copy(update={"snapshot": evidence.snapshot.model_copy(update={"gaps": []})})
    run = run_cli("show", _written(tmp_path, edited))
    assert run.returncode == 2, run.stdout
    assert REFUSED in run.stderr
    assert (f"/facts_sha256: records {evidence.facts_sha256}, but the recorded snapshot's facts and gaps have the "
            f"digest {edited.snapshot.facts_digest()}: the facts were edited") in run.stderr


def test_a_listener_edited_in_the_recorded_snapshot_is_refused(tmp_path):
    evidence = evidence_for(make_policy())
    sockets = evidence.snapshot.facts.sockets
    assert sockets is not None and sockets.listeners
    listeners = [sockets.listeners[0].model_copy(update={"address": "127.0.0.1", "family": "ipv4"}),
                 *sockets.listeners[1:]]
    facts = evidence.snapshot.facts.model_copy(update={"sockets": sockets.model_copy(update={"listeners": listeners})})
    edited = evidence.model_copy(update={"snapshot": evidence.snapshot.model_copy(update={"facts": facts})})
    run = run_cli("report", _written(tmp_path, edited), "--out-dir", tmp_path / "out", "--format", "sarif,oscal")
    assert run.returncode == 2, run.stdout
    assert "/facts_sha256: records " in run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_control_case_the_digest_the_engine_wrote_is_read(tmp_path):
    evidence = evidence_for(make_policy())
    run = run_cli("show", "--json", _written(tmp_path, evidence))
    assert run.returncode == 0, run.stderr
