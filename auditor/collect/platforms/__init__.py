"""Windows and macOS hosts: the probes lbaudit runs there, their parsers, and how a set of probe
outputs becomes a :class:`~auditor.model.facts.HostSnapshot`.

One set of parsers serves both ways in: a bundle captured on the host (``lbaudit capture`` prints
the script, ``lbaudit collect --replay DIR`` reads the directory it wrote) and native collection
on the host itself (:mod:`.native`), which runs the same probes and feeds their outputs through
the same code.  Parsers key on positions and numbers, never on words the OS localises.
"""

from __future__ import annotations

import sys

_SYS_PLATFORMS = {"win32": "windows", "darwin": "macos"}


def native_platform(sys_platform: str | None = None) -> str | None:
    """``windows`` or ``macos`` when lbaudit runs there (``sys.platform``), else None (Linux: its own collectors).

    Here, not in :mod:`.native`: a run on Linux asks this and imports none of the parsers."""
    return _SYS_PLATFORMS.get(sys_platform if sys_platform is not None else sys.platform)
