"""``lbaudit init --from-host`` does not switch off the listeners-in-range judgement for the host's listeners.

A listener inside the ephemeral range (not reserved) made init write ``forbid_listeners_in_range:
false`` with a TODO comment: a comment is no reason, validate said nothing, and the draft passed the
host on those listeners and on any listener later started inside the range.  As for a pool below the
check's minimum (tests/hostile/test_commands16_init_pool_below_defaults.py), the draft now keeps the
check's default (true), with a TODO naming the listeners that fail it until moved or reserved.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from auditor.commands.init import policy_text
from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import evaluate_snapshot
from tests.factories import listener, snapshot, sysctl_facts

APP = [ProcessInfo(pid=10, name="app", exe="/usr/bin/app", user="app")]


def test_the_draft_forbids_listeners_in_range_and_names_the_hosts(tmp_path: Path):
    """On main: forbid_listeners_in_range: false, and the 40000 listener passed the pool rule."""
    host = snapshot(listeners=[listener("0.0.0.0", 40000, processes=APP)], sysctl=sysctl_facts())
    text = policy_text(host, "2026.11.29")
    [rule] = [r for r in yaml.safe_load(text)["rules"] if r["check"] == "net.ephemeral_port_range"]
    assert rule["params"]["forbid_listeners_in_range"] is True
    assert ("      # TODO: listeners inside the ephemeral range, which fail this rule until moved out of it or their "
            "ports reserved\n      # (net.ipv4.ip_local_reserved_ports): tcp 0.0.0.0:40000 app\n") in text

    path = tmp_path / "host.json"
    path.write_bytes(snapshot_bytes(host))
    run, evidence = evaluate_snapshot(tmp_path, text.replace("          reason: TODO", "          reason: app, CHG-1"),
                                      path)
    failing = [f["subject"] for f in json.loads(evidence.read_bytes())["result"]["findings"]
               if f["rule_id"] == "ephemeral-pool" and f["status"] == "fail"]
    assert failing == ["tcp 0.0.0.0:40000 app pid 10"], run.stdout
    assert run.returncode == 1


def test_control_case_no_listener_in_range_writes_no_todo():
    text = policy_text(snapshot(listeners=[listener("0.0.0.0", 22, processes=APP)], sysctl=sysctl_facts()),
                       "2026.11.29")
    assert "      forbid_listeners_in_range: true\n" in text and "inside the ephemeral range" not in text
