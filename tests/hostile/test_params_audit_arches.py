"""``audit.socket_logging`` with ``arches`` leaving out an ABI the host runs: said, not dropped.

With ``arches: [b32]`` on an x86_64 host whose rules audit only the 32-bit calls, the rule passed
(exit 0) and the result held no finding about b64: every socket call of the host's 64-bit programs
was unrecorded, and nothing said that the policy had not asked.  Each ABI of the host's machine the
policy leaves out is now one not_applicable finding per required scope, naming it; an ABI the
machine does not have (b64 on i686) is not listed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.domain.audit_rules import parse_rules_text
from auditor.model.facts import AuditFacts
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import evaluate_snapshot
from tests.factories import BOOT_BACKLOG_RULES, X32_OFF, running_auditd, snapshot

# every way a 32-bit program makes the calls: listen with bind, the sends that connect with TCP
# Fast Open with connect, socketcall for all of them
ONLY_B32 = ("-a always,exit -F arch=b32 -S bind,listen,connect,accept4,sendto,sendmsg,sendmmsg -k net\n"
            "-a always,exit -F arch=b32 -S socketcall -k net\n")


def _evaluate(tmp_path: Path, machine: str, arches: str) -> tuple[int, dict[str, dict]]:
    rules = parse_rules_text(ONLY_B32, "/etc/audit/rules.d/net.rules", machine)
    assert rules.problems == []
    backlog = parse_rules_text(BOOT_BACKLOG_RULES, "/etc/audit/rules.d/00-backlog.rules", machine).rules
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=rules.rules, persistent_rules=backlog + rules.rules,
                       persistent_source="/etc/audit/rules.d (augenrules)", **running_auditd(612))
    host = tmp_path / "host.snapshot.json"
    host.write_bytes(snapshot_bytes(snapshot(audit=facts, arch=machine)))
    run, evidence = evaluate_snapshot(
        tmp_path, 'id: a\nversion: "1"\nowner: T\nrules:\n  - id: r\n    check: audit.socket_logging\n'
        f"    params:\n      arches: {arches}\n      require_boot_audit: false\n      require_io_uring: false\n", host)
    findings = json.loads(evidence.read_bytes())["result"]["findings"]
    return run.returncode, {f["subject"]: f for f in findings}


def test_b32_only_on_x86_64_says_b64_is_not_judged(tmp_path):
    code, found = _evaluate(tmp_path, "x86_64", "[b32]")
    assert code == 0, found
    assert {s: f["status"] for s, f in found.items() if "rules" in s} == {
        "loaded rules b32": "pass", "persistent rules b32": "pass",
        "loaded rules b64": "not_applicable", "persistent rules b64": "not_applicable"}
    assert found["loaded rules b64"]["reason"] == (
        "not judged: the policy's arches (b32) leave b64 out, so the socket calls of this host's b64 programs are "
        "not required to be audited")


def test_control_case_asking_for_b64_fails_these_rules(tmp_path):
    code, found = _evaluate(tmp_path, "x86_64", "[b64, b32]")
    assert code == 1
    assert found["loaded rules b64"]["status"] == "fail"


@pytest.mark.parametrize("machine", ["i686"])
def test_an_abi_the_machine_does_not_have_is_not_listed(tmp_path, machine):
    code, found = _evaluate(tmp_path, machine, "[b32]")
    assert code == 0, found
    assert "loaded rules b64" not in found and "persistent rules b64" not in found
