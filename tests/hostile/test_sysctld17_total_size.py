"""Hostile image: sysctl.d files that together hold far more than anyone writes.

Each sysctl.d file was read up to 4 MiB and up to 10,000 files were read, with nothing bounding the
whole: 10,000 links to one 4 MiB file of ``net.a.b=1`` lines (4 MiB on disk) were 40 GiB to read
and 4 billion lines to parse, kept in memory until the last was merged.  20 such links took 7
minutes and 2.3 GB of memory here, so the 10,000 an image may hold stop a collection for days (or
until it is killed for memory).  Now the files together are read up to 4 MiB, as one file is: past
that the configuration is unknown (a gap that says so), never read in part as if it were whole.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor.collect.rootfs import MAX_CONFIG_BYTES
from auditor.collect.sysctl_d import read_persistent_sysctls
from auditor.domain.sysctl import configured_setting
from tests.factories import install_procps_boot

TW_REUSE = "net.ipv4.tcp_tw_reuse"
# lines of comment (cheap to parse, so the test is quick before the fix too), under 1 MiB each
COMMENT_LINES = ("#" * 1023 + "\n") * (MAX_CONFIG_BYTES // 1024 // 2 + 1)


def image(tmp_path: Path, links: int) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "big.conf").write_text(COMMENT_LINES)  # over half the budget
    (root / "etc" / "sysctl.d" / "10-net.conf").write_text(f"{TW_REUSE} = 0\n")
    # procps-ng 4.0 applies them (3.3 would split the long comment lines: tests/hostile/test_sysctld17_procps_before_4.py)
    (root / "usr" / "lib" / "x86_64-linux-gnu").mkdir(parents=True)
    (root / "usr" / "lib" / "x86_64-linux-gnu" / "libproc2.so.0").write_bytes(b"\x7fELF")
    for number in range(links):
        os.symlink("/big.conf", root / "etc" / "sysctl.d" / f"{number + 20:05}.conf")
    return root


def test_files_past_the_budget_in_all_leave_the_configuration_unknown(tmp_path):
    persistent, gaps = read_persistent_sysctls(image(tmp_path, links=3))
    assert persistent is None
    [gap] = gaps
    assert "in all" in gap.reason and "00021.conf" in gap.reason, gap.reason


def test_many_links_to_one_file_stop_at_the_budget(tmp_path):
    persistent, gaps = read_persistent_sysctls(image(tmp_path, links=300))
    assert persistent is None
    assert len(gaps) == 1 and "in all" in gaps[0].reason


def test_files_within_the_budget_are_read(tmp_path):
    persistent, gaps = read_persistent_sysctls(image(tmp_path, links=1))
    assert gaps == [] and persistent is not None
    setting = configured_setting(persistent, TW_REUSE)
    assert setting is not None and setting.value == "0"
