"""A verdict that got worse with no finding that got bad.  A compliant host whose next scan judges
nothing (the listener list holds only declared listeners, and there are none: every finding not
applicable) is incomplete (exit 3), yet no finding of it is failing, errored or unreviewed: ``diff``,
``history diff`` and ``fleet report`` said "regressions: 0" and exit 0.  Now a worse verdict
(compliant, incomplete, non-compliant) is exit 1 on its own, and says so."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.model.facts import Gap, GapKind
from tests.cli import run_cli
from tests.hostile.overtime_scans import evaluated_scan, web_listeners


def _scan(tmp_path: Path, name: str, day: int, *, judged: bool, store: Path) -> Path:
    # both scans of an offline image: only its facts can say the listener list holds the declared
    # listeners alone (a running host's that say so contradict themselves, exit 2)
    image = dict(source="root", source_detail="/mnt/web01-image")
    if judged:  # postgres on loopback: a pass
        return evaluated_scan(tmp_path, name, day, web_listeners(redis=False), expected_exit=0,
                              args=("--record", "--store", store), **image)
    # no listener, and the list says it holds only the declared ones: not applicable
    return evaluated_scan(tmp_path, name, day, [], expected_exit=3, args=("--record", "--store", store), **image,
                          gaps=[Gap(section="sockets", field="listeners", reason="declared listeners only",
                                    kind=GapKind.NOT_APPLICABLE)])


def test_compliant_to_incomplete_without_a_bad_finding_is_exit_1(tmp_path: Path):
    store = tmp_path / "history.db"
    before = _scan(tmp_path, "before", 0, judged=True, store=store)
    after = _scan(tmp_path, "after", 1, judged=False, store=store)
    result = run_cli("diff", before, after, "--json")
    data = json.loads(result.stdout)
    assert (result.returncode, data["exit_code"], data["regressions"], data["lost_coverage"]) == (1, 1, [], 0)
    assert (data["verdict"], data["verdict_worsened"]) == ({"before": "compliant", "after": "incomplete"}, True)
    text = run_cli("diff", before, after)
    assert (text.returncode, text.stdout.splitlines()[0]) == (1, "verdict: compliant -> incomplete (worse: exit 1)")


def test_history_diff_and_fleet_report_of_compliant_to_incomplete_are_exit_1(tmp_path: Path):
    store = tmp_path / "history.db"
    _scan(tmp_path, "before", 0, judged=True, store=store)
    _scan(tmp_path, "after", 1, judged=False, store=store)
    history = run_cli("history", "diff", "--store", store)
    assert history.returncode == 1 and "verdict: compliant -> incomplete (worse: exit 1)" in history.stdout
    report = run_cli("fleet", "report", "--store", store, "--json")
    assert report.returncode == 1, report.stdout + report.stderr
    (regressed,) = json.loads(report.stdout)["regressed_since_previous_run"]
    assert regressed["verdict"] == {"before": "compliant", "after": "incomplete", "worsened": True}
    assert "web01.example.test (loopback, run 1 -> 2): verdict compliant -> incomplete" in run_cli(
        "fleet", "report", "--store", store, "--html", tmp_path / "fleet.html").stdout
    assert "<li>verdict compliant to incomplete</li>" in (tmp_path / "fleet.html").read_text()


def test_control_case_incomplete_to_compliant_is_not_a_regression(tmp_path: Path):
    store = tmp_path / "history.db"
    before = _scan(tmp_path, "before", 0, judged=False, store=store)
    after = _scan(tmp_path, "after", 1, judged=True, store=store)
    result = run_cli("diff", before, after, "--json")
    data = json.loads(result.stdout)
    assert (result.returncode, data["verdict_worsened"]) == (0, False)
