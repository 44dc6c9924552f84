"""Hostile hosts for SARIF: two hosts with one host name (cloned images, two sites' ``web01``).

The defect: ``automationDetails.id`` was ``lbaudit/<policy>/<hostname>/``, so the SARIF logs of two
hosts that share a name had one category, and a consumer (GitHub code scanning keys an analysis by
tool and category) merged them: host B's upload closed host A's open alerts.  Now the category
carries a tag made from the machine id each evidence records: different for different machines,
the same for every run of one machine, and never the machine id itself.  Each case runs the real
``evaluate`` and ``report`` commands on snapshots and reads the SARIF they write.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1  # the snapshots' listener binds 0.0.0.0
HOSTNAME = "web01.example.test"
MACHINE_A = "0123456789abcdef0123456789abcdef"
MACHINE_B = "fedcba9876543210fedcba9876543210"


def _sarif_of(tmp_path: Path, name: str, machine_id: str | None, hostname: str = HOSTNAME) -> dict:
    policy = tmp_path / "policy.yaml"
    policy.write_text(loopback_only_policy("corp"))
    work = tmp_path / name
    work.mkdir()
    snap = work / "snapshot.json"
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname=hostname, machine_id=machine_id), snap)
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snap, "-o", work / "e.json",
                     "--format", "sarif", "--quiet")
    assert result.returncode == NON_COMPLIANT, result.stderr
    return json.loads((work / "corp.sarif").read_bytes())


def _category(log: dict) -> str:
    return log["runs"][0]["automationDetails"]["id"]


def test_two_hosts_with_one_name_have_two_categories(tmp_path):
    host_a = _sarif_of(tmp_path, "a", MACHINE_A)
    host_b = _sarif_of(tmp_path, "b", MACHINE_B)
    assert host_a["runs"][0]["invocations"][0]["machine"] == host_b["runs"][0]["invocations"][0]["machine"] == HOSTNAME
    assert _category(host_a) != _category(host_b)
    for log in (host_a, host_b):
        category = _category(log)
        assert category.startswith(f"lbaudit/corp/{HOSTNAME}/machine-")
        assert category.endswith("/")  # all category: every run of the host is one analysis
        text = json.dumps(log)
        assert MACHINE_A not in text and MACHINE_B not in text  # the machine id itself is not published


def test_one_host_keeps_its_category_across_runs_and_renderings(tmp_path):
    first = _sarif_of(tmp_path, "first", MACHINE_A)
    second = _sarif_of(tmp_path, "second", MACHINE_A)
    assert _category(first) == _category(second)
    # `report` of the evidence renders the same category as evaluate did
    result = run_cli("report", tmp_path / "first" / "e.json", "--format", "sarif", "--out-dir", tmp_path / "again",
                     "--quiet")
    assert result.returncode == 0, result.stderr
    assert _category(json.loads((tmp_path / "again" / "corp.sarif").read_bytes())) == _category(first)


def test_a_machine_id_in_another_case_is_the_same_machine(tmp_path):
    assert _category(_sarif_of(tmp_path, "lower", MACHINE_A)) == _category(_sarif_of(tmp_path, "upper", MACHINE_A.upper()))


def test_a_host_without_a_machine_id_keeps_the_name_alone(tmp_path):
    assert _category(_sarif_of(tmp_path, "none", None)) == f"lbaudit/corp/{HOSTNAME}/"


def test_two_policies_on_one_host_stay_apart(tmp_path):
    host = _sarif_of(tmp_path, "a", MACHINE_A)
    other = tmp_path / "other.yaml"
    other.write_text(loopback_only_policy("edge"))
    result = run_cli("evaluate", "--policy", other, "--snapshot", tmp_path / "a" / "snapshot.json",
                     "-o", tmp_path / "a" / "edge.json", "--format", "sarif", "--quiet")
    assert result.returncode == NON_COMPLIANT, result.stderr
    edge = json.loads((tmp_path / "a" / "edge.sarif").read_bytes())
    assert _category(edge).replace("/edge/", "/corp/", 1) == _category(host)
