"""The scope box says what could not be seen: a gap for something that cannot exist here (a
not_applicable gap: a transport the kernel lacks) is not "unseen", and must not bury what is."""

from __future__ import annotations

from auditor.model.facts import Gap, GapKind
from auditor.report.view import attestation_view
from tests.evidence_fixtures import make_evidence


def _scope_with(gaps: list[Gap]):
    evidence = make_evidence(only_rules=["privileged-ports"])
    evidence = evidence.model_copy(update={"snapshot": evidence.snapshot.model_copy(update={"gaps": gaps})})
    return attestation_view(evidence, evidence_name="e.json", evidence_sha256="0" * 64, content_sha256="1" * 64,
                            fingerprint=None, assessor="A").cover.scope


def test_not_applicable_gaps_are_not_listed_as_unseen_but_unreadable_ones_are():
    absent = Gap(section="sockets", path=("listeners", "dccp"), kind=GapKind.NOT_APPLICABLE,
                 reason="DCCP is not available in this kernel")
    unreadable = Gap(section="audit", path=("loaded_rules",), kind=GapKind.UNREADABLE,
                     reason="permission denied reading the audit rules")
    scope = _scope_with([absent, unreadable])
    assert any("permission denied reading the audit rules" in line for line in scope.unseen)
    assert not any("DCCP" in line for line in scope.unseen)
    assert _scope_with([absent]).unseen == ()
