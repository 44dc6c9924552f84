"""Hostile image: a file in /lib/sysctl.d under a systemd that no longer reads it.

systemd 255 removed split-usr builds: CONF_PATHS("sysctl.d") is /etc, /run, /usr/local/lib and
/usr/lib only (NEWS 255: "Support for split-usr ... and unmerged-usr (parallel directories /bin/
and /usr/bin/, /lib/ and /usr/lib/, ...) has been removed").  Up to 254 a split-usr build (Debian's)
also reads /lib/sysctl.d, and procps' ``sysctl --system`` always does.  lbaudit read /lib/sysctl.d
whatever the systemd: an image with systemd 255 and a real /lib whose 50-tw.conf sets
tcp_tw_reuse 0 passed net.time_wait (allowed 0), although its boot never reads that file.  The
version is the installed libsystemd-shared-<version>.so's; when it cannot be told, /lib/sysctl.d is
still read and the provenance says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect import CollectContext
from auditor.collect.rootdir import collect_root
from auditor.collect.sysctl import describe_sysctl
from auditor.collect.sysctl_d import read_persistent_sysctls, systemd_version
from auditor.collect.targets import RootDir
from auditor.model.facts import SysctlSetting
from auditor.model.result import Status
from tests.factories import install_procps_boot

TW_REUSE = "net.ipv4.tcp_tw_reuse"


def image(tmp_path: Path, library: str | None, library_dir: str = "usr/lib/systemd") -> Path:
    """An unmerged image: a real /lib holding sysctl.d/50-tw.conf, systemd-sysctl installed, and
    ``library`` (libsystemd-shared-<version>.so) in ``library_dir``."""
    root = tmp_path / "image"
    (root / "lib" / "sysctl.d").mkdir(parents=True)
    (root / "lib" / "sysctl.d" / "50-tw.conf").write_text(f"{TW_REUSE} = 0\n")
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    if library is not None:
        (root / library_dir).mkdir(parents=True, exist_ok=True)
        (root / library_dir / library).write_bytes(b"\x7fELF")
    return root


def tw_reuse(root: Path):
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    [outcome] = [o for o in net_time_wait.run(snap, TimeWaitParams(allowed_tw_reuse=[0]))
                 if o.subject == f"sysctl {TW_REUSE}"]
    return outcome


@pytest.mark.parametrize("library,library_dir", [
    ("libsystemd-shared-255.so", "usr/lib/systemd"),
    ("libsystemd-shared-256.4-1.fc41.so", "usr/lib64/systemd"),
    ("libsystemd-shared-257.so", "usr/lib/x86_64-linux-gnu/systemd"),
])
def test_systemd_255_and_later_do_not_read_lib_sysctl_d(tmp_path, library, library_dir):
    root = image(tmp_path, library, library_dir)
    assert systemd_version(root) == int(library.split("-")[2].split(".")[0])
    assert read_persistent_sysctls(root) == ({}, [])
    outcome = tw_reuse(root)
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.reason.startswith(f"{TW_REUSE} is not set in any sysctl configuration file")


def test_a_split_usr_systemd_before_255_reads_it(tmp_path):
    root = image(tmp_path, "libsystemd-shared-252.so", "lib/systemd")
    assert read_persistent_sysctls(root) == ({TW_REUSE: SysctlSetting(value="0", origin="/lib/sysctl.d/50-tw.conf:1")}, [])
    assert tw_reuse(root).status == Status.PASS


def test_procps_reads_it_whatever_systemd_is_installed(tmp_path):
    root = image(tmp_path, "libsystemd-shared-255.so")
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").unlink()  # the boot's tool is sysctl --system
    install_procps_boot(root)
    assert read_persistent_sysctls(root)[0] == {TW_REUSE: SysctlSetting(value="0", origin="/lib/sysctl.d/50-tw.conf:1")}


def test_an_unknown_version_keeps_reading_it_and_says_so(tmp_path):
    root = image(tmp_path, None)
    assert systemd_version(root) is None
    assert tw_reuse(root).status == Status.PASS
    description = describe_sysctl(collect_root(root, frozenset({"sysctl"})).facts.sysctl,
                                  CollectContext(target=RootDir(root)))
    assert ("/lib/sysctl.d read, although systemd 255 and later do not read it: the installed systemd's "
            "version is not known") in description
    # two versions installed (an upgrade half done): which one boots is not known either
    (root / "usr" / "lib" / "systemd" / "libsystemd-shared-252.so").write_bytes(b"")
    (root / "usr" / "lib" / "systemd" / "libsystemd-shared-255.so").write_bytes(b"")
    assert systemd_version(root) is None


def test_this_hosts_systemd_sysctl_agrees(tmp_path):
    """The installed systemd-sysctl, run in a chroot whose /lib is a real directory, lists
    /lib/sysctl.d exactly when lbaudit reads it for that version."""
    tool = "/usr/lib/systemd/systemd-sysctl"
    multiarch = Path("/usr/lib/x86_64-linux-gnu")
    if os.geteuid() != 0 or not os.path.exists(tool) or shutil.which("unshare") is None or not multiarch.is_dir():
        pytest.skip("needs root, unshare, an x86_64 Debian-style /usr and systemd-sysctl")
    version = systemd_version(Path("/"))
    if version is None:
        pytest.skip("this host's systemd version is not known to lbaudit")
    chroot = tmp_path / "chroot"
    for directory in ("usr", "etc/sysctl.d", "lib/sysctl.d", "lib/x86_64-linux-gnu", "run", "proc", "dev"):
        (chroot / directory).mkdir(parents=True)
    (chroot / "lib64").symlink_to("usr/lib64")
    (chroot / "lib" / "sysctl.d" / "50-tw.conf").write_text(f"{TW_REUSE} = 0\n")
    script = (f"mount --bind /usr {chroot}/usr && mount --bind {multiarch} {chroot}/lib/x86_64-linux-gnu && "
              f"chroot {chroot} {tool} --cat-config --no-pager")
    listed = subprocess.run(["unshare", "--mount", "sh", "-ec", script], capture_output=True, text=True,
                            timeout=30, check=True).stdout
    image_root = image(tmp_path / "same", f"libsystemd-shared-{version}.so")
    read = read_persistent_sysctls(image_root)[0]
    assert ("# /lib/sysctl.d/50-tw.conf" in listed) == (TW_REUSE in read)
