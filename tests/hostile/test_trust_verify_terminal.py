"""``lbaudit verify`` prints the names of files somebody else sent as one line of plain text.

The evidence, its signature and the PDF come from the party being audited, and their names went
to the auditor's terminal as they were: a tampered evidence file called
``e.json<CR><ESC>[2Kverified: e.json<ESC>[8m`` made the verdict line "NOT verified: e.json ..."
read "verified: e.json" on a terminal (the carriage return goes back to the line's start, ESC[2K
erases it, ESC[8m hides the rest), while verify exited 10.  Error messages (exit 2) named such a
file as it was too.  Now control characters are shown as escapes.
"""

from __future__ import annotations

from pathlib import Path

from auditor.attest.signing import generate_keypair, sign_evidence_file
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

SPOOF = "e.json\r\x1b[2Kverified: e.json\x1b[8m"
SHOWN = "e.json\\x0d\\x1b[2Kverified: e.json\\x1b[8m"


def _signed(tmp_path: Path) -> Path:
    path, raw = write_evidence_file(tmp_path, make_evidence(), name=SPOOF)
    private, _ = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    return path


def test_a_tampered_evidence_whose_name_rewrites_the_line_is_shown_not_verified(tmp_path: Path):
    path = _signed(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"web01", b"web02"))  # changed after signing
    run = run_cli("verify", SPOOF, "--pubkey", "keys/lbaudit.pub", cwd=tmp_path)
    assert run.returncode == 10, (run.stdout, run.stderr)
    assert run.stderr == f"NOT verified: {SHOWN} (digest failed; exit 10)\n"  # before: the name as it is
    assert "\r" not in run.stdout + run.stderr and "\x1b" not in run.stdout + run.stderr


def test_an_unreadable_input_with_such_a_name_is_named_with_escapes(tmp_path: Path):
    _signed(tmp_path)
    run = run_cli("verify", SPOOF, "--pubkey", SPOOF + ".pub", cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr.startswith(f"lbaudit: {SHOWN}.pub: ")
    assert "\r" not in run.stderr and "\x1b" not in run.stderr


def test_intact_evidence_is_verified_under_its_escaped_name(tmp_path: Path):
    _signed(tmp_path)
    run = run_cli("verify", SPOOF, "--pubkey", "keys/lbaudit.pub", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.endswith(f"verified: {SHOWN}\n")
