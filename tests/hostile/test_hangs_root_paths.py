"""A ``--root`` that is no directory is exit 2 saying what it is, before anything is read.

The check said "no such directory" for a symbolic link loop (the link is there; it leads nowhere)
and "not a directory" for a FIFO or a device, without saying what the path is: a loop and a
missing mount point read the same.  Nothing blocks either way (the root is only ``stat``-ed).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
CORP = REPO / "policies" / "corp.yaml"
NEEDS = "(--root needs the top directory of an image)"


def _loop(path: Path) -> None:
    path.symlink_to(path.name)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _file(path: Path) -> None:
    path.write_bytes(b"")


def _link_to_a_character_device(path: Path) -> None:
    path.symlink_to("/dev/null")


CASES = {
    "link-loop": (_loop, "cannot use as the root directory: Too many levels of symbolic links"),
    "fifo": (_fifo, "is a FIFO, not a directory"),
    "file": (_file, "is a file, not a directory"),
    "link-to-dev-null": (_link_to_a_character_device, "is a character device, not a directory"),
}


@pytest.mark.parametrize("command", ["evaluate", "collect"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_root_that_is_no_directory_says_what_it_is(tmp_path, command, case):
    make, said = CASES[case]
    root = tmp_path / "image"
    make(root)
    out = tmp_path / "out.json"
    args = ["--policy", CORP] if command == "evaluate" else []
    result = run_cli(command, *args, "--root", root, "-o", out, "-q", cwd=tmp_path, timeout=30)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr == f"lbaudit: {root}: {said} {NEEDS}\n"
    assert not out.exists()
