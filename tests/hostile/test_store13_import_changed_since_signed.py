"""Signed evidence edited after it was signed (its .sig still beside it), then `history import`ed:
the .sig holds under the key it records, over another digest, which proves the evidence was changed
after that key signed it.  `lbaudit report` refuses such evidence (exit 10, "changed after it was
signed"), as `lbaudit verify` fails its digest; `history import` recorded it as an unsigned run,
exit 0, and the history then held the edited scan as a run like any other.

Now the store refuses it at recording (exit 10, the file named, nothing recorded); the same evidence
unedited is recorded signed, and unsigned evidence without a .sig as before."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, write_scan_snapshot

VERIFY_DIGEST = 10


def _signed(tmp_path: Path, name: str) -> Path:
    keys = tmp_path / "keys"
    if not keys.exists():
        assert run_cli("keygen", "--out", keys).returncode == 0
    snapshot = write_scan_snapshot(tmp_path / f"{name}.snapshot.json", wildcard_redis=True)
    evidence = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "-q",
                     "--sign-key", keys / "lbaudit.key")
    assert result.returncode == 1 and Path(f"{evidence}.sig").is_file(), result.stderr
    return evidence


def test_evidence_changed_after_it_was_signed_is_not_imported(tmp_path, store_url):  # noqa: F811
    evidence = _signed(tmp_path, "edited")
    document = json.loads(evidence.read_text())
    document["run"]["timings_ms"] = {name: ms + 1 for name, ms in document["run"]["timings_ms"].items()}
    evidence.write_text(json.dumps(document, indent=2, ensure_ascii=False))
    assert run_cli("report", evidence, "--format", "sarif", "--out-dir", tmp_path / "out").returncode == VERIFY_DIGEST
    result = run_cli("history", "import", evidence, "--store", store_url)
    assert (result.returncode, result.stdout) == (VERIFY_DIGEST, ""), result.stdout + result.stderr  # before: 0
    # in the words report, show and diff use (the .sig is read before the evidence is validated)
    assert f"{evidence}: changed after it was signed: its canonical SHA-256 is " in result.stderr, result.stderr
    assert "; nothing is recorded (lbaudit verify fails its digest too, exit 10)" in result.stderr, result.stderr
    listed = run_cli("history", "list", "--json", "--store", store_url)
    assert (listed.returncode, listed.stdout) in ((2, ""), (0, "[]\n")), listed.stdout + listed.stderr


def test_control_case_the_evidence_as_signed_is_recorded_signed(tmp_path, store_url):  # noqa: F811
    evidence = _signed(tmp_path, "as-signed")
    result = run_cli("history", "import", evidence, "--store", store_url)
    assert result.returncode == 0, result.stderr
    listed = json.loads(run_cli("history", "list", "--json", "--store", store_url).stdout)
    assert [run["signature"]["state"] for run in listed] == ["signed"]
