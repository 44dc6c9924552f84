"""A host's snapshot whose refusal quotes the words the fleet run used to tell a kind of refusal.

``fleet evaluate --record`` records each expected host it could not judge as not scanned, so that
``fleet report`` stops showing it by its last judged run; it passes over a snapshot of a host the
run does not expect, and told those apart by looking for the words of that refusal ("is not one of
the hosts this run expects") in the host's reason.  But a host's reason quotes what its snapshot
holds (the key the strict model refuses, by its JSON pointer), and the snapshot is whatever the
target sent: a compromised web01, judged compliant the day before, sent a snapshot with a key of
those words.  It was refused (exit 2), but its miss was not recorded, so ``fleet report`` went on
showing web01 compliant from its earlier run, exit 0, where any other refused snapshot makes it
``not_scanned``, exit 3.  The kind of a refusal is now carried beside the reason, never read back
out of it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NOW = datetime.now(timezone.utc)
WEB01 = "1" * 32


def _collect(fetch: Path, address: str, ago: timedelta, extra_key: str | None = None) -> None:
    place = fetch / "web01" / "lbaudit.snapshot.json"
    place.parent.mkdir(parents=True, exist_ok=True)
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname="web01", machine_id=WEB01,
                            collected_at=NOW - ago), place)
    if extra_key is not None:  # what the compromised target sent instead of its facts
        document = json.loads(place.read_text())
        document["facts"][extra_key] = 1
        place.write_text(json.dumps(document))


def _fleet(tmp_path: Path, jobs: str) -> int:
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    return run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", policy, "--out-dir",
                   tmp_path / "out", "--record", "--store", tmp_path / "history.db", "--expect-hosts", "web01",
                   "--jobs", jobs, "-q", timeout=120).returncode


@pytest.mark.parametrize("key", ["is not one of the hosts this run expects",
                                 "appears more than once in the fleet: this snapshot was not evaluated, written or "
                                 "recorded", "an ordinary unknown key"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_refused_snapshot_makes_its_host_not_scanned_whatever_its_keys_say(tmp_path: Path, jobs: str, key: str):
    _collect(tmp_path / "fetch", "127.0.0.1", timedelta(hours=2))
    assert _fleet(tmp_path, jobs) == 0  # web01 compliant, recorded
    _collect(tmp_path / "fetch", "0.0.0.0", timedelta(minutes=1), extra_key=key)
    assert _fleet(tmp_path, jobs) == 2
    row = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"][0]
    assert (row["host"], row["verdict"], row["exit_code"]) == ("web01", None, 2)
    assert key in row["error"] and "Extra inputs are not permitted" in row["error"]
    report = run_cli("fleet", "report", "--store", tmp_path / "history.db", "--json")
    # before: {"compliant": ["web01"]}, exit 0, for the first key; the others were not_scanned, exit 3
    assert (report.returncode, json.loads(report.stdout)["hosts_by_verdict"]) == (3, {"not_scanned": ["web01"]})
