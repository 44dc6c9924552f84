"""``lbaudit verify``: the evidence against its signature and a public key, and with ``--pdf`` the PDF.

Signature checking (:mod:`auditor.attest.signing`) needs no renderer; only the PDF read-back
(:mod:`auditor.attest.pdf`) renders the evidence again.  Keeping the two apart keeps the signature
code, which reading a signed snapshot also uses, free of any reporter.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from auditor.attest.signing import (
    VerifyResult,
    load_public_key,
    public_key_fingerprint,
    read_evidence_bytes,
    verify_signature,
)

if TYPE_CHECKING:
    from auditor.model.evidence import Evidence


MAX_SHOWN_HOSTNAME = 200  # of the signed host name, quoted in what the evidence is of


def verify(evidence_path: Path, pubkey_path: Path, pdf_path: Path | None = None) -> VerifyResult:
    """Check the evidence against its detached signature and the given public key (and a PDF).

    Evidence whose signature and digest hold is then read as evidence: a signed file that is not
    valid lbaudit evidence, or whose verdict, counts, controls or waivers contradict its findings
    (signed by a faulty tool), is an InputError (exit 2), never "verified": every report refuses
    to render it, so verify must not vouch for it either."""
    evidence_path = Path(evidence_path)
    key = load_public_key(Path(pubkey_path))
    raw = read_evidence_bytes(evidence_path)
    checks = verify_signature(evidence_path, raw, key)
    evidence = None
    if all(check.ok is not False for check in checks):
        from auditor.storage.evidence import parse_evidence

        evidence = parse_evidence(raw, str(evidence_path))
    if pdf_path is not None:
        from auditor.attest.pdf import verify_pdf  # the renderer is loaded only to verify a PDF

        checks.append(verify_pdf(Path(pdf_path), raw, public_key_fingerprint(key), evidence))
    return VerifyResult(checks, "" if evidence is None else signed_subject(evidence))


def signed_subject(evidence: Evidence) -> str:
    """What the signed evidence is of, from its own content (never the file's name)."""
    from auditor.text import quoted_name

    provenance = evidence.snapshot.provenance
    # Quoted as names: a host names itself, and one named "db01), policy ..., verdict compliant (exit 0"
    # put a verdict of its own before the signed one.
    machine = f" (machine-id {quoted_name(provenance.machine_id)})" if provenance.machine_id else ""
    policy = evidence.policy
    return (f"host {quoted_name(provenance.hostname, MAX_SHOWN_HOSTNAME)}{machine}, "
            f"policy {policy.id} version {policy.version}, "
            f"facts collected {provenance.collected_at.isoformat()}, "
            f"verdict {evidence.result.verdict.value} (exit {evidence.result.exit_code})")
