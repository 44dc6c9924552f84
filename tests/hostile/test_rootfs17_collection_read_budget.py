"""One collection reads at most 32 MiB of configuration files, together.

Before: each configuration file was bounded (4 MiB) and so was the number of files of a directory
(10,000), but not their sum, and hard links make one file thousands of names.  An image whose
/etc/audit/rules.d held 50 hard links to one 4 MiB file of comment lines took 42 s and 1.5 GB to
collect here (every text held until all were parsed); 10,000 of them would be 40 GB.  The same held
for sysctl.d.  Now a collection reads configuration files within one budget; the file that would
pass it is not read and is a gap naming it (the section not judged, never passed), as any file
that cannot be read.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor.collect.rootdir import collect_root
from tests.factories import install_procps_boot

BUDGET = "lbaudit reads at most 33,554,432 bytes of configuration files in one collection"
COMMENTS = b"# a comment line of some length to fill the file up\n" * 78_000  # 4,134,000 bytes: just under 4 MiB, the bound of one file


def linked(directory: Path, source: Path, count: int, suffix: str) -> None:
    directory.mkdir(parents=True)
    for number in range(count):
        os.link(source, directory / f"{number:05d}{suffix}")


def test_a_rules_d_of_hard_links_stops_at_the_budget(tmp_path):
    root = tmp_path / "image"
    root.mkdir()
    (root / "big").write_bytes(b"#" * (4 * 1024 * 1024 - 1) + b"\n")  # 4 MiB: 8 of them spend the budget whole
    linked(root / "etc/audit/rules.d", root / "big", 12, ".rules")
    (root / "etc/hostname").write_text("imagehost\n")
    snap = collect_root(root, frozenset({"audit"}))
    assert snap.facts.audit.persistent_rules is None
    reasons = [gap.reason for gap in snap.gaps if gap.path == ("persistent_rules",)]
    assert reasons == [f"/etc/audit/rules.d/00008.rules: {BUDGET}"], reasons  # 8 x 4 MiB read, the 9th refused
    assert snap.provenance.hostname == "imagehost"  # a small read once the budget is spent: still made


def test_a_sysctl_d_of_hard_links_is_a_gap_not_a_value(tmp_path):
    root = install_procps_boot(tmp_path / "image")
    (root / "big").write_bytes(COMMENTS + b"net.ipv4.ip_local_port_range = 32768 60999\n")
    linked(root / "etc/sysctl.d", root / "big", 12, ".conf")
    snap = collect_root(root, frozenset({"sysctl"}))
    assert snap.facts.sysctl.persistent is None
    (reason,) = [gap.reason for gap in snap.gaps if gap.path == ("persistent",)]
    # sysctl.d has a bound of its own, lower than the collection's: its files together are read up
    # to 4 MiB, as one file is (tests/hostile/test_sysctld17_total_size.py), so that one says so first
    assert reason == ("sysctl configuration could not be read completely: /etc/sysctl.d/00001.conf: with the files "
                      "before it, the sysctl configuration holds more than 4194304 bytes in all, more than lbaudit "
                      "reads (no later file was read)"), reason


def test_control_case_a_few_large_files_are_read(tmp_path):
    root = install_procps_boot(tmp_path / "image")
    # three files of 1.3 MB: within sysctl.d's own bound of 4 MiB in all
    (root / "big").write_bytes(COMMENTS[: len(COMMENTS) // 3] + b"net.ipv4.ip_local_port_range = 32768 60999\n")
    linked(root / "etc/sysctl.d", root / "big", 3, ".conf")
    snap = collect_root(root, frozenset({"sysctl"}))
    assert snap.facts.sysctl.persistent["net.ipv4.ip_local_port_range"].value == "32768 60999"
