"""Hostile corpus, issue 8 class 1: persistent audit rules judged as the next boot really loads them.

``augenrules --load`` / ``auditctl -R`` stop at the first line they refuse; lbaudit used to accept
many lines auditctl refuses (a misspelt syscall, a CRLF line end, a tab between options, a field
auditctl 3.x does not know, a value the kernel rejects, a key or field count over the limit), so
socket rules that never load counted as persistent.  Each case builds an offline image (rules.d
and the image's auditctl, whose ELF header says the machine) and asserts the exact status of the
``audit.socket_logging`` persistent findings, or of ``drift.audit_rules`` against an ``auditctl
-l`` listing.  Which lines auditctl really refuses is proven against auditctl itself in
tests/collect/test_audit_grammar_live.py.
"""

from __future__ import annotations

from pathlib import Path

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.checks.drift_audit_rules import DriftAuditRulesParams, drift_audit_rules
from auditor.collect.rootdir import collect_root
from auditor.domain.audit_rules import parse_auditctl_list
from auditor.model.facts import AuditFacts, HostSnapshot
from auditor.model.result import Status
from tests.factories import (
    BOOT_BACKLOG_RULES,
    ELF_X86_64,
    SOCKET_AUDIT_RULES,
    X32_OFF,
    install_kernel_without_x32,
    snapshot,
)

PASS, FAIL, NOT_REVIEWED = Status.PASS, Status.FAIL, Status.NOT_REVIEWED

NET = SOCKET_AUDIT_RULES  # every way of making the calls


def image(tmp_path: Path, files: dict[str, str | bytes], auditctl: bytes | None = ELF_X86_64,
          awk: str | None = None, backlog: bool = True) -> HostSnapshot:
    """An image with these rules.d files, an auditctl of this ELF header and, with ``awk``, a
    /usr/bin/awk that links to that program through /etc/alternatives (as Debian installs it)."""
    root = tmp_path / "image"
    rules_d = root / "etc" / "audit" / "rules.d"
    rules_d.mkdir(parents=True)
    if backlog:  # a compliant host sets -b (the files may change it)
        (rules_d / "00-backlog.rules").write_text(BOOT_BACKLOG_RULES)
    for name, text in files.items():
        (rules_d / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    if auditctl is not None:
        (root / "usr" / "sbin").mkdir(parents=True)
        (root / "usr" / "sbin" / "auditctl").write_bytes(auditctl)
        install_kernel_without_x32(root)  # offline, x32 is read from the image's kernels
    if awk is not None:
        (root / "usr" / "bin").mkdir(parents=True)
        (root / "usr" / "bin" / awk).write_bytes(ELF_X86_64)
        (root / "etc" / "alternatives").mkdir(parents=True)
        (root / "etc" / "alternatives" / "awk").symlink_to(f"/usr/bin/{awk}")
        (root / "usr" / "bin" / "awk").symlink_to("/etc/alternatives/awk")
    return collect_root(root, frozenset({"audit"}))


def persistent(snap: HostSnapshot) -> tuple[Status, Status]:
    outcomes = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
    return outcomes["persistent rules b64"].status, outcomes["persistent rules b32"].status


def early(tmp_path: Path, line: str) -> tuple[Status, Status]:
    """The line in 10-early.rules, then the socket rules in 30-net.rules."""
    return persistent(image(tmp_path, {"10-early.rules": line + "\n", "30-net.rules": NET}))


def test_control_case_the_socket_rules_alone_pass(tmp_path):
    assert persistent(image(tmp_path, {"30-net.rules": NET})) == (PASS, PASS)


def test_misspelt_syscall_stops_the_boot_before_the_socket_rules(tmp_path):
    assert early(tmp_path, "-a always,exit -F arch=b64 -S bnid -k typo") == (FAIL, FAIL)


def test_crlf_line_ends_make_the_last_syscall_name_unknown(tmp_path):
    crlf = b"-a always,exit -F arch=b64 -S bind,connect,accept,accept4\r\n-a always,exit -F arch=b32 -S socketcall\r\n"
    assert persistent(image(tmp_path, {"30-net.rules": crlf})) == (FAIL, FAIL)


def test_tab_between_options_is_not_a_separator_to_auditctl(tmp_path):
    assert early(tmp_path, "-a always,exit\t-F arch=b64 -S execve -k exec") == (FAIL, FAIL)


def test_exclude_of_lower_case_syscall_records_drops_every_syscall_record(tmp_path):
    assert early(tmp_path, "-a always,exclude -F msgtype=syscall") == (FAIL, FAIL)


def test_never_rule_without_arch_hits_the_same_number_on_i386(tmp_path):
    # getuid is 102 on x86_64; 102 on i386 is socketcall, the only way i386 makes accept
    assert early(tmp_path, "-a never,exit -S getuid") == (PASS, FAIL)


def test_rule_without_arch_does_not_cover_i386_by_name(tmp_path):
    # x86_64 numbers 49, 50, 42, 43, 288, and the sends 44, 46, 307
    rules = "-a always,exit -S bind,listen,connect,accept,accept4,sendto,sendmsg,sendmmsg -k net\n"
    assert persistent(image(tmp_path, {"30-net.rules": rules})) == (PASS, FAIL)


def test_syscall_the_abi_lacks_stops_the_boot(tmp_path):
    # i386 has no accept syscall: auditctl refuses the line, so neither b32 rule loads
    rules = NET.replace("-S bind,listen,connect,accept4", "-S bind,listen,connect,accept,accept4")
    assert persistent(image(tmp_path, {"30-net.rules": rules})) == (NOT_REVIEWED, FAIL)


def test_field_auditctl_3_does_not_know_stops_the_boot(tmp_path):
    assert early(tmp_path, "-a always,exit -F arch=b64 -S execve -F loginuid_set=1 -k exec") == (FAIL, FAIL)


def test_key_over_256_characters_stops_the_boot(tmp_path):
    assert early(tmp_path, "-a always,exit -F arch=b64 -S execve -k " + "k" * 257) == (FAIL, FAIL)


def test_more_fields_than_auditctl_sends_stops_the_boot(tmp_path):
    fields = " ".join(f"-F a1={n}" for n in range(62))  # arch + 62 + key = 64 fields
    assert early(tmp_path, f"-a always,exit -F arch=b64 -S execve {fields} -k exec") == (FAIL, FAIL)


def test_invalid_uid_the_kernel_refuses_stops_the_boot(tmp_path):
    # auid may be unset (-1); uid may not: the kernel answers EINVAL
    assert early(tmp_path, "-a always,exit -F arch=b64 -S execve -F uid=-1 -k exec") == (FAIL, FAIL)


def test_deprecated_possible_action_is_skipped_and_loading_goes_on(tmp_path):
    assert early(tmp_path, "-a exit,possible -F arch=b64 -S execve") == (PASS, PASS)


def test_upper_case_names_are_accepted_as_auditctl_accepts_them(tmp_path):
    rules = NET.replace("bind,connect,accept,accept4", "BIND,Connect,accept,ACCEPT4")
    assert persistent(image(tmp_path, {"10-early.rules": "-a never,exit -F arch=b64 -S execve -F EXE=/usr/bin/true\n",
                                       "30-net.rules": rules})) == (PASS, PASS)


def test_indented_comment_depends_on_the_targets_awk(tmp_path):
    # gawk's "\s" drops the line; mawk's "\s" is a plain "s", so auditctl sees "\t#" and stops
    assert early(tmp_path, "\t# socket rules follow") == (NOT_REVIEWED, NOT_REVIEWED)


def test_indented_comment_stops_the_boot_where_augenrules_runs_mawk(tmp_path):
    files = {"10-early.rules": "\t# socket rules follow\n", "30-net.rules": NET}
    assert persistent(image(tmp_path / "mawk", files, awk="mawk")) == (FAIL, FAIL)
    assert persistent(image(tmp_path / "gawk", files, awk="gawk")) == (PASS, PASS)


def test_delete_all_with_trailing_space_depends_on_the_targets_awk(tmp_path):
    # gawk moves "-D " first; mawk leaves it last, where it deletes the socket rules
    snap = image(tmp_path, {"30-net.rules": NET, "99-last.rules": "-D \n"})
    assert persistent(snap) == (NOT_REVIEWED, NOT_REVIEWED)


def test_image_of_unknown_machine_is_not_vouched_for(tmp_path):
    # -F arch=b32 is refused on ppc64le and -S names are numbers from the machine's own table:
    # without the image's machine lbaudit cannot tell what the boot loads
    snap = image(tmp_path, {"30-net.rules": NET}, auditctl=b"#!/bin/sh\n")
    assert snap.facts.audit.machine is None
    assert persistent(snap) == (NOT_REVIEWED, NOT_REVIEWED)


def test_line_longer_than_auditctls_buffer_is_read_as_two_lines(tmp_path):
    long_line = "-a always,exit -F arch=b64 -S bind,listen,connect,accept,accept4 -k net" + " " * 7000 + "-F auid>=1000"
    rules = long_line + "\n" + NET.split("\n", 1)[1]
    # the rule loads without the filter; the rest of the line is refused, so the b32 rules never load
    assert persistent(image(tmp_path, {"30-net.rules": rules})) == (NOT_REVIEWED, FAIL)


# ---------------------------------------------------------------- drift.audit_rules


def drift(tmp_path: Path, files: dict[str, str], listed: str) -> list[tuple[str, Status]]:
    """drift.audit_rules of the image's rules.d against what ``auditctl -l`` listed."""
    offline = image(tmp_path, files, backlog=False)  # the rules compared, no control lines
    audit = offline.facts.audit
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=parse_auditctl_list(listed, "x86_64").rules,
                       persistent_rules=audit.persistent_rules, persistent_source=audit.persistent_source,
                       machine=audit.machine)
    snap = snapshot(audit=facts, gaps=[g for g in offline.gaps if g.field.startswith("persistent_rules")])
    return [(o.subject, o.status) for o in drift_audit_rules.run(snap, DriftAuditRulesParams())]


def test_drift_rule_behind_a_refused_line_is_not_persistent(tmp_path):
    files = {"30-net.rules": "-a always,exit -F arch=b64 -S bnid -k typo\n-a always,exit -F arch=b64 -S bind -k net\n"}
    assert drift(tmp_path, files, "-a always,exit -F arch=b64 -S bind -F key=net\n") == [
        ("audit rule -a always,exit -F arch=b64 -S bind -F key=net", FAIL),
        ("audit rules (unparsed lines)", NOT_REVIEWED),
    ]


def test_drift_auid_printed_signed_is_the_same_rule(tmp_path):
    files = {"30-net.rules": "-a always,exit -F arch=b64 -S bind -F auid=4000000000 -k net\n"}
    listed = "-a always,exit -F arch=b64 -S bind -F auid=-294967296 -F key=net\n"
    assert drift(tmp_path, files, listed) == [("audit rules", PASS)]


def test_drift_syscall_numbers_from_netlink_are_the_same_rule(tmp_path):
    files = {"30-net.rules": "-a always,exit -F arch=b64 -S bind,connect -k net\n"}
    listed = "-a always,exit -F arch=b64 -S 42,49 -F key=net\n"
    assert drift(tmp_path, files, listed) == [("audit rules", PASS)]


def test_exclude_by_record_type_range_is_judged_on_the_numbers(tmp_path):
    # msgtype<=PATH is every record type up to 1302, SYSCALL (1300) among them
    assert early(tmp_path, "-a always,exclude -F msgtype<=PATH") == (FAIL, FAIL)


def test_rule_for_another_machines_abi_covers_nothing_here(tmp_path):
    # arch=aarch64 loads on x86_64 (bind is 200 there) but never matches an x86_64 call
    rules = NET.replace("-F arch=b64", "-F arch=aarch64")
    assert persistent(image(tmp_path, {"30-net.rules": rules})) == (FAIL, PASS)


def test_two_arch_fields_must_both_match(tmp_path):
    # arch=b64 and arch=b32 at once: the kernel requires both, so the rule matches no call
    rules = NET.replace("-F arch=b32", "-F arch=b64 -F arch=b32")
    assert persistent(image(tmp_path, {"30-net.rules": rules})) == (PASS, FAIL)
