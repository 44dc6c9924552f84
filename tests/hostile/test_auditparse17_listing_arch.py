"""Hostile reading of ``auditctl -l``: the previous rule's arch names the syscalls of a rule without one.

auditctl 3.0.9 (src/auditctl-listing.c) prints each rule's ``-F arch`` with print_arch(), which sets
the global ``_audit_elf``, and names the syscalls of every rule with the table of ``_audit_elf``
when it is set; it is cleared once per netlink reply, and the rules are all printed at NLMSG_DONE.
So a rule without ``-F arch`` printed after any rule with an arch field has its syscall numbers
named from that rule's table.  lbaudit knew this for a b32 rule on the exit list only, but the
kernel lists the task list first, and auditctl takes arch fields on task rules (a task rule with an
arch field matches no task, so it harms nothing itself): after ``-a always,task -F arch=b32 ...``
the arch-less ``-a never,exit -S bind`` (x86_64 bind is 49) is printed as ``-S geteuid`` (i386 49),
which lbaudit read as x86_64 geteuid (107), a rule that takes no bind away, and the loaded b64
scope passed while the kernel records no 64-bit bind.  Observed with auditctl 3.0.9 on Linux 6.18:

    -a always,task -F arch=b32 -F uid=99999
    -a always,exit -S geteuid -F pid=99999998 -F key=...     (added as -S bind)

An ``arch!=b32`` field is printed the same way (print_arch is called for every arch field), so it
names the next rule's syscalls too.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.audit import listing_disagreements
from auditor.collect.audit_netlink import parse_rule
from auditor.domain.audit_rules import parse_auditctl_list
from auditor.model.facts import AuditFacts, Gap
from auditor.model.result import Status
from tests.audit_kernel import ARCH_AARCH64, ARCH_I386, ARCH_X86_64, EQUAL, TASK, encode_rule
from tests.factories import SOCKET_AUDIT_RULES, X32_OFF, snapshot

# "-a never,exit -S bind" (no arch) as auditctl -l prints it after a rule whose arch is b32
NEVER_BIND_AFTER_B32 = "-a never,exit -S geteuid\n"


def loaded_b64(listing: str) -> Status:
    """The loaded b64 finding, the listing's problems made gaps as the collector makes them."""
    parsed = parse_auditctl_list(listing, "x86_64")
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=parsed.rules, machine="x86_64")
    gaps = [Gap(section="audit", path=("loaded_rules", "problems"), reason=str(p)) for p in parsed.problems]
    found = audit_socket_logging.run(snapshot(audit=facts, gaps=gaps), SocketLoggingParams(require_persistent=False))
    return next(o.status for o in found if o.subject == "loaded rules b64")


def test_control_case_the_socket_rules_alone_pass():
    assert loaded_b64(SOCKET_AUDIT_RULES) == Status.PASS


def test_a_b32_task_rule_before_an_archless_exit_rule_is_not_read_as_x86_64_names():
    listing = "-a always,task -F arch=b32 -F uid=99999\n" + NEVER_BIND_AFTER_B32 + SOCKET_AUDIT_RULES
    parsed = parse_auditctl_list(listing, "x86_64")
    assert any("listed after a b32 rule" in p.message for p in parsed.problems)
    assert loaded_b64(listing) != Status.PASS


def test_an_arch_not_equal_field_names_the_next_rules_syscalls_too():
    listing = ("-a always,exit -F arch!=b32 -S bind -F pid=99999999\n" + NEVER_BIND_AFTER_B32
               + SOCKET_AUDIT_RULES)
    assert loaded_b64(listing) != Status.PASS


def test_a_b64_rule_in_between_gives_the_host_names_back():
    listing = ("-a always,task -F arch=b32 -F uid=99999\n-a always,exit -F arch=b64 -S bind -F pid=99999999\n"
               "-a never,exit -S bind\n" + SOCKET_AUDIT_RULES)
    parsed = parse_auditctl_list(listing, "x86_64")
    assert not any("listed after a b32 rule" in p.message for p in parsed.problems)
    assert loaded_b64(listing) == Status.FAIL  # the never rule is read, as bind, and shadows it


# ---------------------------------------------------------------- what the text cannot show at all
#
# print_arch() prints any 64-bit ELF machine as "b64" and any 32-bit one as "b32" (interpret off, as
# auditctl -l runs), and names the rule's syscalls from that machine's table.  A rule for another
# machine (auditctl takes "-F arch=aarch64" on x86_64; the kernel holds it, and it matches no call
# there) is listed exactly as this host's own b64 rule: observed with auditctl 3.0.9 on Linux 6.18,
#
#     added:  -a always,exit -F arch=aarch64 -S bind -F pid=99999997 -k ...
#     listed: -a always,exit -F arch=b64 -S bind -F pid=99999997 -F key=...
#
# and a rule without -F arch listed after it has its syscalls named from aarch64's table (x86_64's
# connect, 42, as "nfsservctl").  lbaudit read the first as x86_64's bind: an arm64 rule set copied
# to an x86_64 host passed "loaded rules b64" while no 64-bit call was recorded.  Only the kernel's
# own list (netlink AUDIT_LIST_RULES, read beside the listing as for line breaks) tells them apart.

AARCH64_BIND, X86_64_BIND, X86_64_CONNECT = 200, 49, 42
ONLY_BIND = SocketLoggingParams(syscalls=["bind"], arches=["b64"], require_listen_autobind=False,
                                require_persistent=False, require_io_uring=False)


def test_an_aarch64_rule_on_x86_64_is_listed_as_this_hosts_b64_rule():
    listing = "-a always,exit -F arch=b64 -S bind -F key=net\n"
    kernel = [parse_rule(encode_rule(("arch", EQUAL, ARCH_AARCH64), ("key", EQUAL, b"net"),
                                     syscalls=(AARCH64_BIND,)))]
    listed = parse_auditctl_list(listing, "x86_64").rules
    assert listed[0].syscall_numbers == [X86_64_BIND]  # what the text alone says
    problems = listing_disagreements(listed, kernel, "x86_64")
    assert len(problems) == 1 and "arch" in problems[0].message and "auditctl -l:1" in str(problems[0])


def test_an_archless_rule_named_from_a_foreign_table_is_caught_by_its_numbers():
    # "-a never,exit -S connect" (x86_64 42) listed after the aarch64 rule: aarch64's 42 is nfsservctl
    listing = "-a always,exit -F arch=b64 -S bind -F key=net\n-a never,exit -S nfsservctl\n"
    kernel = [parse_rule(encode_rule(("arch", EQUAL, ARCH_AARCH64), ("key", EQUAL, b"net"),
                                     syscalls=(AARCH64_BIND,))),
              parse_rule(encode_rule(syscalls=(X86_64_CONNECT,), action=0))]
    problems = listing_disagreements(parse_auditctl_list(listing, "x86_64").rules, kernel, "x86_64")
    assert [p.line for p in problems] == [1, 2]


def test_control_case_a_faithful_listing_has_no_disagreement():
    listing = ("-a always,task -F arch=b32 -F uid=99999\n-a always,exit -F arch=b64 -S bind -F key=net\n"
               "-a always,exit -F arch=b32 -S bind -F key=net\n-a never,exit -S bind\n")
    kernel = [parse_rule(encode_rule(("arch", EQUAL, ARCH_I386), ("uid", EQUAL, 99999), rule_list=TASK)),
              parse_rule(encode_rule(("arch", EQUAL, ARCH_X86_64), ("key", EQUAL, b"net"), syscalls=(X86_64_BIND,))),
              parse_rule(encode_rule(("arch", EQUAL, ARCH_I386), ("key", EQUAL, b"net"), syscalls=(361,))),
              parse_rule(encode_rule(syscalls=(X86_64_BIND,), action=0))]
    listed = parse_auditctl_list(listing, "x86_64").rules
    assert listing_disagreements(listed, kernel, "x86_64") == []


def test_a_b32_named_archless_rule_disagrees_with_the_kernels_numbers():
    # the task-rule case above, seen from the kernel's side: the listing's geteuid is the kernel's 49
    listing = "-a always,task -F arch=b32 -F uid=99999\n-a never,exit -S geteuid\n"
    kernel = [parse_rule(encode_rule(("arch", EQUAL, ARCH_I386), ("uid", EQUAL, 99999), rule_list=TASK)),
              parse_rule(encode_rule(syscalls=(X86_64_BIND,), action=0))]
    problems = listing_disagreements(parse_auditctl_list(listing, "x86_64").rules, kernel, "x86_64")
    assert [p.line for p in problems] == [2]


# A string auditctl -l prints as it is, white space and all: a key "k -S bind,listen,connect,accept,
# accept4" on a rule for getpid lists as (observed with auditctl 3.0.9 on Linux 6.18)
#
#     -a always,exit -F arch=b64 -S getpid -F key=k -S bind,listen,connect,accept,accept4
#
# which reads as a rule for getpid and every socket call; the kernel records getpid alone.  The
# netlink side cannot render such a rule as auditctl text either, and that was taken as "nothing to
# compare", so the spoofed listing passed.
SPOOFING_KEY = b"k -S bind,listen,connect,accept,accept4"
GETPID = 39


def test_a_key_with_spaces_that_spells_syscalls_is_not_read_as_them():
    listing = f"-a always,exit -F arch=b64 -S getpid -F key={SPOOFING_KEY.decode()}\n"
    listed = parse_auditctl_list(listing, "x86_64").rules
    assert "bind" in listed[0].syscalls  # what the text alone says
    kernel = [parse_rule(encode_rule(("arch", EQUAL, ARCH_X86_64), ("key", EQUAL, SPOOFING_KEY), syscalls=(GETPID,)))]
    problems = listing_disagreements(listed, kernel, "x86_64")
    assert len(problems) == 1 and "white space" in problems[0].message
    gaps = [Gap(section="audit", path=("loaded_rules", "problems"), reason=str(p)) for p in problems]
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=listed, machine="x86_64")
    found = {o.subject: o.status for o in audit_socket_logging.run(snapshot(audit=facts, gaps=gaps), ONLY_BIND)}
    assert found["loaded rules b64"] == Status.NOT_REVIEWED


# is_watch() of auditctl 3.0.9's listing looks at the fields and the syscall mask, not the action:
# a never rule for a path or a directory with a perm field and every syscall prints as a watch,
# always by definition (observed with auditctl 3.0.9 on Linux 6.18):
#
#     added:  -a never,exit -F path=/tmp/x -F perm=w -k k
#     listed: -w /tmp/x -p w -k k
#
# perm=w matches bind (the kernel's write class holds it), so "-a never,exit -F dir=/run -F perm=w"
# before the socket rules drops the records of every AF_UNIX bind under /run; lbaudit read the
# listing as a watch, which takes nothing away, and passed the loaded scope.
PERM_WRITE = 2


def test_a_never_rule_for_a_directory_listed_as_a_watch_is_not_read_as_one():
    listing = "-w /run -p w -k quiet\n"
    listed = parse_auditctl_list(listing, "x86_64").rules
    assert listed[0].kind == "watch" and listed[0].action == "always"  # what the text alone says
    kernel = [parse_rule(encode_rule(("dir", EQUAL, b"/run"), ("perm", EQUAL, PERM_WRITE), ("key", EQUAL, b"quiet"),
                                     all_syscalls=True, action=0))]
    problems = listing_disagreements(listed, kernel, "x86_64")
    assert len(problems) == 1 and "never" in problems[0].message
    # and so the loaded scope, which passed on the socket rules after the "watch", is not reviewed
    everything = parse_auditctl_list(listing + SOCKET_AUDIT_RULES, "x86_64").rules
    gaps = [Gap(section="audit", path=("loaded_rules", "problems"), reason=str(p)) for p in problems]
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=everything, machine="x86_64")
    found = {o.subject: o.status for o in audit_socket_logging.run(snapshot(audit=facts, gaps=gaps), ONLY_BIND)}
    assert found["loaded rules b64"] == Status.NOT_REVIEWED


@pytest.mark.live  # adds a rule for another machine to this host's kernel and collects
def test_live_an_aarch64_rule_does_not_pass_the_loaded_x86_64_scope(tmp_path):
    if os.environ.get("LBAUDIT_TEST_LIVE_AUDIT") != "1":
        pytest.skip("changes the host's audit rules; set LBAUDIT_TEST_LIVE_AUDIT=1 to run it")
    if os.geteuid() != 0 or os.uname().machine != "x86_64":
        pytest.skip("adds a rule as root and reads it on x86_64")
    from auditor.collect import CollectContext
    from auditor.collect.audit import collect_audit

    key = f"lbaudit-test-{uuid.uuid4().hex[:12]}"
    rule = ["always,exit", "-F", "arch=aarch64", "-S", "bind", "-k", key]  # matches no call on x86_64
    added = subprocess.run(["auditctl", "-a", *rule], capture_output=True, text=True)
    if added.returncode != 0:
        pytest.skip(f"auditctl cannot add the rule here: {added.stderr.strip()}")
    try:
        facts, gaps = collect_audit(CollectContext(sections=frozenset({"audit"})))
    finally:
        subprocess.run(["auditctl", "-d", *rule], check=True, capture_output=True)
    mine = [r for r in facts.loaded_rules or [] if key in r.keys]
    assert [r.text.split(" -F key")[0] for r in mine] == ["-a always,exit -F arch=b64 -S bind"]  # as listed
    about_mine = [g for g in gaps if g.path == ("loaded_rules", "problems") and "arch" in g.reason]
    assert about_mine
    snap = snapshot(audit=facts.model_copy(update={"loaded_rules": mine, "x32": X32_OFF}), gaps=about_mine)
    found = {o.subject: o.status for o in audit_socket_logging.run(snap, ONLY_BIND)}
    assert found["loaded rules b64"] != Status.PASS


@pytest.mark.live  # adds a rule whose key holds spaces to this host's kernel and collects
def test_live_a_key_with_spaces_makes_the_listing_a_problem():
    if os.environ.get("LBAUDIT_TEST_LIVE_AUDIT") != "1":
        pytest.skip("changes the host's audit rules; set LBAUDIT_TEST_LIVE_AUDIT=1 to run it")
    if os.geteuid() != 0 or os.uname().machine != "x86_64":
        pytest.skip("adds a rule as root and reads it on x86_64")
    from auditor.collect import CollectContext
    from auditor.collect.audit import collect_audit

    key = f"lbaudit-test-{uuid.uuid4().hex[:12]} -S bind,listen,connect,accept,accept4"
    # uid 4000000 is no process's: the rule records nothing while it is loaded
    rule = ["always,exit", "-F", "arch=b64", "-S", "getpid", "-F", "uid=4000000", "-k", key]
    added = subprocess.run(["auditctl", "-a", *rule], capture_output=True, text=True)
    if added.returncode != 0:
        pytest.skip(f"auditctl cannot add the rule here: {added.stderr.strip()}")
    try:
        facts, gaps = collect_audit(CollectContext(sections=frozenset({"audit"})))
    finally:
        subprocess.run(["auditctl", "-d", *rule], check=True, capture_output=True)
    mine = [r for r in facts.loaded_rules or [] if any(key.split()[0] in k for k in r.keys)]
    assert len(mine) == 1 and "bind" in mine[0].syscalls  # the listing spells the key's syscalls
    assert any(g.path == ("loaded_rules", "problems") and "white space" in g.reason for g in gaps)


@pytest.mark.live  # adds a never rule for a path no file has to this host's kernel and collects
def test_live_a_never_path_rule_listed_as_a_watch_is_a_problem(tmp_path):
    if os.environ.get("LBAUDIT_TEST_LIVE_AUDIT") != "1":
        pytest.skip("changes the host's audit rules; set LBAUDIT_TEST_LIVE_AUDIT=1 to run it")
    if os.geteuid() != 0:
        pytest.skip("adding an audit rule needs root (CAP_AUDIT_CONTROL)")
    from auditor.collect import CollectContext
    from auditor.collect.audit import collect_audit

    key = f"lbaudit-test-{uuid.uuid4().hex[:12]}"
    rule = ["never,exit", "-F", f"path={tmp_path}/nothing-here", "-F", "perm=w", "-k", key]
    added = subprocess.run(["auditctl", "-a", *rule], capture_output=True, text=True)
    if added.returncode != 0:
        pytest.skip(f"auditctl cannot add the rule here: {added.stderr.strip()}")
    try:
        facts, gaps = collect_audit(CollectContext(sections=frozenset({"audit"})))
    finally:
        subprocess.run(["auditctl", "-d", *rule], check=True, capture_output=True)
    mine = [r for r in facts.loaded_rules or [] if key in r.keys]
    assert [(r.kind, r.action) for r in mine] == [("watch", "always")]  # as auditctl -l lists it
    assert any(g.path == ("loaded_rules", "problems") and "never" in g.reason for g in gaps)
