"""Evidence its ``.sig`` proves was changed after signing is exit 10 at every reader, whatever else
is wrong with it.

Before: a failure edited into a pass (the summary left as it was) gave exit 10 at ``show``, ``diff``
and ``verify``, but exit 2 at ``report`` and ``history import``: they refused the summary that
contradicts the findings ("records 3, but the findings give 2") before looking at the signature
beside it, so the one file read as tampered evidence to three commands and as a bad input to two,
and a gate that alerts on 10 (tampering) and treats 2 as a broken pipeline missed it there.  Now
both read the signature first, as ``show`` and ``diff`` do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.attest.signing import generate_keypair, sign_evidence_file
from auditor.model.result import ExitCode
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


@pytest.fixture
def tampered(tmp_path: Path) -> dict[str, Path]:
    evidence = make_evidence()
    before, _ = write_evidence_file(tmp_path / "before", evidence)
    after, raw = write_evidence_file(tmp_path / "after", evidence)
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(after, private)
    data = json.loads(raw)
    next(f for f in data["result"]["findings"] if f["status"] == "fail")["status"] = "pass"  # counts left as signed
    after.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return {"before": before, "after": after, "public": public, "tmp": tmp_path}


@pytest.mark.parametrize("command", ["report", "history import", "show", "diff", "verify"])
def test_a_signed_failure_turned_pass_is_exit_10_at_every_reader(tampered: dict[str, Path], command: str) -> None:
    after, tmp = tampered["after"], tampered["tmp"]
    args = {"report": ("report", after, "--format", "json", "--out-dir", tmp / "out"),
            "history import": ("history", "import", after, "--store", tmp / "h.db"),
            "show": ("show", after),
            "diff": ("diff", tampered["before"], after),
            "verify": ("verify", after, "--pubkey", tampered["public"])}[command]
    run = run_cli(*args, timeout=60)
    assert run.returncode == int(ExitCode.VERIFY_DIGEST), (run.stdout, run.stderr)
    assert "changed after it was signed" in run.stderr or command == "verify", run.stderr
    assert not (tmp / "out").exists() and not (tmp / "h.db").exists()
