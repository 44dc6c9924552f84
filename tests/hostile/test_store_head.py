"""Deleting the newest runs of a chain (tail truncation) left a valid, shorter chain, and `history
verify` said exit 0 "verified": last night's non-compliant run could be removed without trace.  The
chain cannot tell by itself; a head kept outside the store can: `history verify --expect-head`
(an evidence SHA-256, the evidence file archived elsewhere, or `history head --json` output) is
exit 10 when that run is no longer in the store."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from auditor.history import open_store
from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, record_scan, write_scan_snapshot

VERIFY_DIGEST = 10
OTHER_HOST = {"hostname": "db01.example.test", "machine_id": "fedcba9876543210fedcba9876543210"}


def _delete_runs(store: str, *run_ids: int) -> None:
    """What an intruder with the store's file does: the runs and their rows, gone without a link."""
    with open_store(store, create=False) as opened, opened.engine.begin() as conn:
        for table in ("findings", "family_counts", "attestations"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE run_id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)), {"ids": list(run_ids)})
        conn.execute(sa.text("DELETE FROM runs WHERE id IN :ids").bindparams(sa.bindparam("ids", expanding=True)),
                     {"ids": list(run_ids)})


def _verify(store: str, *pins: str) -> tuple[int, dict]:
    args = [a for pin in pins for a in ("--expect-head", pin)]
    result = run_cli("history", "verify", "--store", store, "--json", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, (json.loads(result.stdout) if result.stdout.strip() else {"stderr": result.stderr})


def test_tail_truncation_fails_verify_against_every_form_of_pinned_head(tmp_path, store_url):  # noqa: F811
    record_scan(tmp_path, store_url, "monday", wildcard_redis=False)
    tuesday, _ = record_scan(tmp_path, store_url, "tuesday", wildcard_redis=True)  # non-compliant: redis
    heads = run_cli("history", "head", "--store", store_url, "--json")
    assert heads.returncode == 0, heads.stderr
    document = json.loads(heads.stdout)
    assert [(h["run_id"], h["state"]) for h in document["heads"]] == [(2, "run")]
    digest = hashlib.sha256(tuesday.read_bytes()).hexdigest()
    assert document["heads"][0]["evidence_sha256"] == digest  # the evidence file's own digest is the head
    pinned_file = tmp_path / "heads.json"
    pinned_file.write_text(heads.stdout)

    assert _verify(store_url, digest)[0] == 0
    _delete_runs(store_url, 2)
    # the chain alone still holds (the known limit this option exists for)
    assert _verify(store_url)[0] == 0
    for pin in (digest, str(tuesday), str(pinned_file)):
        code, report = _verify(store_url, pin)
        assert code == VERIFY_DIGEST, report
        assert report["first_break"]["kind"] == "head_missing" and digest in report["first_break"]["detail"]
        assert report["expected_heads"] == [{"evidence_sha256": digest, "found": None, "run_id": None}]
    text = run_cli("history", "verify", "--store", store_url, "--expect-head", digest)
    assert text.returncode == VERIFY_DIGEST and "FIRST BREAK: expected head: head_missing" in text.stdout


def test_a_pinned_head_stays_verified_as_later_runs_are_recorded_and_it_is_pruned(tmp_path, store_url):  # noqa: F811
    monday, _ = record_scan(tmp_path, store_url, "monday", wildcard_redis=False)
    record_scan(tmp_path, store_url, "tuesday", wildcard_redis=True)
    assert _verify(store_url, str(monday))[0] == 0
    pruned = run_cli("history", "prune", "--keep-last", "1", "--store", store_url)
    assert pruned.returncode == 0, pruned.stderr
    code, report = _verify(store_url, str(monday))
    assert code == 0, report
    assert report["expected_heads"] == [{"evidence_sha256": hashlib.sha256(monday.read_bytes()).hexdigest(),
                                         "found": "pruned", "run_id": 1}]
    heads = json.loads(run_cli("history", "head", "--store", store_url, "--json").stdout)["heads"]
    assert [(h["run_id"], h["state"]) for h in heads] == [(2, "run")]
    # keep zero: the chain's head is the pruned link of its newest run, and a pin of it still holds
    assert run_cli("history", "prune", "--keep-last", "0", "--store", store_url).returncode == 0
    heads = json.loads(run_cli("history", "head", "--store", store_url, "--json").stdout)["heads"]
    assert [(h["run_id"], h["state"]) for h in heads] == [(2, "pruned")]
    assert _verify(store_url, heads[0]["evidence_sha256"])[0] == 0


def test_a_whole_host_removed_fails_verify_against_the_heads_document(tmp_path):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "web-monday", wildcard_redis=False)
    record_scan(tmp_path, store, "db-monday", wildcard_redis=True, **OTHER_HOST)
    pinned_file = tmp_path / "heads.json"
    pinned_file.write_text(run_cli("history", "head", "--store", store, "--json").stdout)
    assert _verify(store, str(pinned_file))[0] == 0
    _delete_runs(store, 2)  # db01's only run: its chain is gone, the rest verifies
    assert _verify(store)[0] == 0
    code, report = _verify(store, str(pinned_file))
    assert code == VERIFY_DIGEST and [h["found"] for h in report["expected_heads"]] == ["run", None]


@pytest.mark.parametrize("pin, message", [
    ("abc123", "neither a SHA-256"),
    ("A" * 64, "neither a SHA-256"),  # digests are lowercase, as every lbaudit output writes them
    ("{missing}/heads.json", "neither a SHA-256"),
    ("{dir}", "neither a SHA-256"),
])
def test_an_unusable_expected_head_is_exit_2(tmp_path, pin, message):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "monday", wildcard_redis=False)
    result = run_cli("history", "verify", "--store", store, "--expect-head",
                     pin.format(missing=tmp_path / "nowhere", dir=tmp_path))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_heads_document_with_a_bad_head_is_exit_2_not_a_pass(tmp_path):
    store = str(tmp_path / "h.db")
    record_scan(tmp_path, store, "monday", wildcard_redis=False)
    document = json.loads(run_cli("history", "head", "--store", store, "--json").stdout)
    document["heads"].append({"evidence_sha256": None})
    pinned_file = tmp_path / "heads.json"
    pinned_file.write_text(json.dumps(document))
    result = run_cli("history", "verify", "--store", store, "--expect-head", pinned_file)
    assert result.returncode == 2 and "not a list of evidence SHA-256 digests" in result.stderr, result.stderr
    document["heads"] = []
    pinned_file.write_text(json.dumps(document))
    assert run_cli("history", "verify", "--store", store, "--expect-head", pinned_file).returncode == 2


def test_evaluate_record_says_the_new_head(tmp_path):
    store = str(tmp_path / "h.db")
    snapshot = write_scan_snapshot(tmp_path / "s.json", wildcard_redis=False)
    evidence = tmp_path / "e.json"
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "--json", "--record",
                     "--store", store)
    assert result.returncode == 3, result.stderr
    recorded = json.loads(result.stdout)["recorded"]
    assert recorded["run"] == 1 and recorded["evidence_sha256"] == hashlib.sha256(evidence.read_bytes()).hexdigest()
