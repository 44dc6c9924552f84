"""``fleet evaluate --jobs N`` forked N workers whatever the fleet: the process pool forks every
worker it may have as soon as it starts, so ``--jobs 5000`` over a fleet of three hosts forked 5,000
copies of the run (its policy and checks loaded, a pipe each) on the controller before judging three
snapshots.  The pool now has no more workers than the tasks at hand (a few hosts each); the hosts
are judged as before.  And ``--jobs 2**62`` ended the run with exit 70 (its window of tasks in
flight, two a worker, is more than a Python slice may count): --jobs is now at most 1,024.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"


def _children() -> int:
    """How many child processes this process has now."""
    count = 0
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            count += len((task / "children").read_text().split())
        except OSError:  # a thread that ended
            pass
    return count


def test_a_fleet_of_one_host_forks_one_worker_whatever_jobs_says(tmp_path: Path):
    fetch = tmp_path / "fetch"
    (fetch / "web01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01", machine_id="1" * 32,
                            collected_at=datetime.now(timezone.utc)), fetch / "web01" / "lbaudit.snapshot.json")
    most, running = [0], threading.Event()
    running.set()

    def watch() -> None:
        while running.is_set():
            most[0] = max(most[0], _children())
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    before = _children()
    watcher.start()
    try:
        result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", tmp_path / "out",
                         "-q", "--jobs", "24", timeout=120)
    finally:
        running.clear()
        watcher.join()
    assert result.returncode in (0, 1, 3), result.stdout + result.stderr
    rows = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]
    assert [(row["host"], row["error"]) for row in rows] == [("web01", None)]
    assert most[0] - before == 1


def test_jobs_beyond_the_limit_is_a_usage_error_not_a_crash(tmp_path: Path):
    from auditor.fleet import MAX_JOBS, FleetJob, check_job

    fetch = tmp_path / "fetch"
    (fetch / "web01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01", machine_id="1" * 32,
                            collected_at=datetime.now(timezone.utc)), fetch / "web01" / "lbaudit.snapshot.json")
    # before: exit 70, "Stop argument for islice() must be ... <= sys.maxsize" (its window of tasks)
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", tmp_path / "out",
                     "-q", "--jobs", str(2 ** 62), timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"'--jobs' / '-j': {2 ** 62} is not in the range 1<=x<={MAX_JOBS}." in result.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError, match=rf"^--jobs {MAX_JOBS + 1}: give 1 to {MAX_JOBS:,}$"):
        check_job(FleetJob(snapshots=[fetch], policy=POLICY, out_dir=tmp_path / "out", jobs=MAX_JOBS + 1))
    judged = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", tmp_path / "out",
                     "-q", "--jobs", str(MAX_JOBS), timeout=120)
    assert judged.returncode in (0, 1, 3), judged.stdout + judged.stderr
