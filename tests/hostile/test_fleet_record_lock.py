"""``lbaudit evaluate --record`` while ``lbaudit fleet evaluate --record`` runs on the same SQLite store.

The fleet run holds the store's write lock from before its first host until it ends (its hosts'
runs are committed with its files, all or none).  A nightly scan recording in the same store
meanwhile waits for the lock for the store's busy timeout (10 s), then says so and stops: exit 75
(EX_TEMPFAIL, run again), its evidence put back, nothing recorded, no traceback; never an obscure
error, and never a record half-written or lost under the fleet's.  The fleet's run is untouched, and
the scan run again afterwards is recorded.

Both are real processes or real commands; the fleet is held part way by a plugin check that waits
for the test's word (under its 30 s time limit).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot
from tests.history.scans import CORP, write_scan_snapshot
from tests.plugin_distribution import install_plugin

pytestmark = pytest.mark.slow  # waits out the store's 10 s busy timeout

BUSY = 75

PLUGIN = """
import os
import time

from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    pass


@check(name="holdplug.wait", title="A plugin that waits for the test", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def wait(snapshot, params):
    open(os.environ["HOLDPLUG_STARTED"], "w").close()
    deadline = time.monotonic() + 25
    while not os.path.exists(os.environ["HOLDPLUG_RELEASE"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [passed("the test", "released")]
"""


def _recorded(store: Path) -> list[tuple[str, str]]:
    listed = run_cli("history", "list", "--store", store, "--json")
    assert listed.returncode == 0, listed.stderr
    return sorted((r["host"]["hostname"], r["trigger"]) for r in json.loads(listed.stdout))


def test_a_scan_recording_while_a_fleet_run_holds_the_store_is_75_and_records_once_run_again(tmp_path, monkeypatch):
    site = tmp_path / "site"
    install_plugin(site, monkeypatch, "holdplug", PLUGIN, "[lbaudit.checks]\nholdplug = holdplug\n")
    fetch, out, store = tmp_path / "fetch", tmp_path / "out", tmp_path / "history.db"
    (fetch / "web02").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web02"),
                   fetch / "web02" / "lbaudit.snapshot.json")
    policy = tmp_path / "held.yaml"
    policy.write_text("id: held\nversion: '1'\nowner: T\nrules:\n  - id: wait\n    check: holdplug.wait\n",
                      encoding="utf-8")
    started, release = tmp_path / "started", tmp_path / "release"
    environment = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO}", "HOLDPLUG_STARTED": str(started),
                   "HOLDPLUG_RELEASE": str(release)}
    environment.pop("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", None)
    fleet = subprocess.Popen([sys.executable, "-m", "auditor.cli", "fleet", "evaluate", "--snapshots", str(fetch),
                              "--policy", str(policy), "--out-dir", str(out), "--record", "--store", str(store),
                              "--jobs", "1", "-q"], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and fleet.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), fleet.communicate(timeout=10)
        scan = write_scan_snapshot(tmp_path / "web01.snapshot.json", wildcard_redis=False)
        evidence = tmp_path / "web01.evidence.json"
        waited = time.monotonic()
        busy = run_cli("evaluate", "--policy", CORP, "--snapshot", scan, "-o", evidence, "-q", "--record",
                       "--store", store, "--no-plugins", timeout=120)
        waited = time.monotonic() - waited
        release.touch()
        _, fleet_stderr = fleet.communicate(timeout=60)
    finally:
        release.touch()
        if fleet.poll() is None:
            fleet.kill()
            fleet.wait()
    assert busy.returncode == BUSY, busy.stderr
    assert busy.stderr == (f"lbaudit: {store}: cannot write to the history store: another process held it for longer "
                           "than 10 s (database is locked); nothing was written, run again\n")
    assert 9 < waited < 60
    assert not evidence.exists()
    assert fleet.returncode == 0, fleet_stderr
    assert _recorded(store) == [("web02", "fleet")]
    again = run_cli("evaluate", "--policy", CORP, "--snapshot", scan, "-o", evidence, "-q", "--record",
                    "--store", store, "--no-plugins", timeout=120)
    assert again.returncode in (0, 1, 3), again.stderr
    assert _recorded(store) == [("web01.example.test", "manual"), ("web02", "fleet")]
