"""Hostile image, round rules12: /etc/sysctl.conf under a systemd-sysctl whose version cannot be told.

systemd 207 and later never read /etc/sysctl.conf, but systemd-sysctl before 207 did, and RHEL 7's
systemd 219 (CentOS 7, Amazon Linux 2) still does, last, over every sysctl.d file (RHEL's patch
"sysctl: bring back /etc/sysctl.conf": "Read /etc/sysctl.conf as the last file, overwriting
everything").  Neither installs libsystemd-shared-<version>.so, which is how lbaudit tells the
version.  lbaudit read such an image as a modern systemd does: a RHEL 7 image whose
/usr/lib/sysctl.d sets tcp_tw_reuse 0 and whose /etc/sysctl.conf sets 1 passed net.time_wait
(allowed 0), although its boot leaves 1.  With the version unknown, a key /etc/sysctl.conf changes is
not known at boot; with a version that says 207 or later, /etc/sysctl.conf is still not read.
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.collect.sysctl_d import read_persistent_sysctls
from auditor.model.facts import SysctlSetting
from auditor.model.result import Status

TW_REUSE = "net.ipv4.tcp_tw_reuse"
FIN = "net.ipv4.tcp_fin_timeout"


def image(tmp_path: Path, sysctl_conf: str, library: str | None = None) -> Path:
    """A RHEL 7 layout: systemd-sysctl, /usr/lib/sysctl.d/50-tw.conf setting tw_reuse 0 and
    fin_timeout 30, /etc/sysctl.conf as given; ``library``: a libsystemd-shared to tell the version."""
    root = tmp_path / "image"
    (root / "usr" / "lib" / "sysctl.d").mkdir(parents=True)
    (root / "usr" / "lib" / "sysctl.d" / "50-tw.conf").write_text(f"{TW_REUSE} = 0\n{FIN} = 30\n")
    (root / "usr" / "lib" / "systemd").mkdir()
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    (root / "etc").mkdir()
    (root / "etc" / "sysctl.conf").write_text(sysctl_conf)
    if library is not None:
        (root / "usr" / "lib" / "systemd" / library).write_bytes(b"\x7fELF")
    return root


def tw_reuse(root: Path):
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    [outcome] = [o for o in net_time_wait.run(snap, TimeWaitParams(allowed_tw_reuse=[0]))
                 if o.subject == f"sysctl {TW_REUSE}"]
    return outcome


def test_sysctl_conf_that_may_be_applied_last_makes_the_key_unknown(tmp_path):
    root = image(tmp_path, f"# tuned\n{TW_REUSE} = 1\n")
    outcome = tw_reuse(root)
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.reason.startswith(
        f"the boot's sysctl configuration sets {TW_REUSE} to '0' (/usr/lib/sysctl.d/50-tw.conf:1) as systemd-sysctl "
        "245 and later read it, but to '1' (/etc/sysctl.conf:2) as an older one reads it: the installed systemd's "
        "version is not known")
    assert "RHEL 7's 219 (like any before 207) applies /etc/sysctl.conf after every sysctl.d file" in outcome.reason
    settings, gaps = read_persistent_sysctls(root)
    # the key the two readings agree on stays known
    assert settings == {FIN: SysctlSetting(value="30", origin="/usr/lib/sysctl.d/50-tw.conf:2")}
    assert [g.path for g in gaps] == [("persistent", TW_REUSE)]


def test_control_case_sysctl_conf_repeating_the_files_changes_nothing(tmp_path):
    root = image(tmp_path, f"{TW_REUSE} = 0\n")
    assert tw_reuse(root).status == Status.PASS


def test_control_case_a_systemd_that_says_its_version_never_reads_sysctl_conf(tmp_path):
    root = image(tmp_path, f"{TW_REUSE} = 1\n", library="libsystemd-shared-252.so")
    assert read_persistent_sysctls(root)[1] == []
    assert tw_reuse(root).status == Status.PASS


def test_control_case_a_glob_in_sysctl_conf_is_no_doubt_since_a_systemd_that_reads_it_expands_no_glob(tmp_path):
    root = image(tmp_path, "net.ipv4.tcp_tw_*e = 1\n")
    assert read_persistent_sysctls(root)[1] == []
    assert tw_reuse(root).status == Status.PASS


def older(tmp_path: Path, line: str, version: int) -> Path:
    """A systemd image of this version whose /etc/sysctl.d/60-site.conf holds ``line`` after the
    distribution's 50-tw.conf (tw_reuse 1 there, so only ``line`` could make it 0)."""
    root = image(tmp_path, "", library=f"libsystemd-shared-{version}.so")
    (root / "usr" / "lib" / "sysctl.d" / "50-tw.conf").write_text(f"{TW_REUSE} = 1\n{FIN} = 30\n")
    (root / "etc" / "sysctl.d").mkdir()
    (root / "etc" / "sysctl.d" / "60-site.conf").write_text(line + "\n")
    return root


def test_ignore_failure_prefix_sets_nothing_before_systemd_243(tmp_path):
    # systemd 241 (Debian 10) writes "-net.ipv4.tcp_tw_reuse", no such file: tw_reuse stays 1
    outcome = tw_reuse(older(tmp_path, f"-{TW_REUSE} = 0", 241))
    assert outcome.status == Status.NOT_REVIEWED
    assert outcome.reason.startswith(
        f"the boot's sysctl configuration sets {TW_REUSE} to '0' (/etc/sysctl.d/60-site.conf:1) as systemd-sysctl "
        "245 and later read it, but to '1' (/usr/lib/sysctl.d/50-tw.conf:1) as an older one reads it: "
        "systemd-sysctl 241 writes no '-key = value' line and expands no glob")


def test_control_case_ignore_failure_prefix_is_read_from_systemd_243(tmp_path):
    assert tw_reuse(older(tmp_path, f"-{TW_REUSE} = 0", 243)).status == Status.PASS


def test_glob_sets_nothing_before_systemd_245(tmp_path):
    # systemd 239 writes "net/ipv4/tcp_tw_reu*" as a path, no such file: tw_reuse keeps the kernel's
    # default (an explicit key beats a glob, so 50-tw.conf names only fin_timeout here)
    root = older(tmp_path / "a", "net.ipv4.tcp_tw_reu* = 0", 239)
    (root / "usr" / "lib" / "sysctl.d" / "50-tw.conf").write_text(f"{FIN} = 30\n")
    settings, gaps = read_persistent_sysctls(root)
    assert settings is None and [g.path for g in gaps] == [("persistent",)]
    assert tw_reuse(root).status == Status.NOT_REVIEWED
    # from 245 the glob is expanded over the key no file names
    root = older(tmp_path / "b", "net.ipv4.tcp_tw_reu* = 0", 245)
    (root / "usr" / "lib" / "sysctl.d" / "50-tw.conf").write_text(f"{FIN} = 30\n")
    assert tw_reuse(root).status == Status.PASS


def test_exclusion_takes_nothing_back_before_systemd_245(tmp_path):
    # 245 and later: "-key" takes 50-tw.conf's 1 back, so the kernel default stays (not judged);
    # 239: "not an assignment", and 1 is written
    root = older(tmp_path, f"-{TW_REUSE}", 239)
    settings, gaps = read_persistent_sysctls(root)
    assert [g.path for g in gaps] == [("persistent", TW_REUSE)]
    assert "as an older one reads it: systemd-sysctl 239 writes no '-key = value' line" in gaps[0].reason
