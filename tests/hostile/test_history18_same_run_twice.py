"""One run's evidence recorded twice under two digests.  The store knows a run by the SHA-256 of its
evidence's bytes, so ``history import`` of a copy of a recorded evidence file that a tool
re-indented (an archive pretty-printed, a copy with other line endings) recorded the same run
again, "recorded as run 3" where "already recorded" was meant: ``history trend`` counted that scan's
findings twice, and ``history diff`` and ``fleet report`` compared the run with itself: Monday's
scan without redis and Tuesday's with it, Tuesday's copy imported, diffed "no change", exit 0, and
no host regressed.  A run is one run whatever its bytes: the same start, end, facts and policy are
"already recorded as run N" (skipped by an import, as the same bytes are).  An export of a store
that recorded such a copy before is still imported as it was: its chain runs through the copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, later, write_scan_snapshot

pytestmark = pytest.mark.slow  # real evaluations


def _evaluate(tmp_path: Path, name: str, days: int, redis: bool) -> Path:
    snapshot = write_scan_snapshot(tmp_path / f"{name}.snapshot.json", wildcard_redis=redis, when=later(days))
    evidence = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "-q")
    assert result.returncode in (1, 3), result.stderr
    return evidence


def test_a_reindented_copy_of_a_recorded_run_is_already_recorded(tmp_path: Path, store_url: str):  # noqa: F811
    monday = _evaluate(tmp_path, "monday", 0, redis=False)
    tuesday = _evaluate(tmp_path, "tuesday", 1, redis=True)
    assert run_cli("history", "import", monday, tuesday, "--store", store_url).returncode == 0
    copy = tmp_path / "archive" / "tuesday.evidence.json"
    copy.parent.mkdir()
    copy.write_text(json.dumps(json.loads(tuesday.read_text()), indent=4) + "\n")
    again = run_cli("history", "import", copy, "--store", store_url, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == [{"file": str(copy), "run": 2, "recorded": False}]
    diff = run_cli("history", "diff", "--store", store_url, "--json")
    assert (diff.returncode, json.loads(diff.stdout)["runs"]["before"]) == (1, 1), diff.stdout + diff.stderr
    trend = run_cli("history", "trend", "--days", "2", "--store", store_url, "--json")  # both evaluated now
    assert sum(day["runs"] for day in json.loads(trend.stdout)["by_day"]) == 2, trend.stdout
