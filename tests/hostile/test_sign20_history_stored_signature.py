"""``history verify`` reads a run's stored ``.sig`` document as ``lbaudit verify`` reads a ``.sig``.

The defect: the store checked a stored signature with a reader of its own, looser than the one every
``.sig`` goes through (``auditor.attest.signing.parse_signature``): it looked at the schema and the
two digests only.  In a store edited outside lbaudit,

* a stored document without ``"signature"``, or with a number or a list there, made
  ``history verify --pubkey`` end in an internal error (exit 70: KeyError, TypeError), the command
  meant to find such edits;
* a ``"signature"`` that is not base64 (``verify`` refuses the ``.sig``) was decoded leniently, its
  stray characters dropped, and counted among the "signatures verified" (exit 0); without
  ``--pubkey`` a list there passed as "history verified" while the run still claimed to be signed.

Now each is a ``signature`` break naming why the stored signature cannot be read (exit 11).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from auditor.attest.signing import generate_keypair, sign_evidence_file
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file


def _store_with_edited_signature(tmp_path, edit):
    path, _ = write_evidence_file(tmp_path, make_evidence())
    private, public = generate_keypair(tmp_path / "keys")
    sign_evidence_file(path, private)
    store = tmp_path / "history.db"
    recorded = run_cli("history", "import", path, "--store", store)
    assert recorded.returncode == 0, recorded.stderr
    with sqlite3.connect(store) as connection:
        (stored,) = connection.execute("select signature from runs").fetchone()
        document = json.loads(stored)
        edit(document)
        connection.execute("update runs set signature = ?", (json.dumps(document, indent=2, sort_keys=True),))
    connection.close()
    return store, public


EDITS = {
    "no signature": lambda document: document.pop("signature"),
    "a number": lambda document: document.update(signature=1234),
    "a list": lambda document: document.update(signature=["AAAA"]),
    "not base64": lambda document: document.update(signature="!!!!" + document["signature"]),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
@pytest.mark.parametrize("with_key", [True, False], ids=["pubkey", "no-pubkey"])
def test_an_unreadable_stored_signature_is_a_break(tmp_path, edit, with_key):
    store, public = _store_with_edited_signature(tmp_path, edit)
    run = run_cli("history", "verify", "--store", store, *(["--pubkey", public] if with_key else []))
    assert run.returncode == 11, run.stdout + run.stderr
    assert "internal error" not in run.stderr
    assert "history verified" not in run.stdout
    assert "signature" in run.stdout + run.stderr


def test_a_stored_signature_as_written_still_verifies(tmp_path):
    store, public = _store_with_edited_signature(tmp_path, lambda document: None)
    run = run_cli("history", "verify", "--store", store, "--pubkey", public)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 signatures verified" in run.stdout
