"""Hostile boot configuration: what procps' ``sysctl --system`` reads otherwise than systemd-sysctl.

On hosts without systemd-sysctl, lbaudit reads sysctl.d as procps' ``sysctl --system`` applies it,
but it read three kinds of line or file as systemd-sysctl does (procps-ng 4.0.2, src/sysctl.c):

* ``- net.ipv4.tcp_tw_reuse = 0``: parse_setting_line() drops the ``-`` and strips nothing after
  it, so the key is `` net.ipv4.tcp_tw_reuse``, no /proc/sys path: nothing is written (and
  ``- key`` without ``=`` excludes nothing from a glob).  lbaudit stripped the key and read 0 as
  the boot's value: a host running 0 by hand passed drift.sysctl, the boot leaves 2; and
  setting_new() drops one more ``-`` from the path, so ``--net.ipv4.tcp_tw_reuse = 0`` writes 0,
  which lbaudit read as naming nothing (the 1 of an earlier file was the boot's value);
* ``net/ipv4/../ipv4/tcp_tw_reuse = 1``: WriteSetting() stat()s the path and takes it when its
  realpath() is under /proc/sys, so the kernel's walk through ``..`` writes tcp_tw_reuse (where the
  components before ``..`` exist on the booted kernel, which an image does not tell).  lbaudit kept
  the key as written, naming nothing, so the 0 of an earlier file was read as the boot's value;
* a file named ``20-[x].conf`` (or with ``*``, ``?``, ``{a,b}``, ``\\``): Preload() opens the
  file's path through glob(3) (GLOB_NOCHECK | GLOB_BRACE), so it reads ``20-x.conf`` where that
  exists instead, and never its own lines.  lbaudit read its lines.

Each case is applied by the real ``sysctl --system`` in a private mount and network namespace and
compared with lbaudit's reading (``test_lbaudit_reads_each_case_as_procps_applies_it``).
"""

from __future__ import annotations

import tempfile
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

DASH_SPACE = {"10-net.conf": f"- {TW_REUSE} = 0\n"}
DASH_TAB_EXCLUSION = {"10-net.conf": f"net.ipv4.tcp_tw_re* = 0\n-\t{TW_REUSE}\n"}
DOUBLE_DASH = {"10-net.conf": f"{TW_REUSE} = 1\n", "20-net.conf": f"--{TW_REUSE} = 0\n"}
DOUBLE_DASH_EXCLUSION = {"10-net.conf": f"net.ipv4.tcp_tw_re* = 0\n--{TW_REUSE}\n"}
DOT_DOT = {"10-net.conf": f"{TW_REUSE} = 0\n", "20-net.conf": "net/ipv4/../ipv4/tcp_tw_reuse = 1\n"}
DOT_DOT_DOTTED = {"10-net.conf": f"{TW_REUSE} = 0\n", "20-net.conf": "net.ipv4.//.ipv4.tcp_tw_reuse = 1\n"}
FILE_GLOB = {"10-net.conf": f"{TW_REUSE} = 1\n", "20-[x].conf": f"{TW_REUSE} = 0\n",
             "20-x.conf": "net.ipv4.tcp_fin_timeout = 30\n"}
FILE_BRACES = {"10-net.conf": f"{TW_REUSE} = 1\n", "20-{x,y}.conf": f"{TW_REUSE} = 0\n",
               "20-x.conf": "net.ipv4.tcp_fin_timeout = 30\n"}


def image(tmp_path: Path, files: dict[str, str], systemd: bool = False) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    for name, text in files.items():
        (root / "etc" / "sysctl.d" / name).write_text(text)
    if systemd:
        (root / "usr" / "lib" / "systemd").mkdir(parents=True)
        (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
        (root / "usr" / "lib" / "systemd" / "libsystemd-shared-252.so").write_bytes(b"\x7fELF")
    else:
        # procps-ng 4.0, whose reading lbaudit replays (3.3 reads '-key' lines, globs and long lines otherwise)
        (root / "usr" / "lib" / "x86_64-linux-gnu").mkdir(parents=True)
        (root / "usr" / "lib" / "x86_64-linux-gnu" / "libproc2.so.0").write_bytes(b"\x7fELF")
    return root


def boot_value(tmp_path: Path, files: dict[str, str], systemd: bool = False) -> tuple[str | None, list[str]]:
    persistent, gaps = read_persistent_sysctls(image(tmp_path, files, systemd))
    setting = configured_setting(persistent, TW_REUSE) if persistent is not None else None
    return (None if setting is None else setting.value), [gap.reason for gap in gaps]


def drift_status(tmp_path: Path, files: dict[str, str], running: str) -> Status | None:
    """drift.sysctl's verdict on tcp_tw_reuse, or on the whole configuration where it is unknown
    (None: no finding for it, no file sets it)."""
    persistent, gaps = read_persistent_sysctls(image(tmp_path, files))
    runtime = sysctl_facts(dict(LINUX_DEFAULT_SYSCTLS, **{TW_REUSE: running})).runtime
    found = [o.status for o in drift_sysctl.run(snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=persistent),
                                                         gaps=gaps), DriftSysctlParams())
             if o.subject in (f"sysctl {TW_REUSE}", "sysctl configuration files")]
    return found[0] if found else None


def test_procps_writes_nothing_for_a_dash_and_a_space(tmp_path):
    assert boot_value(tmp_path, DASH_SPACE) == (None, [])
    # systemd-sysctl strips the key after the "-": there it sets 0
    assert boot_value(tmp_path / "systemd", DASH_SPACE, systemd=True) == ("0", [])
    assert drift_status(tmp_path / "drift", DASH_SPACE, "0") != Status.PASS


def test_procps_excludes_nothing_with_a_dash_and_a_tab(tmp_path):
    assert boot_value(tmp_path, DASH_TAB_EXCLUSION) == ("0", [])
    assert boot_value(tmp_path / "systemd", DASH_TAB_EXCLUSION, systemd=True) == (None, [])


def test_procps_drops_a_second_dash_from_the_path(tmp_path):
    # setting_new() builds the path from the key without a leading "-" once more: "--key = 0" writes key
    assert boot_value(tmp_path, DOUBLE_DASH) == ("0", [])
    assert boot_value(tmp_path / "exclusion", DOUBLE_DASH_EXCLUSION) == (None, [])
    assert drift_status(tmp_path / "drift", DOUBLE_DASH, "1") == Status.FAIL
    # systemd-sysctl keeps it: "-net.ipv4.tcp_tw_reuse" names no key, so 1 holds and the glob sets 0
    assert boot_value(tmp_path / "systemd", DOUBLE_DASH, systemd=True) == ("1", [])
    assert boot_value(tmp_path / "systemd-exclusion", DOUBLE_DASH_EXCLUSION, systemd=True) == ("0", [])


@pytest.mark.parametrize("files", [DOT_DOT, DOT_DOT_DOTTED], ids=["slashes", "dots"])
def test_procps_may_write_through_dot_dot(tmp_path, files):
    value, reasons = boot_value(tmp_path, files)
    assert value is None
    assert any("'..'" in reason and "net/ipv4/../ipv4/tcp_tw_reuse" in reason for reason in reasons), reasons
    assert drift_status(tmp_path / "drift", files, "0") == Status.NOT_REVIEWED
    # systemd-sysctl writes nothing through "..": the earlier 0 holds
    assert boot_value(tmp_path / "systemd", files, systemd=True) == ("0", [])


@pytest.mark.parametrize("files", [FILE_GLOB, FILE_BRACES], ids=["brackets", "braces"])
def test_procps_opens_a_file_name_as_a_glob(tmp_path, files):
    value, reasons = boot_value(tmp_path, files)
    assert value is None
    assert any("glob" in reason and "/etc/sysctl.d/20-" in reason for reason in reasons), reasons
    assert drift_status(tmp_path / "drift", files, "0") == Status.NOT_REVIEWED
    # systemd-sysctl opens the file by its name
    assert boot_value(tmp_path / "systemd", files, systemd=True) == ("0", [])


def test_a_plain_file_name_is_read_as_before(tmp_path):
    assert boot_value(tmp_path, {"10-net.conf": f"{TW_REUSE} = 1\n", "20-x_y-z.conf": f"{TW_REUSE} = 0\n"}) == ("0", [])


@pytest.mark.slow
def test_lbaudit_reads_each_case_as_procps_applies_it(tmp_path):
    procps = procps_sysctl_or_skip()
    systemd = systemd_sysctl_or_skip()
    for number, files in enumerate([DASH_SPACE, DASH_TAB_EXCLUSION, DOUBLE_DASH, DOUBLE_DASH_EXCLUSION, DOT_DOT, DOT_DOT_DOTTED, FILE_GLOB, FILE_BRACES]):
        for command, is_systemd in (([procps, "--system"], False), ([systemd], True)):
            where = Path(tempfile.mkdtemp(dir=tmp_path))
            before, booted = boot_sysctl_files(command, where / "boot", files, TW_REUSE)
            value, reasons = boot_value(where, files, is_systemd)
            if reasons:
                continue  # unknown, never a value the boot does not set
            assert (value or before) == booted, (number, command)
