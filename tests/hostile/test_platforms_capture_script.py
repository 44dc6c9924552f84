"""Hostile review of the Windows capture script ``lbaudit capture --platform windows`` prints.

In PowerShell's argument mode a parenthesised expression after a bare word that is not ``-name:``
is passed as an argument of its own (PowerShell issue 13488: only ``-foo:(...)`` is glued to its
prefix, for native commands).  ``auditpol.exe /backup /file:(Join-Path $Out 'auditpol-backup.csv')``
therefore ran ``auditpol /backup /file: C:\\...\\auditpol-backup.csv``: auditpol refuses an empty
file name, its error went to Out-Null, and every bundle the script captured lacked the audit policy
(socket logging never reviewable from a capture).  The path is one quoted argument now, made
absolute first (a native program resolves a relative path against the process's directory, which
PowerShell's location need not be).

No PowerShell runs here (CI is Linux, no pwsh): the test reads the script's text.
"""

from __future__ import annotations

import re

from tests.cli import run_cli


def _script() -> str:
    result = run_cli("capture", "--platform", "windows")
    assert result.returncode == 0
    return result.stdout


def test_auditpol_gets_its_backup_path_in_the_same_argument_as_file():
    lines = [line for line in _script().splitlines() if "auditpol.exe /backup" in line]
    assert len(lines) == 1
    # no bare /file:( ... ): that is two arguments in PowerShell
    assert "/file:(" not in lines[0]
    assert re.search(r'auditpol\.exe /backup "/file:\$AuditpolFile"', lines[0]), lines[0]


def test_the_backup_path_is_absolute_before_auditpol_runs():
    script = _script()
    resolved = script.index("$Out = (Resolve-Path -LiteralPath $Out).ProviderPath")
    assert script.index("New-Item -ItemType Directory") < resolved < script.index("auditpol.exe")
    assert "$AuditpolFile = Join-Path $Out 'auditpol-backup.csv'" in script
