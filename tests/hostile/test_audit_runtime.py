"""Hostile corpus, issue 8 class 1: the audit runtime state when auditctl is absent, and hosts with no
(or no readable) /etc/audit.

Without auditctl lbaudit reads the kernel over netlink (as root), and a loaded rule it cannot show
faithfully never helps a scope pass.  A root with no /etc/audit has no persistent rules: that is a
failure with that reason, not "could not see"; an /etc/audit that exists but cannot be read, or a
link to nothing, stays not_reviewed.  Every case asserts the exact status or exit code.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from auditor.checks._audit_coverage import MSG_FASTOPEN
from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.checks.drift_audit_rules import DriftAuditRulesParams, drift_audit_rules
from auditor.collect import CollectContext, audit_netlink
from auditor.collect.audit import collect_audit, loaded_from_kernel_rules
from auditor.collect.live import collect_snapshot
from auditor.domain.audit_rules import parse_rules_text
from auditor.model.facts import AuditFacts, Gap, IoUringState
from tests.audit_kernel import (
    ARCH_AARCH64,
    ARCH_I386,
    ARCH_X86_64,
    BIT_MASK,
    EQUAL,
    auditctl_status_of_this_kernel,
    encode_rule,
)
from tests.cli import Result, run_cli
from tests.factories import (
    BOOT_BACKLOG_RULES,
    ELF_X86_64,
    SOCKET_AUDIT_RULES,
    X32_OFF,
    install_kernel_without_x32,
    running_auditd,
    snapshot,
)
from tests.privileges import require_root, run_as_unprivileged

REPO = Path(__file__).resolve().parents[2]
ROOTS = REPO / "tests" / "fixtures" / "roots"
POLICY = """\
id: hostile-audit-runtime
version: "1"
owner: Security Engineering <secops@example.com>
description: socket audit logging only
rules:
  - id: socket-audit
    check: audit.socket_logging
"""
GOOD_RULES = SOCKET_AUDIT_RULES
RULES_FILE = "/etc/audit/rules.d/10-socket.rules"
NO_CONFIG_DIR = "/etc/audit does not exist, so the next boot loads no audit rules"
SUBJECTS = ("loaded rules b64", "loaded rules b32", "loaded rules io_uring", "persistent rules b64",
            "persistent rules b32", "persistent rules io_uring", "audit enabled", "audit records written")
NO_URING = IoUringState(present=False, source="/proc/kallsyms")  # a kernel built without io_uring


def lbaudit(*args: object) -> Result:
    return run_cli(*args, cwd=REPO)


def evaluate_root(tmp_path: Path, root: Path) -> tuple[int, dict[str, dict]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    out = tmp_path / "evidence.json"
    result = lbaudit("evaluate", "--policy", policy, "--root", root, "--output", out, "-q")
    assert "Traceback" not in result.stderr, result.stderr
    findings = json.loads(out.read_text())["result"]["findings"]
    return result.returncode, {f["subject"]: f for f in findings}


def statuses(findings: dict) -> dict[str, str]:
    return {subject: (f["status"] if isinstance(f, dict) else f.status.value) for subject, f in findings.items()}


def judge(facts: AuditFacts, gaps: list[Gap] | None = None, machine: str = "x86_64") -> dict:
    outcomes = audit_socket_logging.run(snapshot(audit=facts, gaps=gaps, arch=machine), SocketLoggingParams())
    return {o.subject: o for o in outcomes}


def good_persistent() -> list:
    parsed = parse_rules_text(GOOD_RULES, RULES_FILE, "x86_64")
    assert parsed.problems == []
    # a compliant host's boot rules set -b too (without, the kernel's default of 64 fails)
    return parse_rules_text(BOOT_BACKLOG_RULES, "/etc/audit/rules.d/00-backlog.rules", "x86_64").rules + parsed.rules


# Kernel rules covering bind, listen, connect, accept, accept4 on b64 and b32 (x86 numbers), and the
# sends that connect with TCP Fast Open (flags a3 of sendto and sendmmsg, a2 of sendmsg), as listed.
COVERING = (
    encode_rule(("arch", EQUAL, ARCH_X86_64), ("key", EQUAL, b"net"), syscalls=(42, 43, 49, 50, 288)),
    encode_rule(("arch", EQUAL, ARCH_I386), ("key", EQUAL, b"net"), syscalls=(361, 362, 363, 364)),
    encode_rule(("arch", EQUAL, ARCH_I386), ("key", EQUAL, b"net"), syscalls=(102,)),
    encode_rule(("arch", EQUAL, ARCH_X86_64), ("a3", BIT_MASK, MSG_FASTOPEN), ("key", EQUAL, b"net"), syscalls=(44, 307)),
    encode_rule(("arch", EQUAL, ARCH_X86_64), ("a2", BIT_MASK, MSG_FASTOPEN), ("key", EQUAL, b"net"), syscalls=(46,)),
    encode_rule(("arch", EQUAL, ARCH_I386), ("a3", BIT_MASK, MSG_FASTOPEN), ("key", EQUAL, b"net"), syscalls=(345, 369)),
    encode_rule(("arch", EQUAL, ARCH_I386), ("a2", BIT_MASK, MSG_FASTOPEN), ("key", EQUAL, b"net"), syscalls=(370,)),
)


def judge_kernel_rules(*payloads: bytes) -> dict:
    """The check on rules read over netlink (rendered, parsed, problems as gaps), as the collector does."""
    rules, problems = loaded_from_kernel_rules([audit_netlink.parse_rule(p) for p in payloads], "x86_64")
    gaps = [Gap(section="audit", field="loaded_rules/problems", reason=str(p)) for p in problems]
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=rules, persistent_rules=good_persistent(),
                       persistent_source="/etc/audit/rules.d (augenrules)", runtime_source="netlink",
                       config_dir_exists=True, io_uring=NO_URING, **running_auditd())
    return judge(facts, gaps)


@pytest.fixture
def world_traversable_dir():
    """A directory nobody may enter (pytest's tmp_path sits below a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="lbaudit-hostile-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- no /etc/audit: seen, so fail


def test_offline_root_without_etc_audit_fails_the_persistent_scope(tmp_path):
    code, findings = evaluate_root(tmp_path, ROOTS / "audit-none")  # etc/hostname, no etc/audit
    assert code == 1
    assert statuses(findings) == {
        "loaded rules b64": "not_applicable", "loaded rules b32": "not_applicable",
        "persistent rules b64": "fail", "persistent rules b32": "fail", "audit enabled": "not_applicable",
        "audit records written": "not_applicable", "loaded rules io_uring": "not_applicable",
        # no rules, and whether the image's kernel has io_uring cannot be seen
        "persistent rules io_uring": "not_reviewed"}
    assert findings["persistent rules b64"]["message"] == f"persistent rules b64: {NO_CONFIG_DIR}"
    assert findings["persistent rules b32"]["evidence"] == ["/facts/audit/config_dir_exists"]


def test_snapshot_of_a_root_without_etc_audit_still_fails_when_evaluated_later(tmp_path):
    saved = tmp_path / "snapshot.json"
    assert lbaudit("collect", "--output", saved, "--root", ROOTS / "audit-none").returncode == 0
    assert json.loads(saved.read_text())["facts"]["audit"]["config_dir_exists"] is False
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    result = lbaudit("evaluate", "--policy", policy, "--snapshot", saved, "--output", tmp_path / "e.json", "-q")
    assert result.returncode == 1, result.stderr


def test_drift_against_a_host_without_etc_audit_names_it():
    loaded = parse_rules_text("-a always,exit -F arch=b64 -S bind -k net", RULES_FILE, "x86_64").rules
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=loaded, persistent_rules=[], config_dir_exists=False)
    (outcome,) = drift_audit_rules.run(snapshot(audit=facts), DriftAuditRulesParams())
    assert outcome.status.value == "fail"
    assert outcome.message.endswith("but not in /etc/audit (which does not exist): lost at the next reboot")


# ---------------------------------------------------------------- cannot see /etc/audit: not_reviewed


def test_root_without_any_etc_is_not_proof_that_etc_audit_is_absent(tmp_path):
    image = tmp_path / "image"
    image.mkdir()
    code, findings = evaluate_root(tmp_path, image)
    assert code == 3
    assert statuses(findings)["persistent rules b64"] == "not_reviewed"
    assert statuses(findings)["persistent rules b32"] == "not_reviewed"


def test_etc_audit_linked_to_a_mount_the_image_lacks_is_not_reviewed(tmp_path):
    image = tmp_path / "image"
    (image / "etc").mkdir(parents=True)
    (image / "etc" / "audit").symlink_to("/persist/etc/audit")
    code, findings = evaluate_root(tmp_path, image)
    assert code == 3
    assert statuses(findings)["persistent rules b64"] == "not_reviewed"
    assert "not found" in findings["persistent rules b64"]["reason"]


def test_unreadable_etc_audit_as_nobody_is_not_reviewed_while_root_sees_it_pass(world_traversable_dir):
    require_root()
    image = world_traversable_dir
    rules_d = image / "etc" / "audit" / "rules.d"
    rules_d.mkdir(parents=True)
    (rules_d / "10-socket.rules").write_text(GOOD_RULES)
    (rules_d / "00-backlog.rules").write_text(BOOT_BACKLOG_RULES)  # a compliant host sets -b
    (image / "usr" / "sbin").mkdir(parents=True)
    (image / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)  # tells the image's machine
    install_kernel_without_x32(image)  # offline, x32 is read from the image's kernels
    (image / "etc").chmod(0o755)
    (image / "etc" / "audit").chmod(0o750)  # root:root, as Debian ships it
    ctx = CollectContext(root=image, live=False)

    facts, gaps = collect_audit(ctx)
    assert statuses(judge(facts, gaps))["persistent rules b64"] == "pass"

    facts, gaps = run_as_unprivileged(collect_audit, ctx)
    assert facts.config_dir_exists is True and facts.persistent_rules is None
    found = judge(facts, gaps)
    assert statuses(found)["persistent rules b64"] == "not_reviewed"
    assert statuses(found)["persistent rules b32"] == "not_reviewed"
    assert found["persistent rules b64"].reason == "/etc/audit/rules.d: permission denied"


def test_snapshot_from_before_the_fact_keeps_its_gap_not_reviewed():
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=good_persistent(), persistent_rules=None)  # config_dir_exists unset
    gap = Gap(section="audit", field="persistent_rules",
              reason="/etc/audit/audit.rules: not found (and there is no /etc/audit/rules.d)")
    assert statuses(judge(facts, [gap]))["persistent rules b64"] == "not_reviewed"


# ---------------------------------------------------------------- auditctl absent: netlink


@pytest.mark.live
def test_live_without_auditctl_reads_the_kernel_and_records_it(tmp_path):
    require_root()
    enabled = int(auditctl_status_of_this_kernel()["enabled"])
    taken = collect_snapshot(CollectContext(program_path=(str(tmp_path),), sections=frozenset({"audit"})))
    assert taken.facts.audit.runtime_source == "netlink"
    assert taken.provenance.methods["audit"].startswith("netlink AUDIT_GET, AUDIT_LIST_RULES")
    found = judge(taken.facts.audit, taken.gaps)
    on_from_boot = taken.facts.audit.boot_audit == "on"  # without audit=1 "audit enabled" fails (1.5.0)
    assert statuses(found)["audit enabled"] == ("pass" if enabled in (1, 2) and on_from_boot else "fail")


def test_live_without_auditctl_as_nobody_is_not_reviewed_must_be_root(tmp_path):
    require_root()
    facts, gaps = run_as_unprivileged(collect_audit, CollectContext(program_path=(str(tmp_path),)))
    assert facts.runtime_source == "netlink" and facts.enabled is None and facts.loaded_rules is None
    must_be_root = "must be root (the kernel answers audit requests only with CAP_AUDIT_CONTROL)"
    assert sorted((g.field, g.reason) for g in gaps if g.field in ("enabled", "loaded_rules")) == [
        ("enabled", f"netlink AUDIT_GET: {must_be_root}"),
        ("loaded_rules", f"netlink AUDIT_LIST_RULES: {must_be_root}"),
    ]
    found = statuses(judge(facts, gaps))
    assert (found["loaded rules b64"], found["loaded rules b32"], found["audit enabled"]) == (
        "not_reviewed", "not_reviewed", "not_reviewed")


# ---------------------------------------------------------------- kernel rules that cannot be shown


def test_covering_kernel_rules_pass():
    """The control for the cases below: these rules, read over netlink, cover every call."""
    assert statuses(judge_kernel_rules(*COVERING)) == dict.fromkeys(SUBJECTS, "pass")


def test_rule_with_an_unknown_field_keeps_a_covered_scope_from_passing():
    odd = bytearray(encode_rule(("pid", EQUAL, 1), syscalls=(49,), action=0))  # a never rule ...
    odd[audit_netlink.FIELDS_OFFSET:audit_netlink.FIELDS_OFFSET + 4] = (999).to_bytes(4, sys.byteorder)  # ... on what?
    found = judge_kernel_rules(bytes(odd), *COVERING)
    assert (found["loaded rules b64"].status.value, found["loaded rules b32"].status.value) == (
        "not_reviewed", "not_reviewed")
    assert "netlink AUDIT_LIST_RULES:1: rule left out, it cannot be shown as auditctl text: unknown field number 999" \
        in found["loaded rules b64"].reason


def test_rule_for_another_machines_abi_is_not_b64_coverage():
    aarch64 = encode_rule(("arch", EQUAL, ARCH_AARCH64), syscalls=(42, 43, 49, 288))  # numbers mean other calls there
    found = judge_kernel_rules(aarch64, *COVERING[1:])
    assert found["loaded rules b64"].status.value == "fail"
    assert found["loaded rules b64"].observed["missing"] == ["bind", "connect", "accept", "accept4", "listen"]
    # b32 is covered, but an unread rule might be a never rule for it: not vouched for
    assert found["loaded rules b32"].status.value == "not_reviewed"


def test_exit_rule_selecting_no_syscall_is_not_every_syscall():
    nothing = encode_rule(("arch", EQUAL, ARCH_X86_64), syscalls=())  # a rule without -S would mean "all"
    found = judge_kernel_rules(nothing, *COVERING[1:])
    assert found["loaded rules b64"].status.value == "fail"
    assert "selects no syscall at all" in " ".join(found["loaded rules b64"].observed["problems"])


def test_string_field_with_white_space_cannot_smuggle_rule_text():
    smuggler = encode_rule(("arch", EQUAL, ARCH_X86_64), ("key", EQUAL, b"x -a always,exit -S all"), syscalls=(49,),
                           action=0)
    found = judge_kernel_rules(smuggler, *COVERING)
    assert found["loaded rules b64"].status.value == "not_reviewed"
    assert "holds white space or control characters" in found["loaded rules b64"].reason
