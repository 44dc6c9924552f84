"""``lbaudit history show`` of a run whose finding names a process of a megabyte.

A process may name itself anything (its executable's file name, its argv[0]); a snapshot holds the
name as the host said it, and a finding's subject quotes it.  The history store keeps the subject
whole, and ``history show`` printed it whole, twice (the subject cell, and the header padded to
its width): 2 MB on a terminal for one finding.  Now each cell of a table a history command prints
is cut as a report cuts a finding's text (:func:`auditor.text.shown_line`, ``MAX_REPORT_TEXT_CHARS``,
as ``history diff`` and ``fleet report`` show the same subjects), saying that the rest is in the
run's evidence, and a column is padded to at most ``TABLE_COLUMN``: one long subject widened every
row.  The lines above the table (the run's record, which an edited store says what it likes in)
are shown as a message's lines are (``terminal_lines``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from auditor.text import MAX_MESSAGE_LINE_CHARS, MAX_REPORT_TEXT_CHARS
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
SHOWN = 0
NAME_CHARS = 1_000_000


def test_history_show_cuts_a_subject_of_a_megabyte(tmp_path: Path):
    name = "\x1b[2J\r" + "p" * NAME_CHARS
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22, processes=[ProcessInfo(pid=5, name=name)])]),
                   tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("big"))
    store = tmp_path / "history.db"
    recorded = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                       "-o", tmp_path / "e.json", "--record", "--store", store, "-q")
    assert recorded.returncode == NON_COMPLIANT, recorded.stderr
    (finding,) = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))["result"]["findings"]
    subject = finding["subject"]
    assert subject.startswith(f"tcp 0.0.0.0:22 {name}") and len(subject) > NAME_CHARS

    result = run_cli("history", "show", "1", "--store", store)

    assert (result.returncode, result.stderr) == (SHOWN, "")
    rest = len(subject) - MAX_REPORT_TEXT_CHARS
    shown = (subject[:MAX_REPORT_TEXT_CHARS].replace("\x1b", "\\x1b").replace("\r", "\\x0d")
             + f"\u2026 ({rest:,} more characters and 0 more lines in the run's evidence (history show --evidence))")
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("fail")]
    assert re.split(" {2,}", row) == ["fail", "high", "loopback-only", shown, "CM-6,CM-7,SC-7,SC-7(5)", finding["id"]]
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    assert len(result.stdout) < 2 * len(shown) + 2_000


def test_one_long_subject_does_not_widen_every_row(tmp_path: Path):
    name = "p" * NAME_CHARS
    listeners = [listener("0.0.0.0", 22, processes=[ProcessInfo(pid=5, name=name)])]
    listeners += [listener("0.0.0.0", port, processes=[ProcessInfo(pid=port, name="sshd")]) for port in range(1000, 1200)]
    write_snapshot(snapshot(listeners=listeners), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("big"))
    store = tmp_path / "history.db"
    recorded = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                       "-o", tmp_path / "e.json", "--record", "--store", store, "-q")
    assert recorded.returncode == NON_COMPLIANT, recorded.stderr

    result = run_cli("history", "show", "1", "--store", store)

    assert (result.returncode, result.stderr) == (SHOWN, "")
    rows = [line for line in result.stdout.splitlines() if line.startswith("fail")]
    assert len(rows) == 201
    (long_row,) = [row for row in rows if name[:100] in row]
    assert len(long_row) < MAX_REPORT_TEXT_CHARS + 300
    # every other row (and the header) as wide as its own cells, at most TABLE_COLUMN each
    assert max(len(row) for row in rows if row is not long_row) < 300
    (header,) = [line for line in result.stdout.splitlines() if line.startswith("status")]
    assert len(header) < 300
    assert len(result.stdout) < MAX_REPORT_TEXT_CHARS + 201 * 300 + 2_000


def test_history_show_escapes_and_cuts_an_edited_signature_key(tmp_path: Path):
    import sqlite3

    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("big"))
    store = tmp_path / "history.db"
    recorded = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                       "-o", tmp_path / "e.json", "--record", "--store", store, "-q")
    assert recorded.returncode == NON_COMPLIANT, recorded.stderr
    key = "\rsignature: signed " + "k" * NAME_CHARS
    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE runs SET signature_key = ?", (key,))
    connection.close()

    result = run_cli("history", "show", "1", "--store", store)

    assert (result.returncode, result.stderr) == (SHOWN, "")
    said = f"signature: unsigned (key {key})"
    shown = said[:MAX_MESSAGE_LINE_CHARS].replace("\r", "\\x0d")
    assert f"{shown}\u2026 ({len(said) - MAX_MESSAGE_LINE_CHARS:,} more characters and 0 more lines not shown)" in \
        result.stdout.splitlines()
    assert "\r" not in result.stdout
