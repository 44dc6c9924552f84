"""``fleet report`` over a store of a long history: it read every run of the store (each one a dict)
to take each host's two latest.

A store keeps every run of every host (a year of hourly scans of a host is 8,760 runs), and the
report needs two of each host's.  It listed all of them first: 200,000 runs took 20 s and 580 MB,
growing with the history, not the fleet.  Now each host's runs are read newest first and no further
than its two latest that stand (``HistoryStore.standing_runs``), and the report's cost is the
fleet's.  The history here is the runs of one host, each a copy of its first recorded run at another
time (the rows the recorder writes; their findings and evidence are the first run's).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, loopback_only_policy, snapshot

HISTORY_RUNS = 60_000
# What the report may take to read two runs of one host, whatever the history before them: the
# interpreter, lbaudit and the two runs' evidence are some 60 MB; every run of the history as a dict
# was another 170 MB here.
MAX_RSS_BYTES = 130 * 1024 * 1024

_MEASURED = """
import resource, subprocess, sys
run = subprocess.run([sys.executable, "-m", "auditor.cli", *sys.argv[1:]], capture_output=True, text=True)
sys.stderr.write(run.stderr)
print(run.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
print(run.stdout)
"""


def _record(tmp_path: Path, address: str, collected: datetime) -> None:
    fetch = tmp_path / f"fetch-{address}" / "web01"
    fetch.mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname="web01", machine_id="1" * 32,
                            collected_at=collected), fetch / "lbaudit.snapshot.json")
    result = run_cli("fleet", "evaluate", "--snapshots", fetch.parent, "--policy", tmp_path / "lo.yaml", "--out-dir",
                     tmp_path / f"out-{address}", "--record", "--store", tmp_path / "history.db", "--jobs", "1", "-q")
    assert result.returncode in (0, 1), result.stdout + result.stderr


def _history(store: Path, runs: int, before: datetime) -> None:
    """``runs`` more runs of the host of run 1, hourly, up to ``before``."""
    with sqlite3.connect(store) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(runs)")]
        first = dict(zip(columns, conn.execute("SELECT * FROM runs WHERE id = 1").fetchone()))
        rows = []
        for index in range(runs):
            started = (before - timedelta(hours=runs - index)).replace(tzinfo=None)
            text = started.isoformat(sep=" ", timespec="microseconds")
            rows.append(tuple({**first, "id": 10 + index, "started_at": text, "finished_at": text, "collected_at": text,
                               "day": started.date().isoformat(), "evaluated_on": started.date().isoformat()}[c]
                              for c in columns))
        conn.executemany(f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)


@pytest.mark.slow  # a child interpreter, and a store of 60,000 runs
def test_fleet_report_reads_a_hosts_latest_runs_not_its_history(tmp_path: Path):
    (tmp_path / "lo.yaml").write_text(loopback_only_policy("lo"))
    now = datetime.now(timezone.utc).replace(microsecond=0)
    _record(tmp_path, "127.0.0.1", now - timedelta(hours=3))  # run 1: compliant
    _record(tmp_path, "0.0.0.0", now - timedelta(hours=2))  # run 2: failing, its latest
    _history(tmp_path / "history.db", HISTORY_RUNS, before=now - timedelta(hours=3))
    run = subprocess.run([sys.executable, "-c", _MEASURED, "fleet", "report", "--store", str(tmp_path / "history.db"),
                          "--json"], capture_output=True, text=True, cwd=REPO, timeout=300)
    code, rss = run.stdout.split("\n", 1)[0].split()
    assert (int(code), run.stderr) == (1, ""), run.stdout  # regressed since its previous run
    data = json.loads(run.stdout.split("\n", 1)[1])
    assert [(row["host"], row["run_id"], row["verdict"]) for row in data["hosts"]] == [("web01", 2, "non_compliant")]
    [regressed] = data["regressed_since_previous_run"]
    assert (regressed["previous_run"], regressed["run"]) == (1, 2)
    assert int(rss) < MAX_RSS_BYTES, f"{int(rss) / 2**20:.0f} MB"
