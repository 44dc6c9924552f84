"""Rows of the store edited to claim what the evidence does not: an unsigned run's signature_state
set to "signed" (with a key fingerprint), or its evaluated_on (the date waivers were judged
against) set back.  `history list` then said "signed: yes" and `history show` named the key and the
date, and `history verify` said "history verified", exit 0: it compared every other field the
commands show with the run's evidence, but not these.  Now each is a record_mismatch, exit 10; the
key is the one the stored .sig proves signed the evidence.  The evaluation date is a
record_mismatch (exit 10); a signature claimed that the run does not hold is a signature break
(exit 11)."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from auditor.history.store import make_engine
from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import record_scan

VERIFY_DIGEST, VERIFY_SIGNATURE = 10, 11


def _edit(store: str, **values: object) -> None:
    engine, _ = make_engine(store, create=False)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET " + ", ".join(f"{name} = :{name}" for name in values)), values)
    engine.dispose()


@pytest.mark.parametrize("edit, kind, code, said", [
    ({"signature_state": "signed"}, "signature", VERIFY_SIGNATURE, "the run says it is 'signed', but it holds no "
                                                                   "signature"),
    ({"signature_key": "ab" * 32}, "signature", VERIFY_SIGNATURE, f"the run says it was signed by key {'ab' * 32}, "
                                                                  "but no key proved signing it"),
    ({"evaluated_on": date(2020, 1, 1)}, "record_mismatch", VERIFY_DIGEST, "the run says evaluated_on '2020-01-01', "
                                                                           "its evidence "),
])
def test_an_edited_claim_of_an_unsigned_run_fails_verify(tmp_path, store_url, edit, kind, code,  # noqa: F811
                                                         said):
    record_scan(tmp_path, store_url, "monday", wildcard_redis=False)
    _edit(store_url, **edit)
    result = run_cli("history", "verify", "--json", "--store", store_url)
    assert result.returncode == code, result.stdout + result.stderr  # before: 0
    report = json.loads(result.stdout)
    assert report["first_break"]["kind"] == kind and said in report["first_break"]["detail"], report


def test_a_signed_run_said_to_be_signed_by_another_key_fails_verify(tmp_path, store_url):  # noqa: F811
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys).returncode == 0
    record_scan(tmp_path, store_url, "monday", wildcard_redis=False, extra=("--sign-key", str(keys / "lbaudit.key")))
    listed = json.loads(run_cli("history", "list", "--json", "--store", store_url).stdout)
    real_key = listed[0]["signature"]["key"]
    assert run_cli("history", "verify", "--pubkey", keys / "lbaudit.pub", "--store", store_url).returncode == 0
    _edit(store_url, signature_key="cd" * 32)
    result = run_cli("history", "verify", "--pubkey", keys / "lbaudit.pub", "--json", "--store", store_url)
    assert result.returncode == VERIFY_SIGNATURE, result.stdout + result.stderr
    assert (f"the run says it was signed by key {'cd' * 32}, but its signature proves key {real_key}"
            in json.loads(result.stdout)["first_break"]["detail"])
