"""``lbaudit show`` refuses evidence that its own ``.sig`` proves was changed after it was signed.

The defect: ``report``, ``verify`` and ``diff`` refuse such evidence (exit 10), but ``show`` printed
it as a valid evidence file, exit 0, without a word.  The edit here is one no digest inside the
evidence covers (the host name of the snapshot's provenance): evidence of one host is shown as the
scan of another.  Now show checks the signature of the bytes it prints, as diff does, and exits 10
naming the file.
"""

from __future__ import annotations

import json

import pytest

from auditor.attest.signing import generate_keypair, sign_evidence_file
from auditor.model.result import ExitCode
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


def _signed(tmp_path):
    path, raw = write_evidence_file(tmp_path / "scan", make_evidence())
    private, _public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    return path, raw


@pytest.mark.parametrize("as_json", [False, True], ids=["summary", "json"])
def test_signed_evidence_shown_as_another_host_after_signing_is_refused_with_10(tmp_path, as_json):
    path, raw = _signed(tmp_path)
    data = json.loads(raw)
    data["snapshot"]["provenance"]["hostname"] = "trusted-host"
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")

    run = run_cli("show", *(["--json"] if as_json else []), path, timeout=60)

    assert run.returncode == int(ExitCode.VERIFY_DIGEST), (run.stdout, run.stderr)
    assert f"{path}: changed after it was signed" in run.stderr
    assert "trusted-host" not in run.stdout
    assert run.stdout == ""


def test_control_intact_signed_evidence_is_shown(tmp_path):
    path, _ = _signed(tmp_path)
    run = run_cli("show", path, timeout=60)
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert "verdict: NON-COMPLIANT" in run.stdout
