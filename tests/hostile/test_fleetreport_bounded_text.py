"""A host's text of a megabyte (a process named by a path of a million characters) in the history
store, repeated whole by every output of ``fleet report`` and by ``history diff``.

A single host's reports cut each text of a finding at ``MAX_REPORT_TEXT_CHARS`` characters
(``auditor.report._shared.bounded_evidence``), but the fleet report's regressions and the history
diff's changes are built by ``auditor.analysis.diff.diff_scans`` from the evidence as recorded:
``fleet report`` printed the million characters on the terminal, in its JSON and in its HTML
overview (a megabyte each, for every regressed host), ``history diff`` on the terminal.  Now the
comparison renders from the bounded evidence, so each text is cut where every host report cuts it,
with the marker saying how much more the evidence holds.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.report._shared import MAX_REPORT_TEXT_CHARS, bounded_text
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
NAME = "x" * 1_000_000  # the process's name, as its executable's path gives it
# What any of the outputs may be with the text cut: the bound and the rest of the report.
MAX_OUTPUT_CHARS = 4 * MAX_REPORT_TEXT_CHARS

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _fleet_run(base: Path, run: int, address: str, name: str) -> None:
    fetch = base / f"fetch{run}" / "web01"
    fetch.mkdir(parents=True)
    process = ProcessInfo(pid=10, name=name, exe=f"/opt/{name}")
    write_snapshot(snapshot(listeners=[listener(address, 22, processes=[process])], hostname="web01",
                            machine_id="1" * 32, collected_at=NOW - timedelta(hours=2 - run)),
                   fetch / "lbaudit.snapshot.json")
    result = run_cli("fleet", "evaluate", "--snapshots", fetch.parent, "--policy", base / "lo.yaml", "--out-dir",
                     base / f"out{run}", "--record", "--store", base / "history.db", "--jobs", "1", "-q")
    assert result.returncode == (NON_COMPLIANT if run else 0), result.stdout + result.stderr


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store of web01 compliant, then failing on a listener of the process with the huge name;
    the store's directory and the failing finding's subject as the evidence holds it."""
    base = tmp_path_factory.mktemp("fleetbig")
    (base / "lo.yaml").write_text(loopback_only_policy("lo"))
    _fleet_run(base, 0, "127.0.0.1", "sshd")
    _fleet_run(base, 1, "0.0.0.0", NAME)
    evidence = json.loads((base / "out1" / "web01.evidence.json").read_text(encoding="utf-8"))
    [finding] = evidence["result"]["findings"]
    assert NAME in finding["subject"] and len(finding["subject"]) > MAX_REPORT_TEXT_CHARS
    return base, finding["subject"]


def test_fleet_report_json_cuts_a_regressions_subject(store: tuple[Path, str]):
    base, subject = store
    result = run_cli("fleet", "report", "--store", base / "history.db", "--json")
    assert result.returncode == NON_COMPLIANT, result.stderr
    assert len(result.stdout) < MAX_OUTPUT_CHARS
    [regressed] = json.loads(result.stdout)["regressed_since_previous_run"]
    [change] = regressed["regressions"]
    assert (change["rule"], change["subject"], change["before"], change["after"]) == (
        "loopback-only", bounded_text(subject), None, "fail")
    assert change["subject"].endswith(
        f"\u2026 ({len(subject) - MAX_REPORT_TEXT_CHARS:,} more characters and 0 more lines in the evidence)")


def test_fleet_report_terminal_and_html_cut_it(store: tuple[Path, str], tmp_path: Path):
    base, subject = store
    result = run_cli("fleet", "report", "--store", base / "history.db", "--html", tmp_path / "fleet.html")
    assert result.returncode == NON_COMPLIANT, result.stderr
    assert len(result.stdout) < MAX_OUTPUT_CHARS
    assert bounded_text(subject) in result.stdout
    page = (tmp_path / "fleet.html").read_text(encoding="utf-8")
    assert len(page) < MAX_OUTPUT_CHARS
    assert f"{len(subject) - MAX_REPORT_TEXT_CHARS:,} more characters and 0 more lines in the evidence" in page


@pytest.mark.parametrize("as_json", [False, True])
def test_history_diff_cuts_it(store: tuple[Path, str], as_json: bool):
    base, subject = store
    result = run_cli("history", "diff", "--store", base / "history.db", *(["--json"] if as_json else []))
    assert result.returncode == NON_COMPLIANT, result.stderr
    assert len(result.stdout) < MAX_OUTPUT_CHARS
    if as_json:
        [change] = json.loads(result.stdout)["regressions"]
        assert change["subject"] == bounded_text(subject)
    else:
        assert f"  loopback-only: {bounded_text(subject)}: new -> fail" in result.stdout.splitlines()
