"""Two snapshots that name one host in one ``fleet evaluate --record``: none of them stands.

The first snapshot to claim a host name was judged, its evidence written and its run recorded; the
others were refused, and the summary marked every one of them exit 2, "appears 2 times".  So the
history store said the host was judged (compliant, perhaps) by whichever snapshot came first (with
--jobs, by chance), while the other, perhaps the failing one, was silently dropped: ``fleet report``
and ``history`` read the store, not the summary.  An auditor cannot tell which snapshot is the
host's, so now nothing of any of them is kept: no evidence, signature or page, no run in the store;
every row says why, the fleet is exit 2, and the other hosts are judged and recorded as before.

Host names are compared without case (DNS names are, RFC 4343): ``Web1`` and ``web1`` were two
hosts, each judged and recorded, whose evidence files are one file on a case-insensitive out dir
(macOS, a CIFS share), the later written over the earlier.

A host name that cannot name a file (``a/b``) is refused, never rewritten: it cannot meet ``a_b``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, snapshot
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)

POLICY = REPO / "policies" / "corp.yaml"
USAGE = 2


def _fleet(fetch: Path, out: Path, store: Path | str, jobs: str):
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "--record",
                   "--store", store, "--jobs", jobs, "--host-html", timeout=120)


def _rows(out: Path) -> dict[str, dict]:
    rows = json.loads((out / "fleet-summary.json").read_text())["hosts"]
    return {Path(r["snapshot"]).parent.name if r["snapshot"].endswith("/lbaudit.snapshot.json")
            else Path(r["snapshot"]).name: r for r in rows}


def _recorded_hosts(store: Path | str) -> list[str]:
    listed = run_cli("history", "list", "--store", store, "--json")
    assert listed.returncode == 0, listed.stderr
    return sorted(r["host"]["inventory_name"] for r in json.loads(listed.stdout))


def _in_dir(fetch: Path, directory: str, hostname: str, address: str) -> None:
    (fetch / directory).mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener(address, 22)], hostname=hostname),
                   fetch / directory / "lbaudit.snapshot.json")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_two_snapshots_recording_one_host_name_leave_no_evidence_and_no_run_of_it(tmp_path: Path, jobs: str,
                                                                                   store_url: str):  # noqa: F811
    fetch, out, store = tmp_path / "fetch", tmp_path / "out", store_url
    fetch.mkdir()
    # one loopback-only, one listening on every address: the store kept whichever came first
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="same.example", machine_id="1" * 32),
                   fetch / "a.snapshot.json")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 23)], hostname="same.example", machine_id="2" * 32),
                   fetch / "b.snapshot.json")
    _in_dir(fetch, "other.example", "other.example", "127.0.0.1")
    result = _fleet(fetch, out, store, jobs)
    assert result.returncode == USAGE, result.stderr
    rows = _rows(out)
    for name in ("a.snapshot.json", "b.snapshot.json"):
        row = rows[name]
        assert (row["exit_code"], row["verdict"], row["error"]) == (USAGE, None, "host 'same.example' appears 2 times")
        assert (row["evidence"], row["evidence_sha256"], row["run_id"], row["html"]) == (None, None, None, None)
    # before: same.example.evidence.json, its .sig-less page and a run of same.example were kept
    assert sorted(p.name for p in out.iterdir()) == [
        "fleet-summary.html", "fleet-summary.json", "fleet.junit.xml", "other.example.evidence.json",
        "other.example.html"]
    assert _recorded_hosts(store) == ["other.example"]
    assert rows["other.example"]["run_id"] is not None


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_host_names_differing_only_in_case_are_one_host(tmp_path: Path, jobs: str):
    fetch, out, store = tmp_path / "fetch", tmp_path / "out", tmp_path / "h.db"
    _in_dir(fetch, "Web1", "web1.example", "127.0.0.1")
    _in_dir(fetch, "web1", "web1.example", "0.0.0.0")
    _in_dir(fetch, "db1", "db1.example", "127.0.0.1")
    result = _fleet(fetch, out, store, jobs)
    assert result.returncode == USAGE, result.stderr
    rows = _rows(out)
    # before: both judged, written and recorded (Web1.evidence.json and web1.evidence.json)
    for name in ("Web1", "web1"):
        assert (rows[name]["exit_code"], rows[name]["error"], rows[name]["evidence"], rows[name]["run_id"]) == (
            USAGE, f"host {name!r} appears 2 times (as 'Web1', 'web1')", None, None)
    assert sorted(p.name for p in out.iterdir()) == [
        "db1.evidence.json", "db1.html", "fleet-summary.html", "fleet-summary.json", "fleet.junit.xml"]
    assert _recorded_hosts(store) == ["db1"]


def test_control_case_a_name_that_cannot_name_a_file_is_refused_not_rewritten(tmp_path: Path):
    fetch, out, store = tmp_path / "fetch", tmp_path / "out", tmp_path / "h.db"
    fetch.mkdir()
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="a/b"), fetch / "slash.snapshot.json")
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="a_b"), fetch / "under.snapshot.json")
    result = _fleet(fetch, out, store, "1")
    assert result.returncode == USAGE, result.stderr
    rows = _rows(out)
    assert rows["slash.snapshot.json"]["exit_code"] == USAGE
    assert rows["slash.snapshot.json"]["error"].endswith(
        "slash.snapshot.json: host name 'a/b' cannot name a file (letters, digits, '.', '-', '_'; at most 237 "
        "characters)")
    assert rows["under.snapshot.json"]["exit_code"] != USAGE and rows["under.snapshot.json"]["run_id"] is not None
    assert _recorded_hosts(store) == ["a_b"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_one_directory_given_twice_is_each_host_once(tmp_path: Path, jobs: str):
    fetch, out, store = tmp_path / "fetch", tmp_path / "out", tmp_path / "h.db"
    _in_dir(fetch, "web1", "web1.example", "127.0.0.1")
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--snapshots", tmp_path / "." / "fetch",
                     "--policy", POLICY, "--out-dir", out, "--record", "--store", store, "--jobs", jobs, timeout=120)
    # before: exit 2, "appears 2 times", its evidence written twice and two runs of it recorded
    assert result.returncode != USAGE, result.stderr
    rows = json.loads((out / "fleet-summary.json").read_text())["hosts"]
    assert [(r["host"], r["error"]) for r in rows] == [("web1", None)]
    assert rows[0]["run_id"] is not None
    assert _recorded_hosts(store) == ["web1"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_hosts_file_given_beside_its_directory_leaves_no_evidence_and_no_run_of_it(tmp_path: Path, jobs: str,
                                                                                      store_url: str):  # noqa: F811
    fetch, out, store = tmp_path / "fetch", tmp_path / "out", store_url
    _in_dir(fetch, "web1", "web1", "127.0.0.1")
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--snapshots", fetch / "web1" / "lbaudit.snapshot.json",
                     "--policy", POLICY, "--out-dir", out, "--record", "--store", store, "--jobs", jobs, timeout=120)
    assert result.returncode == USAGE, result.stderr
    rows = json.loads((out / "fleet-summary.json").read_text())["hosts"]
    # before: both rows exit 2, yet two runs of web1 recorded (the second chained to the first)
    assert [(r["host"], r["error"], r["evidence"], r["run_id"]) for r in rows] == [
        ("web1", "host 'web1' appears 2 times", None, None)] * 2
    assert sorted(p.name for p in out.iterdir()) == ["fleet-summary.html", "fleet-summary.json", "fleet.junit.xml"]
    assert _recorded_hosts(store) == []
