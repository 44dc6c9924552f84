"""``lbaudit fleet evaluate`` of a host whose snapshot records a host name of a megabyte, and of a
host whose snapshot holds a key of a megabyte.

A fleet directory's name is at most NAME_MAX, but the host name inside a snapshot is what its
writer put there: fleet-summary.json and fleet.junit.xml each held it whole (a megabyte each, for
one host).  A refused snapshot's error is cut where the fleet keeps it (65,536 characters), and
the command printed that on one terminal line per host.  Now the summary row's host name and
machine id are cut as a report cuts a host's text (``bounded_text``), and the per-host line is cut
as a message's line is (``shown_line``, ``MAX_MESSAGE_LINE_CHARS``), pointing at the summary.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from auditor.text import MAX_MESSAGE_LINE_CHARS, MAX_REPORT_TEXT_CHARS
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NOT_EVALUATED = 2  # the worst host's: a refused snapshot
MEGABYTE = 1_000_000


def test_a_host_name_and_a_key_of_a_megabyte_are_cut_in_the_fleet_outputs(tmp_path: Path):
    hostname = "\x1b[2J" + "h" * MEGABYTE
    for host in ("web1", "web2"):
        (tmp_path / "snaps" / host).mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname=hostname),
                   tmp_path / "snaps" / "web1" / "web1.snapshot.json")
    document = json.loads((tmp_path / "snaps" / "web1" / "web1.snapshot.json").read_text(encoding="utf-8"))
    document["provenance"]["hostname"] = "web2"
    document["k" * MEGABYTE] = 1
    refused = tmp_path / "snaps" / "web2" / "web2.snapshot.json"
    refused.write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("big"))
    out = tmp_path / "out"

    result = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "snaps", "--policy", tmp_path / "policy.yaml",
                     "--out-dir", out)

    assert (result.returncode, result.stderr) == (NOT_EVALUATED, "")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("web1: non_compliant (loopback-only) [collected ")
    error = f"{refused}: invalid snapshot (1 problem(s))\n  {refused}: /{'k' * MEGABYTE}: Extra inputs are not permitted"
    # what the fleet keeps of the error (auditor.fleet._failed), then what one line of a terminal shows of that
    kept = f"{error[:MAX_REPORT_TEXT_CHARS]}\u2026 ({len(error) - MAX_REPORT_TEXT_CHARS:,} more characters and 0 more " \
           "lines not shown)"
    shown = kept[:MAX_MESSAGE_LINE_CHARS].replace("\n", "\\n")
    assert lines[1] == (f"web2: exit 2: {shown}\u2026 ({len(kept) - MAX_MESSAGE_LINE_CHARS:,} more characters and 0 "
                        "more lines in fleet-summary.json)")

    summary = json.loads((out / "fleet-summary.json").read_text(encoding="utf-8"))
    (web1,) = [row for row in summary["hosts"] if row["host"] == "web1"]
    rest = len(hostname) - MAX_REPORT_TEXT_CHARS
    assert web1["hostname"] == f"{hostname[:MAX_REPORT_TEXT_CHARS]}\u2026 ({rest:,} more characters and 0 more lines " \
                               "in the host's snapshot)"
    suites = ET.parse(out / "fleet.junit.xml").getroot()
    (suite,) = [s for s in suites if s.get("name") == "web1"]
    assert suite.get("hostname") == "\\x1b[2J" + "h" * (MAX_REPORT_TEXT_CHARS - 4) + \
        f"\u2026 ({rest:,} more characters and 0 more lines in the evidence)"
    for name in ("fleet-summary.json", "fleet.junit.xml", "fleet-summary.html"):
        assert (out / name).stat().st_size < 4 * MAX_REPORT_TEXT_CHARS, name
    # the host's evidence keeps the name whole
    evidence = json.loads((out / "web1.evidence.json").read_text(encoding="utf-8"))
    assert evidence["snapshot"]["provenance"]["hostname"] == hostname
