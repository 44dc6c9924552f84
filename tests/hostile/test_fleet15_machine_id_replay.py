"""The replay check of ``fleet evaluate --record`` found a host's runs only by the inventory name a
fleet records them under: a host recorded by a plain ``lbaudit evaluate --record`` (keyed by its
machine id, no inventory name) was a host without runs on its first fleet run, so a snapshot of it
collected five hours before the facts of its recorded run (which failed) was judged compliant and
recorded (exit 0).  The check now also counts the runs the store keys by the snapshot's machine id
(the store's own rule for a host recorded without an inventory name), and refuses the replay.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FIVE_HOURS_AGO = NOW - timedelta(hours=5)
MACHINE_ID = "1" * 32


def _snapshot(path: Path, address: str, collected_at: datetime, machine_id: str = MACHINE_ID,
              hostname: str = "web01") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname=hostname, machine_id=machine_id,
                            collected_at=collected_at), path)
    return path


def _setup(tmp_path: Path, store: str) -> tuple[Path, str]:
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    plain = run_cli("evaluate", "--policy", policy, "--snapshot",
                    _snapshot(tmp_path / "now.snapshot.json", "0.0.0.0", NOW), "-o", tmp_path / "now.evidence.json",
                    "--record", "--store", store, "-q")
    assert plain.returncode == 1, plain.stdout + plain.stderr
    return policy, store


def _fleet(tmp_path: Path, policy: Path, store: str):
    return run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", policy, "--out-dir",
                   tmp_path / "out", "--record", "--store", store, "--jobs", "1", "-q", timeout=120)


def _runs(store: str) -> list[int]:
    from auditor.history import open_store

    with open_store(store) as opened:
        return sorted(run["id"] for run in opened.list_runs())


def test_an_older_snapshot_of_a_host_recorded_by_plain_evaluate_fails_the_replay_check(tmp_path: Path,
                                                                                     store_url: str):  # noqa: F811
    policy, store = _setup(tmp_path, store_url)
    _snapshot(tmp_path / "fetch" / "web01" / "lbaudit.snapshot.json", "127.0.0.1", FIVE_HOURS_AGO)
    result = _fleet(tmp_path, policy, store)
    assert result.returncode == 2, result.stdout + result.stderr
    [row] = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]
    shown, recorded = (moment.isoformat().replace("+00:00", "Z") for moment in (FIVE_HOURS_AGO, NOW))
    assert (row["host"], row["verdict"], row["exit_code"], row["evidence"]) == ("web01", None, 2, None)
    assert row["error"] == (
        f"host 'web01': its facts were collected at {shown}, before those of its run 1 in the history store "
        f"(collected {recorded}): an older snapshot is not the host as it is now; not judged or recorded (collect "
        "the host again)")
    assert not (tmp_path / "out" / "web01.evidence.json").exists()
    assert _runs(store) == [1]


def test_a_newer_snapshot_of_that_host_is_judged_and_another_machine_is_not_compared_with_it(tmp_path: Path,
                                                                                       store_url: str):  # noqa: F811
    policy, store = _setup(tmp_path, store_url)
    later = NOW + timedelta(minutes=1)
    _snapshot(tmp_path / "fetch" / "web01" / "lbaudit.snapshot.json", "127.0.0.1", later)
    # another machine (its own machine id), collected before web01's recorded run: not web01's facts
    _snapshot(tmp_path / "fetch" / "web02" / "lbaudit.snapshot.json", "127.0.0.1", FIVE_HOURS_AGO, "2" * 32, "web02")
    result = _fleet(tmp_path, policy, store)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]
    assert [(row["host"], row["verdict"], row["error"]) for row in rows] == [
        ("web01", "compliant", None), ("web02", "compliant", None)]
    assert _runs(store) == [1, 2, 3]
