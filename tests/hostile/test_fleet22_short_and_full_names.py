"""A snapshot in one host's place that records another host of the fleet by its short name or its
fully qualified name (the inventory's spelling being the other).

A fleet refuses a host judged from a snapshot that records another host of the run as its host
name (tests/hostile/test_fleet_other_hosts_name.py), but it compared the names whole.  An inventory
of fully qualified names (web01.example.com) with targets whose ``hostname`` is the short name
(web01, Debian's default), or the reverse (an inventory of short names, RHEL's FQDN host names), is
the common case: web01's snapshot in web02.example.com's directory recorded ``web01``, which is no
inventory name of the run, and web02 was judged "compliant" (exit 0) and recorded from web01's
facts, web02 itself never looked at.  A recorded name now names a host of the run when either is
the other with further DNS labels; a snapshot that so names its own host is judged as before.
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


def _host(fetch: Path, directory: str, hostname: str, address: str, machine_id: str,
          ago: timedelta = timedelta(minutes=5)) -> None:
    (fetch / directory).mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname=hostname, machine_id=machine_id,
                            collected_at=NOW - ago), fetch / directory / "lbaudit.snapshot.json")


def _fleet(tmp_path: Path, *extra: object):
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    return run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", policy, "--out-dir",
                   tmp_path / "out", "--record", "--store", tmp_path / "history.db", "-q", *extra, timeout=120)


def _rows(tmp_path: Path) -> dict[str, dict]:
    return {h["host"]: h for h in json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]}


def _recorded(tmp_path: Path) -> dict[str, str]:
    from auditor.history import open_store

    with open_store(str(tmp_path / "history.db")) as store:
        return {run["host"]["inventory_name"]: run["verdict"] for run in store.list_runs()}


@pytest.mark.parametrize(("inventory", "recorded"), [
    (("web01.example.com", "web02.example.com"), "web01"),  # inventory of FQDNs, short host names
    (("web01", "web02"), "web01.example.com"),  # inventory of short names, FQDN host names
])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_another_hosts_short_or_full_name_fails_the_host(tmp_path: Path, inventory: tuple[str, str], recorded: str,
                                                          jobs: str):
    first, second = inventory
    fetch = tmp_path / "fetch"
    _host(fetch, first, recorded, "0.0.0.0", "1" * 32)  # web01 itself: listening on every address
    _host(fetch, second, recorded, "127.0.0.1", "1" * 32, timedelta(hours=3))  # an earlier collection of web01
    assert _fleet(tmp_path, "--jobs", jobs).returncode == 2
    rows = _rows(tmp_path)
    assert (rows[first]["verdict"], rows[first]["exit_code"]) == ("non_compliant", 1)
    row = rows[second]
    assert (row["verdict"], row["exit_code"], row["evidence"], row["run_id"]) == (None, 2, None, None)
    assert row["error"] == (f"{row['snapshot']}: host {second!r}: its snapshot records the host name {recorded!r}, "
                            "another host of this fleet: one host's facts are not another's evidence, so it was not "
                            "kept or recorded (collect each host on that host)")
    assert not (tmp_path / "out" / f"{second}.evidence.json").exists()
    assert _recorded(tmp_path) == {first: "non_compliant"}


def test_an_expected_host_lends_its_short_name_to_no_other(tmp_path: Path):
    _host(tmp_path / "fetch", "web02.example.com", "web01", "127.0.0.1", "1" * 32)
    assert _fleet(tmp_path, "--expect-hosts", "web01.example.com,web02.example.com").returncode == 2
    rows = _rows(tmp_path)
    assert rows["web02.example.com"]["verdict"] is None and "another host of this fleet" in rows[
        "web02.example.com"]["error"]
    assert "no snapshot of it was found" in rows["web01.example.com"]["error"]


def test_control_case_each_host_by_its_own_short_or_full_name_is_judged(tmp_path: Path):
    """A host's own short name, even one it shares with a host of another domain, names it."""
    fetch = tmp_path / "fetch"
    _host(fetch, "web01.dc1.example.com", "web01", "127.0.0.1", "1" * 32)
    _host(fetch, "web01.dc2.example.com", "web01", "127.0.0.1", "2" * 32)
    _host(fetch, "db01", "db01.dc1.example.com", "127.0.0.1", "3" * 32)
    _host(fetch, "10.0.0.1", "ip-10-0-0-1", "127.0.0.1", "4" * 32)  # an inventory of addresses
    assert _fleet(tmp_path, "--jobs", "1").returncode == 0
    assert {host: row["verdict"] for host, row in _rows(tmp_path).items()} == {
        "10.0.0.1": "compliant", "db01": "compliant", "web01.dc1.example.com": "compliant",
        "web01.dc2.example.com": "compliant"}


def test_another_hosts_whole_name_fails_the_host_even_where_it_is_the_hosts_short_name(tmp_path: Path):
    """Two inventory names of one machine (web01 and web01.example.com): the snapshot in the second's
    place records web01, another host of the run by its whole name, and fails as it did before."""
    fetch = tmp_path / "fetch"
    _host(fetch, "web01", "web01", "127.0.0.1", "1" * 32)
    _host(fetch, "web01.example.com", "web01", "127.0.0.1", "1" * 32, timedelta(hours=1))
    assert _fleet(tmp_path, "--jobs", "1").returncode == 2
    rows = _rows(tmp_path)
    assert rows["web01"]["verdict"] == "compliant"
    assert rows["web01.example.com"]["verdict"] is None
    assert "records the host name 'web01', another host of this fleet" in rows["web01.example.com"]["error"]
