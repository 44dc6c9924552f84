"""The reason a fleet host could not be judged, quoting a megabyte of the host's snapshot.

A snapshot refused for a key of a million characters (the strict model names the key it does not
know) failed its host with a reason quoting the key whole: ``fleet evaluate`` printed it on the
terminal and wrote it into the summary JSON, the JUnit and the HTML overview (a megabyte each) and
into the store's record of the host not scanned, which every ``fleet report`` after repeated in each
of its forms; so did a reason of a record imported from an export, and a retirement's.  Each is now
cut as every report cuts a host's text (``auditor.report._shared.bounded_text``), with the marker
saying how much more there was.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from auditor.report._shared import MAX_REPORT_TEXT_CHARS
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

KEY = "x" * 1_000_000
MAX_OUTPUT_CHARS = 3 * MAX_REPORT_TEXT_CHARS  # two texts cut, and the rest
USAGE = 2
MORE = "more characters and 0 more lines not shown)"


def _fleet(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "lo.yaml").write_text(loopback_only_policy("lo"))
    host = tmp_path / "fetch" / "web01"
    host.mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01", machine_id="1" * 32,
                            collected_at=datetime.now(timezone.utc)), host / "lbaudit.snapshot.json")
    document = json.loads((host / "lbaudit.snapshot.json").read_text())
    document["facts"][KEY] = 1
    (host / "lbaudit.snapshot.json").write_text(json.dumps(document))
    return tmp_path / "out", tmp_path / "history.db"


def test_fleet_evaluate_cuts_a_hosts_reason_in_every_output(tmp_path: Path):
    out, store = _fleet(tmp_path)
    result = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", tmp_path / "lo.yaml",
                     "--out-dir", out, "--record", "--store", store, "--jobs", "1")
    assert result.returncode == USAGE, result.stderr[:2000]
    assert len(result.stdout) + len(result.stderr) < MAX_OUTPUT_CHARS
    [host] = json.loads((out / "fleet-summary.json").read_text())["hosts"]
    assert (host["host"], host["exit_code"], host["verdict"]) == ("web01", USAGE, None)
    assert KEY[:1000] in host["error"] and host["error"].endswith(MORE)
    assert len(host["error"]) < MAX_REPORT_TEXT_CHARS + 200
    for name in ("fleet-summary.json", "fleet.junit.xml", "fleet-summary.html"):
        assert len((out / name).read_text(encoding="utf-8")) < MAX_OUTPUT_CHARS, name
    report = run_cli("fleet", "report", "--store", store, "--json")
    assert report.returncode == 3, report.stderr  # the host was not scanned in the latest fleet run
    assert len(report.stdout) < MAX_OUTPUT_CHARS
    [row] = json.loads(report.stdout)["hosts"]
    assert row["error"].startswith("not scanned in the latest fleet run") and f"): {host['error']}; " in row["error"]


def test_fleet_report_cuts_a_recorded_reason_and_a_retirements(tmp_path: Path):
    """A store's record of a host not scanned as an older lbaudit kept it (whole), here through an
    edited export; a retirement's reason as the operator gave it."""
    out, store = _fleet(tmp_path)
    (tmp_path / "fetch" / "web01" / "lbaudit.snapshot.json").unlink()
    (tmp_path / "fetch" / "db01").mkdir()
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="db01", machine_id="2" * 32,
                            collected_at=datetime.now(timezone.utc)), tmp_path / "fetch" / "db01" / "lbaudit.snapshot.json")
    result = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", tmp_path / "lo.yaml",
                     "--out-dir", out, "--record", "--store", store, "--jobs", "1", "-q", "--expect-hosts", "web01,db01")
    assert result.returncode == USAGE, result.stdout + result.stderr
    retired = run_cli("history", "retire", "db01", "--reason", KEY, "--store", store)  # the operator's own words
    assert retired.returncode == 0, retired.stdout + retired.stderr
    exported = run_cli("history", "export", "--with-evidence", "--store", store)
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    for line in lines:
        if line["record"] == "missed_scan":
            line["reason"] = KEY
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))
    imported = run_cli("history", "import", "--export", edited, "--store", tmp_path / "imported.db")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    for args in (["--json"], []):
        report = run_cli("fleet", "report", "--store", tmp_path / "imported.db", *args)
        assert report.returncode == 3, report.stdout[:2000] + report.stderr
        assert len(report.stdout) < MAX_OUTPUT_CHARS
    data = json.loads(run_cli("fleet", "report", "--store", tmp_path / "imported.db", "--json").stdout)
    [row] = data["hosts"]
    assert row["host"] == "web01" and f"{len(KEY) - MAX_REPORT_TEXT_CHARS - 128:,} more characters and 0 more lines in the store); " in row["error"]
    [retirement] = data["retired"]
    assert retirement["host"] == "db01" and retirement["reason"].endswith("more lines in the store)")
