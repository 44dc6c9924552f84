"""An image's kernel configurations are listed once, bounded, and each read once for both questions.

Before: two collectors asked an image's /boot/config-* something, each listing and reading them
itself.  The HZ collector (collect/kernel_hz.py) read at most 16; the x32 collector
(collect/x32.py) read every one, each up to 4 MiB: a /boot holding 5,000 configurations (or 16 of
4 MiB and thousands more) held a collection for as long as it took to walk and read them all, and the
two could disagree on the same image (HZ: "more than the 16 lbaudit reads", x32: a verdict drawn
from all of them).  And each configuration both read was read twice.  Now one bounded listing
(collect/kernel_config.py ``image_kernels``) serves both: past 16 configurations neither reads any
and both say so; each file is read once in a collection, a FIFO, a directory or an oversized file
named config-* is a reason, never a hang or a verdict.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.collect import rootfs
from auditor.collect.rootdir import collect_root
from tests.factories import ELF_X86_64

NO_X32_HZ250 = "CONFIG_X86_64=y\n# CONFIG_X86_X32_ABI is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n"
TOO_MANY = "/boot holds {count:,} kernel configurations, more than the 16 lbaudit reads"


def image(tmp_path: Path, count: int) -> Path:
    root = tmp_path / "image"
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/sbin/auditctl").write_bytes(ELF_X86_64)  # an x86_64 image: x32 is asked
    (root / "etc/sysctl.d").mkdir(parents=True)
    boot = root / "boot"
    boot.mkdir()
    for number in range(count):
        (boot / f"config-6.1.0-{number:05d}-amd64").write_text(NO_X32_HZ250)
    return root


@pytest.fixture
def config_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every /boot/config-* read through rootfs (the real read, counted)."""
    reads: list[str] = []
    real_read = rootfs.read_text

    def counted(root: Path, path: str, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
        if path.startswith("/boot/config-"):
            reads.append(path)
        return real_read(root, path, *args, **kwargs)

    monkeypatch.setattr(rootfs, "read_text", counted)
    return reads


def test_thousands_of_configurations_are_not_all_read_by_the_x32_collector(tmp_path, config_reads):
    snap = collect_root(image(tmp_path, 5_000), frozenset({"audit", "sysctl"}))
    assert config_reads == []  # before: all 5,000 read by the x32 collector
    assert snap.facts.audit.x32 is None
    x32_gaps = [gap.reason for gap in snap.gaps if gap.path == ("x32",)]
    assert x32_gaps == [TOO_MANY.format(count=5_000) + ": whether the kernel that runs this image has the x32 ABI "
                                                        "cannot be told"]
    assert snap.facts.sysctl.kernel_hz.hz is None
    assert snap.facts.sysctl.kernel_hz.source == TOO_MANY.format(count=5_000)


def test_each_configuration_is_read_once_for_both_questions(tmp_path, config_reads):
    snap = collect_root(image(tmp_path, 3), frozenset({"audit", "sysctl"}))
    assert sorted(config_reads) == [f"/boot/config-6.1.0-{n:05d}-amd64" for n in range(3)]  # before: each twice
    assert snap.facts.audit.x32 is not None and snap.facts.audit.x32.usable is False
    assert snap.facts.sysctl.kernel_hz.hz == 250


def test_control_case_sixteen_configurations_are_read_and_judged(tmp_path):
    snap = collect_root(image(tmp_path, 16), frozenset({"audit", "sysctl"}))
    assert snap.facts.audit.x32 is not None and snap.facts.audit.x32.usable is False
    assert snap.facts.audit.x32.source.count("CONFIG_X86_X32_ABI is not set") == 16
    assert snap.facts.sysctl.kernel_hz.hz == 250


@pytest.mark.parametrize("make, reason", [
    (lambda path: os.mkfifo(path), "is a FIFO, not a regular file"),
    (lambda path: path.mkdir(), "is a directory"),
    (lambda path: path.write_bytes(b"CONFIG_HZ=250\n" + b"#" * (4 * 1024 * 1024)), "larger than 4194304 bytes"),
])
def test_a_config_that_is_no_readable_file_is_a_reason_for_both(tmp_path, make, reason):
    root = image(tmp_path, 1)
    make(root / "boot/config-6.2.0-hostile")
    snap = collect_root(root, frozenset({"audit", "sysctl"}))
    assert snap.facts.audit.x32 is None
    (x32_gap,) = [gap.reason for gap in snap.gaps if gap.path == ("x32",)]
    assert x32_gap.startswith(f"/boot/config-6.2.0-hostile: {reason}"), x32_gap
    assert snap.facts.sysctl.kernel_hz.hz is None
    assert snap.facts.sysctl.kernel_hz.source.startswith(f"/boot/config-6.2.0-hostile: {reason}"), \
        snap.facts.sysctl.kernel_hz.source
