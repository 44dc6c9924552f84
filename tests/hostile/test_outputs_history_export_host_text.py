"""Hostile host text in ``lbaudit history export`` (JSON Lines on standard output).

Every other command prints host text as escapes (the summary, ``show --json``, ``history list`` and
``show``, ``diff``): export wrote its lines with ``ensure_ascii=False``, which escapes the C0 controls
alone, so a process name's 8-bit CSI (0x9B), right-to-left override (U+202E), isolate (U+2066) and
line separator (U+2028) reached the terminal raw, and a reader splitting the output with
``str.splitlines`` (which breaks at U+2028 and U+0085) cut one run's line in two.  Now each line is
ASCII, every other character a JSON escape: the same values once parsed, the host's text exactly
as recorded, and nothing raw on the terminal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

HOSTILE = "ssh\u202ed\x1b[31mRED\x9b2J\u2066x\u2028y\x85z-café"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def test_export_holds_no_raw_control_or_bidi_character_and_keeps_the_text(tmp_path: Path):
    hostile = listener("0.0.0.0", 22, processes=[ProcessInfo(pid=7, name=HOSTILE, user="root")])
    write_snapshot(snapshot(listeners=[hostile], hostname=f"web{HOSTILE}"), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("bidi"), encoding="utf-8")
    store = tmp_path / "h.db"
    for name in ("a.json", "b.json"):
        run = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                      "-o", tmp_path / name, "-q", "--record", "--store", store)
        assert run.returncode == 1, run.stderr
    for args in ((), ("--with-evidence",)):
        exported = run_cli("history", "export", "--store", store, *args)
        assert exported.returncode == 0, exported.stderr
        # before: U+009B, U+202E, U+2066, U+2028 and U+0085 raw on standard output
        assert sorted({f"U+{ord(c):04X}" for c in RAW.findall(exported.stdout)}) == []
        lines = exported.stdout.splitlines()
        assert len(lines) == 2  # before: 6, each run's line cut at U+2028 and U+0085
        runs = [json.loads(line) for line in lines]
        assert [run["host"]["hostname"] for run in runs] == [f"web{HOSTILE}"] * 2  # exactly as recorded
        if args:
            evidence = json.loads(runs[0]["evidence"]) if isinstance(runs[0]["evidence"], str) else runs[0]["evidence"]
            assert evidence["snapshot"]["provenance"]["hostname"] == f"web{HOSTILE}"
