"""Hostile ``reg query`` captures: a line naming a Tcpip\\Parameters value the parser did not read.

``reg query`` prints each value as four spaces, the name, four spaces, the type, four spaces, the
data.  A line that names TcpTimedWaitDelay (or MaxUserPort) in another shape (tabs between the
columns, an indent of five spaces, after an editor or a copy through a ticket system) was skipped,
so the value counted as not set and Windows' default of 120 s was judged: a TcpTimedWaitDelay of
240 s passed a headroom it fails.  Such a line is not understood: never the default.

Each case copies the ``windows-audited`` fixture bundle (TcpTimedWaitDelay 0x1e), rewrites that
line, and replays it with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited

HEADROOM = "ephemeral pool headroom at the declared peak connection rate (tcp/ipv4 dynamic port range)"
LINE = "    TcpTimedWaitDelay    REG_DWORD    0x1e"


def replay(tmp_path: Path, line: str) -> tuple[int, dict]:
    def edit(directory: Path) -> None:
        registry = directory / "tcpip-parameters.txt"
        text = registry.read_text()
        assert LINE in text
        registry.write_text(text.replace(LINE, line, 1))

    code, found, _ = replay_edited(tmp_path, "windows-audited", edit)
    return code, found[("time-wait-headroom", HEADROOM)]


def test_control_case_a_240_s_delay_fails_the_headroom(tmp_path):
    code, finding = replay(tmp_path, "    TcpTimedWaitDelay    REG_DWORD    0xf0")
    assert finding["status"] == "fail"
    assert "TcpTimedWaitDelay = 240 s" in finding["message"]


@pytest.mark.parametrize("line", [
    "    TcpTimedWaitDelay\tREG_DWORD\t0xf0",
    "\tTcpTimedWaitDelay    REG_DWORD    0xf0",
    "     TcpTimedWaitDelay    REG_DWORD    0xf0",  # five spaces: the name read as " TcpTimedWaitDelay"
    "    TCPTIMEDWAITDELAY   REG_DWORD   0xf0",
])
def test_a_line_naming_the_value_in_another_shape_is_not_the_default(tmp_path, line):
    code, finding = replay(tmp_path, line)
    assert finding["status"] == "not_reviewed"  # was pass: 120 s default judged, 65% of the pool
    assert "names TcpTimedWaitDelay but is not a '    name    REG_TYPE    data' line" in finding["reason"]
