"""``lbaudit fleet evaluate``: a host whose only failure is waived does not satisfy the control.

The defect: the fleet summary recorded each host's controls from ``ControlResult.satisfied``, which
held ``waived`` beside ``pass``, so a host whose wildcard listener was waived counted as satisfying
SC-7 and CM-7 exactly as a host with no such listener did, and the fleet overview's share of hosts
satisfying a control hid every approved deviation.  Now a waived control is not satisfied on that
host, and its JUnit suite shows the rule skipped as waived (exit 0 for both hosts).

Real snapshots in Ansible's fetch layout, evaluated by the built-in ``net.bind_addresses``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, snapshot

POLICY = """\
id: fleet-waived
version: "1"
owner: Tests <tests@example.test>
rules:
  - id: loopback-only
    check: net.bind_addresses
    params:
      allow: [loopback]
waivers:
  - rule: loopback-only
    subject: "tcp 0.0.0.0:8080 *"
    reason: CHG-1 the legacy billing API
    approver: Dana Whitfield (CISO)
    expires: 2999-12-31
"""


def test_a_host_whose_failure_is_waived_does_not_satisfy_the_control(tmp_path: Path):
    now = datetime.now(timezone.utc)
    for name, listeners in (("clean", [listener("127.0.0.1", 9000)]), ("waived", [listener("0.0.0.0", 8080)])):
        (tmp_path / "fetch" / name).mkdir(parents=True)
        write_snapshot(snapshot(listeners=listeners, hostname=name, collected_at=now),
                       tmp_path / "fetch" / name / "lbaudit.snapshot.json")
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    out = tmp_path / "out"
    run = run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", tmp_path / "p.yaml",
                  "--out-dir", out)
    assert run.returncode == 0, run.stderr
    hosts = {h["host"]: h for h in json.loads((out / "fleet-summary.json").read_text(encoding="utf-8"))["hosts"]}
    assert {name: h["verdict"] for name, h in hosts.items()} == {"clean": "compliant", "waived": "compliant"}
    assert set(hosts["clean"]["controls"].values()) == {True}
    # before: True for every control, as on the clean host
    assert hosts["waived"]["controls"] == {"CM-6": False, "CM-7": False, "SC-7": False, "SC-7(5)": False}
    suites = {s.get("name"): s for s in ET.fromstring((out / "fleet.junit.xml").read_bytes()).iter("testsuite")}
    [waived_suite] = [s for name, s in suites.items() if "waived" in name]
    [case] = waived_suite.findall("testcase")
    assert case.find("skipped").get("type") == "waived"
