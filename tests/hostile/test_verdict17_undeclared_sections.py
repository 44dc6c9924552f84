"""A rule's verdict does not depend on which other rules the policy holds.

``lbaudit evaluate`` collects only the fact sections the enabled rules' checks declare (``needs``
and ``uses``).  ``audit.socket_logging`` declared ``audit`` alone, yet reads ``sysctl``
(net.ipv4.tcp_fastopen: whether programs can connect with sendto/sendmsg and MSG_FASTOPEN, which the
rules must then audit) and ``netns`` (that sysctl of every other network namespace).  So the same
host was judged differently by a policy of that rule alone (sysctl and netns not collected: the
boot's tcp_fastopen "not recorded in this snapshot", other namespaces silently left out, so a
namespace whose programs connect with TCP Fast Open went unaudited unnoticed) and by one beside a
rule that needs them (corp.yaml: "the kernel's default, 1, applies ... not all audited").

Now the check declares what it reads (``uses``: sysctl, netns), and the engine gives every check a
snapshot of its declared sections alone, whatever the target holds or other rules had collected:
what a check reads without declaring it is absent to it always, never only in some policies.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "audit-rules"

AUDIT_RULE = """\
  - id: socket-audit
    check: audit.socket_logging
    severity: high
    params:
      syscalls: [bind, connect, accept, accept4]
      arches: [b64, b32]
      require_loaded: true
      require_persistent: true
      require_enabled: true
"""
OTHER_RULES = """\
  - id: listeners
    check: net.bind_addresses
    params: {allow: [loopback]}
  - id: drift
    check: drift.sysctl
"""


def _socket_audit_findings(tmp_path: Path, name: str, rules: str) -> list[dict]:
    policy, evidence = tmp_path / f"{name}.yaml", tmp_path / f"{name}.evidence.json"
    policy.write_text(f'id: {name}\nversion: "1"\nowner: T <t@example.test>\nrules:\n{rules}', encoding="utf-8")
    run = run_cli("evaluate", "--no-plugins", "--policy", policy, "--root", ROOT, "-o", evidence, "-q")
    assert run.returncode in (1, 3), run.stderr
    findings = json.loads(evidence.read_text())["result"]["findings"]
    return [{k: f[k] for k in ("id", "status", "subject", "message", "reason", "observed", "expected")}
            for f in findings if f["rule_id"] == "socket-audit"]


def test_socket_audit_is_judged_alike_alone_and_beside_other_rules(tmp_path: Path) -> None:
    alone = _socket_audit_findings(tmp_path, "alone", AUDIT_RULE)
    beside = _socket_audit_findings(tmp_path, "beside", AUDIT_RULE + OTHER_RULES)
    assert alone == beside
    persistent = [f for f in alone if f["subject"] == "persistent rules b64"]
    assert persistent and persistent[0]["status"] == "fail"
    # the boot's sysctl configuration was read for the rule alone too
    assert "no file of the boot's sysctl configuration sets net.ipv4.tcp_fastopen" in persistent[0]["message"]
