"""``lbaudit validate DIR`` validates every ``*.yaml``/``*.yml`` entry of DIR, not only the regular files.

It skipped any entry that was not a regular file: a policy that is a link to a file since moved or
deleted (``prod.yaml -> ../shared/prod.yaml``), a link loop, a FIFO, a directory named like a
policy.  Beside one good policy the run said "ok" and exited 0, so a CI gate over the directory
passed while one of its policies could not be read.  Each such entry is now validated and
reported (exit 2), without blocking on a FIFO.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli import run_cli

GOOD = """id: good
version: "1"
owner: T
rules:
  - id: r
    check: drift.audit_rules
"""


def _directory(tmp_path: Path) -> Path:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "base.yaml").write_text(GOOD, encoding="utf-8")
    return policies


@pytest.mark.parametrize("kind, said", [
    ("dangling link", "shared/prod.yaml: cannot read policy: No such file or directory"),
    ("link loop", "prod.yaml: cannot read policy: Too many levels of symbolic links"),
    ("fifo", "prod.yaml: cannot read policy: it is a FIFO"),
    ("directory", "prod.yaml: cannot read policy: it is a directory"),
])
def test_an_entry_that_is_no_readable_file_fails_the_directory(tmp_path, kind, said):
    """On main: exit 0, "base.yaml: ok" and nothing about prod.yaml."""
    policies = _directory(tmp_path)
    entry = policies / "prod.yaml"
    if kind == "dangling link":
        entry.symlink_to("../shared/prod.yaml")
    elif kind == "link loop":
        (policies / "other.yml").symlink_to("prod.yaml")
        entry.symlink_to("other.yml")
    elif kind == "fifo":
        os.mkfifo(entry)
    else:
        entry.mkdir()
    run = run_cli("validate", "--no-plugins", policies, timeout=30)
    assert run.returncode == 2, run.stdout + run.stderr
    assert said in run.stderr
    assert "base.yaml: ok" in run.stdout


def test_control_case_files_of_other_names_are_still_ignored(tmp_path):
    policies = _directory(tmp_path)
    (policies / "README.md").symlink_to("nowhere")
    os.mkfifo(policies / "notes.txt")
    run = run_cli("validate", "--no-plugins", policies, timeout=30)
    assert run.returncode == 0, run.stdout + run.stderr
