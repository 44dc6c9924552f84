"""An ``extends`` that names no file is quoted cut, with its length, as every other long name a
problem quotes (test_policy_long_names.py, test_policy10_long_values.py): a policy of 900,000
characters of ``extends`` printed them twice (the name and the path it resolved to), 1.8 MB for one
problem, the file and line lost in it."""

from __future__ import annotations

from pathlib import Path

from tests.cli import run_cli

LONG = "/".join(["a" * 200] * 4000)  # 803,999 characters: within the 1 MiB a policy may hold


def test_a_long_extends_that_names_no_file_is_quoted_cut(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text(f'id: p\nversion: "1"\nowner: T\nextends: {LONG}\nrules: []\n', encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", policy)
    assert checked.returncode == 2
    [line] = [line for line in checked.stderr.splitlines() if ": extends: " in line]
    assert line.startswith(f"  {policy}:4:1: extends: '{'a' * 100}'... (a name of 803,999 characters) is not a "
                           "file (resolved to "), line
    assert len(line) < 4500, len(line)  # the path it resolved to: cut at PATH_MAX, past which no file is named


def test_control_case_a_short_extends_is_quoted_whole(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text('id: p\nversion: "1"\nowner: T\nextends: base.yaml\nrules: []\n', encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", policy, cwd=tmp_path)
    assert checked.returncode == 2
    assert "p.yaml:4:1: extends: 'base.yaml' is not a file (resolved to base.yaml)" in checked.stderr
