"""The one writer (auditor.storage.outputs.write_atomic) and the output plan, called directly."""

from __future__ import annotations

import os
import stat

import pytest

from auditor.errors import InputError
from auditor.storage.outputs import OutputExists, plan_outputs, write_atomic


def test_no_overwrite_is_refused_and_leaves_the_file_and_no_temporary(tmp_path):
    path = tmp_path / "k"
    path.write_bytes(b"old")
    with pytest.raises(OutputExists, match="refusing to overwrite"):
        write_atomic(path, b"new", replace=False)
    assert path.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["k"]


def test_a_private_file_is_0600_and_never_written_through_a_symlink(tmp_path):
    old = os.umask(0)
    try:
        write_atomic(tmp_path / "a.key", b"secret", private=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a.key").st_mode) == 0o600
    os.symlink("elsewhere.key", tmp_path / "b.key")
    with pytest.raises(InputError, match="symbolic link"):
        write_atomic(tmp_path / "b.key", b"secret", private=True)
    assert not (tmp_path / "elsewhere.key").exists()


def test_a_fifo_is_refused_by_the_writer_itself(tmp_path):
    os.mkfifo(tmp_path / "f")
    with pytest.raises(InputError, match="FIFO"):
        write_atomic(tmp_path / "f", b"x")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "f").st_mode) and sorted(os.listdir(tmp_path)) == ["f"]


def test_plan_finds_the_same_file_by_inode_and_by_path(tmp_path):
    (tmp_path / "a").write_text("x")
    os.link(tmp_path / "a", tmp_path / "b")
    with pytest.raises(InputError, match="same file"):
        plan_outputs([("evidence", tmp_path / "a"), ("pdf", tmp_path / "b")])
    with pytest.raises(InputError, match="same file"):
        plan_outputs([("evidence", tmp_path / "new"), ("pdf", tmp_path / "." / "new")])
    with pytest.raises(InputError, match="destroy an input"):
        plan_outputs([("evidence", tmp_path / "b")], [("policy", tmp_path / "a")])
    assert [p.role for p in plan_outputs([("evidence", tmp_path / "c")], [("policy", tmp_path / "a")])] == ["evidence"]
