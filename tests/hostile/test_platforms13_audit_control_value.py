"""Hostile audit_control lines whose value libbsm reads otherwise than as the field after the name.

libbsm finds an entry with ``strtok_r(line, ":")`` and takes as its value the rest of the line
after the name's colon (bsm_control.c ``getstrfromtype_locked``: ``*str = last``), not the next
``:``-separated field: ``flags:nt:lo`` is the class list ``nt:lo``, one class named ``nt:lo``
that audit_class does not hold, and ``flags::nt`` the list ``:nt``; libbsm refuses either whole.
Read as the field after the name, both passed as "nt".  auditd also copies the naflags: value into
a buffer of 128 bytes (libauditd ``NA_EVENT_STR_SIZE``) and refuses a longer one
(``getaccommon`` -3): the kernel's non-attributable mask is then not set, so a long list ending
in ``+nt`` passed while the daemons' events went unaudited.  Never a pass: not reviewed, with why.

Each case copies the ``macos-audited`` fixture bundle, rewrites the flags: or naflags: line of its
``audit_control`` and replays it with ``lbaudit evaluate --target replay:DIR`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles import replay_edited

AUDIT_ONLY = """\
id: audit-only
version: "1"
owner: Security Engineering
rules:
  - id: socket-audit
    check: audit.socket_logging
"""
NETWORK_CLASS = ("socket-audit", "audit(4) network class")
LONG = ",".join(["lo", "aa", "ad", "fd", "fm", "pc", "ex", "ap", "io", "ot", "fr", "fw", "fa", "fc", "cl", "ip"] * 3) + ",+nt"


def replay(tmp_path: Path, flags: str, naflags: str) -> tuple[int, dict]:
    def edit(directory: Path) -> None:
        path = directory / "audit_control"
        lines = [line for line in path.read_text().splitlines() if not line.startswith(("flags:", "naflags:"))]
        path.write_text("\n".join([*lines, flags, naflags]) + "\n")
    code, found, _ = replay_edited(tmp_path, "macos-audited", edit, AUDIT_ONLY)
    return code, found[NETWORK_CLASS]


def test_control_case_a_value_after_one_colon_is_read(tmp_path):
    code, finding = replay(tmp_path, "flags:lo,+nt", "naflags:lo,+nt")
    assert (code, finding["status"]) == (0, "pass")


def test_control_case_a_naflags_value_of_127_bytes_is_read(tmp_path):
    padded = ",".join(["lo"] * ((127 - len("+nt")) // 3)) + ",+nt"
    assert len(padded) <= 127
    code, finding = replay(tmp_path, "flags:lo,+nt", f"naflags:{padded}")
    assert (code, finding["status"]) == (0, "pass")


@pytest.mark.parametrize("flags, value", [
    ("flags:+nt:lo", "+nt:lo"),
    ("flags::+nt", ":+nt"),
])
def test_the_value_is_the_rest_of_the_line_as_libbsm_takes_it(tmp_path, flags, value):
    code, finding = replay(tmp_path, flags, "naflags:lo,+nt")
    assert code == 3  # was 0: read as the field after the name, "+nt"
    assert finding["status"] == "not_reviewed"
    assert f"the flags: value {value!r} holds the class" in finding["message"]


def test_a_naflags_value_auditd_cannot_hold_is_not_reviewed(tmp_path):
    assert len(LONG) >= 128
    code, finding = replay(tmp_path, "flags:lo,+nt", f"naflags:{LONG}")
    assert code == 3  # was 0: auditd refuses the value and sets no non-attributable mask
    assert finding["status"] == "not_reviewed"
    assert (f"the naflags: value is {len(LONG)} bytes: auditd reads it into 128 (libauditd NA_EVENT_STR_SIZE) and "
            "refuses a longer one") in finding["message"]
