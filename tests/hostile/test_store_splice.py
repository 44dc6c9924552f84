"""A run appended to a signed host's chain by anyone who can write the store (`history import` of
evidence they wrote, or rows copied from another store) is consistent with its chain and records,
and `history verify --pubkey` said exit 0: it checked the signatures there were, and an unsigned
run has none.  Now an unsigned run after a signed one of its host and policy is a signature break
(exit 11) with --pubkey, and --require-signed makes every run need one."""

from __future__ import annotations

import json

from tests.cli import run_cli
from tests.history.scans import CORP, record_scan, write_scan_snapshot

VERIFY_SIGNATURE = 11


def _keys(tmp_path):
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys).returncode == 0
    return keys / "lbaudit.key", keys / "lbaudit.pub"


def _forged_clean_run(tmp_path, store: str) -> None:
    """Evidence of a clean scan of the host, made elsewhere and unsigned, imported into its chain."""
    snapshot = write_scan_snapshot(tmp_path / "forged.snapshot.json", wildcard_redis=False)
    evidence = tmp_path / "forged.evidence.json"
    assert run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "-q").returncode == 3
    imported = run_cli("history", "import", evidence, "--store", store)
    assert imported.returncode == 0, imported.stderr


def test_an_unsigned_run_spliced_after_signed_ones_fails_verify_with_11(tmp_path):
    key, pub = _keys(tmp_path)
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "monday", wildcard_redis=False, extra=("--sign-key", str(key)))
    record_scan(tmp_path, store, "tuesday", wildcard_redis=True, extra=("--sign-key", str(key)))
    assert run_cli("history", "verify", "--pubkey", pub, "--store", store).returncode == 0
    _forged_clean_run(tmp_path, store)
    result = run_cli("history", "verify", "--pubkey", pub, "--store", store, "--json")
    assert result.returncode == VERIFY_SIGNATURE, result.stdout + result.stderr
    first = json.loads(result.stdout)["first_break"]
    assert (first["run_id"], first["kind"]) == (3, "signature") and "unsigned after a signed run" in first["detail"]
    # without the key nothing can tell who made a run: the chain and records hold (documented)
    assert run_cli("history", "verify", "--store", store).returncode == 0


def test_require_signed_refuses_any_unsigned_run(tmp_path):
    key, pub = _keys(tmp_path)
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "monday", wildcard_redis=False)  # unsigned, and first: not after a signed one
    record_scan(tmp_path, store, "tuesday", wildcard_redis=True, extra=("--sign-key", str(key)))
    assert run_cli("history", "verify", "--pubkey", pub, "--store", store).returncode == 0
    result = run_cli("history", "verify", "--pubkey", pub, "--require-signed", "--store", store, "--json")
    assert result.returncode == VERIFY_SIGNATURE, result.stdout + result.stderr
    assert json.loads(result.stdout)["first_break"]["run_id"] == 1


def test_require_signed_passes_a_wholly_signed_store_and_needs_the_key(tmp_path):
    key, pub = _keys(tmp_path)
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "monday", wildcard_redis=False, extra=("--sign-key", str(key)))
    assert run_cli("history", "verify", "--pubkey", pub, "--require-signed", "--store", store).returncode == 0
    usage = run_cli("history", "verify", "--require-signed", "--store", store)
    assert usage.returncode == 2 and "--require-signed needs --pubkey" in usage.stderr
