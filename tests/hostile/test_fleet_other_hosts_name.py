"""A snapshot in one host's place that records another host of the fleet as its host name.

A fleet names each host by its directory (Ansible's inventory_hostname); the host name a snapshot
records may differ (an inventory of addresses or aliases), so that alone refuses nothing.  But
web02's directory held a snapshot recording the host name web01, another host of the same run (a
fetch that went to the wrong place, a known-good file handed over): a different collection than
web01's own, so not refused as one collection under two names, and web02 was judged "compliant"
and recorded from web01's facts.  With --expect-hosts, web01 unreachable, web02 passed on web01's
snapshot beside it.  Such a host now fails alone (exit 2), nothing of it kept or recorded.
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


def _host(fetch: Path, directory: str, hostname: str, address: str, machine_id: str, ago: timedelta) -> None:
    (fetch / directory).mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname=hostname, machine_id=machine_id,
                            collected_at=NOW - ago), fetch / directory / "lbaudit.snapshot.json")


def _fleet(tmp_path: Path, jobs: str, *extra: object):
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    return run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", policy, "--out-dir",
                   tmp_path / "out", "--record", "--store", tmp_path / "history.db", "--jobs", jobs, "-q", *extra,
                   timeout=120)


def _rows(tmp_path: Path) -> dict[str, dict]:
    return {h["host"]: h for h in json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]}


def _recorded(tmp_path: Path) -> dict[str, str]:
    from auditor.history import open_store

    with open_store(str(tmp_path / "history.db")) as store:
        return {run["host"]["inventory_name"]: run["verdict"] for run in store.list_runs()}


def _refused(tmp_path: Path, row: dict) -> None:
    assert (row["verdict"], row["exit_code"], row["evidence"], row["run_id"]) == (None, 2, None, None)
    assert row["error"] == (f"{row['snapshot']}: host 'web02': its snapshot records the host name 'web01', another "
                            "host of this fleet: one host's facts are not another's evidence, so it was not kept or "
                            "recorded (collect each host on that host)")
    assert not (tmp_path / "out" / "web02.evidence.json").exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_snapshot_recording_another_hosts_name_fails_its_host(tmp_path: Path, jobs: str):
    fetch = tmp_path / "fetch"
    _host(fetch, "web01", "web01", "0.0.0.0", WEB01, timedelta(minutes=5))
    _host(fetch, "web02", "web01", "127.0.0.1", WEB01, timedelta(hours=3))  # an earlier collection of web01
    assert _fleet(tmp_path, jobs).returncode == 2
    rows = _rows(tmp_path)
    assert (rows["web01"]["verdict"], rows["web01"]["exit_code"]) == ("non_compliant", 1)
    _refused(tmp_path, rows["web02"])
    assert _recorded(tmp_path) == {"web01": "non_compliant"}


def test_an_expected_host_without_a_snapshot_lends_its_name_to_no_other(tmp_path: Path):
    _host(tmp_path / "fetch", "web02", "web01", "127.0.0.1", WEB01, timedelta(minutes=5))
    assert _fleet(tmp_path, "1", "--expect-hosts", "web01,web02").returncode == 2
    rows = _rows(tmp_path)
    _refused(tmp_path, rows["web02"])
    assert "no snapshot of it was found" in rows["web01"]["error"]
    assert _recorded(tmp_path) == {}


def test_control_case_host_names_other_than_the_inventorys_are_judged(tmp_path: Path):
    fetch = tmp_path / "fetch"
    _host(fetch, "web01", "ip-10-0-0-1", "127.0.0.1", WEB01, timedelta(minutes=5))
    _host(fetch, "WEB02", "web02.", "127.0.0.1", "2" * 32, timedelta(minutes=5))  # its own name, spelt otherwise
    assert _fleet(tmp_path, "1").returncode == 0
    assert {host: row["verdict"] for host, row in _rows(tmp_path).items()} == {"WEB02": "compliant",
                                                                               "web01": "compliant"}
