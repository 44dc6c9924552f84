"""Hostile host text in the compact JSON summary (``evaluate --json``, ``show --json``).

The summary is printed on standard output, a terminal as often as a pipe, and it holds host text: a
finding's subject and reason name processes and users, and the host name is any snapshot's.  It was
written with ``ensure_ascii=False``, which escapes the C0 controls alone: the C1 control 0x9B (the
8-bit CSI, "erase display" with ``2J``), a right-to-left override (U+202E) or isolate (U+2066) and
the line separator U+2028 reached the terminal raw, where every other output (the human summary,
SARIF, OSCAL, HDF, JUnit, HTML) shows them as escapes (tests/hostile/test_renderers_host_text.py).
Now the summary is made plain text as those documents are (``auditor.text.plain_json``): it shows
``\\u202e``, ``\\x9b``, and still parses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
HOSTILE = "ssh\u202ed\x1b[31mRED\x9b2J\u2066x\u2028y\x85z"
SHOWN = "ssh\\u202ed\\x1b[31mRED\\x9b2J\\u2066x\\u2028y\\x85z"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    hostile = listener("0.0.0.0", 22, processes=[ProcessInfo(pid=7, name=HOSTILE, user=HOSTILE)])
    write_snapshot(snapshot(listeners=[hostile], hostname=f"web{HOSTILE}"), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("bidi"), encoding="utf-8")
    return tmp_path


def _subjects(document: dict) -> list[str]:
    return [finding["subject"] for finding in document["failing"]]


def test_evaluate_and_show_json_hold_no_raw_control_or_bidi_character(work: Path):
    evaluated = run_cli("evaluate", "--policy", work / "policy.yaml", "--snapshot", work / "snap.json",
                        "-o", work / "e.json", "--json")
    assert evaluated.returncode == NON_COMPLIANT, evaluated.stderr
    shown = run_cli("show", work / "e.json", "--json")
    assert shown.returncode == 0, shown.stderr
    for output in (evaluated.stdout, shown.stdout):
        # before: U+009B, U+202E, U+2066, U+2028 and U+0085 raw on standard output
        assert sorted({f"U+{ord(c):04X}" for c in RAW.findall(output)}) == []
        document = json.loads(output)
        assert [s for s in _subjects(document) if SHOWN in s] == _subjects(document) != []
    # the evidence keeps the host's text as it was
    assert HOSTILE in json.loads((work / "e.json").read_text(encoding="utf-8"))["result"]["findings"][0]["subject"]


def test_control_case_plain_names_stay_as_they_are(tmp_path: Path):
    plain = listener("0.0.0.0", 22, processes=[ProcessInfo(pid=7, name="café-日本", user="root")])
    write_snapshot(snapshot(listeners=[plain]), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("plain"), encoding="utf-8")
    run = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                  "-o", tmp_path / "e.json", "--json")
    assert run.returncode == NON_COMPLIANT, run.stderr
    assert "café-日本" in run.stdout
    assert [s for s in _subjects(json.loads(run.stdout)) if "café-日本" in s] != []
