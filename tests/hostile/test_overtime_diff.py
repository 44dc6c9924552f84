"""``lbaudit diff`` and ``history diff`` given the later scan first: read backwards, a listener
opened between the scans is "gone" (an improvement, exit 0), so the diff is refused (exit 2)."""

from __future__ import annotations

from pathlib import Path

from tests.cli import run_cli
from tests.history.scans import CORP, later, write_scan_snapshot


def _scan(tmp_path: Path, day: int, *, redis: bool, snapshot: Path | None = None, **record: str) -> Path:
    snapshot = snapshot or write_scan_snapshot(tmp_path / f"{day}.snapshot.json", wildcard_redis=redis,
                                               when=later(day))
    evidence = tmp_path / f"{day}-{len(list(tmp_path.glob('*.evidence.json')))}.evidence.json"
    extra = ("--record", "--store", record["store"]) if record else ()
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "-q", *extra)
    assert result.returncode in (1, 3), result.stderr
    return evidence


def test_diff_of_the_later_scan_first_is_exit_2_not_an_improvement(tmp_path: Path):
    monday = _scan(tmp_path, 0, redis=False)
    tuesday = _scan(tmp_path, 1, redis=True)
    assert run_cli("diff", monday, tuesday).returncode == 1  # redis opened: a regression
    backwards = run_cli("diff", tuesday, monday)
    assert (backwards.returncode, backwards.stdout) == (2, "")
    assert "BEFORE is the later scan" in backwards.stderr and "give the earlier scan first" in backwards.stderr


def test_an_older_snapshot_evaluated_again_later_is_still_the_earlier_scan(tmp_path: Path):
    monday_snapshot = write_scan_snapshot(tmp_path / "mon.snapshot.json", wildcard_redis=False, when=later(0))
    tuesday = _scan(tmp_path, 1, redis=True)
    monday_again = _scan(tmp_path, 0, redis=False, snapshot=monday_snapshot)  # evaluated after tuesday
    assert run_cli("diff", monday_again, tuesday).returncode == 1


def test_history_diff_of_two_run_ids_given_backwards_is_exit_2(tmp_path: Path):
    store = str(tmp_path / "history.db")
    _scan(tmp_path, 0, redis=False, store=store)
    _scan(tmp_path, 1, redis=True, store=store)
    assert run_cli("history", "diff", "1", "2", "--store", store).returncode == 1
    backwards = run_cli("history", "diff", "2", "1", "--store", store)
    assert (backwards.returncode, backwards.stdout) == (2, "")
    assert "runs 2 1: BEFORE is the later scan" in backwards.stderr
