"""PDF read-back: is this PDF exactly lbaudit's rendering of this evidence (``verify --pdf``)?

The evidence is rendered again and the PDF must be exactly that rendering, optionally followed by
one PAdES signature (:mod:`auditor.attest.pades`).  No PDF parser is needed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from auditor.attest.pades import NOT_THE_STATED_SIGNER, SIGNER_FINGERPRINT, check_pades_update
from auditor.attest.signing import CheckResult, canonical_digest
from auditor.errors import InputError
from auditor.model.base import sha256_hex
from auditor.model.evidence import Evidence
from auditor.report.pdf import find_render_inputs, render_pdf, renderer_id
from auditor.storage.evidence import parse_evidence
from auditor.storage.jsonfile import read_bounded
from auditor.text import quoted_name

MAX_PDF_BYTES = 256 * 1024 * 1024
MAX_SHOWN_ASSESSOR = 400  # of the assessor a PDF prints, quoted in the verdict (a name and an address)


_RECORDED_SHA256 = re.compile(rb"/LbauditEvidenceSHA256\s*\(([0-9a-f]{64})\)")  # _pdf_canvas.INFO_EVIDENCE_SHA256
_RECORDED_CONTENT_SHA256 = re.compile(rb"/LbauditEvidenceContentSHA256\s*\(([0-9a-f]{64})\)")


def _first_difference(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    low, high = 0, n  # the first index where they differ lies in [low, high]; bisect on equal prefixes
    while low < high:
        mid = (low + high) // 2
        if a[low:mid + 1] == b[low:mid + 1]:
            low = mid + 1
        else:
            high = mid
    return low


def _not_this_rendering(pdf_name: str, data: bytes, raw: bytes, rendered: list[bytes]) -> str:
    """Why no rendering of the evidence is the start of the PDF, as precisely as the bytes tell."""
    closest = max(rendered, key=lambda r: _first_difference(data, r))
    if len(data) < len(closest) and closest.startswith(data):
        return (f"{pdf_name} is truncated: it ends at byte {len(data)} of the {len(closest)}-byte rendering "
                "of this evidence")
    detail = (f"{pdf_name} is not the rendering of this evidence (the bytes differ from byte offset "
              f"{_first_difference(data, closest)} on): it was altered or rendered from other evidence, so "
              "its pages are not proven to show what the evidence says")
    recorded = _RECORDED_SHA256.search(data)
    file_digest = sha256_hex(raw)
    if recorded and recorded.group(1).decode("ascii") != file_digest:
        detail += f"; it records evidence SHA-256 {recorded.group(1).decode('ascii')}, the file has {file_digest}"
        content = _RECORDED_CONTENT_SHA256.search(data)
        try:
            if content and content.group(1).decode("ascii") == canonical_digest(raw):
                detail += " (same content, different formatting: render the PDF again from this file)"
        except ValueError:
            pass
    return detail


def verify_pdf(pdf_path: Path, raw: bytes, given: str, evidence: Evidence | None = None) -> CheckResult:
    """Render the evidence again and require the PDF to be exactly that rendering, optionally
    followed by one PAdES signature (see :mod:`auditor.attest.pades`).  No PDF parser is needed.
    ``evidence``: ``raw`` parsed already (else it is parsed here)."""
    data = read_bounded(pdf_path, MAX_PDF_BYTES, "a PDF attestation")
    if not data.startswith(b"%PDF-"):
        raise InputError(f"{pdf_path}: not a PDF (it does not start with %PDF-)")
    name = pdf_path.name
    candidates = find_render_inputs(data)
    if not candidates:
        return CheckResult("pdf", False, f"{name} records no lbaudit render inputs (/LbauditRender): it is not an "
                                         "lbaudit attestation, or one too old to be re-rendered")
    if evidence is None:
        try:
            evidence = parse_evidence(raw, "the evidence")
        except InputError as exc:
            return CheckResult("pdf", False, f"nothing to compare {name} with: {exc}")
    usable = [inputs for inputs in candidates if inputs.renderer == renderer_id()]
    if not usable:
        return CheckResult("pdf", False, f"{name} was rendered by {candidates[0].renderer}, this is {renderer_id()}: "
                                         "the rendering cannot be reproduced; verify with that version")
    renderings: list[bytes] = []
    match: tuple[Any, bytes] | None = None
    for inputs in usable:
        rendering = render_pdf(evidence, inputs.context(raw))
        renderings.append(rendering)
        if data[:len(rendering)] == rendering:
            match = inputs, rendering
            break
    if match is None:
        return CheckResult("pdf", False, _not_this_rendering(name, data, raw, renderings))
    inputs, rendering = match
    if inputs.signature_key is not None and inputs.signature_key != given:
        return CheckResult("pdf", False, f"{name} prints signing key {inputs.signature_key}, "
                                         f"not the given key {given}")
    what = f"{name} is exactly the rendering of this evidence (SHA-256 {sha256_hex(raw)})"
    # Last, and quoted as a name: whoever renders the evidence chooses it (--assessor), and between
    # curly quotes one reading '”), followed by a valid PAdES signature by ...' added a signature
    # to the verdict of a PDF that carries none.
    assessor = f"; it prints the assessor {quoted_name(inputs.assessor, MAX_SHOWN_ASSESSOR)}"
    # So does the organisation and its logo on every cover (--org-name, --org-logo): claims of
    # whoever rendered it, which no signature over the evidence covers, named as the assessor is.
    if inputs.org_name is not None:
        assessor += f" and the organisation {quoted_name(inputs.org_name, MAX_SHOWN_ASSESSOR)}"
    if inputs.org_logo is not None:
        assessor += ", with a logo given when it was rendered (--org-logo)"
    end = len(rendering)
    if end == len(data):
        if inputs.pdf_signer is not None:
            return CheckResult("pdf", False, f"{name} states it is signed (PAdES) with the certificate "
                                             f"{inputs.pdf_signer}, but carries no PAdES signature")
        return CheckResult("pdf", True, what + assessor)
    named = SIGNER_FINGERPRINT.search(inputs.pdf_signer or "")
    if inputs.pdf_signer is not None and named is None:
        # lbaudit states a certificate with its fingerprint; a name alone holds no signer to it
        return CheckResult("pdf", False, f"{name} states it is signed with the certificate {inputs.pdf_signer} "
                                         "without its SHA-256, so no PAdES signature can be held to it")
    ok, found = check_pades_update(data, end, named.group(1) if named else None)
    if not ok and found.startswith(NOT_THE_STATED_SIGNER):
        return CheckResult("pdf", False, f"{name} states it is signed with the certificate {inputs.pdf_signer}, "
                                         f"but carries {found.removeprefix(NOT_THE_STATED_SIGNER + ': ')}")
    if ok:
        return CheckResult("pdf", True, f"{what}, followed by {found}{assessor}")
    return CheckResult("pdf", False, f"{name}: the rendering of this evidence ends at byte offset {end}; "
                                     f"the revision from byte offset {end} on is not verified: {found}")
