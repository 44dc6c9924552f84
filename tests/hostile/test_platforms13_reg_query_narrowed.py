"""Hostile ``reg query`` captures narrowed to some values of Tcpip\\Parameters.

The capture script runs ``reg query HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters``:
the key, every value of it, then its subkeys (Adapters, Interfaces, PersistentRoutes, Winsock...,
which every Windows has).  A capture made by hand with ``/v NAME`` prints the key and that one value
(``/f`` a search's matches): every value it leaves out, TcpTimedWaitDelay among them, counted as
not set, and Windows' default of 120 s was judged where the host holds 300 s: a headroom the host
fails passed.  The listing must show the key's subkeys, which only the whole output does; without
them the registry values are a gap and what depends on them is not reviewed.

Each case copies the ``windows-default-en`` fixture bundle, writes ``tcpip-parameters.txt`` and
replays it with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited

TIME_WAIT = """\
id: tw
version: "1"
owner: Security Engineering
rules:
  - id: time-wait
    check: net.time_wait
    params:
      peak_new_connections_per_second: 50
"""
HEADROOM = ("time-wait", "ephemeral pool headroom at the declared peak connection rate (tcp/ipv4 dynamic port range)")
KEY = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters"
SUBKEYS = "".join(f"{KEY}\\{name}\r\n" for name in ("Adapters", "Interfaces", "PersistentRoutes", "Winsock"))


def replay(tmp_path: Path, content: str) -> tuple[int, dict]:
    def edit(directory: Path) -> None:
        (directory / "tcpip-parameters.txt").write_text(content, newline="")
    code, found, _ = replay_edited(tmp_path, "windows-default-en", edit, TIME_WAIT)
    return code, found[HEADROOM]


def test_control_case_the_whole_listing_judges_the_value_set(tmp_path):
    code, finding = replay(tmp_path, f"\r\n{KEY}\r\n    TcpTimedWaitDelay    REG_DWORD    0x12c\r\n\r\n{SUBKEYS}")
    assert finding["status"] == "fail"  # 50/s x 300 s is 92% of the pool
    assert "TcpTimedWaitDelay = 300 s" in finding["message"]


def test_control_case_the_whole_listing_without_the_value_is_the_default(tmp_path):
    code, finding = replay(tmp_path, f"\r\n{KEY}\r\n    EnableWsd    REG_DWORD    0x1\r\n\r\n{SUBKEYS}")
    assert (code, finding["status"]) == (0, "pass")
    assert "TcpTimedWaitDelay is not set, so the Windows default applies" in finding["message"]


@pytest.mark.parametrize("content", [
    f"\r\n{KEY}\r\n    EnableWsd    REG_DWORD    0x1\r\n\r\n",  # reg query KEY /v EnableWsd
    f"\r\n{KEY}\r\n    EnableWsd    REG_DWORD    0x1\r\n\r\nEnd of search: 1 match(es) found.\r\n",  # /f EnableWsd
])
def test_a_listing_narrowed_to_some_values_is_not_reviewed_never_the_default(tmp_path, content):
    code, finding = replay(tmp_path, content)
    assert code == 3  # was 0: TcpTimedWaitDelay counted as not set, 120 s judged
    assert finding["status"] == "not_reviewed"
    assert ("bundle file tcpip-parameters.txt: not understood: the subkeys of the key (Interfaces, Adapters, ...) "
            "are not listed") in finding["message"]
