"""A long run of backslashes in host text renders SARIF in linear time.

SARIF message text escapes the middle of an embedded link (``](``) with a backslash, and each
backslash before it too: ``no_embedded_link`` found them with ``(\\\\*)\\]\\(``, which tries every
start inside a run of backslashes and reads the rest of the run from each: quadratic.  A snapshot's
gap reason (any text: it is the file's) of 65,536 backslashes, as much as a report shows of one text,
is in the not-reviewed finding's message and in the run's incomplete notification: rendering the SARIF
log took minutes (about 100 s for each of the two), a longer run or more findings hours, and
``evaluate --format sarif`` hung with it.  Now a match starts only where a run of backslashes does.
"""

from __future__ import annotations

import json
import time

import pytest

from auditor.model.facts import Gap
from auditor.report._shared import no_embedded_link
from auditor.storage.snapshot import write_snapshot
from auditor.text import MAX_REPORT_TEXT_CHARS
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

INCOMPLETE = 3
BACKSLASHES = "\\" * MAX_REPORT_TEXT_CHARS


def test_sarif_of_a_gap_reason_of_backslashes_is_quick(tmp_path):
    gap = Gap(section="sockets", field="listeners", reason=f"read failed: {BACKSLASHES} end")
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], gaps=[gap]), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("bs"))
    run = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                  "-o", tmp_path / "e.json", "-q", env={"LBAUDIT_CONFIG": ""})
    assert run.returncode == INCOMPLETE, run.stderr
    started = time.monotonic()
    run = run_cli("report", tmp_path / "e.json", "--format", "sarif", "--out-dir", tmp_path / "out", "-q")
    took = time.monotonic() - started
    assert run.returncode == 0, run.stderr
    # before: 178 s on a 2-core machine (two texts of 65,536 backslashes); now well under a second
    assert took < 30, took
    log = json.loads((tmp_path / "out" / "bs.sarif").read_text(encoding="utf-8"))
    [result] = [r for r in log["runs"][0]["results"] if r["kind"] == "review"]
    assert "read failed: " + "\\" * 60_000 in result["message"]["text"]  # (the message is cut at the bound)
    [notification] = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert "\\" * 60_000 in notification["message"]["text"]


@pytest.mark.parametrize(("text", "shown"), [
    ("[a](b)", "[a\\](b)"),
    ("[a]\\(b)", "[a]\\(b)"),  # no "](" : nothing to escape
    ("[a\\](b)", "[a\\\\\\](b)"),  # the backslash before it escaped too, then the bracket
    ("\\\\](x", "\\\\\\\\\\](x"),
    ("x](y](z", "x\\](y\\](z"),
    ("\\" * 5 + "a", "\\" * 5 + "a"),
])
def test_links_are_escaped_as_before(text: str, shown: str):
    assert no_embedded_link(text) == shown
