"""``history export`` of a long history listed every run first.

It took every run of the store as a dict (``list_runs`` without a limit), then read each again on a
connection of its own: the memory grew with the history, not with a line (60,000 runs: 235 MB and
160 s), and a ``history prune`` between two of those readings made the export fail part way.  Now
the runs are streamed oldest first in one reading of the store, each line made as it is written.
The history is the runs of one host, each a copy of its first recorded run at another time (the
rows the recorder writes), as in test_fleetreport_huge_store.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.cli import REPO
from tests.factories import loopback_only_policy
from tests.hostile.test_fleetreport_huge_store import _MEASURED, _history, _record

HISTORY_RUNS = 30_000
# The interpreter, lbaudit and SQLAlchemy are some 50 MB; every run of the history as a dict was
# another 3 KB a run (some 90 MB here).
MAX_RSS_BYTES = 100 * 1024 * 1024


@pytest.mark.slow  # a child interpreter, and a store of 30,000 runs
def test_export_streams_the_runs_oldest_first_in_bounded_memory(tmp_path: Path):
    (tmp_path / "lo.yaml").write_text(loopback_only_policy("lo"))
    now = datetime.now(timezone.utc).replace(microsecond=0)
    _record(tmp_path, "127.0.0.1", now - timedelta(hours=3))  # run 1
    _record(tmp_path, "0.0.0.0", now - timedelta(hours=2))  # run 2, the newest
    _history(tmp_path / "history.db", HISTORY_RUNS, before=now - timedelta(hours=3))  # runs 10.., before both
    run = subprocess.run([sys.executable, "-c", _MEASURED, "history", "export", "--store",
                          str(tmp_path / "history.db")], capture_output=True, text=True, cwd=REPO, timeout=600)
    first, output = run.stdout.split("\n", 1)
    code, rss = first.split()
    assert (int(code), run.stderr) == (0, "")
    lines = [json.loads(line) for line in output.splitlines() if line]
    # every run, oldest first, each with its findings and attestations as history show --json gives them
    assert [line["id"] for line in lines] == [*range(10, 10 + HISTORY_RUNS), 1, 2]
    assert lines[-1]["verdict"] == "non_compliant" and lines[-1]["findings"]
    assert all(line["attestations"] == [] for line in lines)
    assert int(rss) < MAX_RSS_BYTES, f"{int(rss) / 2**20:.0f} MB"
