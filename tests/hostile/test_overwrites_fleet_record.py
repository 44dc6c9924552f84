"""Hostile outputs of ``fleet evaluate --record``: a fleet run stopped part way (SIGTERM: 143, SIGHUP:
129, Ctrl-C: 130) puts its hosts' files back, and records nothing either.

Before, each host's run was committed to the history store as soon as its evidence was written (by
its worker, or in the command's own process with ``--jobs 1``), while the command's transaction put
every host's evidence back when the run was stopped: the store then listed (and chained the next run
of each host to) runs whose evidence files were never there, which ``evaluate --record`` never does
(its record is committed only when the command ends well).  Now the fleet's records are committed
with its files, when the run ends well, as one transaction.

A signal sent to every process of the run at once (a closed terminal, ``timeout``, ``systemctl
stop``) reached the workers too, which took it for the pool stopping them while the run went on:
each kept the hosts it had handed over, and those the command had not yet received stayed in the
out dir after exit 143 or 129.  Now a worker waits a moment for the run to say whether it stops.

Real processes (with and without worker processes), a real SQLite store, real signals once some
hosts' evidence is written.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from auditor.history import open_store
from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, loopback_only_policy, snapshot
from tests.hostile.test_overwrites_fleet import tree

pytestmark = pytest.mark.slow  # a real fleet run, with worker processes

HOSTS = 12
TABLES = ("hosts", "runs", "evidence", "findings", "policies")


def _rows(store: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(store) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in TABLES}


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[list[str], Path]:
    fetch = tmp_path / "fetch"
    for n in range(HOSTS):
        host = f"h{n:02}"
        (fetch / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8000 + p) for p in range(300)], hostname=host),
                       fetch / host / "lbaudit.snapshot.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("fleet"))
    store = tmp_path / "history.db"
    open_store(str(store)).close()  # the store the run records in exists before it, empty
    return (["fleet", "evaluate", "--snapshots", str(fetch), "--policy", str(tmp_path / "policy.yaml"), "--out-dir",
             str(tmp_path / "out"), "--record", "--store", f"sqlite:///{store}", "-q"], store)


def _lbaudit(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "auditor.cli", *args], env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize(("signum", "said"), [(signal.SIGTERM, "terminated"), (signal.SIGHUP, "terminated by SIGHUP"),
                                              (signal.SIGINT, "interrupted")], ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_fleet_run_stopped_part_way_records_nothing(tmp_path, fleet, jobs, signum, said):
    args, store = fleet
    out = tmp_path / "out"
    out.mkdir()
    before = _rows(store)
    process = _lbaudit([*args, "--jobs", jobs])
    try:
        deadline = time.monotonic() + 120
        while len([name for name in os.listdir(out) if name.endswith(".evidence.json")]) < 3:
            assert process.poll() is None, "the run ended before three hosts were written"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 128 + signum, (process.returncode, stderr)
    assert stderr.endswith(said + "\n") and "Traceback" not in stderr
    time.sleep(0.5)  # the workers, stopped by the run, are gone once their files are
    assert tree(out) == {}
    # before: the runs of the hosts written before the signal, their evidence files put back
    assert _rows(store) == before


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_control_case_a_finished_fleet_run_records_every_host_once(tmp_path, fleet, jobs):
    args, store = fleet
    process = _lbaudit([*args, "--jobs", jobs])
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, stderr
    runs = _rows(store)["runs"]
    assert len(runs) == HOSTS
    verified = subprocess.run([sys.executable, "-m", "auditor.cli", "history", "verify", "--store", f"sqlite:///{store}"],
                              env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_control_case_a_host_whose_run_cannot_be_recorded_fails_alone_and_leaves_no_file(tmp_path, fleet, jobs):
    """The command records the runs its workers prepared: one it cannot record (its host's last run
    was recorded by a clock ahead of this one) fails that host with its files put back, as it did
    in the worker; the others are recorded."""
    args, store = fleet
    earlier = tmp_path / "h03.evidence.json"
    done = subprocess.run([sys.executable, "-m", "auditor.cli", "evaluate", "--policy", str(tmp_path / "policy.yaml"),
                           "--snapshot", str(tmp_path / "fetch" / "h03" / "lbaudit.snapshot.json"), "-o", str(earlier),
                           "-q"], env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stderr
    with open_store(str(store)) as opened:
        opened.record_many([(earlier.read_bytes(), None, None)], trigger="fleet", inventory_name="h03",
                           recorded_at=datetime(2100, 1, 1, tzinfo=timezone.utc))
    process = _lbaudit([*args, "--jobs", jobs])
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 2, stderr
    hosts = {row["host"]: row for row in json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]}
    assert hosts["h03"]["exit_code"] == 2 and "a clock set back" in hosts["h03"]["error"]
    assert hosts["h03"]["verdict"] is None and hosts["h03"]["run_id"] is None
    assert not (tmp_path / "out" / "h03.evidence.json").exists()
    assert sorted(name for name in os.listdir(tmp_path / "out") if name.endswith(".evidence.json")) == \
        [f"h{n:02}.evidence.json" for n in range(HOSTS) if n != 3]
    assert len(_rows(store)["runs"]) == 1 + HOSTS - 1
    assert {row["run_id"] for name, row in hosts.items() if name != "h03"} == set(range(2, HOSTS + 1))


def _stop_the_process_group(args: list[str], out: Path, signum: int) -> tuple[int, str]:
    """Run the fleet in a process group of its own and, once three hosts' evidence is written, send
    ``signum`` to the whole group, as a closed terminal (SIGHUP), ``timeout`` and ``systemctl stop``
    (SIGTERM to every process of the unit) do: the workers get it at the same time as the command."""
    process = subprocess.Popen([sys.executable, "-m", "auditor.cli", *args], env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len([name for name in os.listdir(out) if name.endswith(".evidence.json")]) < 3:
            assert process.poll() is None, "the run ended before three hosts were written"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.killpg(process.pid, signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    time.sleep(0.5)  # the workers are gone once their files are
    return process.returncode, stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_to_the_whole_process_group_leaves_no_host_file(tmp_path, fleet, signum):
    args, store = fleet
    out = tmp_path / "out"
    out.mkdir()
    before = _rows(store)
    left = []
    for attempt in range(3):  # each worker's batch of hosts is cut at a different point each time
        code, stderr = _stop_the_process_group([*args, "--jobs", "2"], out, signum)
        assert code == 128 + signum and "Traceback" not in stderr, (code, stderr)
        left += [(attempt, name) for name in os.listdir(out)]
    # before: e.g. [(0, 'h04.evidence.json'), (2, 'h00.evidence.json')]: each worker, stopped as if
    # the run went on without it, kept the hosts it had handed over and the command never received
    assert left == []
    assert _rows(store) == before
