"""``lbaudit capture``: the scripts write exactly the bundle files the format names."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from auditor.collect.platforms.probes import bundle_files
from tests.cli import run_cli

# The files issue 14 names, and those lbaudit adds (the Windows build, for the provenance; the
# udp/ipv6 dynamic range and the excluded port ranges, without which no pool size is known).
WINDOWS_FILES = {"hostname.txt", "netsh-dynamicport-tcp.txt", "netsh-dynamicport-tcp6.txt",
                 "netsh-dynamicport-udp.txt", "netstat-ano.txt", "tasklist.csv", "tcpip-parameters.txt",
                 "auditpol-backup.csv"}
WINDOWS_ADDED = {"ver.txt", "netsh-dynamicport-udp6.txt", "netsh-excludedportrange-tcp.txt",
                 "netsh-excludedportrange-tcp6.txt", "netsh-excludedportrange-udp.txt",
                 "netsh-excludedportrange-udp6.txt", "tasklist-before.csv"}
MACOS_FILES = {"hostname.txt", "sw_vers.txt", "sysctl.txt", "lsof-tcp-listen.txt", "lsof-udp.txt", "audit_control",
               "auditd-launchctl.txt", "id-u.txt", "audit-condition.txt", "audit_user"}


def written_files(script: str) -> set[str]:
    """Every bundle file a script writes: PowerShell Save 'NAME' / Join-Path $Out 'NAME', sh "$out/NAME"."""
    return set(re.findall(r"Save '([^']+)'", script)) | set(re.findall(r"Join-Path \$Out '([^']+)'", script)) | set(
        re.findall(r'"\$out/([^"]+)"', script))


def test_the_windows_script_writes_exactly_the_named_files():
    result = run_cli("capture", "--platform", "windows")
    assert result.returncode == 0
    assert written_files(result.stdout) == WINDOWS_FILES | WINDOWS_ADDED
    assert set(bundle_files("windows")) == WINDOWS_FILES | WINDOWS_ADDED
    for command in ("netsh.exe int ipv4 show dynamicport tcp", "netsh.exe int ipv6 show dynamicport tcp",
                    "netsh.exe int ipv4 show dynamicport udp", "netsh.exe int ipv6 show dynamicport udp",
                    "netsh.exe int ipv4 show excludedportrange protocol=tcp",
                    "netsh.exe int ipv6 show excludedportrange protocol=udp", "netstat.exe -ano", "tasklist.exe /fo csv /nh",
                    r"reg.exe query 'HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters'", "auditpol.exe /backup"):
        assert command in result.stdout


def test_the_macos_script_writes_exactly_the_named_files():
    result = run_cli("capture", "--platform", "macos")
    assert result.returncode == 0
    assert written_files(result.stdout) == MACOS_FILES
    assert set(bundle_files("macos")) == MACOS_FILES
    assert "launchctl print system/com.apple.auditd" in result.stdout and "echo $?" in result.stdout


@pytest.mark.skipif(shutil.which("sh") is None, reason="no sh to check the script's syntax")
def test_the_macos_script_is_valid_sh():
    script = run_cli("capture", "--platform", "macos").stdout
    checked = subprocess.run(["sh", "-n"], input=script, text=True, capture_output=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_an_unknown_platform_is_a_usage_error():
    result = run_cli("capture", "--platform", "solaris")
    assert result.returncode == 2 and "solaris" in result.stderr
