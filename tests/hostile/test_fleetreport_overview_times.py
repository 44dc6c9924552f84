"""The span ``fleet report --html`` names ("Evaluated FIRST to LAST"), taken from the runs' texts.

A run's start is written without its fraction when it falls on a whole second (``...:05Z``), and
``...:05Z`` sorts after ``...:05.500000Z`` as text: the overview took the earliest start and the
latest end by their texts, and named a span that began half a second after it did and ended before
it did (and took the policy of the run that started last from another host's run).  They are now
compared as the moments they name.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.history import open_store
from auditor.history.store import prepare_run
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

SECOND = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0)


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _record(tmp_path: Path, host: str, machine: str, started: datetime, finished: datetime) -> None:
    """A compliant run of ``host`` that started and finished at these moments (to the microsecond)."""
    snap = tmp_path / f"{host}.snapshot.json"
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=host, machine_id=machine * 32,
                            collected_at=SECOND - timedelta(minutes=5)), snap)
    plain = tmp_path / f"{host}.evidence.json"
    result = run_cli("evaluate", "--policy", tmp_path / "lo.yaml", "--snapshot", snap, "-o", plain, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(plain.read_text())
    document["run"]["started_at"], document["run"]["finished_at"] = _z(started), _z(finished)
    with open_store(str(tmp_path / "history.db")) as opened:
        opened.record_prepared(prepare_run(json.dumps(document).encode(), None, None), trigger="fleet",
                               inventory_name=host)


def test_the_overview_names_the_span_the_runs_took(tmp_path: Path):
    (tmp_path / "lo.yaml").write_text(loopback_only_policy("lo"))
    _record(tmp_path, "web01", "1", SECOND, SECOND + timedelta(seconds=1, milliseconds=200))
    _record(tmp_path, "web02", "2", SECOND + timedelta(milliseconds=500), SECOND + timedelta(seconds=1))
    page = tmp_path / "fleet.html"
    result = run_cli("fleet", "report", "--store", tmp_path / "history.db", "--html", page)
    assert result.returncode == 0, result.stdout + result.stderr
    [ran] = re.findall(r'<dd id="ran">([^<]*)</dd>', page.read_text(encoding="utf-8"))
    assert ran == f"{_z(SECOND)} to {_z(SECOND + timedelta(seconds=1, milliseconds=200))}"
