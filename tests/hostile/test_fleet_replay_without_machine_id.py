"""The replay check of ``fleet evaluate --record`` for a snapshot that records no machine id.

The check counts a host's runs under every spelling of its inventory name and, when its snapshot
records a machine id, the runs the store keys by that machine id (a host recorded by plain
``lbaudit evaluate --record``).  A snapshot without a machine id (an older collector, a platform
without one, a bundle replayed from a Windows or macOS capture) is keyed in the store by its host
name, and those runs were never counted: a snapshot of web01 collected five hours before the facts
of its recorded run (which failed) was judged compliant and recorded, exit 0, whatever the spelling
of web01 in either place.  The host's runs keyed by its host name, in every spelling of the
snapshot's host name and of its inventory name, now count.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FIVE_HOURS_AGO = NOW - timedelta(hours=5)


def _snapshot(path: Path, hostname: str, address: str, collected_at: datetime) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname=hostname, machine_id=None,
                            collected_at=collected_at), path)
    return path


def _policy(tmp_path: Path) -> Path:
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    return policy


def _recorded_by_plain_evaluate(tmp_path: Path, store: str, hostname: str) -> None:
    plain = run_cli("evaluate", "--policy", _policy(tmp_path), "--snapshot",
                    _snapshot(tmp_path / "now.snapshot.json", hostname, "0.0.0.0", NOW),
                    "-o", tmp_path / "now.evidence.json", "--record", "--store", store, "-q")
    assert plain.returncode == 1, plain.stdout + plain.stderr


def _fleet(tmp_path: Path, store: str):
    return run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", _policy(tmp_path),
                   "--out-dir", tmp_path / "out", "--record", "--store", store, "--jobs", "1", "-q",
                   timeout=120)


@pytest.mark.parametrize("recorded_as, directory, snapshot_name", [
    ("web01", "web01", "web01"),
    ("WEB01.", "web01", "web01"),  # the store's spelling of the host name differs
    ("web01", "web01", "Web01"),  # the replayed snapshot's spelling differs
    ("web01", "10.0.0.1", "WEB01"),  # an inventory of addresses: the host name alone says which host
])
def test_an_older_snapshot_without_a_machine_id_fails_the_replay_check(tmp_path: Path, recorded_as: str,
                                                                       directory: str, snapshot_name: str,
                                                                       store_url: str):  # noqa: F811
    _recorded_by_plain_evaluate(tmp_path, store_url, recorded_as)
    _snapshot(tmp_path / "fetch" / directory / "lbaudit.snapshot.json", snapshot_name, "127.0.0.1", FIVE_HOURS_AGO)
    result = _fleet(tmp_path, store_url)
    assert result.returncode == 2, result.stdout + result.stderr
    [row] = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]
    shown, recorded = (moment.isoformat().replace("+00:00", "Z") for moment in (FIVE_HOURS_AGO, NOW))
    assert (row["host"], row["verdict"], row["exit_code"], row["evidence"]) == (directory, None, 2, None)
    assert row["error"] == (
        f"host {directory!r}: its facts were collected at {shown}, before those of its run 1 in the history store "
        f"(collected {recorded}): an older snapshot is not the host as it is now; not judged or recorded (collect "
        "the host again)")
    assert not (tmp_path / "out" / f"{directory}.evidence.json").exists()


def test_a_newer_snapshot_without_a_machine_id_is_judged_and_another_host_name_is_not_compared(
        tmp_path: Path, store_url: str):  # noqa: F811
    _recorded_by_plain_evaluate(tmp_path, store_url, "web01")
    _snapshot(tmp_path / "fetch" / "web01" / "lbaudit.snapshot.json", "web01", "127.0.0.1", NOW + timedelta(minutes=1))
    _snapshot(tmp_path / "fetch" / "web02" / "lbaudit.snapshot.json", "web02", "127.0.0.1", FIVE_HOURS_AGO)
    result = _fleet(tmp_path, store_url)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]
    assert [(row["host"], row["verdict"]) for row in rows] == [("web01", "compliant"), ("web02", "compliant")]
