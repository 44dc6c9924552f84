"""Hostile: a listener bound without bind(2).

The defect: listen(2) on a TCP socket that was never bound binds it (inet_listen ->
__inet_listen_sk -> inet_csk_listen_start, which calls get_port(sk, 0): the kernel picks an
ephemeral port) and it listens on the wildcard address.  No bind(2) is made, so a policy asking
for bind to be audited passed on ``-S bind,connect,accept,accept4`` rules while a wildcard
listener appeared with no bind record.  Now, with bind among the policy's syscalls, listen is
judged too (the syscall, socketcall a0=4, the io_uring operation), unless the policy sets
``require_listen_autobind: false``.  Real sockets, real rules files under fixture roots.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.rootdir import collect_root
from auditor.domain.audit_rules import parse_auditctl_list, parse_rules_text
from auditor.model.facts import AuditFacts, IoUringBoot, IoUringState
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, X32_OFF, install_kernel_without_x32, running_auditd, snapshot

ROOTS = Path(__file__).resolve().parents[1] / "fixtures" / "roots"
RULES_FILE = "/etc/audit/rules.d/30-net.rules"
# What the remediation asked for before: bind, connect, accept, accept4 in every way, and nothing
# for listen (socketcall by call number, so listen's a0=4 is not among them).
BIND_RULES = """\
-a always,exit -F arch=b64 -S bind,connect,accept,accept4 -k net
-a always,exit -F arch=b32 -S bind,connect,accept4 -k net
-a always,exit -F arch=b32 -S socketcall -F a0=2 -k net
-a always,exit -F arch=b32 -S socketcall -F a0=3 -k net
-a always,exit -F arch=b32 -S socketcall -F a0=5 -k net
-a always,exit -F arch=b32 -S socketcall -F a0=18 -k net
"""
LISTEN_RULES = """\
-a always,exit -F arch=b64 -S listen -k net
-a always,exit -F arch=b32 -S listen -k net
-a always,exit -F arch=b32 -S socketcall -F a0=4 -k net
"""
BIND_ONLY = {"syscalls": ["bind"], "require_io_uring": False}


def image(tmp_path: Path, rules: str) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "audit" / "rules.d").mkdir(parents=True)
    (root / "etc" / "audit" / "rules.d" / "30-net.rules").write_text(rules)
    (root / "etc" / "audit" / "rules.d" / "10-backlog.rules").write_text(BOOT_BACKLOG_RULES)  # a compliant host sets -b
    (root / "usr" / "sbin").mkdir(parents=True)
    shutil.copy(ROOTS / "audit-rulesd" / "usr" / "sbin" / "auditctl", root / "usr" / "sbin" / "auditctl")
    install_kernel_without_x32(root)  # offline, x32 is read from the image's kernels
    return root


def offline(root: Path, **params) -> dict:
    snap = collect_root(root, frozenset({"audit"}))
    return {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams(**params))}


def test_listen_binds_without_bind_and_bind_rules_alone_fail_the_image(tmp_path):
    # on this kernel: no bind(2), yet a wildcard listener on a port the kernel picked
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.listen(1)
        address, port = server.getsockname()
        assert address == "0.0.0.0" and port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            conn, _ = server.accept()
            conn.close()
    found = offline(image(tmp_path, BIND_RULES), **BIND_ONLY)
    b64 = found["persistent rules b64"]
    assert b64.status == Status.FAIL
    assert b64.message == (
        "persistent rules b64: 1 of 2 syscalls not fully audited: no rule: listen; listen is judged with bind: "
        "listen(2) on an unbound TCP socket binds it to an ephemeral port on the wildcard address without bind(2) "
        "(require_listen_autobind)")
    assert b64.expected["syscalls"] == ["bind", "listen"]
    b32 = found["persistent rules b32"]
    assert b32.status == Status.FAIL
    assert b32.message.startswith("persistent rules b32: 1 of 2 syscalls not fully audited: no rule: listen, "
                                  "socketcall a0=4 (listen); listen is judged with bind")


def test_listen_rules_in_every_way_pass(tmp_path):
    found = offline(image(tmp_path, BIND_RULES + LISTEN_RULES), **BIND_ONLY)
    assert found["persistent rules b64"].status == Status.PASS
    assert found["persistent rules b64"].message == (
        "persistent rules b64: bind, listen audited by always,exit rules without narrowing filters")
    assert found["persistent rules b32"].observed["covered"]["listen"]["via"] == "listen and socketcall a0=4 (listen)"
    # socketcall's listen alone leaves the direct i386 listen (363) unrecorded
    partial = offline(image(tmp_path / "partial", BIND_RULES + LISTEN_RULES.splitlines()[2] + "\n"), **BIND_ONLY)
    assert partial["persistent rules b32"].status == Status.FAIL
    assert partial["persistent rules b32"].observed["partly_covered"] == {"listen": ["socketcall a0=4 (listen)"]}


def test_io_uring_listen_is_judged_with_bind():
    rules = parse_rules_text(BIND_RULES + LISTEN_RULES, RULES_FILE, "x86_64")
    # as auditctl -l prints the loaded rules, an io_uring rule for bind among them
    loaded = parse_auditctl_list((BIND_RULES + LISTEN_RULES).replace("-k net", "-F key=net")
                                 + "-a always,io_uring -S bind -F key=net\n", "x86_64")
    assert rules.problems == [] and loaded.problems == []
    facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=loaded.rules, persistent_rules=rules.rules,
                       persistent_source="/etc/audit/rules.d (augenrules)", machine="x86_64",
                       io_uring=IoUringState(present=True, disabled=0, group=-1, source="/proc/sys/kernel/io_uring_disabled"),
                       io_uring_boot=IoUringBoot(), **running_auditd())
    snap = snapshot(audit=facts)
    snap = snap.model_copy(update={"provenance": snap.provenance.model_copy(update={"kernel": "6.12.0"})})
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams(syscalls=["bind"]))}
    uring = found["loaded rules io_uring"]
    assert uring.status == Status.FAIL
    assert uring.message.startswith("loaded rules io_uring: 1 of 2 io_uring operations not audited: no io_uring "
                                    "rule: listen; ")


@pytest.mark.parametrize(("params", "judged"), [
    ({"require_listen_autobind": False}, ["bind"]),
    ({"syscalls": ["bind", "listen"]}, ["bind", "listen"]),  # asked for by name: judged once
    ({"syscalls": ["connect"]}, ["connect"]),  # no bind, no autobind to see
])
def test_listen_is_added_only_with_bind_and_not_when_opted_out(tmp_path, params, judged):
    settings = {**BIND_ONLY, "require_fastopen": False, **params}
    b64 = offline(image(tmp_path, BIND_RULES + LISTEN_RULES), **settings)["persistent rules b64"]
    assert b64.status == Status.PASS and b64.expected["syscalls"] == judged
