"""``lbaudit verify``: the evidence against its signature and a public key, and with ``--pdf`` the PDF.

Signature checking (:mod:`auditor.attest.signing`) needs no renderer; only the PDF read-back
(:mod:`auditor.attest.pdf`) renders the evidence again.  Keeping the two apart keeps the signature
code, which reading a signed snapshot also uses, free of any reporter.
"""

from __future__ import annotations

from pathlib import Path

from auditor.attest.signing import (
    VerifyResult,
    load_public_key,
    public_key_fingerprint,
    read_evidence_bytes,
    verify_signature,
)


def verify(evidence_path: Path, pubkey_path: Path, pdf_path: Path | None = None) -> VerifyResult:
    """Check the evidence against its detached signature and the given public key (and a PDF)."""
    evidence_path = Path(evidence_path)
    key = load_public_key(Path(pubkey_path))
    raw = read_evidence_bytes(evidence_path)
    checks = verify_signature(evidence_path, raw, key)
    if pdf_path is not None:
        from auditor.attest.pdf import verify_pdf  # the renderer is loaded only to verify a PDF

        checks.append(verify_pdf(Path(pdf_path), raw, public_key_fingerprint(key)))
    return VerifyResult(checks)
