"""A policy that extends another can leave the other's waivers behind (``inherit_waivers: false``),
and the shipped workstation policy does.

``extends`` inherits the parent's rules and waivers, and a child had no way to drop a waiver: the
shipped ``dev-workstation.yaml`` ("no listener may bind beyond loopback", ``exceptions: []``)
inherited ``corp.yaml``'s waiver for ``tcp 0.0.0.0:9100 node_exporter*``, so node_exporter on every
IPv4 address of a developer's laptop was ``waived`` under a policy that reads as forbidding it, with
a server team's approval for servers.  A child now says ``inherit_waivers: false`` to keep only its
own (and ``--waivers``), and the workstation policy does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

REPO = Path(__file__).resolve().parents[2]
EXPORTER = "tcp 0.0.0.0:9100 node_exporter pid 40"


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """node_exporter on every IPv4 address, port 9100: outside loopback."""
    path = tmp_path / "host.snapshot.json"
    exporter = [ProcessInfo(pid=40, name="node_exporter", exe="/usr/bin/node_exporter", user="prometheus")]
    path.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 9100, processes=exporter)])))
    return path


def _exporter_status(tmp_path: Path, policy: Path, host: Path) -> tuple[str, list[str]]:
    evidence = tmp_path / "evidence.json"
    run_cli("evaluate", "--no-plugins", "--policy", policy, "--snapshot", host, "-o", evidence, "--color", "never")
    result = json.loads(evidence.read_bytes())["result"]
    statuses = [f["status"] for f in result["findings"] if f["subject"] == EXPORTER]
    assert len(statuses) == 1
    return statuses[0], [w["rule_id"] for w in result["waivers"]]


def test_the_workstation_policy_does_not_waive_the_server_exporter(tmp_path, host):
    """On main: ``waived`` under dev-workstation.yaml, by corp.yaml's waiver."""
    status, waivers = _exporter_status(tmp_path, REPO / "policies" / "dev-workstation.yaml", host)
    assert (status, waivers) == ("fail", [])


def test_control_case_the_server_policy_still_waives_it(tmp_path, host):
    status, waivers = _exporter_status(tmp_path, REPO / "policies" / "corp.yaml", host)
    assert (status, waivers) == ("waived", ["listeners-loopback-only"])


BASE = """id: base
version: "1"
owner: T
rules:
  - id: listeners
    check: net.bind_addresses
waivers:
  - rule: listeners
    subject: "tcp 0.0.0.0:9100 node_exporter*"
    reason: Scraped by the monitoring VLAN
    approver: Jane Doe
    expires: 2099-01-01
"""

CHILD = """id: child
version: "1"
owner: T
extends: base.yaml
{inherit}rules:
  - id: listeners
    severity: critical
{waivers}"""

OWN_WAIVER = """waivers:
  - rule: listeners
    subject: "tcp 0.0.0.0:9100 node_exporter*"
    reason: The lab's own exporter
    approver: John Roe
    expires: 2099-01-01
"""


@pytest.mark.parametrize(("inherit", "waivers", "status", "approver"), [
    ("", "", "waived", "Jane Doe"),                                   # inherited, as before
    ("inherit_waivers: true\n", "", "waived", "Jane Doe"),
    ("inherit_waivers: false\n", "", "fail", None),                  # the parent's left behind
    ("inherit_waivers: false\n", OWN_WAIVER, "waived", "John Roe"),  # its own still apply
])
def test_a_child_chooses_whether_its_parents_waivers_apply(tmp_path, host, inherit, waivers, status, approver):
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text(CHILD.format(inherit=inherit, waivers=waivers), encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    run = run_cli("evaluate", "--no-plugins", "--policy", child, "--snapshot", host, "-o", evidence, "--color", "never")
    assert run.returncode in (0, 1), run.stdout + run.stderr
    finding = next(f for f in json.loads(evidence.read_bytes())["result"]["findings"] if f["subject"] == EXPORTER)
    assert finding["status"] == status
    assert (finding["waiver"] or {}).get("approver") == approver


def test_inherit_waivers_takes_true_or_false_only(tmp_path):
    shutil.copy(REPO / "policies" / "corp.yaml", tmp_path / "corp.yaml")
    child = tmp_path / "child.yaml"
    child.write_text('id: c\nversion: "1"\nowner: T\nextends: corp.yaml\ninherit_waivers: "no"\n', encoding="utf-8")
    run = run_cli("validate", "--no-plugins", child)
    assert run.returncode == 2
    assert "child.yaml:5:1: inherit_waivers: expected true or false; found 'no'" in run.stdout + run.stderr
