"""The installed systemd's version is looked for in a bounded number of directories, once.

Before: to tell which systemd applies an image's sysctl.d (255 and later skip /lib/sysctl.d), the
collector listed ``/usr/lib/NAME/systemd`` for every NAME of /usr/lib containing ``-linux`` (a
multiarch tuple such as x86_64-linux-gnu; a real image has one or two), with no bound, each listing
whole, and did it twice a collection (the persistent settings and the provenance note).  An image
whose /usr/lib held 200 links ``a-linux-N -> t`` to one directory whose ``systemd/`` held 20,000
names took 39 s per pass here; 100,000 such links, hours.  Now at most 16 such directories are
looked at (past that the version is not known, with what that means for /lib/sysctl.d said in the
provenance), and the version is read once a collection.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.collect import rootfs
from auditor.collect.rootdir import collect_root

UNKNOWN_NOTE = "/lib/sysctl.d read, although systemd 255 and later do not read it: the installed systemd's version is not known"


def image(tmp_path: Path, multiarch: list[str]) -> Path:
    root = tmp_path / "image"
    (root / "etc/sysctl.d").mkdir(parents=True)
    (root / "etc/sysctl.d/10-range.conf").write_text("net.ipv4.ip_local_port_range = 32768 60999\n")
    lib = root / "usr/lib"
    (lib / "systemd").mkdir(parents=True)
    (lib / "systemd/systemd-sysctl").write_bytes(b"\x7fELF")  # systemd-sysctl applies sysctl.d
    (lib / "t/systemd").mkdir(parents=True)
    for number in range(2_000):
        (lib / "t/systemd" / f"unit-{number}").touch()
    (lib / "t/systemd/libsystemd-shared-256.so").touch()
    for name in multiarch:
        os.symlink("t", lib / name)
    return root


@pytest.fixture
def systemd_listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every listing of a .../systemd directory made through rootfs (the real listing, counted)."""
    listed: list[str] = []
    real_list = rootfs.list_dir

    def counted(root: Path, path: str) -> list[str]:
        if path.endswith("/systemd"):
            listed.append(path)
        return real_list(root, path)

    monkeypatch.setattr(rootfs, "list_dir", counted)
    return listed


def test_thousands_of_multiarch_names_are_not_each_listed(tmp_path, systemd_listings):
    snap = collect_root(image(tmp_path, [f"a-linux-{n}" for n in range(1_000)]), frozenset({"sysctl"}))
    assert systemd_listings == []  # before: 2 x 1,003 listings of 2,001 names each
    assert UNKNOWN_NOTE in snap.provenance.methods["sysctl"], snap.provenance.methods["sysctl"]


def test_control_case_one_multiarch_directory_tells_the_version_read_once(tmp_path, systemd_listings):
    snap = collect_root(image(tmp_path, ["x86_64-linux-gnu"]), frozenset({"sysctl"}))
    assert sorted(systemd_listings) == ["/lib/systemd", "/usr/lib/systemd", "/usr/lib/x86_64-linux-gnu/systemd",
                                        "/usr/lib64/systemd"]  # before: each twice
    assert "/lib/sysctl.d not read (systemd 256)" in snap.provenance.methods["sysctl"]
