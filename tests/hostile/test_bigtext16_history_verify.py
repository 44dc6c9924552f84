"""``lbaudit history verify`` of a store edited to hold a signature key of "\\r..." and a megabyte,
and of one edited in enough places to break 130 times.

verify is run on a store that may have been edited: that is what it is for.  A break quotes what
the store holds (``the run says it was signed by key KEY``), and the line was printed as it was: the
carriage return rewrote it on the terminal and the megabyte went to it whole.  Now each break is
shown as a message's line is (``terminal_lines``), and at most ``MAX_LISTED_PROBLEMS`` are listed,
then how many more there are (``--json`` lists them all).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from auditor.errors import MAX_LISTED_PROBLEMS
from auditor.storage.snapshot import write_snapshot
from auditor.text import MAX_MESSAGE_LINE_CHARS
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
VERIFY_DIGEST = 10
VERIFY_SIGNATURE = 11
MEGABYTE = 1_000_000


def _record(tmp_path: Path, runs: int) -> Path:
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("big"))
    store = tmp_path / "history.db"
    for run in range(runs):
        recorded = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                           "-o", tmp_path / f"e{run}.json", "--record", "--store", store, "-q")
        assert recorded.returncode == NON_COMPLIANT, recorded.stderr
    return store


def test_a_break_quoting_an_edited_signature_key_is_escaped_and_cut(tmp_path: Path):
    store = _record(tmp_path, 1)
    key = "\x1b[2J\rhistory verified " + "k" * MEGABYTE
    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE runs SET signature_key = ?", (key,))
    connection.close()

    result = run_cli("history", "verify", "--store", store)

    assert (result.returncode, result.stderr) == (VERIFY_SIGNATURE, "")
    lines = result.stdout.splitlines()
    said = f"FIRST BREAK: run 1 (web01.example.test, policy big): signature: the run says it was signed by key {key}, " \
           "but no key proved signing it"
    shown = said[:MAX_MESSAGE_LINE_CHARS].replace("\x1b", "\\x1b").replace("\r", "\\x0d")
    assert lines[1:] == [f"{shown}\u2026 ({len(said) - MAX_MESSAGE_LINE_CHARS:,} more characters and 0 more lines "
                         "not shown)"]


def test_verify_lists_a_bounded_number_of_breaks_and_counts_the_rest(tmp_path: Path):
    store = _record(tmp_path, 13)
    with sqlite3.connect(store) as connection:  # ten fields of each run's record edited: ten breaks a run
        connection.execute("UPDATE runs SET policy_id = 'edited', tool_version = 'edited', verdict = 'compliant', "
                           "exit_code = 0, complete = 0, n_pass = 7, n_fail = 0, started_at = '2001-01-01 00:00:00', "
                           "finished_at = '2001-01-01 00:00:01', day = '2001-01-01'")
    connection.close()
    listed = run_cli("history", "verify", "--store", store, "--json")
    breaks = len(json.loads(listed.stdout)["breaks"])
    assert breaks > MAX_LISTED_PROBLEMS

    result = run_cli("history", "verify", "--store", store)

    assert result.returncode in (VERIFY_DIGEST, VERIFY_SIGNATURE) and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[1].startswith("FIRST BREAK: ")
    assert [line.startswith("  also: ") for line in lines[2:-1]] == [True] * (MAX_LISTED_PROBLEMS - 1)
    assert lines[-1] == f"  ... and {breaks - MAX_LISTED_PROBLEMS:,} more breaks not shown (--json lists them all)"
