"""Hostile file names in what ``lbaudit verify`` and every failing command print on a terminal.

The defect: ``lbaudit verify`` echoed the evidence path as it was ("verified: PATH", "NOT verified:
PATH (...)", the check details naming ``PATH.sig``), and every error a command ends with
(``lbaudit: PATH: not valid JSON ...``) printed the path raw.  A path can hold any character but
NUL and "/": an evidence file delivered under the name ``x<CR><ESC>[2Kverified: host.json<ESC>[8m``
made the line an auditor read, after the terminal obeyed the carriage return, the erase-line and
the conceal escapes, say "verified: host.json" for evidence whose digest had failed (exit 10), and a
U+202E turned a name around.  Now every line lbaudit prints as the message of ``verify`` or of an
error shows control and bidi characters as escapes (``\\r``, ``\\x1b``, ``\\u202e``), as its reports
and the summary on the terminal already did; the line structure of a message is kept.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.attest.signing import generate_keypair, sign_evidence_file
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file
from tests.factories import loopback_only_policy

# A carriage return, an erase-line and a conceal escape (CSI in its 7-bit and 8-bit forms), a
# right-to-left override.
HOSTILE_NAME = "x\r\x1b[2Kverified: host.json\x1b[8m\x9b8m\u202enosj.json"
SHOWN_NAME = "x\\x0d\\x1b[2Kverified: host.json\\x1b[8m\\x9b8m\\u202enosj.json"
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    """Evidence signed for real, under the hostile name, and the signer's public key."""
    path, _ = write_evidence_file(tmp_path, make_evidence(), name=HOSTILE_NAME)
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    return path, public


def _raw(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in RAW.findall(text)})


def test_verify_of_evidence_changed_after_signing_shows_the_name_escaped(signed):
    path, public = signed
    path.write_bytes(path.read_bytes().replace(b"web01", b"web02", 1))
    run = run_cli("verify", path, "--pubkey", public, timeout=30)
    assert run.returncode == 10, (run.stdout, run.stderr)
    assert _raw(run.stdout) == [] and _raw(run.stderr) == []
    assert run.stderr == f"NOT verified: {path.parent}/{SHOWN_NAME} (digest failed; exit 10)\n"
    assert "\nverified:" not in "\n" + run.stdout


def test_verify_of_intact_evidence_shows_the_name_escaped(signed):
    path, public = signed
    run = run_cli("verify", path, "--pubkey", public, timeout=30)
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert _raw(run.stdout) == []
    assert run.stdout.splitlines()[-1] == f"verified: {path.parent}/{SHOWN_NAME}"


def test_verify_of_unsigned_evidence_names_its_signature_file_escaped(signed):
    path, public = signed
    Path(f"{path}.sig").unlink()
    run = run_cli("verify", path, "--pubkey", public, timeout=30)
    assert run.returncode == 11, (run.stdout, run.stderr)
    assert _raw(run.stdout) == [] and _raw(run.stderr) == []
    assert (f"signature  FAIL  the evidence is not signed: {path.parent}/{SHOWN_NAME}.sig does not exist"
            in run.stdout.splitlines())


@pytest.mark.parametrize("command", [("show",), ("report", "--format", "html")])
def test_an_error_naming_a_hostile_path_shows_it_escaped(tmp_path: Path, command):
    path = tmp_path / HOSTILE_NAME
    path.write_bytes(b"{not json")
    run = run_cli(*command, path, timeout=30)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert _raw(run.stderr) == []
    assert run.stderr.startswith(f"lbaudit: {tmp_path}/{SHOWN_NAME}: not valid JSON (line 1)")


def test_an_error_with_problems_keeps_one_problem_a_line(tmp_path: Path):
    """The line structure of a message is its own: each problem stays on its own line."""
    path, raw = write_evidence_file(tmp_path, make_evidence(), name=HOSTILE_NAME)
    path.write_bytes(raw.replace(b'"verdict": "non_compliant"', b'"verdict": "compliant"', 1))
    run = run_cli("show", path, timeout=30)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert _raw(run.stderr) == []
    lines = run.stderr.splitlines()
    assert lines[0].startswith(f"lbaudit: {tmp_path}/{SHOWN_NAME}: the evidence contradicts its own findings")
    assert lines[1] == (f"  {tmp_path}/{SHOWN_NAME}: /result/verdict: records 'compliant', but the findings "
                        "give 'non_compliant'")


def test_control_case_a_plain_name_is_printed_as_it_is(tmp_path: Path):
    path, _ = write_evidence_file(tmp_path, make_evidence(), name="web01 evidence (2026).json")
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    run = run_cli("verify", path, "--pubkey", public, timeout=30)
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert run.stdout.splitlines()[-1] == f"verified: {path}"


def test_history_import_shows_a_hostile_file_name_escaped(tmp_path: Path):
    """``history import`` printed "NAME: recorded as run N" with the name raw."""
    path, _ = write_evidence_file(tmp_path, make_evidence(), name=HOSTILE_NAME)
    run = run_cli("history", "import", path, "--store", tmp_path / "history.db", timeout=60)
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert _raw(run.stdout) == []
    assert run.stdout == f"{tmp_path}/{SHOWN_NAME}: recorded as run 1\n"


def test_validate_of_a_directory_shows_hostile_policy_file_names_escaped(tmp_path: Path):
    """``validate DIR`` reads every *.yaml in a directory and printed each file's name raw."""
    policies = tmp_path / "policies"
    policies.mkdir()
    good, bad = policies / f"{HOSTILE_NAME}.yaml", policies / f"b{HOSTILE_NAME}.yaml"
    good.write_text(loopback_only_policy("good"), encoding="utf-8")
    bad.write_text("id: bad\n", encoding="utf-8")
    run = run_cli("validate", policies, timeout=30)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert _raw(run.stdout) == [] and _raw(run.stderr) == []
    assert f"{policies}/{SHOWN_NAME}.yaml: ok (good 1: 1 enabled rules, 0 waivers)" in run.stdout.splitlines()
    errors = run.stderr.splitlines()
    assert errors[0].startswith(f"{policies}/b{SHOWN_NAME}.yaml: invalid policy (")
    assert all(line.startswith(f"  {policies}/b{SHOWN_NAME}.yaml") for line in errors[1:])
