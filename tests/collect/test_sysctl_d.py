"""sysctl.d(5) precedence on the fixture root tests/fixtures/roots/sysctl-precedence.

The fixture is copied to tmp_path so that the symlinks (a /dev/null mask and escaping links) are
made by the test itself rather than stored in git.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.collect.sysctl_d import read_persistent_sysctls, select_files
from auditor.domain.sysctl import configured_keys, configured_setting, dotted_key, glob_matches, parse_sysctl_conf
from auditor.model.facts import GapKind, SysctlSetting
from tests.factories import install_procps_boot

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "roots" / "sysctl-precedence"
SYSTEMD_ANALYZE = next((p for p in ("/usr/bin/systemd-analyze", "/bin/systemd-analyze") if os.access(p, os.X_OK)), None)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    image = tmp_path / "image"
    shutil.copytree(FIXTURE, image, symlinks=True)
    # The administrator disables a vendor file the documented way.
    os.symlink("/dev/null", image / "etc/sysctl.d/30-disabled.conf")
    return image


def test_precedence_masking_ordering_later_wins_and_sysctl_conf_last(root: Path) -> None:
    # as a running host reads it: /run/sysctl.d too (an image's /run is covered by a tmpfs at boot)
    persistent, gaps = read_persistent_sysctls(root, running=True)
    assert gaps == []
    assert persistent == {
        # /etc/sysctl.d/10-override.conf masks /usr/lib/sysctl.d/10-override.conf (99 and masked_by_etc
        # never appear); 40-lib.conf repeats the value 30 later, and sysctl --system (this image has
        # no systemd-sysctl) writes it again there (systemd-sysctl would keep the first origin).
        "net.ipv4.tcp_fin_timeout": SysctlSetting(value="30", origin="/lib/sysctl.d/40-lib.conf:3"),
        # 15-vendor.conf sets 2, 20-later.conf (a later name, another directory) sets 0: later wins.
        "net.ipv4.tcp_tw_reuse": SysctlSetting(value="0", origin="/etc/sysctl.d/20-later.conf:2"),
        # slash form normalised to dots; the value kept as the boot writes it (its tab is the kernel's to read)
        "net.ipv4.ip_local_port_range": SysctlSetting(value="40000\t50000", origin="/etc/sysctl.d/20-later.conf:4"),
        "net.ipv4.conf.eth0/200.forwarding": SysctlSetting(value="0", origin="/etc/sysctl.d/20-later.conf:5"),
        # /run/sysctl.d/05-runtime.conf masks the /usr/lib one
        "net.ipv4.ip_unprivileged_port_start": SysctlSetting(value="1024", origin="/run/sysctl.d/05-runtime.conf:1"),
        # a glob kept as written, an exclusion from it, and a "-" key that ignores errors
        "net.ipv4.conf.*.rp_filter": SysctlSetting(value="2", origin="/usr/lib/sysctl.d/15-vendor.conf:5"),
        "-net.ipv4.conf.all.rp_filter": SysctlSetting(value="", origin="/usr/lib/sysctl.d/15-vendor.conf:6"),
        "net.bridge.bridge-nf-call-iptables": SysctlSetting(value="0", origin="/usr/lib/sysctl.d/15-vendor.conf:7"),
        # 35-local.conf (/usr/local/lib masks /lib) then 40-lib.conf: ordered by name across directories
        "net.core.somaxconn": SysctlSetting(value="1024", origin="/lib/sysctl.d/40-lib.conf:1"),
        # 35-local.conf sets 5000; /etc/sysctl.conf is read last and wins
        "net.ipv4.tcp_max_tw_buckets": SysctlSetting(value="65536", origin="/etc/sysctl.conf:2"),
        # sysctl --system (this image has no systemd-sysctl) applies a hidden .conf file too
        "net.ipv4.hidden_file": SysctlSetting(value="1", origin="/etc/sysctl.d/.hidden.conf:1"),
    }
    for absent in ("kernel.sysrq", "net.ipv4.masked_by_etc", "net.ipv4.hidden_by_run", "net.core.hidden_by_usr_local",
                   "net.ipv4.not_a_conf_file", "net.ipv4.semicolon_comment",
                   "net.ipv4.commented_out"):
        assert absent not in persistent


def test_disabling_symlink_is_what_removes_the_vendor_file(root: Path) -> None:
    os.unlink(root / "etc/sysctl.d/30-disabled.conf")
    persistent, _ = read_persistent_sysctls(root)
    assert persistent is not None
    assert persistent["kernel.sysrq"] == SysctlSetting(value="1", origin="/usr/lib/sysctl.d/30-disabled.conf:1")


def test_commented_line_is_not_a_setting() -> None:
    lines = parse_sysctl_conf("# net.a = 1\n  ; net.b = 2\n\nnet.c=3\n")
    assert [(entry.key, entry.value, entry.line) for entry in lines] == [("net.c", "3", 4)]


def test_dash_prefix_ignores_errors_and_without_value_excludes() -> None:
    lines = parse_sysctl_conf("-net.a.b = 1\n-net.c.d\nnet.e.f\n")
    assert [(e.key, e.value, e.ignore_failure) for e in lines] == [("net.a.b", "1", True), ("net.c.d", None, True)]


@pytest.mark.parametrize(
    ("written", "dotted"),
    [
        ("kernel.domainname", "kernel.domainname"),
        ("kernel/domainname", "kernel.domainname"),
        ("net/ipv4/conf/enp3s0.200/forwarding", "net.ipv4.conf.enp3s0/200.forwarding"),
        ("net.ipv4.conf.enp3s0/200.forwarding", "net.ipv4.conf.enp3s0/200.forwarding"),
        ("fs", "fs"),
    ],
)
def test_both_key_forms_normalise_to_dots(written: str, dotted: str) -> None:
    assert dotted_key(written) == dotted


def test_glob_expansion_explicit_beats_glob_and_exclusion_holds(root: Path) -> None:
    persistent, _ = read_persistent_sysctls(root)
    assert persistent is not None
    assert configured_setting(persistent, "net.ipv4.conf.eth0.rp_filter").value == "2"
    assert configured_setting(persistent, "net.ipv4.conf.eth0/200.rp_filter").value == "2"
    assert configured_setting(persistent, "net.ipv4.conf.all.rp_filter") is None  # excluded
    assert configured_setting(persistent, "net.ipv4.conf.eth0.forwarding") is None  # not configured
    assert not glob_matches("net.ipv4.*.rp_filter", "net.ipv4.conf.all.rp_filter")  # * stays in one component
    assert "net.ipv4.conf.*.rp_filter" not in configured_keys(persistent)


def test_later_glob_wins_and_assignment_ends_an_exclusion() -> None:
    from auditor.domain.sysctl import merge_settings

    first = parse_sysctl_conf("net.ipv4.conf.*.rp_filter = 1\n-net.ipv4.conf.lo.rp_filter\n")
    second = parse_sysctl_conf("net.ipv4.conf.e*.rp_filter = 0\nnet.ipv4.conf.lo.rp_filter = 2\n")
    persistent = merge_settings([("/usr/lib/sysctl.d/10-a.conf", first), ("/etc/sysctl.d/20-b.conf", second)])
    assert configured_setting(persistent, "net.ipv4.conf.eth0.rp_filter").value == "0"
    assert configured_setting(persistent, "net.ipv4.conf.all.rp_filter").value == "1"
    assert configured_setting(persistent, "net.ipv4.conf.lo.rp_filter") == SysctlSetting(
        value="2", origin="/etc/sysctl.d/20-b.conf:2"
    )
    assert "-net.ipv4.conf.lo.rp_filter" not in persistent


def test_escaping_symlinks_are_resolved_inside_the_root(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    planted = {}
    for form in ("absolute", "dotdot"):
        secret = outside / f"{form}.conf"
        secret.write_text(f"net.leaked.{form} = 1\n")
        # The same path inside the root: where a chroot would land.
        twin = root / str(secret).lstrip("/")
        twin.parent.mkdir(parents=True, exist_ok=True)
        twin.write_text(f"net.chrooted.{form} = 1\n")
        planted[form] = secret
    os.symlink(str(planted["absolute"]), root / "etc/sysctl.d/60-absolute.conf")
    os.symlink("../" * 30 + str(planted["dotdot"]).lstrip("/"), root / "etc/sysctl.d/61-dotdot.conf")
    os.symlink("../../../../../../../../outside/absolute.conf", root / "etc/sysctl.d/62-climb.conf")
    # where the climb lands in a chroot (a link to nothing would be a gap in an image: perhaps a mount)
    (root / "outside").mkdir()
    (root / "outside/absolute.conf").write_text("net.chrooted.climb = 1\n")
    # A whole directory linked to the host's: read as the image's own /lib/sysctl.d.
    shutil.rmtree(root / "usr/local/lib/sysctl.d")
    os.symlink("/lib/sysctl.d", root / "usr/local/lib/sysctl.d")

    persistent, gaps = read_persistent_sysctls(root)
    assert gaps == []
    assert persistent is not None
    assert not [key for key in persistent if key.startswith("net.leaked.")]
    assert persistent["net.chrooted.absolute"] == SysctlSetting(value="1", origin="/etc/sysctl.d/60-absolute.conf:1")
    assert persistent["net.chrooted.dotdot"] == SysctlSetting(value="1", origin="/etc/sysctl.d/61-dotdot.conf:1")
    assert persistent["net.chrooted.climb"] == SysctlSetting(value="1", origin="/etc/sysctl.d/62-climb.conf:1")
    # The host's /lib/sysctl.d (kernel.pid_max on Debian) was not read: the link led to the image's
    # own /lib/sysctl.d, whose 35-local.conf now takes the /usr/local/lib name.
    assert "kernel.pid_max" not in persistent
    assert persistent["net.core.hidden_by_usr_local"].origin == "/usr/local/lib/sysctl.d/35-local.conf:1"


def test_unreadable_directory_is_a_gap_not_a_partial_answer(root: Path) -> None:
    os.symlink("loop", root / "run/sysctl.d/loop")
    os.rename(root / "run/sysctl.d", root / "run/sysctl.d.real")
    os.symlink("sysctl.d", root / "run/sysctl.d")  # a link to itself: ELOOP
    persistent, gaps = read_persistent_sysctls(root, running=True)  # a running host's /run is read
    assert persistent is None
    assert len(gaps) == 1 and gaps[0].kind == GapKind.UNREADABLE and gaps[0].field == "persistent"
    assert "/run/sysctl.d" in gaps[0].reason


def test_root_without_sysctl_files_configures_nothing(tmp_path: Path) -> None:
    assert read_persistent_sysctls(install_procps_boot(tmp_path)) == ({}, [])


def test_empty_root_has_nothing_that_applies_sysctl_d_and_is_not_known(tmp_path: Path) -> None:
    """An image without systemd-sysctl or procps' boot (a container image): its values are not
    "nothing configured" (the kernel's defaults) but whatever its container runtime sets."""
    persistent, gaps = read_persistent_sysctls(tmp_path)
    assert persistent is None
    assert [(g.field, g.kind) for g in gaps] == [("persistent", GapKind.UNREADABLE)]
    assert gaps[0].reason.startswith("nothing in this image applies its sysctl configuration")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.live
@pytest.mark.integration  # runs systemd-analyze
def test_files_chosen_match_systemd_analyze_cat_config(root: Path) -> None:
    proc = subprocess.run(
        [SYSTEMD_ANALYZE, f"--root={root}", "--no-pager", "cat-config", "sysctl.d"],
        capture_output=True, text=True, timeout=30, check=True,
    )
    theirs = [line[2:].removeprefix(str(root)) for line in proc.stdout.splitlines() if line.startswith("# /")]
    files, problems = select_files(root)
    assert problems == []
    assert theirs == [f.path for f in files]
    assert "/etc/sysctl.d/30-disabled.conf" in theirs  # the mask itself is listed, and empty
    assert [f.path for f in files if f.masked] == ["/etc/sysctl.d/30-disabled.conf"]


def test_fifo_in_sysctl_d_is_an_unreadable_gap_naming_it_not_a_hang(tmp_path: Path):
    (tmp_path / "etc/sysctl.d").mkdir(parents=True)
    install_procps_boot(tmp_path)
    (tmp_path / "etc/sysctl.d/10-ok.conf").write_text("net.core.somaxconn = 1024\n")
    os.mkfifo(tmp_path / "etc/sysctl.d/99-x.conf")
    persistent, gaps = read_persistent_sysctls(tmp_path)
    assert persistent is None
    assert [(g.field, g.kind) for g in gaps] == [("persistent", GapKind.UNREADABLE)]
    assert "/etc/sysctl.d/99-x.conf: is a FIFO, not a regular file" in gaps[0].reason
