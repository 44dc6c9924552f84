"""Hostile audit_control files that lbaudit read differently from libbsm, which auditd reads it with.

auditd takes its masks from /etc/security/audit_control through libbsm (bsm_control.c,
``getstrfromtype_locked``; bsm_flags.c, ``getauditflagsbin``), which reads the file's bytes with
``fgets`` into a 256-byte buffer, strips only trailing newlines, spaces and tabs, splits on ``:``
and then on ``,`` and looks each piece up as a class name exactly as written.  So:

* a UTF-16 file (what a Windows editor or PowerShell's ``>`` writes) has NUL bytes after every
  character: libbsm finds no ``flags:`` line at all;
* a CRLF line keeps its ``\\r``: ``nt\\r`` is no class, and one unknown class refuses the whole list;
* ``lo, nt`` holds the class `` nt``, which no audit_class defines: the list is refused;
* a line longer than 255 bytes is read as several: a class after byte 255 is on a line of its own,
  never part of the flags.

lbaudit decoded the file like a command's output (BOM, UTF-16, CRLF normalised) and trimmed each
class name, then judged the network class audited: a pass for masks auditd never set.  Each case
must not pass: not_reviewed with the reason (the list is refused: which mask the kernel holds
cannot be told), or fail.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from tests.bundles import replay_edited

NETWORK_CLASS = ("socket-audit", "audit(4) network class")
GOOD = ("dir:/var/audit\nflags:lo,aa,+nt\nminfree:5\nnaflags:lo,aa,+nt\npolicy:cnt,argv\n")


def replay(tmp_path: Path, data: bytes) -> tuple[int, dict]:
    def edit(directory: Path) -> None:
        (directory / "audit_control").write_bytes(data)
    code, found, stderr = replay_edited(tmp_path, "macos-audited", edit)
    assert "Traceback" not in stderr
    return code, found[NETWORK_CLASS]


def test_control_case_plain_file_passes(tmp_path):
    code, finding = replay(tmp_path, GOOD.encode())
    assert finding["status"] == "pass"


def test_utf16_file_is_no_flags_line_to_libbsm(tmp_path):
    code, finding = replay(tmp_path, codecs.BOM_UTF16_LE + GOOD.encode("utf-16-le"))
    assert finding["status"] == "not_reviewed"  # was pass: decoded as UTF-16
    assert "no flags: line" in finding["reason"]
    assert "NUL bytes: UTF-16 or binary" in finding["reason"]


def test_crlf_line_ends_leave_a_carriage_return_in_the_last_class(tmp_path):
    code, finding = replay(tmp_path, GOOD.replace("\n", "\r\n").encode())
    assert finding["status"] == "not_reviewed"  # was pass: CRLF normalised before parsing
    assert "holds the class '+nt\\r'" in finding["reason"]
    assert "refuses the whole list" in finding["reason"]


@pytest.mark.parametrize("line", ["flags:lo,aa, +nt", "flags: lo,aa,+nt", "flags:lo,aa,+nt ,ex"])
def test_white_space_inside_the_flags_is_part_of_a_class_name(tmp_path, line):
    code, finding = replay(tmp_path, GOOD.replace("flags:lo,aa,+nt\n", line + "\n", 1).encode())
    assert finding["status"] == "not_reviewed"  # was pass: each class name trimmed
    assert "refuses the whole list" in finding["reason"]
    assert "flags:" in finding["reason"]


def test_white_space_inside_naflags_is_not_reviewed(tmp_path):
    code, finding = replay(tmp_path, GOOD.replace("naflags:lo,aa,+nt", "naflags:lo, aa, +nt").encode())
    assert finding["status"] == "not_reviewed"  # was pass
    assert "naflags:" in finding["reason"]
    assert "refuses the whole list" in finding["reason"]


def test_a_class_past_byte_255_of_the_line_is_not_in_the_flags(tmp_path):
    # 40 x "lo," is 120 bytes, 50 more "aa," make the line longer than fgets' 255-byte buffer
    padded = "flags:" + "lo," * 40 + "aa," * 50 + "+nt"
    code, finding = replay(tmp_path, GOOD.replace("flags:lo,aa,+nt", padded, 1).encode())
    assert finding["status"] == "fail"  # was pass: the line read whole
    assert finding["observed"]["flags"] == ["lo"] * 40 + ["aa"] * 43  # the first 255 bytes
    assert "does not audit successful network events" in finding["message"]


def test_flags_hidden_past_byte_255_of_a_comment_are_read_by_libbsm_first(tmp_path):
    # The comment's second 255-byte piece starts with "flags:lo": libbsm reads it as the flags line.
    comment = "#" + "x" * 254 + "flags:lo\n"
    code, finding = replay(tmp_path, (comment + GOOD).encode())
    assert finding["status"] == "fail"  # was pass: the later flags:lo,aa,+nt was read
    assert "flags:lo does not audit" in finding["message"]
