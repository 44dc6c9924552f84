"""`history export --with-evidence` carried each run's evidence but not its `.sig` document, which
the store keeps and no command printed: a signed history moved to another store (SQLite to a team's
PostgreSQL) by export and import arrived unsigned, and `history verify --pubkey --require-signed`
of the copy failed every run (exit 11), while the original held.

Now each line of `--with-evidence` also holds the run's `.sig` document as recorded
(`evidence_signature`, null for an unsigned run): written beside the evidence, `history import`
records the run signed again, and the copy verifies as the original does."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import record_scan


def test_a_signed_history_exported_and_imported_is_still_signed(tmp_path, store_url):  # noqa: F811
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys).returncode == 0
    key, pub = keys / "lbaudit.key", keys / "lbaudit.pub"
    original = str(tmp_path / "original.db")
    record_scan(tmp_path, original, "monday", wildcard_redis=False, extra=("--sign-key", str(key)))
    record_scan(tmp_path, original, "tuesday", wildcard_redis=True, extra=("--sign-key", str(key)))
    exported = run_cli("history", "export", "--with-evidence", "--store", original)
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    signatures = [Path(f"{tmp_path / name}.evidence.json.sig").read_text() for name in ("monday", "tuesday")]
    assert [line["evidence_signature"] for line in lines] == signatures

    files = []
    for line in lines:
        evidence = tmp_path / "moved" / f"run{line['id']}.json"
        evidence.parent.mkdir(exist_ok=True)
        evidence.write_text(line["evidence"])
        if line["evidence_signature"] is not None:
            Path(f"{evidence}.sig").write_text(line["evidence_signature"])
        files.append(evidence)
    imported = run_cli("history", "import", *files, "--store", store_url)
    assert imported.returncode == 0, imported.stderr
    listed = json.loads(run_cli("history", "list", "--json", "--store", store_url).stdout)
    assert [(run["id"], run["signature"]["state"]) for run in listed] == [(2, "signed"), (1, "signed")]
    again = run_cli("history", "export", "--with-evidence", "--store", store_url).stdout.splitlines()
    assert [json.loads(line)["evidence_signature"] for line in again] == signatures
    verified = run_cli("history", "verify", "--pubkey", pub, "--require-signed", "--store", store_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr  # before: 11, every run unsigned
    assert "2 signatures verified" in verified.stdout


def test_control_case_an_unsigned_run_exports_a_null_signature(tmp_path):
    store = str(tmp_path / "history.db")
    record_scan(tmp_path, store, "monday", wildcard_redis=False)
    line = json.loads(run_cli("history", "export", "--with-evidence", "--store", store).stdout)
    assert line["evidence_signature"] is None and line["signature"] == {"key": None, "state": "unsigned"}


def test_control_case_an_export_without_evidence_has_no_signature_either(tmp_path):
    store = str(tmp_path / "history.db")
    record_scan(tmp_path, store, "monday", wildcard_redis=False)
    line = json.loads(run_cli("history", "export", "--store", store).stdout)
    assert "evidence" not in line and "evidence_signature" not in line
