"""Hostile image: sysctl.d files left in the image's /run.

/run is a tmpfs mounted at boot (by systemd, or by the initscripts and the initramfs), so whatever
an image holds under /run/sysctl.d is gone before systemd-sysctl or ``sysctl --system`` lists the
directories.  lbaudit read an image's /run/sysctl.d as a running host's: a 50-net.conf there
setting tcp_tw_reuse 0 passed net.time_wait (allowed 0) although the booted host runs the kernel
default, and a file there hid the /usr/lib file of its name that the boot does apply.  Offline,
/run/sysctl.d is no longer read; a running host's still is (it is what systemd-sysctl reads when
it runs again).
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect import CollectContext
from auditor.collect.rootdir import collect_root
from auditor.collect.sysctl import describe_sysctl
from auditor.collect.sysctl_d import read_persistent_sysctls
from auditor.collect.targets import RootDir
from auditor.model.facts import SysctlSetting
from auditor.model.result import Status

TW_REUSE = "net.ipv4.tcp_tw_reuse"


def image(tmp_path: Path, run_file: str, usr_lib_file: str | None = None) -> Path:
    root = tmp_path / "image"
    (root / "run" / "sysctl.d").mkdir(parents=True)
    (root / "run" / "sysctl.d" / "50-net.conf").write_text(run_file)
    (root / "usr" / "lib" / "sysctl.d").mkdir(parents=True)
    if usr_lib_file is not None:
        (root / "usr" / "lib" / "sysctl.d" / "50-net.conf").write_text(usr_lib_file)
    (root / "usr" / "lib" / "systemd").mkdir()
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    return root


def test_a_value_only_the_images_run_sets_is_not_its_boot_value(tmp_path):
    root = image(tmp_path, f"{TW_REUSE} = 0\n")
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    assert snap.facts.sysctl is not None and snap.facts.sysctl.persistent == {}
    [outcome] = [o for o in net_time_wait.run(snap, TimeWaitParams(allowed_tw_reuse=[0]))
                 if o.subject == f"sysctl {TW_REUSE}"]
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.reason.startswith(f"{TW_REUSE} is not set in any sysctl configuration file")


def test_a_file_in_the_images_run_hides_nothing(tmp_path):
    root = image(tmp_path, f"{TW_REUSE} = 0\n", f"{TW_REUSE} = 1\n")
    assert read_persistent_sysctls(root) == (
        {TW_REUSE: SysctlSetting(value="1", origin="/usr/lib/sysctl.d/50-net.conf:1")}, [])
    description = describe_sysctl(collect_root(root, frozenset({"sysctl"})).facts.sysctl,
                                  CollectContext(target=RootDir(root)))
    assert "/run/sysctl.d not read (a tmpfs is mounted on /run at boot)" in description


def test_a_running_host_reads_its_run(tmp_path):
    root = image(tmp_path, f"{TW_REUSE} = 0\n", f"{TW_REUSE} = 1\n")
    assert read_persistent_sysctls(root, running=True) == (
        {TW_REUSE: SysctlSetting(value="0", origin="/run/sysctl.d/50-net.conf:1")}, [])
