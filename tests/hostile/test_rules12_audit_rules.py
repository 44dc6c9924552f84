"""Hostile corpus, round rules12: audit rules that look as if they leave socket events recorded but,
loaded as the kernel and auditctl really treat them, do not.

* A task-list rule is matched when a task is forked, with no syscall context
  (audit_filter_task -> audit_filter_rules(tsk, rule, ctx=NULL, ...)).  Its arch, a0..a3 and
  saddr_fam fields compare only ``if (ctx)``, so such a rule never matches: an ``-a always,task
  -F arch=b64`` in front of ``-a never,task`` decides nothing, and the never rule turns syscall
  auditing off for every task.  lbaudit read the arch-only always rule as matching every task.
* ``auditctl -D -k KEY`` deletes every rule whose key *contains* KEY (key_match: strstr, and
  key_contains since 4.x), not only those whose key is KEY; -D with options stays where it is
  in rules.d, so a ``-D -k net`` after rules keyed ``network`` deletes them at boot.

Each case builds an offline image (rules.d and the image's auditctl, whose ELF header says the
machine) and asserts the exact statuses of the ``audit.socket_logging`` persistent findings.
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.rootdir import collect_root
from auditor.model.facts import HostSnapshot
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, ELF_X86_64, SOCKET_AUDIT_RULES, install_kernel_without_x32

PASS, FAIL = Status.PASS, Status.FAIL


def image(tmp_path: Path, files: dict[str, str]) -> HostSnapshot:
    root = tmp_path / "image"
    rules_d = root / "etc" / "audit" / "rules.d"
    rules_d.mkdir(parents=True)
    (rules_d / "00-backlog.rules").write_text(BOOT_BACKLOG_RULES)  # a compliant host sets -b (the files may change it)
    for name, text in files.items():
        (rules_d / name).write_text(text)
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    install_kernel_without_x32(root)  # offline, x32 is read from the image's kernels
    return collect_root(root, frozenset({"audit"}))


def persistent(snap: HostSnapshot) -> dict[str, tuple[Status, str]]:
    return {o.subject: (o.status, o.message) for o in audit_socket_logging.run(snap, SocketLoggingParams())
            if o.subject.startswith("persistent rules")}


def statuses(snap: HostSnapshot) -> tuple[Status, ...]:
    found = persistent(snap)
    return found["persistent rules b64"][0], found["persistent rules b32"][0]


# ---------------------------------------------------------------- the task list at fork time


def test_control_case_an_unfiltered_always_task_rule_first_keeps_the_never_rule_from_deciding(tmp_path):
    snap = image(tmp_path, {"10-task.rules": "-a always,task\n-a never,task\n", "30-net.rules": SOCKET_AUDIT_RULES})
    assert statuses(snap) == (PASS, PASS)


def test_always_task_rule_with_an_arch_field_matches_no_task_so_the_never_rule_decides(tmp_path):
    snap = image(tmp_path, {"10-task.rules": "-a always,task -F arch=b64\n-a never,task\n",
                            "30-net.rules": SOCKET_AUDIT_RULES})
    found = persistent(snap)
    assert (found["persistent rules b64"][0], found["persistent rules b32"][0]) == (FAIL, FAIL)
    assert "shadowed by /etc/audit/rules.d/10-task.rules:2 (-a never,task;" in found["persistent rules b64"][1]


def test_control_case_always_task_rule_with_arch_not_equal_matches_no_task_either(tmp_path):
    snap = image(tmp_path, {"10-task.rules": "-a always,task -F arch!=b32\n-a never,task\n",
                            "30-net.rules": SOCKET_AUDIT_RULES})
    assert statuses(snap) == (FAIL, FAIL)


def test_never_task_rule_with_an_arch_field_matches_no_task_and_stops_nothing(tmp_path):
    # the same kernel code, the other way: such a never rule takes no task's auditing away
    snap = image(tmp_path, {"10-task.rules": "-a never,task -F arch=b64\n", "30-net.rules": SOCKET_AUDIT_RULES})
    assert statuses(snap) == (PASS, PASS)


def test_never_task_rule_with_an_argument_field_stops_nothing(tmp_path):
    snap = image(tmp_path, {"10-task.rules": "-a never,task -F a0=1\n", "30-net.rules": SOCKET_AUDIT_RULES})
    assert statuses(snap) == (PASS, PASS)


# ---------------------------------------------------------------- -D -k deletes by substring


def test_control_case_delete_by_a_key_no_rule_key_contains_leaves_the_rules(tmp_path):
    snap = image(tmp_path, {"30-net.rules": SOCKET_AUDIT_RULES.replace("-k net", "-k network"),
                            "99-clean.rules": "-D -k exec\n"})
    assert statuses(snap) == (PASS, PASS)


def test_delete_by_key_removes_rules_whose_key_contains_it(tmp_path):
    snap = image(tmp_path, {"30-net.rules": SOCKET_AUDIT_RULES.replace("-k net", "-k network"),
                            "99-clean.rules": "-D -k net\n"})
    found = persistent(snap)
    assert (found["persistent rules b64"][0], found["persistent rules b32"][0]) == (FAIL, FAIL)
    assert "no rule: bind, connect, accept, accept4, listen" in found["persistent rules b64"][1]


def test_delete_by_part_of_a_key_removes_the_rule(tmp_path):
    snap = image(tmp_path, {"30-net.rules": SOCKET_AUDIT_RULES, "99-clean.rules": "-D -k ne\n"})
    assert statuses(snap) == (FAIL, FAIL)
