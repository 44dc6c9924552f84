"""Hostile text from evidence and the history store, printed by the commands other than evaluate/show.

``evaluate`` and ``show`` print every subject through ``one_line`` (tests/hostile/test_output.py).
``diff``, ``history diff``, ``history show``/``list``, ``fleet evaluate`` and ``fleet report`` printed
the evidence's text as it is: a process named with an OSC escape set the terminal's title, a newline
in it printed a line of its own ("verdict: COMPLIANT"), and on a terminal ``history show`` handed the
subject to rich as markup: a process named ``[/]`` ended it with exit 70.  Now ``auditor/text.py``
``one_line`` (the one escaper, standard library only) shows every control character and bidi
override as an escape wherever those commands print evidence text, and their rich tables take it as
text, never markup.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, loopback_only_policy, snapshot

HOSTILE = "[/]\x1b]0;pwn\x07[bold red]x\nverdict: COMPLIANT\u202e"
# as a subject writes the name (one word: its spaces and ':' escaped) and a terminal shows it
SHOWN = "[/]\\x1b]0;pwn\\x07[bold\\x20red]x\\nverdict\\x3a\\x20COMPLIANT\\u202e"
COMPLIANT, NON_COMPLIANT = 0, 1


@pytest.fixture
def scans(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("tty"))
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)]), tmp_path / "before.json")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22, processes=[ProcessInfo(pid=5, name=HOSTILE)])]),
                   tmp_path / "after.json")
    for name, code in (("before", COMPLIANT), ("after", NON_COMPLIANT)):
        result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / f"{name}.json",
                         "-o", tmp_path / f"{name}.evidence.json", "-q", "--record", "--store", tmp_path / "store.db")
        assert result.returncode == code, result.stderr
    return tmp_path


def _raw(text: str) -> bool:
    return "\x1b]" in text or "\x07" in text or "\u202e" in text or "\nverdict: COMPLIANT" in text


def test_diff_shows_a_hostile_subject_on_one_line_as_escapes(scans: Path):
    result = run_cli("diff", scans / "before.evidence.json", scans / "after.evidence.json")
    assert result.returncode == NON_COMPLIANT, result.stderr
    # before: the OSC title escape and a line "verdict: COMPLIANT pid 5: new -> fail" of the process's making
    assert f"  loopback-only: tcp 0.0.0.0:22 {SHOWN} pid 5: new -> fail" in result.stdout.splitlines()
    assert not _raw(result.stdout)


def test_history_diff_and_show_piped_show_the_subject_as_escapes(scans: Path):
    diff = run_cli("history", "diff", "1", "2", "--store", scans / "store.db")
    assert diff.returncode == NON_COMPLIANT, diff.stderr
    assert f"  loopback-only: tcp 0.0.0.0:22 {SHOWN} pid 5: new -> fail" in diff.stdout.splitlines()
    show = run_cli("history", "show", "2", "--store", scans / "store.db")
    assert show.returncode == 0, show.stderr
    assert [line for line in show.stdout.splitlines() if "tcp 0.0.0.0:22" in line][0].startswith(
        f"fail    high      loopback-only  tcp 0.0.0.0:22 {SHOWN} pid 5")
    assert not _raw(diff.stdout) and not _raw(show.stdout)


def _on_a_terminal(*args: object) -> tuple[int, str]:
    """``lbaudit ARGS`` in a real process whose stdout is a terminal (a pty), 400 columns wide."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.run([sys.executable, "-m", "auditor.cli", *map(str, args)], stdin=follower,
                                 stdout=follower, stderr=follower, timeout=120,
                                 env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400", "TERM": "xterm"})
    finally:
        os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the follower side is closed and drained
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    return process.returncode, output.decode("utf-8", "replace")


@pytest.mark.slow  # a real process on a pty
def test_history_show_on_a_terminal_takes_a_subject_as_text_not_rich_markup(scans: Path):
    code, output = _on_a_terminal("history", "show", "2", "--store", scans / "store.db")
    assert code == 0, output  # before: 70, rich's MarkupError on the subject's "[/]"
    assert "internal error" not in output and not _raw(output)
    assert f"tcp 0.0.0.0:22 {SHOWN} pid 5" in output


def test_control_case_a_plain_subject_is_printed_as_it_is(scans: Path):
    # the clean snapshot judged again after the hostile one: the later scan of the two
    again = run_cli("evaluate", "--policy", scans / "policy.yaml", "--snapshot", scans / "before.json",
                    "-o", scans / "again.evidence.json", "-q")
    assert again.returncode == COMPLIANT, again.stderr
    result = run_cli("diff", scans / "after.evidence.json", scans / "again.evidence.json")
    assert result.returncode == COMPLIANT, result.stderr
    assert "  loopback-only: tcp 127.0.0.1:22 owner unknown: new -> pass" in result.stdout.splitlines()
