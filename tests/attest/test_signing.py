"""Ed25519 keys, detached evidence signatures and ``lbaudit keygen`` / ``lbaudit verify``.

Real keys, real files, real PDFs; each tampering case checks the exact exit code it must produce.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from auditor.attest.signing import (
    generate_keypair,
    load_public_key,
    public_key_fingerprint,
    sign_evidence_file,
    signature_fingerprint,
    signature_path,
)
from auditor.attest.verify import verify
from auditor.commands import attest as attest_commands
from auditor.errors import InputError
from auditor.model.base import canonical_json, sha256_hex
from auditor.model.result import ExitCode
from auditor.report import ReportContext
from auditor.report.pdf import render_pdf
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def evidence():
    return make_evidence()


@pytest.fixture
def keys(tmp_path):
    return generate_keypair(tmp_path / "keys")


@pytest.fixture
def signed(tmp_path, evidence, keys):
    """A signed evidence file: (evidence path, raw bytes, private key, public key, fingerprint)."""
    path, raw = write_evidence_file(tmp_path, evidence)
    fingerprint = sign_evidence_file(path, keys[0])
    return path, raw, keys[0], keys[1], fingerprint


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cli() -> click.Group:
    return click.Group("lbaudit", commands={c.name: c for c in (attest_commands.keygen, attest_commands.verify)})


# ------------------------------------------------------------------ keys

def test_keygen_writes_private_key_0600_even_with_a_permissive_umask(tmp_path):
    old = os.umask(0)  # a umask that would leave a file created with the default mode world-readable
    try:
        private, public = generate_keypair(tmp_path / "keys")
    finally:
        os.umask(old)
    assert (private.name, public.name) == ("lbaudit.key", "lbaudit.pub")
    assert _mode(private) == 0o600
    assert _mode(public) == 0o664  # a public key is a document: it honours the umask, but others never write it
    assert _mode(tmp_path / "keys") == 0o700  # the directory it created is private too
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert public_key_fingerprint(load_public_key(public)) == public_key_fingerprint(key.public_key())


def test_keygen_refuses_to_overwrite_an_existing_key(tmp_path):
    private, public = generate_keypair(tmp_path)
    before = (private.read_bytes(), public.read_bytes())
    with pytest.raises(InputError, match="refusing to overwrite"):
        generate_keypair(tmp_path)
    assert (private.read_bytes(), public.read_bytes()) == before

    private.unlink()  # a lone public key is protected as well: it may be what verifiers trust
    with pytest.raises(InputError, match="lbaudit.pub: a key already exists"):
        generate_keypair(tmp_path)
    assert not private.exists()


def test_keygen_force_replaces_the_pair_and_keeps_0600(tmp_path):
    private, public = generate_keypair(tmp_path)
    private.chmod(0o644)  # even a loosened old file does not lend its mode to the new key
    old_public = public.read_bytes()
    generate_keypair(tmp_path, force=True)
    assert public.read_bytes() != old_public
    assert _mode(private) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lbaudit.key", "lbaudit.pub"]  # no temp file left


def test_keygen_command_prints_paths_and_fingerprint_and_refuses_overwrite(tmp_path):
    # through the command line's entry point (tests/cli.py): keygen raises its errors, which the
    # entry point maps to exit 2 after putting back what the command wrote
    result = run_cli("keygen", "--out", tmp_path / "k")
    assert result.returncode == 0, result.stderr
    fingerprint = public_key_fingerprint(load_public_key(tmp_path / "k" / "lbaudit.pub"))
    assert fingerprint in result.stdout
    assert _mode(tmp_path / "k" / "lbaudit.key") == 0o600

    again = run_cli("keygen", "--out", tmp_path / "k")
    assert again.returncode == ExitCode.USAGE
    assert "refusing to overwrite" in again.stderr and "Traceback" not in again.stderr
    assert run_cli("keygen", "--out", tmp_path / "k", "--force").returncode == 0


# ------------------------------------------------------------------ signing and verifying

def test_signature_file_records_canonical_digest_and_key(signed):
    path, raw, _, public, fingerprint = signed
    document = json.loads(signature_path(path).read_text())
    assert signature_path(path).name == "evidence.json.sig"
    assert document["algorithm"] == "ed25519"
    assert document["evidence_sha256"] == sha256_hex(canonical_json(json.loads(raw)))
    assert document["public_key_sha256"] == fingerprint == public_key_fingerprint(load_public_key(public))
    assert len(base64.b64decode(document["signature"])) == 64
    assert signature_fingerprint(path) == fingerprint


def test_a_stale_signature_names_no_key(signed, evidence):
    """A .sig left over from an earlier run must not let the PDF name a key that never signed this."""
    path, raw, _, _, _ = signed
    path.write_bytes(raw.replace(b"web01.example.test", b"web02.example.test"))
    assert signature_fingerprint(path) is None


def test_intact_signed_evidence_verifies(signed):
    path, _, _, public, _ = signed
    result = verify(path, public, None)
    assert result.ok and result.exit_code == ExitCode.COMPLIANT
    assert [(c.name, c.ok) for c in result.checks] == [("key", True), ("signature", True), ("digest", True)]


def test_reindented_evidence_still_verifies(signed):
    """The signature covers the canonical JSON, not the file's whitespace or key order."""
    path, raw, _, public, _ = signed
    path.write_text(json.dumps(json.loads(raw), indent=7, sort_keys=False))
    assert verify(path, public, None).exit_code == ExitCode.COMPLIANT


def test_flipping_one_byte_of_a_value_fails_the_digest(signed):
    path, raw, _, public, _ = signed
    at = raw.index(b"web01.example.test")
    path.write_bytes(raw[:at] + b"x" + raw[at + 1:])
    result = verify(path, public, None)
    assert result.exit_code == ExitCode.VERIFY_DIGEST
    assert result.get("digest").ok is False and result.get("signature").ok is True


def test_flipping_one_byte_that_breaks_the_json_fails_the_digest(signed):
    path, raw, _, public, _ = signed
    path.write_bytes(raw[:1] + b"]" + raw[2:])  # the newline after the opening brace becomes ']'
    result = verify(path, public, None)
    assert result.exit_code == ExitCode.VERIFY_DIGEST
    assert "not valid JSON" in result.get("digest").detail


def test_changing_one_field_fails_the_digest(signed):
    path, raw, _, public, _ = signed
    data = json.loads(raw)
    assert data["result"]["verdict"] == "non_compliant"
    data["result"]["verdict"] = "compliant"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    assert verify(path, public, None).exit_code == ExitCode.VERIFY_DIGEST


def test_duplicate_keys_are_not_canonical_and_fail_the_digest(signed):
    path, raw, _, public, _ = signed
    # A first-wins parser would read "compliant"; the signed document said something else.
    path.write_bytes(b'{"result": {"verdict": "compliant"},' + raw.lstrip()[1:])
    result = verify(path, public, None)
    assert result.exit_code == ExitCode.VERIFY_DIGEST
    assert "duplicate key" in result.get("digest").detail


def test_another_key_is_reported_as_wrong_key(signed, tmp_path):
    path, _, _, _, fingerprint = signed
    _, other_public = generate_keypair(tmp_path / "other")
    result = verify(path, other_public, None)
    assert result.exit_code == ExitCode.VERIFY_WRONG_KEY
    assert fingerprint in result.get("key").detail


def test_altered_signature_bytes_fail_the_signature(signed):
    path, _, _, public, _ = signed
    document = json.loads(signature_path(path).read_text())
    raw_sig = bytearray(base64.b64decode(document["signature"]))
    raw_sig[10] ^= 0x01
    document["signature"] = base64.b64encode(bytes(raw_sig)).decode()
    signature_path(path).write_text(json.dumps(document))
    assert verify(path, public, None).exit_code == ExitCode.VERIFY_SIGNATURE


def test_recorded_digest_rewritten_to_match_tampered_evidence_fails_the_signature(signed):
    """Someone without the key edits the evidence and updates the digest in the .sig to match."""
    path, raw, _, public, _ = signed
    tampered = raw.replace(b'"verdict": "non_compliant"', b'"verdict": "compliant"')
    assert tampered != raw
    path.write_bytes(tampered)
    document = json.loads(signature_path(path).read_text())
    document["evidence_sha256"] = sha256_hex(canonical_json(json.loads(tampered)))
    signature_path(path).write_text(json.dumps(document))
    result = verify(path, public, None)
    assert result.get("digest").ok is True
    assert result.exit_code == ExitCode.VERIFY_SIGNATURE


def test_unsigned_evidence_fails_the_signature(tmp_path, evidence, keys):
    path, _ = write_evidence_file(tmp_path, evidence)
    assert signature_fingerprint(path) is None
    result = verify(path, keys[1], None)
    assert result.exit_code == ExitCode.VERIFY_SIGNATURE
    assert "not signed" in result.get("signature").detail


@pytest.mark.parametrize("broken", ["missing_pubkey", "pubkey_is_json", "ec_pubkey", "sig_not_json",
                                    "sig_wrong_schema", "missing_evidence"])
def test_unusable_inputs_are_input_errors_naming_the_file(signed, tmp_path, broken):
    path, _, _, public, _ = signed
    if broken == "missing_pubkey":
        public = tmp_path / "nope.pub"
    elif broken == "pubkey_is_json":
        public = path
    elif broken == "ec_pubkey":
        public = tmp_path / "ec.pub"
        public.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    elif broken == "sig_not_json":
        signature_path(path).write_text("not json")
    elif broken == "sig_wrong_schema":
        signature_path(path).write_text(json.dumps({"schema": "something/else"}))
    elif broken == "missing_evidence":
        path = tmp_path / "missing.json"
    with pytest.raises(InputError) as info:
        verify(path, public, None)
    assert info.value.exit_code == ExitCode.USAGE
    named = {"missing_pubkey": public, "pubkey_is_json": public, "ec_pubkey": public,
             "missing_evidence": path}.get(broken, signature_path(path))
    assert str(info.value).startswith(str(named))


def test_signing_needs_an_ed25519_key_and_valid_evidence(tmp_path, evidence):
    path, _ = write_evidence_file(tmp_path, evidence)
    ec_key = tmp_path / "ec.key"
    ec_key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ec_key.chmod(0o600)
    with pytest.raises(InputError, match="not an Ed25519 private key"):
        sign_evidence_file(path, ec_key)
    private, _ = generate_keypair(tmp_path / "k")
    not_evidence = tmp_path / "other.json"
    not_evidence.write_text('{"hello": "world"}')
    with pytest.raises(InputError, match="not an lbaudit evidence file"):
        sign_evidence_file(not_evidence, private)
    assert not signature_path(not_evidence).exists()


# ------------------------------------------------------------------ with the PDF

# Renderings by their inputs: the PDF is a function of them (tests/report/test_pdf_golden.py holds
# its bytes), and two tests below read the same one (~0.3 s a rendering).
_RENDERED: dict[tuple[bytes, str, str | None], bytes] = {}


def _pdf_for(evidence_obj, raw: bytes, name: str = "evidence.json", fingerprint: str | None = None) -> bytes:
    key = (raw, name, fingerprint)
    if key not in _RENDERED:
        _RENDERED[key] = render_pdf(evidence_obj, ReportContext(evidence_bytes=raw, evidence_path=name,
                                                                signature_fingerprint=fingerprint))
    return _RENDERED[key]


def test_pdf_of_this_evidence_verifies(signed, evidence, tmp_path):
    path, raw, _, public, fingerprint = signed
    pdf = tmp_path / "attestation.pdf"
    pdf.write_bytes(_pdf_for(evidence, raw, fingerprint=fingerprint))
    result = verify(path, public, pdf)
    assert result.exit_code == ExitCode.COMPLIANT
    assert result.get("pdf").ok is True


def test_pdf_made_from_other_evidence_fails_with_pdf_mismatch(signed, tmp_path):
    path, _, _, public, _ = signed
    other = make_evidence(hostname="db07.example.test")
    other_path, other_raw = write_evidence_file(tmp_path / "other", other)
    pdf = tmp_path / "other.pdf"
    pdf.write_bytes(_pdf_for(other, other_raw))
    result = verify(path, public, pdf)
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH
    assert [c.name for c in result.failed] == ["pdf"]
    assert sha256_hex(other_raw) in result.get("pdf").detail


def test_pdf_of_reformatted_evidence_is_a_mismatch_that_says_why(signed, evidence, tmp_path):
    path, raw, _, public, _ = signed
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(_pdf_for(evidence, raw))
    path.write_text(json.dumps(json.loads(raw), indent=4))  # signature still fine, file bytes differ
    result = verify(path, public, pdf)
    assert result.get("digest").ok is True
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH
    assert "same content, different formatting" in result.get("pdf").detail


def test_pdf_whose_recorded_digest_was_edited_fails(signed, evidence, tmp_path):
    path, raw, _, public, _ = signed
    data = _pdf_for(evidence, raw)
    digest = sha256_hex(raw).encode()
    assert data.count(b"(" + digest + b")") == 1  # the document-information entry, uncompressed
    pdf = tmp_path / "edited.pdf"
    pdf.write_bytes(data.replace(b"(" + digest + b")", b"(" + b"0" * 64 + b")"))
    result = verify(path, public, pdf)
    assert result.exit_code == ExitCode.VERIFY_PDF_MISMATCH
    assert "altered" in result.get("pdf").detail


def test_verify_command_reports_each_check_and_exits_with_its_code(signed, tmp_path):
    path, raw, _, public, _ = signed
    runner = CliRunner()
    ok = runner.invoke(_cli(), ["verify", str(path), "--pubkey", str(public)])
    assert ok.exit_code == 0, ok.output
    assert [line.split()[:2] for line in ok.output.splitlines()[:3]] == [["key", "ok"], ["signature", "ok"],
                                                                           ["digest", "ok"]]
    path.write_bytes(raw.replace(b"web01.example.test", b"web01.example.tesT", 1))
    bad = runner.invoke(_cli(), ["verify", str(path), "--pubkey", str(public)])
    assert bad.exit_code == ExitCode.VERIFY_DIGEST
    assert "digest     FAIL" in bad.output


def test_verify_bad_input_is_one_line_exit_2_without_traceback(signed, tmp_path):
    """Through the real entry point, as a user runs it."""
    path, _, _, _, _ = signed
    missing = tmp_path / "absent.pub"
    proc = run_cli("verify", path, "--pubkey", missing, cwd=REPO_ROOT)
    assert proc.returncode == ExitCode.USAGE
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0]
    assert "Traceback" not in proc.stderr


def test_verify_exit_code_survives_the_real_entry_point(signed, tmp_path):
    path, _, _, _, _ = signed
    _, other_public = generate_keypair(tmp_path / "other")
    proc = run_cli("verify", path, "--pubkey", other_public, cwd=REPO_ROOT)
    assert proc.returncode == ExitCode.VERIFY_WRONG_KEY, proc.stdout + proc.stderr
    assert "key        FAIL" in proc.stdout
