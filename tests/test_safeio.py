"""read_regular: the one bounded, non-blocking reader for files lbaudit does not control."""

from __future__ import annotations

import os

import pytest

from auditor.safeio import FileTooLarge, NotRegularFile, read_regular


def test_regular_file_is_read_whole(tmp_path):
    path = tmp_path / "a.conf"
    path.write_bytes(b"x" * 10)
    assert read_regular(path, 10) == b"x" * 10


def test_one_byte_over_the_limit_is_too_large(tmp_path):
    path = tmp_path / "a.conf"
    path.write_bytes(b"x" * 11)
    with pytest.raises(FileTooLarge):
        read_regular(path, 10)


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "99-x.conf"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile, match="FIFO"):
        read_regular(fifo, 100)


def test_endless_device_is_refused():
    with pytest.raises(NotRegularFile, match="character device"):
        read_regular("/dev/zero", 100)


def test_directory_is_refused(tmp_path):
    with pytest.raises(NotRegularFile, match="directory"):
        read_regular(tmp_path, 100)


def test_symlink_is_refused_when_links_are_not_to_be_followed(tmp_path):
    target = tmp_path / "t"
    target.write_text("x")
    link = tmp_path / "l"
    link.symlink_to(target)
    assert read_regular(link, 10) == b"x"
    with pytest.raises(OSError):
        read_regular(link, 10, follow_symlinks=False)
