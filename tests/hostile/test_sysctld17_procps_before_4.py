"""Hostile image: sysctl.d applied at boot by procps' ``sysctl --system`` before 4.0.

lbaudit reads sysctl.d on hosts without systemd-sysctl as procps-ng 4.0 applies it, whatever procps
is installed.  procps 3.3 (Devuan 4, Slackware 15: libprocps.so.N, where 4.0 installs libproc2.so.0)
reads it otherwise (src/sysctl.c Preload() of 3.3): it fgets()s each line into a buffer of 256
bytes, so the bytes of a line past the 255th are read as a line of their own; it strips no ``-``
(``-net.ipv4.tcp_tw_reuse = 0`` names /proc/sys/-net/..., no file) and expands no glob (the
pattern is opened as a path).  So on such an image:

* ``#`` and 254 more bytes, then ``net.ipv4.tcp_tw_reuse = 1`` on the same line: procps 3.3 writes 1,
  lbaudit read a comment and the 0 of another line (a false pass where 0 is allowed);
* ``-net.ipv4.tcp_tw_reuse = 0`` or ``net.ipv4.tcp_tw_re* = 0``: procps 3.3 writes nothing, lbaudit
  read 0.

Where procps is 3.3, or its version cannot be told, and a file uses any of these, the boot's values
are now unknown (a gap that names the line), never procps 4.0's reading.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.collect.sysctl_d import read_persistent_sysctls
from auditor.domain.sysctl import configured_setting
from tests.factories import install_procps_boot

TW_REUSE = "net.ipv4.tcp_tw_reuse"
LONG_COMMENT = f"{TW_REUSE} = 0\n#{'x' * 254}{TW_REUSE} = 1\n"
IGNORE_FAILURE = f"-{TW_REUSE} = 0\n"
GLOB = "net.ipv4.tcp_tw_re* = 0\n"
PLAIN = f"{TW_REUSE} = 0\n# a comment of an ordinary length\n"

LIBPROCPS_3 = "lib/x86_64-linux-gnu/libprocps.so.8"
LIBPROC2_4 = "usr/lib/x86_64-linux-gnu/libproc2.so.0"


def image(tmp_path: Path, text: str, libraries: tuple[str, ...]) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-net.conf").write_text(text)
    for library in libraries:
        (root / library).parent.mkdir(parents=True, exist_ok=True)
        (root / library).write_bytes(b"\x7fELF")
    return root


def read(tmp_path: Path, text: str, libraries: tuple[str, ...]) -> tuple[str | None, list[str]]:
    persistent, gaps = read_persistent_sysctls(image(tmp_path, text, libraries))
    setting = configured_setting(persistent, TW_REUSE) if persistent is not None else None
    return (None if setting is None else setting.value), [gap.reason for gap in gaps]


@pytest.mark.parametrize("text", [LONG_COMMENT, IGNORE_FAILURE, GLOB], ids=["long-line", "dash", "glob"])
@pytest.mark.parametrize("libraries", [(LIBPROCPS_3,), (), (LIBPROCPS_3, LIBPROC2_4)],
                         ids=["procps-3.3", "unknown", "both-installed"])
def test_a_line_procps_before_4_reads_otherwise_leaves_the_boot_unknown(tmp_path, text, libraries):
    value, reasons = read(tmp_path, text, libraries)
    assert value is None
    [reason] = reasons
    assert "/etc/sysctl.d/60-net.conf:" in reason and "before 4.0" in reason, reason


@pytest.mark.parametrize("text", [LONG_COMMENT, IGNORE_FAILURE, GLOB], ids=["long-line", "dash", "glob"])
def test_procps_4_reads_them_as_before(tmp_path, text):
    assert read(tmp_path, text, (LIBPROC2_4,)) == ("0", [])


@pytest.mark.parametrize("libraries", [(LIBPROCPS_3,), ()], ids=["procps-3.3", "unknown"])
def test_a_configuration_both_read_alike_is_read(tmp_path, libraries):
    assert read(tmp_path, PLAIN, libraries) == ("0", [])


def test_systemd_sysctl_images_are_not_concerned(tmp_path):
    root = image(tmp_path, IGNORE_FAILURE, (LIBPROCPS_3,))
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd-sysctl").write_bytes(b"\x7fELF")
    (root / "usr" / "lib" / "systemd" / "libsystemd-shared-252.so").write_bytes(b"\x7fELF")
    persistent, gaps = read_persistent_sysctls(root)
    assert gaps == [] and persistent is not None
    setting = configured_setting(persistent, TW_REUSE)
    assert setting is not None and setting.value == "0"
