"""``lbaudit collect --root DIR`` where DIR's name holds an erase-screen escape and a carriage return.

The summary collect prints names the root directory (or, for a replayed bundle, the captured host's
name and OS) as it is: a carriage return in the directory's name rewrote the ``source:`` line on the
terminal, and an ESC sequence went to it as it was (click strips ANSI sequences only when the output
is not a terminal).  Now each line of the summary is shown as a message's line is
(``terminal_lines``): control characters as escapes, and cut.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli import REPO, run_cli

COLLECTED = 0


def test_a_root_directory_named_with_control_characters_is_shown_escaped(tmp_path: Path):
    root = tmp_path / "image\x1b[2J\rverified"
    shutil.copytree(REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence", root)

    result = run_cli("collect", "--root", root, "-o", tmp_path / "snap.json")

    assert (result.returncode, result.stderr) == (COLLECTED, "")
    (source,) = [line for line in result.stdout.splitlines() if line.startswith("source: ")]
    assert source.startswith(f"source: root {tmp_path}/image\\x1b[2J\\x0dverified; ")
    assert "\r" not in result.stdout
