"""Hostile boot configuration: a sysctl.d line of a mebibyte or more ends what systemd-sysctl reads of its file.

systemd-sysctl reads each file with read_line(f, LONG_LINE_MAX, ...) (src/sysctl/sysctl.c; later
systemd conf_file_read() with read_stripped_line(), the same limit): a line of LONG_LINE_MAX (1 MiB)
bytes or more is -ENOBUFS, the file is "Failed to read ..., ignoring", and every line after it is
never parsed, while the lines before it stay applied.  lbaudit read the whole file: with
``tcp_tw_reuse = 0``, a 1 MiB comment line and ``tcp_tw_reuse = 1`` in one 60-net.conf, it read 1
as the boot's value, so a host running 1 passed drift.sysctl and an image passed net.time_wait with
1 allowed, although the boot sets 0.  The limit counts bytes, not characters (a line of
349,526 "€" is 1,048,578 bytes).  procps' ``sysctl --system`` (getline) reads a line of any length.
Checked with systemd-sysctl 252 and procps-ng 4.0.2 in a private mount and network namespace
(``test_lbaudit_reads_the_file_as_far_as_each_tool_does``).
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
LIMIT = 1024 * 1024


def conf(filler: str) -> str:
    return f"{TW_REUSE} = 0\n{filler}\n{TW_REUSE} = 1\n"


# (what stands between the two assignments, what systemd-sysctl sets)
CASES = [
    ("#" * (LIMIT - 1), "1"),  # one byte short of the limit: read on
    ("#" * LIMIT, "0"),
    ("# " + "x" * (3 * LIMIT), "0"),
    ("#" + "€" * (LIMIT // 3 + 1), "0"),  # 349,526 characters, 1,048,579 bytes
    (f"{TW_REUSE} = 1" + " " * LIMIT, "0"),  # the long line is itself an assignment: not applied either
]


def image(tmp_path: Path, text: str, systemd: bool) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-net.conf").write_text(text, encoding="utf-8")
    # a later file is read whatever happened to an earlier one
    (root / "etc" / "sysctl.d" / "70-more.conf").write_text("net.ipv4.tcp_fin_timeout = 30\n")
    if systemd:
        (root / "usr" / "lib" / "systemd").mkdir(parents=True)
        (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
        (root / "usr" / "lib" / "systemd" / "libsystemd-shared-252.so").write_bytes(b"\x7fELF")
    else:
        # procps-ng 4.0, whose reading lbaudit replays (3.3 reads '-key' lines, globs and long lines otherwise)
        (root / "usr" / "lib" / "x86_64-linux-gnu").mkdir(parents=True)
        (root / "usr" / "lib" / "x86_64-linux-gnu" / "libproc2.so.0").write_bytes(b"\x7fELF")
    return root


def lbaudit_value(tmp_path: Path, text: str, systemd: bool, key: str = TW_REUSE) -> str | None:
    persistent, gaps = read_persistent_sysctls(image(tmp_path, text, systemd))
    assert gaps == [] and persistent is not None
    setting = configured_setting(persistent, key)
    return None if setting is None else setting.value


@pytest.mark.parametrize(("filler", "booted"), CASES, ids=["short", "limit", "3mib", "utf8-bytes", "assignment"])
def test_systemd_sysctl_reads_no_line_after_a_mebibyte_line(tmp_path, filler, booted):
    assert lbaudit_value(tmp_path, conf(filler), systemd=True) == booted
    assert lbaudit_value(tmp_path / "later", conf(filler), systemd=True, key="net.ipv4.tcp_fin_timeout") == "30"


def test_procps_reads_a_line_of_any_length(tmp_path):
    assert lbaudit_value(tmp_path, conf("#" * (3 * LIMIT)), systemd=False) == "1"


def test_drift_of_a_value_set_after_the_long_line_fails(tmp_path):
    persistent, _ = read_persistent_sysctls(image(tmp_path, conf("#" * LIMIT), systemd=True))
    runtime = sysctl_facts(dict(LINUX_DEFAULT_SYSCTLS, **{TW_REUSE: "1"})).runtime
    [outcome] = [o for o in drift_sysctl.run(snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=persistent)),
                                             DriftSysctlParams()) if o.subject == f"sysctl {TW_REUSE}"]
    assert outcome.status == Status.FAIL
    assert "60-net.conf:1" in outcome.message


@pytest.mark.slow
def test_lbaudit_reads_the_file_as_far_as_each_tool_does(tmp_path):
    systemd = systemd_sysctl_or_skip()
    procps = procps_sysctl_or_skip()
    for number, (filler, _) in enumerate(CASES):
        text = conf(filler)
        for command, is_systemd in (([systemd], True), ([procps, "--system"], False)):
            where = Path(tempfile.mkdtemp(dir=tmp_path))
            _, booted = boot_sysctl_files(command, where / "boot", {"60-net.conf": text}, TW_REUSE)
            assert lbaudit_value(where, text, is_systemd) == booted, (number, command)
