"""Hostile CSV captures of a Windows bundle (``tasklist /fo csv``, ``auditpol /backup``).

Python's csv reader refuses a field longer than 131,072 characters with ``csv.Error``, which is not
a ``ValueError``: a tasklist or auditpol file holding one (a garbled capture, a quote never closed
that swallows the rest of the file) stopped the replay with an internal error (exit 70).  It is a
file not understood: a gap for exactly the facts it gives, with the row.

Each case copies a fixture bundle, edits one file, and replays it with ``lbaudit evaluate --target
replay:DIR`` in-process, asserting the exact status and exit code.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.bundles import LOOPBACK_ONLY, replay_edited
from tests.hostile.test_platforms_windows_mixed import AUDIT_ONLY, WFP

HUGE_FIELD = b'"' + b"A" * 200_000 + b'",1\r\n'


def _append(directory: Path, name: str, data: bytes) -> None:
    path = directory / name
    path.write_bytes(path.read_bytes() + data)


def test_a_tasklist_field_beyond_the_csv_limit_is_a_gap_on_the_owner_names(tmp_path):
    code, found, stderr = replay_edited(tmp_path, "windows-audited",
                                        lambda d: _append(d, "tasklist.csv", HUGE_FIELD), LOOPBACK_ONLY)
    assert "internal error" not in stderr
    assert code == 1  # was 70; the wildcard listeners still fail, by address alone, their owners unnamed
    assert found[("listeners", "tcp 0.0.0.0:3389 ? pid 1096")]["status"] == "fail"
    gaps = json.loads((tmp_path / "evidence.json").read_text())["snapshot"]["gaps"]
    names = [g["reason"] for g in gaps if g["path"][-1:] == ["name"]]
    assert names and set(names) == {"bundle file tasklist.csv: not understood: row 10: a field longer than 131,072 "
                                    "characters, which neither tasklist nor auditpol writes"}

def test_an_auditpol_field_beyond_the_csv_limit_leaves_socket_logging_not_reviewed(tmp_path):
    code, found, stderr = replay_edited(tmp_path, "windows-audited",
                                        lambda d: _append(d, "auditpol-backup.csv", HUGE_FIELD), AUDIT_ONLY)
    assert "internal error" not in stderr
    assert code == 3  # was 70
    assert found[WFP]["status"] == "not_reviewed"
    assert "bundle file auditpol-backup.csv: not understood: row" in found[WFP]["message"]
    assert "131,072 characters" in found[WFP]["message"]
