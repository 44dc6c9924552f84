"""The installed procps's version is looked for in a bounded number of directories, once.

sysctld17 told procps 4.0 from 3.3 (which reads sysctl.d otherwise) by the library in /lib,
/usr/lib and every multiarch directory of them (``*-linux*``), each listed whole, with no bound on
how many: the class test_rootfs17_systemd_version_dirs.py bounded for systemd's version (200 links
to one directory of 20,000 names took 39 s a pass).  Both now share one finder: past 16 multiarch
names in /lib or /usr/lib the version is not known (procps 4.0 is then not assumed: its readings a
3.3 would not share leave the configuration unknown), and it is read once a collection.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor.collect import rootfs
from auditor.collect.sysctl_d import MAX_MULTIARCH_DIRS, procps_version


def image(tmp_path: Path, multiarch: int) -> Path:
    root = tmp_path / "image"
    target = root / "usr/lib/t"
    target.mkdir(parents=True)
    for number in range(2_000):
        (target / f"lib{number}.so").touch()
    (target / "libproc2.so.0").touch()
    for number in range(multiarch):
        os.symlink("t", root / "usr/lib" / f"a-linux-{number}")
    return root


def test_thousands_of_multiarch_names_are_not_each_listed(tmp_path, monkeypatch):
    root = image(tmp_path, 1_000)
    listed: list[str] = []
    real_list = rootfs.list_dir

    def counted(root: Path, path: str) -> list[str]:
        listed.append(path)
        return real_list(root, path)

    monkeypatch.setattr(rootfs, "list_dir", counted)
    assert procps_version(root) is None  # not known: 4.0 is not assumed
    assert not any("a-linux-" in path for path in listed)  # before: 1,000 listings of 2,001 names


def test_control_case_one_multiarch_directory_tells_the_version(tmp_path):
    root = image(tmp_path, 1)
    assert procps_version(root) == 4
    assert MAX_MULTIARCH_DIRS == 16


def test_a_multiarch_base_that_cannot_be_listed_leaves_the_version_unknown(tmp_path):
    """/usr/lib unreadable (EACCES, or more names than lbaudit lists) was read as "no multiarch
    directories", so the version was told from /lib's libraries alone: a libprocps.so there said
    3.3 while libproc2.so in /usr/lib/x86_64-linux-gnu, unseen, may say 4.0.  Unknown now."""
    root = tmp_path / "image"
    (root / "lib").mkdir(parents=True)
    (root / "lib/libprocps.so.8").touch()
    (root / "usr").mkdir()
    (root / "usr/lib").write_text("not a directory")  # listing raises NotADirectoryError, an OSError
    assert procps_version(root) is None


def test_control_case_a_missing_multiarch_base_is_no_multiarch_directory(tmp_path):
    root = tmp_path / "image"
    (root / "lib").mkdir(parents=True)
    (root / "lib/libprocps.so.8").touch()
    assert procps_version(root) == 3
