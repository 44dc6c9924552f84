"""One host's snapshot under another host's name in a fleet.

A fleet names each host by its directory (Ansible's inventory_hostname).  A copy of web01's
snapshot put in web02's directory (a fetch that went to the wrong place, a host that handed over a
known-good file instead of its own) was judged as web02: web02 "compliant" from facts that are
web01's.  The same file, or a copy recording the same collection (machine id, host name and
collection time), under a second host now fails that host with exit 2, naming the first; hosts that
share a machine (network namespaces, containers: one machine id and host name) collected at their
own times are still two hosts."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import FIXED_TIME, listener, snapshot

POLICY = REPO / "policies" / "corp.yaml"


def _run(fetch: Path, out: Path, *extra: object):
    return run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", out, "--jobs", "1",
                   *extra, timeout=120)


def _hosts(out: Path) -> dict:
    return {h["host"]: h for h in json.loads((out / "fleet-summary.json").read_text())["hosts"]}


def _host(fetch: Path, name: str, **kw) -> Path:
    (fetch / name).mkdir(parents=True)
    path = fetch / name / "lbaudit.snapshot.json"
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], **kw), path)
    return path


def test_a_copy_of_another_hosts_snapshot_fails_the_second_host(tmp_path):
    fetch = tmp_path / "fetch"
    first = _host(fetch, "web01", hostname="web01")
    (fetch / "web02").mkdir()
    shutil.copyfile(first, fetch / "web02" / "lbaudit.snapshot.json")
    out = tmp_path / "out"
    assert _run(fetch, out).returncode == 2
    hosts = _hosts(out)
    assert hosts["web01"]["error"] is None and (out / "web01.evidence.json").exists()
    assert (hosts["web02"]["exit_code"], hosts["web02"]["verdict"]) == (2, None)
    assert f"this snapshot is the same file as host 'web01''s ({first})" in hosts["web02"]["error"]
    assert not (out / "web02.evidence.json").exists()


def test_an_edited_copy_of_one_collection_fails_the_second_host(tmp_path):
    fetch = tmp_path / "fetch"
    _host(fetch, "web01", hostname="web01")
    # the same collection with its OS edited: other bytes, the same machine, name and moment
    copy = json.loads((fetch / "web01" / "lbaudit.snapshot.json").read_text())
    copy["provenance"]["os"] = "Debian GNU/Linux 13 (trixie)"
    _host(fetch, "web02", hostname="web02").write_text(json.dumps(copy, indent=1))
    out = tmp_path / "out"
    assert _run(fetch, out).returncode == 2
    hosts = _hosts(out)
    assert hosts["web01"]["error"] is None
    assert hosts["web02"]["exit_code"] == 2
    assert "records the same collection (machine id 0123456789abcdef0123456789abcdef, host name 'web01', " \
           "collected at 2026-" in hosts["web02"]["error"]


def test_two_namespaces_of_one_machine_collected_apart_are_two_hosts(tmp_path):
    fetch = tmp_path / "fetch"
    _host(fetch, "ns1", hostname="box")
    _host(fetch, "ns2", hostname="box", collected_at=FIXED_TIME + timedelta(seconds=3))
    out = tmp_path / "out"
    result = _run(fetch, out)
    hosts = _hosts(out)
    assert [(hosts[h]["error"], hosts[h]["exit_code"]) for h in ("ns1", "ns2")] == [(None, result.returncode)] * 2


# ---------------------------------------------------------------- hosts the run expects (--expect-hosts)


def test_an_expected_host_without_a_snapshot_fails_instead_of_leaving_the_fleet_compliant(tmp_path):
    fetch = tmp_path / "fetch"
    _host(fetch, "web01", hostname="web01")
    (fetch / "web02").mkdir()  # the playbook removed its old snapshot; the host was unreachable
    out = tmp_path / "out"
    result = _run(fetch, out, "--expect-hosts", "web01,web02", "--expect-hosts", "db01")
    assert result.returncode == 2
    hosts = _hosts(out)
    assert sorted(hosts) == ["db01", "web01", "web02"]
    assert hosts["web01"]["error"] is None
    assert (hosts["db01"]["exit_code"], hosts["db01"]["verdict"], hosts["db01"]["snapshot"]) == (2, None, None)
    assert hosts["db01"]["error"] == (f"host 'db01' is expected (--expect-hosts) but no snapshot of it was found "
                                      f"under {fetch}: it was not scanned in this run")
    assert hosts["web02"]["exit_code"] == 2 and "no *.snapshot.json in the host's directory" in hosts["web02"]["error"]
    junit = (out / "fleet.junit.xml").read_text()
    assert '<testsuite name="db01"' in junit and "it was not scanned in this run" in junit


def test_without_expectations_a_missing_host_is_simply_absent(tmp_path):
    # the control: what --expect-hosts is for (the fleet passes on the hosts it found)
    fetch = tmp_path / "fetch"
    _host(fetch, "web01", hostname="web01")
    out = tmp_path / "out"
    result = _run(fetch, out)
    assert sorted(_hosts(out)) == ["web01"] and result.returncode == _hosts(out)["web01"]["exit_code"]


def test_a_snapshot_of_a_host_the_run_does_not_expect_is_not_judged(tmp_path):
    fetch = tmp_path / "fetch"
    _host(fetch, "web01", hostname="web01")
    _host(fetch, "old99", hostname="old99")  # left by an earlier run over another inventory
    out = tmp_path / "out"
    assert _run(fetch, out, "--expect-hosts", "web01").returncode == 2
    hosts = _hosts(out)
    assert hosts["web01"]["error"] is None
    assert hosts["old99"]["exit_code"] == 2
    assert "host 'old99' is not one of the hosts this run expects (--expect-hosts)" in hosts["old99"]["error"]
    assert not (out / "old99.evidence.json").exists()


def test_an_expected_name_that_cannot_name_a_host_is_exit_2_before_any_work(tmp_path):
    fetch = tmp_path / "fetch"
    _host(fetch, "web01", hostname="web01")
    out = tmp_path / "out"
    result = _run(fetch, out, "--expect-hosts", "web01,../etc")
    assert result.returncode == 2
    assert "--expect-hosts: '../etc' cannot name a host" in result.stderr
    assert not out.exists()
