"""The Prometheus textfile bounds a host's text as every other report does.

A snapshot's host name is whatever its file says, and a policy's version any YAML scalar.  Every
report but the evidence's own copy and the PDF renders from ``bounded_evidence`` (each text at most
``MAX_REPORT_TEXT_CHARS`` characters, and a marker saying how much more the evidence holds); the
Prometheus textfile did not: a host name of a megabyte was a megabyte-long ``host`` label of
``lbaudit_scan_info``, written into node_exporter's textfile directory on every scan and stored by
Prometheus as a label of that series.  Now its labels are cut as every report cuts a host's text;
the evidence keeps the name whole.
"""

from __future__ import annotations

import json

from auditor.storage.snapshot import write_snapshot
from auditor.text import MAX_REPORT_TEXT_CHARS
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
MEGABYTE = 1_000_000


def test_a_megabyte_host_name_is_cut_in_the_textfile(tmp_path):
    hostname = "h" * MEGABYTE
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname=hostname), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    (tmp_path / "textfiles").mkdir()
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--textfile-dir", tmp_path / "textfiles", "-q",
                     env={"LBAUDIT_CONFIG": ""})
    assert result.returncode == NON_COMPLIANT, result.stderr
    text = (tmp_path / "textfiles" / "corp.prom").read_text(encoding="utf-8")
    (info,) = [line for line in text.splitlines() if line.startswith("lbaudit_scan_info{")]
    rest = MEGABYTE - MAX_REPORT_TEXT_CHARS
    # before: the host label held the whole megabyte (the file was 1,000,4xx bytes)
    assert f'host="{"h" * MAX_REPORT_TEXT_CHARS}\u2026 ({rest:,} more characters and 0 more lines in the evidence)"' in info
    assert len(text) < MAX_REPORT_TEXT_CHARS + 10_000
    assert json.loads((tmp_path / "e.json").read_bytes())["snapshot"]["provenance"]["hostname"] == hostname
