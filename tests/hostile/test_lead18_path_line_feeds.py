"""A file name's line feed cannot forge a line of lbaudit's messages.

``terminal_lines`` keeps a message's own line feeds and escapes every other control character; the
file names ``validate`` put into its lines were the message's, so a policy directory holding a file
named "bad.yaml: ok (corp)\\nzz.yaml" printed the line "DIR/bad.yaml: ok (corp)" for an invalid
policy, and each of its problems began a forged line.  A file name is now one line, its line feed
shown as ``\\n``, in the ok/invalid line and in every ``file:line:column: message`` problem.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from auditor.errors import Problem

REPO = Path(__file__).resolve().parents[2]
FORGED = "bad.yaml: ok (corp)\nzz.yaml"


def validate(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from auditor.entry import main; main()", "validate", str(directory)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)


def test_a_file_name_with_a_line_feed_forges_no_ok_line(tmp_path):
    (tmp_path / FORGED).write_text("id: x\n")
    run = validate(tmp_path)
    assert run.returncode == 2, run.stderr
    lines = (run.stdout + run.stderr).splitlines()
    assert f"{tmp_path}/bad.yaml: ok (corp)" not in lines, lines  # before: this very line
    assert not any(line.startswith("zz.yaml") for line in lines), lines
    assert any("bad.yaml: ok (corp)\\nzz.yaml: invalid policy" in line for line in lines), lines


def test_control_case_a_plain_name_is_shown_as_it_is(tmp_path):
    shutil.copy(REPO / "policies/corp.yaml", tmp_path / "corp.yaml")
    run = validate(tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{tmp_path}/corp.yaml: ok ("), run.stdout


def test_a_problem_shows_its_file_on_one_line():
    assert str(Problem(FORGED, 3, 1, "bad")) == "bad.yaml: ok (corp)\\nzz.yaml:3:1: bad"
    assert "\n" not in str(Problem("a\rb", None, None, "m"))
