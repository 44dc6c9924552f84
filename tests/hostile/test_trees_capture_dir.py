"""Hostile capture directories: the macOS capture script run (as root, under sudo) into a directory
that already exists.

It ran ``mkdir -p "$out"`` and wrote each probe with ``>``: into a directory somebody else made
(``/tmp/lbaudit-bundle-mac``, the default name being predictable), a planted link
``hostname.txt -> /etc/sudoers`` was written through as root, and a file left by another capture
(an ``audit_control`` this host no longer has; the script copies it only when it exists) stayed in
the bundle and was replayed as this host's.  The script now makes a new directory or stops (exit 2)
before writing anything.  The script runs here under the real ``sh``: the macOS programs it calls
are missing on Linux, which only changes what their files hold.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli import run_cli

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="no sh to run the capture script")


def _run_macos_script(tmp_path: Path, out: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "capture.sh"
    script.write_text(run_cli("capture", "--platform", "macos").stdout)
    return subprocess.run(["sh", str(script), str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False)


def test_existing_directory_with_a_planted_link_is_refused_and_nothing_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim.conf"
    victim.write_text("root ALL=(ALL) ALL\n")
    out = tmp_path / "bundle"
    out.mkdir()
    os.symlink(victim, out / "hostname.txt")
    (out / "audit_control").write_text("flags:lo,aa,nt\nnaflags:lo,aa,nt\n")  # left by another capture
    result = _run_macos_script(tmp_path, out)
    assert result.returncode == 2, result.stderr
    assert f"lbaudit capture: {out} exists" in result.stderr
    assert victim.read_text() == "root ALL=(ALL) ALL\n"
    assert sorted(p.name for p in out.iterdir()) == ["audit_control", "hostname.txt"]


def test_control_case_a_new_directory_is_made_private_and_written(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    _run_macos_script(tmp_path, out)  # its exit status is the last probe's, which Linux lacks
    assert (out / "hostname.txt").read_text().strip() != ""
    assert (out.stat().st_mode & 0o777) == 0o700
