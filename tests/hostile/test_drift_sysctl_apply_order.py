"""Hostile boot configuration: the order each boot tool applies repeated keys, exclusions and globs in.

lbaudit merged every image's sysctl.d as systemd-sysctl does (one entry per key; an exclusion
``-key`` takes back an earlier assignment; a repeated value keeps its first place).  procps'
``sysctl --system``, which applies them at boot on hosts without systemd, keeps every line in a
list and writes them in order (procps-ng 4.0, src/sysctl.c write_setting_list):

* ``tcp_tw_reuse = 1`` then ``-tcp_tw_reuse``: procps writes 1 (the exclusion only keeps globs
  away); lbaudit read "not set", so a host running 2 was no drift;
* ``tcp_tw_re* = 0``, ``tcp_tw_r* = 1``, ``tcp_tw_re* = 0``: procps writes 0 last; lbaudit kept
  the first place of the repeated glob and read 1, so a host running 1 passed.

And for systemd-sysctl, ``-net.ipv4.tcp_tw_*`` (an exclusion with a glob) excludes nothing, but
lbaudit kept it, harmlessly only because it never looked at it.  Each case is applied by the real
tool in a private mount and network namespace and compared with lbaudit's reading of the same files.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.collect.sysctl_d import read_persistent_sysctls
from auditor.domain.sysctl import configured_setting
from auditor.model.facts import SysctlFacts
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, install_procps_boot, snapshot, sysctl_facts
from tests.netns_env import boot_sysctl_files, procps_sysctl_or_skip, systemd_sysctl_or_skip

TW_REUSE = "net.ipv4.tcp_tw_reuse"

CASES = [
    ["net.ipv4.tcp_tw_reuse = 1\n", "-net.ipv4.tcp_tw_reuse\n"],
    ["net.ipv4.tcp_tw_re* = 0\n", "net.ipv4.tcp_tw_r* = 1\n", "net.ipv4.tcp_tw_re* = 0\n"],
    ["net.ipv4.tcp_tw_re* = 0\n", "-net.ipv4.tcp_tw_re*\n", "net.ipv4.tcp_tw_re* = 1\n"],
    ["-net.ipv4.tcp_tw_*\nnet.ipv4.tcp_tw_re* = 0\n"],
    ["net.ipv4.tcp_tw_re* = 0\n", "-net.ipv4.tcp_tw_re*\n"],
    ["net.ipv4.tcp_tw_reuse = 1\nnet.ipv4.tcp_tw_re* = 0\n"],
    ["-net.ipv4.tcp_tw_reuse\nnet.ipv4.tcp_tw_re* = 0\n"],
    ["-net.ipv4.tcp_tw_reuse\n", "net.ipv4.tcp_tw_reuse = 0\n"],
]


def image(tmp_path: Path, files: list[str], systemd: bool) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    for number, text in enumerate(files, start=1):
        (root / "etc" / "sysctl.d" / f"{number}0-boot.conf").write_text(text)
    if systemd:
        (root / "usr" / "lib" / "systemd").mkdir(parents=True)
        (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
        # a systemd that tells its version (252): one of unknown version may read the files as
        # one before 245 does (tests/hostile/test_rules12_sysctl_conf_old_systemd.py)
        (root / "usr" / "lib" / "systemd" / "libsystemd-shared-252.so").write_bytes(b"\x7fELF")
    else:
        # procps-ng 4.0, whose reading lbaudit replays (3.3 reads '-key' lines, globs and long lines otherwise)
        (root / "usr" / "lib" / "x86_64-linux-gnu").mkdir(parents=True)
        (root / "usr" / "lib" / "x86_64-linux-gnu" / "libproc2.so.0").write_bytes(b"\x7fELF")
    return root


def lbaudit_boot_value(tmp_path: Path, files: list[str], systemd: bool) -> str | None:
    persistent, gaps = read_persistent_sysctls(image(tmp_path, files, systemd))
    assert gaps == [] and persistent is not None
    setting = configured_setting(persistent, TW_REUSE)
    return None if setting is None else setting.value


def drift_status(tmp_path: Path, files: list[str], running: str, systemd: bool) -> Status | None:
    persistent, _ = read_persistent_sysctls(image(tmp_path, files, systemd))
    runtime = sysctl_facts(dict(LINUX_DEFAULT_SYSCTLS, **{TW_REUSE: running})).runtime
    found = [o.status for o in drift_sysctl.run(snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=persistent)),
                                                DriftSysctlParams()) if o.subject == f"sysctl {TW_REUSE}"]
    return found[0] if found else None


def test_procps_keeps_an_assignment_its_exclusion_follows(tmp_path):
    assert lbaudit_boot_value(tmp_path, CASES[0], systemd=False) == "1"
    assert drift_status(tmp_path / "d", CASES[0], "2", systemd=False) == Status.FAIL


def test_procps_writes_a_repeated_glob_at_its_last_place(tmp_path):
    assert lbaudit_boot_value(tmp_path, CASES[1], systemd=False) == "0"
    assert drift_status(tmp_path / "d", CASES[1], "1", systemd=False) == Status.FAIL


def test_systemd_sysctl_takes_the_assignment_back_and_keeps_the_first_place(tmp_path):
    assert lbaudit_boot_value(tmp_path / "a", CASES[0], systemd=True) is None
    assert lbaudit_boot_value(tmp_path / "b", CASES[1], systemd=True) == "1"


@pytest.mark.parametrize("tool", ["systemd-sysctl", "sysctl --system"])
@pytest.mark.parametrize("files", CASES)
def test_lbaudit_reads_the_files_as_the_boot_tool_applies_them(tmp_path, tool, files):
    if tool == "systemd-sysctl":
        command = [systemd_sysctl_or_skip()]
    else:
        command = [procps_sysctl_or_skip(), "-q", "--system"]
    before, booted = boot_sysctl_files(command, tmp_path / "boot", {f"{n}0-boot.conf": t for n, t in
                                                                    enumerate(files, start=1)}, TW_REUSE)
    assert before == "2"
    read = lbaudit_boot_value(tmp_path, files, systemd=tool == "systemd-sysctl")
    assert (read if read is not None else before) == booted


def procps_image(tmp_path: Path) -> Path:
    """An image without systemd-sysctl: /etc/sysctl.d/.tuning.conf (hidden) sets tcp_tw_reuse 0, and
    /etc/sysctl.d/50-vendor.conf is a directory over /usr/lib/sysctl.d/50-vendor.conf's 1."""
    root = tmp_path / "procps"
    (root / "etc" / "sysctl.d" / "50-vendor.conf").mkdir(parents=True)
    (root / "etc" / "sysctl.d" / ".tuning.conf").write_text(f"{TW_REUSE} = 0\n")
    (root / "usr" / "lib" / "sysctl.d").mkdir(parents=True)
    (root / "usr" / "lib" / "sysctl.d" / "50-vendor.conf").write_text("net.ipv4.tcp_fin_timeout = 30\n")
    return install_procps_boot(root)


def test_procps_applies_a_hidden_file_and_a_directory_hides_its_name(tmp_path):
    persistent, gaps = read_persistent_sysctls(procps_image(tmp_path))
    assert gaps == []
    assert {k: s.value for k, s in persistent.items()} == {TW_REUSE: "0"}
    assert persistent[TW_REUSE].origin == "/etc/sysctl.d/.tuning.conf:1"


def test_procps_lists_the_directories_as_lbaudit_reads_them(tmp_path):
    tool = procps_sysctl_or_skip()
    confd = tmp_path / "boot" / "sysctl.d"
    before, booted = boot_sysctl_files([tool, "-q", "--system"], tmp_path / "boot", {".tuning.conf": f"{TW_REUSE} = 0\n"},
                                       TW_REUSE)
    assert (before, booted) == ("2", "0") and confd.is_dir()
    read = configured_setting(read_persistent_sysctls(procps_image(tmp_path))[0], TW_REUSE)
    assert read is not None and read.value == booted


def test_a_link_to_a_directory_hides_the_vendor_file_of_its_name(tmp_path):
    # systemd-sysctl 252 lists every symbolic link by its name (dirent_is_file_with_suffix takes
    # DT_LNK), so /etc/sysctl.d/50-vendor.conf -> a directory hides /usr/lib/sysctl.d/50-vendor.conf
    # and sets nothing; lbaudit skipped the link and applied the vendor file
    for systemd in (True, False):
        root = image(tmp_path / str(systemd), [], systemd)
        (root / "etc" / "vendor-overrides").mkdir()
        (root / "etc" / "sysctl.d" / "50-vendor.conf").symlink_to("../vendor-overrides")
        (root / "usr" / "lib" / "sysctl.d").mkdir(parents=True)
        (root / "usr" / "lib" / "sysctl.d" / "50-vendor.conf").write_text(f"{TW_REUSE} = 0\n")
        assert read_persistent_sysctls(root) == ({}, [])


def boot_over_vendor(tool: str, tmp_path: Path, link: bool) -> str:
    """tcp_tw_reuse after systemd-sysctl applies /usr/lib/sysctl.d/50-vendor.conf (0) under an
    /etc/sysctl.d that holds, when ``link``, 50-vendor.conf -> a directory."""
    target, vendor, confd, empty = (tmp_path / name for name in ("a-directory", "vendor", "etc", "empty"))
    for directory in (target, vendor, confd, empty):
        directory.mkdir(parents=True)
    (vendor / "50-vendor.conf").write_text(f"{TW_REUSE} = 0\n")
    if link:
        (confd / "50-vendor.conf").symlink_to(target)  # absolute: the same directory inside the namespace
    script = "; ".join([f"mount --bind {confd} /etc/sysctl.d", f"mount --bind {vendor} /usr/lib/sysctl.d",
                        "[ ! -e /etc/sysctl.conf ] || mount --bind /dev/null /etc/sysctl.conf",
                        f"[ ! -d /run/sysctl.d ] || mount --bind {empty} /run/sysctl.d",
                        f"[ ! -d /usr/local/lib/sysctl.d ] || mount --bind {empty} /usr/local/lib/sysctl.d",
                        f"{tool} 2>/dev/null || true", f"cat /proc/sys/{TW_REUSE.replace('.', '/')}"])
    return subprocess.run(["unshare", "--mount", "--net", "sh", "-ec", script], capture_output=True, text=True,
                          timeout=30, check=True).stdout.strip()


def test_systemd_sysctl_lets_a_link_to_a_directory_hide_its_name(tmp_path):
    tool = systemd_sysctl_or_skip()
    assert boot_over_vendor(tool, tmp_path / "plain", link=False) == "0"
    assert boot_over_vendor(tool, tmp_path / "linked", link=True) == "2"  # the kernel default: hidden
