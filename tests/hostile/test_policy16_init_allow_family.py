"""The exceptions ``lbaudit init --from-host`` writes allow no address family the host did not expose.

A listener on 0.0.0.0 (every IPv4 address, no IPv6) got ``allow: [any]``, which is 0.0.0.0/0 and ::/0:
the approved draft then passed the same process on [::] too, a wildcard the host never had when init
ran and its reviewer never saw.  It now allows 0.0.0.0/0 for an IPv4 wildcard, ::/0 for an IPv6-only
one, and ``any`` only for a dual-stack socket (or both), which is what the host exposed.
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

SSHD = [ProcessInfo(pid=10, name="sshd", exe="/usr/sbin/sshd", user="root")]


def _exceptions(listeners: list) -> list[dict]:
    text = policy_text(snapshot(listeners=listeners, sysctl=sysctl_facts()), "2026.11.29")
    [rule] = [r for r in yaml.safe_load(text)["rules"] if r["check"] == "net.bind_addresses"]
    return rule["params"]["exceptions"]


def test_an_ipv4_wildcard_is_allowed_its_family_alone():
    """On main: allow: [any]."""
    assert [e["allow"] for e in _exceptions([listener("0.0.0.0", 22, processes=SSHD)])] == [["0.0.0.0/0"]]


def test_an_ipv6_only_wildcard_is_allowed_its_family_alone():
    assert [e["allow"] for e in _exceptions([listener("::", 22, processes=SSHD, v6only=True)])] == [["::/0"]]


def test_control_case_a_dual_stack_wildcard_is_any():
    assert [e["allow"] for e in _exceptions([listener("::", 22, processes=SSHD, v6only=False)])] == [["any"]]


def test_the_reviewed_draft_fails_a_wildcard_of_the_family_the_host_did_not_have(tmp_path: Path):
    """On main: exit 0, sshd on [::]:22 passing under the exception written for 0.0.0.0:22."""
    text = policy_text(snapshot(listeners=[listener("0.0.0.0", 22, processes=SSHD)], sysctl=sysctl_facts()),
                       "2026.11.29").replace("          reason: TODO", "          reason: bastion, CHG-42")
    later = tmp_path / "later.json"
    later.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 22, processes=SSHD),
                                                         listener("::", 22, processes=SSHD, v6only=True)],
                                              sysctl=sysctl_facts())))
    run, evidence = evaluate_snapshot(tmp_path, text, later)
    statuses = sorted((f["subject"].split(" ")[1], f["status"]) for f in json.loads(evidence.read_bytes())["result"]["findings"]
                      if f["rule_id"] == "listeners")
    assert statuses == [("0.0.0.0:22", "pass"), ("[::]:22", "fail")], run.stdout
    assert run.returncode == 1
