"""Hostile bidi controls in the HTML report, as a browser would lay them out.

The defect: the HTML report escaped control characters but left the bidi embeddings, overrides and
isolates (U+202A-U+202E, U+2066-U+2069) in, and a browser obeys them: a process called
``a\\u202egnp.exe`` is shown as ``aexe.png``, and an override turns the rest of the text of its
element around.  The terminal (``one_line``) and the fleet overview already showed them as text;
the HTML report (and a fleet host page, the same renderer) now shows ``\\u202e`` too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(loopback_only_policy("bidi"))
    return path


@pytest.mark.parametrize(("name", "shown"), [
    ("a\u202egnp.exe", "a\\u202egnp.exe"),
    ("\u2067x\u2069\u202ay\u202c\u202bz\u202d", "\\u2067x\\u2069\\u202ay\\u202c\\u202bz\\u202d"),
])
def test_a_bidi_control_in_a_process_name_is_shown_not_obeyed_in_html(tmp_path: Path, policy: Path, name, shown):
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22, processes=[ProcessInfo(pid=7, name=name)])],
                            hostname="web\u202e01"), tmp_path / "snap.json")
    result = run_cli("evaluate", "--policy", policy, "--snapshot", tmp_path / "snap.json", "-o", tmp_path / "ev.json",
                     "--format", "html", "-q")
    assert result.returncode == NON_COMPLIANT, result.stderr
    page = (tmp_path / "bidi.html").read_text(encoding="utf-8")
    assert BIDI.findall(page) == []
    assert f'<td class="subject mono">tcp 0.0.0.0:22 {shown} pid 7</td>' in page
    assert re.findall("<title>.*</title>", page)[0] == "<title>NOT COMPLIANT: bidi 1 on web\\u202e01</title>"


def test_control_case_right_to_left_text_without_controls_stays_as_it_is(tmp_path: Path, policy: Path):
    name = "\u05e9\u05e8\u05ea"  # Hebrew letters: the page lays them out right to left by themselves
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22, processes=[ProcessInfo(pid=7, name=name)])]),
                   tmp_path / "snap.json")
    result = run_cli("evaluate", "--policy", policy, "--snapshot", tmp_path / "snap.json", "-o", tmp_path / "ev.json",
                     "--format", "html", "-q")
    assert result.returncode == NON_COMPLIANT, result.stderr
    assert f'<td class="subject mono">tcp 0.0.0.0:22 {name} pid 7</td>' in (tmp_path / "bidi.html").read_text()
