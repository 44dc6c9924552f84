"""A waiver of one published port the engine and the NAT rules disagree about waives that port alone.

``net.bind_addresses`` fails each published port whose sources disagree (the engine declares it and
no NAT rule forwards it, or a NAT rule forwards one the engine does not declare), and every such
failure had one subject, ``published ports (engine and NAT rules disagree)``.  A waiver can only name
a subject, so one written for a disagreement its approver looked at (the subject as the finding
shows it: no wildcard, not a blanket waiver, nothing warned) waived every other disagreement on the
host, on any port and any container, those that appear later too: a NAT rule publishing a port no
engine declares (port 9090 below) was ``waived`` under the approval for port 8080.  Now each
disagreement's subject names the published port and which source holds it; the waiver for 8080
leaves 9090 failing, and the run fails (exit 1).

A snapshot file of a Docker host, judged by ``lbaudit evaluate``.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.model.facts import NamespaceFacts, NetNamespace
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import evaluate_snapshot
from tests.collect.test_netns_parsers import CONTAINER, _engine, _nat
from tests.factories import snapshot

POLICY = """id: docker-host
version: "1"
owner: Sec Team
rules:
  - id: listeners
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
        - match: {image: "nginx:*"}
          allow: [any]
          reason: the public web front end is published on every address
"""

WAIVER = """waivers:
  - rule: listeners
    subject: {subject}
    reason: the engine's port 8080 is forwarded by a proxy outside this host until the migration
    approver: Alice Smith
    expires: 2099-01-01
"""


def _host(tmp_path: Path) -> Path:
    """The engine declares port 8080 (no NAT rule forwards it); a NAT rule forwards 9090 (no engine declares it)."""
    facts = NamespaceFacts(namespaces=[NetNamespace(inode=4026531840, device=4, current=True), CONTAINER],
                           published=[_engine(port=8080), _nat(port=9090)], published_sources=["engine", "nat"])
    path = tmp_path / "host.snapshot.json"
    path.write_bytes(snapshot_bytes(snapshot(netns=facts)))
    return path


def _disagreements(evidence: Path) -> list[dict]:
    findings = json.loads(evidence.read_text(encoding="utf-8"))["result"]["findings"]
    return [f for f in findings if "disagree" in f["subject"]]


def test_each_disagreement_has_a_subject_of_its_own(tmp_path):
    run, evidence = evaluate_snapshot(tmp_path, POLICY, _host(tmp_path))
    assert run.returncode == 1, run.stdout + run.stderr
    found = _disagreements(evidence)
    assert [f["status"] for f in found] == ["fail", "fail"], found
    subjects = [f["subject"] for f in found]
    assert len(set(subjects)) == 2, subjects
    assert any(":8080" in s for s in subjects) and any(":9090" in s for s in subjects), subjects


def test_a_waiver_of_one_disagreement_leaves_the_other_failing(tmp_path):
    host = _host(tmp_path)
    _, evidence = evaluate_snapshot(tmp_path, POLICY, host)
    [engine_only] = [f["subject"] for f in _disagreements(evidence) if "the engine publishes" in f["message"]]
    run, evidence = evaluate_snapshot(tmp_path, POLICY + WAIVER.format(subject=json.dumps(engine_only)), host)
    statuses = {f["message"].split(" publishes ")[0]: f["status"] for f in _disagreements(evidence)}
    assert statuses == {"the engine": "waived", "a NAT rule (iptables-save -t nat:9)": "fail"}, statuses
    assert run.returncode == 1, run.stdout + run.stderr  # before: every disagreement waived, exit 0
