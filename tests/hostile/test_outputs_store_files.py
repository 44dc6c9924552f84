"""An output named as one of the files SQLite keeps beside a history store.

A store ``H`` is the file ``H`` and the files SQLite writes beside it: ``H-wal`` and ``H-shm`` in
WAL mode, and ``H-journal``, its rollback journal, before the store is in WAL mode.  ``-o
H-journal`` was not refused like ``-o H-wal``: the evidence was written there, exit 1, and the
next command that opened the store (``history list``, the next ``--record``) had SQLite delete it,
a journal that was not its own.  Now every one of them is an input no output may take the name of
(auditor/history/store.py ``files``): exit 2 before any work, nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

USAGE, WRITTEN = 2, 1  # the snapshot's listener binds 0.0.0.0: a run that writes fails its rule


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    return tmp_path


def evaluate(work: Path, *args: object):
    return run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "--record",
                   "--store", "h.db", *args, cwd=work)


@pytest.mark.parametrize("suffix", ["-journal", "-wal", "-shm"])
def test_an_output_named_as_a_file_of_the_store_is_refused(work, suffix):
    assert evaluate(work, "-o", "e.json").returncode == WRITTEN
    before = {p.name: p.read_bytes() for p in work.iterdir()}
    result = evaluate(work, "-o", f"h.db{suffix}")
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert f"the history store {work / f'h.db{suffix}'}: writing it would" in result.stderr
    assert {p.name: p.read_bytes() for p in work.iterdir()} == before
    listed = run_cli("history", "list", "--store", "h.db", "--json", cwd=work)
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 1, listed.stderr
