"""``verify --pdf``: a PDF whose pages name the certificate that signs it (``--pdf-cert``) verifies
only when the PAdES signature is made with that certificate, never one whose name quotes it.

The defect: verify compared the named certificate's SHA-256 with the whole sentence describing the
signature found, ``a valid PAdES signature by "<subject>" (certificate SHA-256 <fingerprint>)``,
by a substring search.  A self-signed certificate whose common name is the named certificate's
fingerprint (64 hex characters, the longest a common name may be) matched in the subject: the
rendering re-signed with it verified (exit 0) though the pages say it is signed with the
organisation's certificate.  Now the signer's certificate fingerprint itself is compared.
"""

from __future__ import annotations

from auditor.attest.pades import certificate_signer, sign_pdf
from auditor.attest.signing import generate_keypair, sign_evidence_file
from auditor.attest.verify import verify
from auditor.model.result import ExitCode
from auditor.report.pdf import find_render_inputs, render_pdf
from tests.attest.test_pades import _self_signed
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


def test_a_certificate_named_after_the_stated_ones_fingerprint_fails_13(tmp_path):
    path, _ = write_evidence_file(tmp_path, make_evidence())
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    cert_path, key_path, _ = _self_signed(tmp_path)
    signed = tmp_path / "signed.pdf"
    result = run_cli("report", path, "--pdf", signed, "--pdf-cert", cert_path, "--pdf-cert-key", key_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert verify(path, public, signed).exit_code == ExitCode.COMPLIANT  # the control: the stated certificate

    stated = certificate_signer(cert_path).split("(certificate SHA-256 ")[1].rstrip(")")
    [inputs] = find_render_inputs(signed.read_bytes())
    rendering = render_pdf(make_evidence(), inputs.context(path.read_bytes()))
    impostor_dir = tmp_path / "impostor"
    impostor_dir.mkdir()
    impostor_cert, impostor_key, _ = _self_signed(impostor_dir, stated)
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(sign_pdf(rendering, impostor_cert, impostor_key))

    checked = verify(path, public, forged)
    assert checked.exit_code == ExitCode.VERIFY_PDF_MISMATCH, checked.get("pdf").detail
    assert "states it is signed with the certificate" in checked.get("pdf").detail


def test_a_stated_certificate_without_its_fingerprint_accepts_no_signer(tmp_path):
    """A render record naming a PAdES certificate by a name alone (no ``(certificate SHA-256 ...)``,
    as lbaudit never writes it) had any signature accepted: nothing to hold the signer to."""
    import dataclasses

    path, raw = write_evidence_file(tmp_path, make_evidence())
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    cert_path, key_path, _ = _self_signed(tmp_path)
    signed = tmp_path / "signed.pdf"
    result = run_cli("report", path, "--pdf", signed, "--pdf-cert", cert_path, "--pdf-cert-key", key_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [inputs] = find_render_inputs(signed.read_bytes())
    by_name = dataclasses.replace(inputs, pdf_signer="CN=Example Security attestation signer")
    rendering = render_pdf(make_evidence(), by_name.context(raw))
    impostor_dir = tmp_path / "impostor"
    impostor_dir.mkdir()
    impostor_cert, impostor_key, _ = _self_signed(impostor_dir, "impostor")
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(sign_pdf(rendering, impostor_cert, impostor_key))

    checked = verify(path, public, forged)
    assert checked.exit_code == ExitCode.VERIFY_PDF_MISMATCH, checked.get("pdf").detail
    assert "without its SHA-256" in checked.get("pdf").detail
