"""Hostile boot configuration: systemd-sysctl.service masked, so the boot applies no sysctl.d file.

``systemctl mask systemd-sysctl.service`` (a link to /dev/null in /etc/systemd/system, or an empty
unit file) keeps PID 1 from running systemd-sysctl at boot: the kernel keeps its defaults (and what
its command line sets).  lbaudit read the sysctl.d files as the boot configuration all the same:
an image whose 60-net.conf sets tcp_tw_reuse 0 passed net.time_wait with tcp_tw_reuse allowed 0
although the booted host runs the kernel's default 2, and a live host was compared with values no
boot writes.  Now a masked service applies nothing (the key is "not set", not reviewed offline),
and a unit file that cannot be read leaves the configuration unknown.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.collect.sysctl_d import read_persistent_sysctls
from auditor.model.result import Status

TW_REUSE = "net.ipv4.tcp_tw_reuse"
SERVICE = "systemd-sysctl.service"


def image(tmp_path: Path) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    (root / "etc" / "sysctl.d" / "60-net.conf").write_text(f"{TW_REUSE} = 0\n")
    units = root / "usr" / "lib" / "systemd" / "system"
    (units / "sysinit.target.wants").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    (units / SERVICE).write_text("[Unit]\nDescription=Apply Kernel Variables\nDefaultDependencies=no\n\n"
                                 "[Service]\nType=oneshot\nExecStart=/usr/lib/systemd/systemd-sysctl\n")
    (units / "sysinit.target.wants" / SERVICE).symlink_to(f"../{SERVICE}")
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    return root


def tw_reuse_outcome(root: Path):
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    [outcome] = [o for o in net_time_wait.run(snap, TimeWaitParams(allowed_tw_reuse=[0]))
                 if o.subject == f"sysctl {TW_REUSE}"]
    return outcome


def test_an_image_whose_systemd_sysctl_runs_is_judged_on_its_files(tmp_path):
    assert tw_reuse_outcome(image(tmp_path)).status == Status.PASS


def test_a_masked_systemd_sysctl_applies_no_file(tmp_path):
    root = image(tmp_path)
    os.symlink("/dev/null", root / "etc" / "systemd" / "system" / SERVICE)
    assert read_persistent_sysctls(root) == ({}, [])
    outcome = tw_reuse_outcome(root)
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.reason.startswith(f"{TW_REUSE} is not set in any sysctl configuration file")


def test_an_empty_unit_file_masks_it_too(tmp_path):
    root = image(tmp_path)
    (root / "etc" / "systemd" / "system" / SERVICE).write_text("")
    assert read_persistent_sysctls(root) == ({}, [])


def test_an_unreadable_unit_file_leaves_the_configuration_unknown(tmp_path):
    root = image(tmp_path)
    (root / "etc" / "systemd" / "system" / SERVICE).symlink_to(SERVICE)  # a loop
    persistent, [gap] = read_persistent_sysctls(root)
    assert persistent is None
    assert gap.reason.startswith("sysctl configuration could not be read completely: ")
    assert gap.reason.endswith(f"(whether {SERVICE} runs at boot cannot be told)")
