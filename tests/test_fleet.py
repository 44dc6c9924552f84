"""``lbaudit fleet evaluate``: generated hosts' snapshots in Ansible's fetch layout, evaluated
centrally; each host's result is the one a separate ``lbaudit evaluate --snapshot`` gives."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from auditor.fleet import worst_exit_code
from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import FIXED_TIME, listener, snapshot, sysctl_facts
from tests.report.conftest import conformance_module, reference_file

POLICY = REPO / "policies" / "corp.yaml"


def _host(fetch: Path, name: str, **kw) -> Path:
    (fetch / name).mkdir(parents=True)
    path = fetch / name / "lbaudit.snapshot.json"
    write_snapshot(snapshot(**kw), path)
    return path


@pytest.fixture()
def fleet(tmp_path: Path) -> Path:
    fetch = tmp_path / "fetch"
    now = datetime.now(timezone.utc)  # scanned just now: fleet report judges staleness by collection time
    _host(fetch, "db01", listeners=[listener("127.0.0.1", 5432)], hostname="db01", collected_at=now)
    _host(fetch, "web01", listeners=[listener("0.0.0.0", 8080), listener("127.0.0.1", 9000)], hostname="web01",
          collected_at=now)
    _host(fetch, "edge01", listeners=[listener("127.0.0.1", 9000)], hostname="edge01", collected_at=now,
          sysctl=sysctl_facts(net__ipv4__ip_local_port_range="60000 60100"))
    return fetch


def _summary(out: Path) -> dict:
    return json.loads((out / "fleet-summary.json").read_text())


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_each_host_judged_as_a_separate_evaluate_would(fleet: Path, tmp_path: Path, jobs: str):
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", fleet, "--policy", POLICY, "--out-dir", out, "--jobs", jobs)
    summary = _summary(out)
    hosts = {h["host"]: h for h in summary["hosts"]}
    assert sorted(hosts) == ["db01", "edge01", "web01"]
    for name, row in hosts.items():
        alone = tmp_path / f"{name}-alone.json"
        single = run_cli("evaluate", "--policy", POLICY, "--snapshot", fleet / name / "lbaudit.snapshot.json",
                         "-o", alone, "-q")
        evidence = json.loads(alone.read_text())
        fleet_evidence = json.loads(Path(row["evidence"]).read_text())
        assert row["exit_code"] == single.returncode == fleet_evidence["result"]["exit_code"]
        assert row["verdict"] == evidence["result"]["verdict"]
        assert [(f["id"], f["status"]) for f in fleet_evidence["result"]["findings"]] == \
               [(f["id"], f["status"]) for f in evidence["result"]["findings"]]
        assert row["failing_rules"] == sorted({f["rule_id"] for f in evidence["result"]["findings"]
                                               if f["status"] == "fail"})
    # what differs between the hosts shows where it should
    assert "listeners-loopback-only" in hosts["web01"]["failing_rules"]
    assert "listeners-loopback-only" not in hosts["db01"]["failing_rules"]
    assert "ephemeral-pool" in hosts["edge01"]["failing_rules"]
    assert result.returncode == summary["exit_code"] == worst_exit_code([h["exit_code"] for h in hosts.values()])
    assert "fleet: 3 hosts" in result.stdout


def test_bad_snapshot_fails_its_host_only(fleet: Path, tmp_path: Path):
    (fleet / "broken").mkdir()
    (fleet / "broken" / "lbaudit.snapshot.json").write_text('{"provenance": ')
    (fleet / "empty").mkdir()
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", fleet, "--policy", POLICY, "--out-dir", out, "-j", "2")
    assert result.returncode == 2
    hosts = {h["host"]: h for h in _summary(out)["hosts"]}
    assert hosts["broken"]["exit_code"] == 2 and "not valid JSON" in hosts["broken"]["error"]
    assert hosts["empty"]["exit_code"] == 2 and "no *.snapshot.json" in hosts["empty"]["error"]
    assert hosts["db01"]["exit_code"] in (0, 1, 3) and hosts["db01"]["error"] is None
    assert (out / "db01.evidence.json").is_file() and not (out / "broken.evidence.json").exists()


@pytest.mark.slow  # evaluates a fleet, loads the JUnit schema
def test_junit_one_suite_per_host_valid_against_the_jenkins_schema(fleet: Path, tmp_path: Path):
    xmlschema = conformance_module("xmlschema", "xmlschema is not installed")
    schema = xmlschema.XMLSchema(str(reference_file("junit", "junit-10.xsd")))
    (fleet / "broken").mkdir()
    (fleet / "broken" / "x.snapshot.json").write_text("[]")
    out = tmp_path / "out"
    run_cli("fleet", "evaluate", "--snapshots", fleet, "--policy", POLICY, "--out-dir", out)
    xml = (out / "fleet.junit.xml").read_text()
    schema.validate(xml)
    suites = ET.fromstring(xml).findall("testsuite")
    assert [s.get("name") for s in suites] == ["broken", "db01", "edge01", "web01"]
    broken = suites[0]
    assert broken.get("errors") == "1" and broken.find("testcase/error") is not None
    web = suites[3]
    failed = {c.get("name") for c in web.iter("testcase") if c.find("failure") is not None}
    assert failed == set(_summary(out)["hosts"][3]["failing_rules"])


def test_signed_evidence_verifies_with_the_controller_key(fleet: Path, tmp_path: Path):
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys).returncode == 0
    out = tmp_path / "out"
    run_cli("fleet", "evaluate", "--snapshots", fleet, "--policy", POLICY, "--out-dir", out,
            "--sign-key", keys / "lbaudit.key")
    for name in ("db01", "edge01", "web01"):
        assert run_cli("verify", out / f"{name}.evidence.json", "--pubkey", keys / "lbaudit.pub").returncode == 0
    assert all(h["signed"] for h in _summary(out)["hosts"])


def test_a_snapshot_file_given_itself_is_named_by_its_host_name(tmp_path: Path):
    path = tmp_path / "one.snapshot.json"
    write_snapshot(snapshot(listeners=[], hostname="lonely.example"), path)
    out = tmp_path / "out"
    run_cli("fleet", "evaluate", "--snapshots", path, "--policy", POLICY, "--out-dir", out)
    assert [h["host"] for h in _summary(out)["hosts"]] == ["lonely.example"]
    assert (out / "lonely.example.evidence.json").is_file()


def test_worst_exit_code_order():
    assert worst_exit_code([0, 3, 1]) == 1
    assert worst_exit_code([0, 3]) == 3
    assert worst_exit_code([1, 2, 3]) == 2
    assert worst_exit_code([2, 70]) == 70
    assert worst_exit_code([]) == 0


@pytest.mark.slow  # evaluates and records a fleet
def test_record_every_host_with_trigger_fleet_and_report_the_fleet(fleet: Path, tmp_path: Path):
    from auditor.history import open_store

    store = tmp_path / "history.db"
    for round_ in (1, 2):
        result = run_cli("fleet", "evaluate", "--snapshots", fleet, "--policy", POLICY, "--out-dir",
                         tmp_path / f"out{round_}", "--record", "--store", store, "-j", "2")
        assert result.returncode == 1, result.stderr
    with open_store(str(store)) as opened:
        for host in ("db01", "edge01", "web01"):
            runs = opened.list_runs(host=host)
            assert [r["trigger"] for r in runs] == ["fleet", "fleet"]
            assert {r["host"]["inventory_name"] for r in runs} == {host}
            assert runs[0]["prev_evidence_sha256"] == runs[1]["evidence_sha256"]  # one chain per host
    report = run_cli("fleet", "report", "--store", store, "--json")
    assert report.returncode == 0, report.stderr  # nothing regressed between two identical runs
    data = json.loads(report.stdout)
    summary = _summary(tmp_path / "out2")
    assert data["hosts_total"] == 3
    assert data["hosts_by_verdict"] == {v: sorted(h["host"] for h in summary["hosts"] if h["verdict"] == v)
                                        for v in {h["verdict"] for h in summary["hosts"]}}
    failing = {row["rule"]: row["hosts"] for row in data["rules_failing_on_most_hosts"]}
    for rule, n in failing.items():
        assert n == sum(1 for h in summary["hosts"] if rule in h["failing_rules"])
    for row in data["controls_by_share_satisfied"]:
        assert row["hosts_satisfied"] == sum(1 for h in summary["hosts"] if h["controls"].get(row["control"]))
    assert data["regressed_since_previous_run"] == []
    assert data["not_scanned_for_days"]["hosts"] == []  # generated snapshots are recent runs


@pytest.mark.slow  # evaluates and records a fleet twice
def test_report_names_a_host_that_regressed_and_hosts_not_scanned_lately(fleet: Path, tmp_path: Path):
    store = tmp_path / "history.db"
    run_cli("fleet", "evaluate", "--snapshots", fleet, "--policy", POLICY, "--out-dir", tmp_path / "out1",
            "--record", "--store", store)
    # db01 opens a wildcard listener before the next run
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 5432), listener("0.0.0.0", 6379)], hostname="db01",
                            collected_at=datetime.now(timezone.utc)), fleet / "db01" / "lbaudit.snapshot.json")
    run_cli("fleet", "evaluate", "--snapshots", fleet, "--policy", POLICY, "--out-dir", tmp_path / "out2",
            "--record", "--store", store)
    report = run_cli("fleet", "report", "--store", store, "--json", "--stale-days", "0")
    assert report.returncode == 1
    data = json.loads(report.stdout)
    (regressed,) = data["regressed_since_previous_run"]
    assert regressed["host"] == "db01"
    assert any(c["rule"] == "listeners-loopback-only" and "6379" in c["subject"] for c in regressed["regressions"])
    # --stale-days 0: every host whose latest run is older than now
    assert sorted(h["host"] for h in data["not_scanned_for_days"]["hosts"]) == ["db01", "edge01", "web01"]
    assert {h["days"] for h in data["not_scanned_for_days"]["hosts"]} == {0}
    text = run_cli("fleet", "report", "--store", store)
    assert "db01" in text.stdout and "regressed since their previous run: 1" in text.stdout


@pytest.mark.slow  # evaluates a fleet
def test_hosts_sharing_a_machine_are_told_apart_by_inventory_name(tmp_path: Path):
    fetch = tmp_path / "fetch"
    for n, name in enumerate(("ns-a", "ns-b")):  # one machine id and host name, as network namespaces of one
        # machine have, each collected at its own time (one collection under two names fails the second:
        # tests/hostile/test_targets_fleet_identity.py)
        _host(fetch, name, listeners=[], hostname="shared", machine_id="f" * 32,
              collected_at=FIXED_TIME + timedelta(seconds=n))
    store = tmp_path / "history.db"
    run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", POLICY, "--out-dir", tmp_path / "out",
            "--record", "--store", store)
    from auditor.history import open_store

    with open_store(str(store)) as opened:
        assert len(opened.list_runs(host="ns-a")) == 1 and len(opened.list_runs(host="ns-b")) == 1
        assert {r["host"]["machine_id"] for r in opened.list_runs()} == {"f" * 32}
