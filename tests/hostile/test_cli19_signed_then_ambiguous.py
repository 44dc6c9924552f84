"""``show``, ``diff`` and ``report`` of signed evidence edited into JSON with no canonical form.

An edit that renames a key of the signed evidence to one beside it (``"fail": 4`` turned into a
second ``"pass"``) leaves a file that is not strict JSON.  Its ``.sig`` holds over another digest,
so the commands refuse it with exit 10, as documented; but the message said "its canonical SHA-256
is None, but ... signs <digest>": a Python ``None`` where the reader needs what is wrong with the
file.  Now it says the file has no canonical form, and why (the duplicate key and where).
"""

from __future__ import annotations

import pytest

from auditor.attest.signing import generate_keypair, sign_evidence_file
from auditor.model.result import ExitCode
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


@pytest.mark.parametrize("command", [["show"], ["show", "--json"], ["diff", "BEFORE"], ["report", "--format", "text"]])
def test_signed_evidence_edited_into_a_duplicate_key_says_why_it_has_no_digest(tmp_path, command):
    path, raw = write_evidence_file(tmp_path / "scan", make_evidence())
    private, _public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    before, _ = write_evidence_file(tmp_path / "before", make_evidence())
    # the top-level object's last key given a second time: a document of two readings
    text = raw.decode("utf-8").rstrip()
    assert text.endswith("}")
    path.write_text(text[:-1].rstrip() + ',\n  "tool": {}\n}\n', encoding="utf-8")

    args = [before if word == "BEFORE" else word for word in command]
    run = run_cli(*args[:1], *args[1:], path, timeout=60)

    assert run.returncode == int(ExitCode.VERIFY_DIGEST), (run.stdout, run.stderr)
    assert f"{path}: changed after it was signed" in run.stderr
    assert "None" not in run.stderr
    assert "it has no canonical form (duplicate key (line " in run.stderr, run.stderr
    assert run.stdout == ""
