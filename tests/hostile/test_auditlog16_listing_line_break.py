"""Hostile corpus: a loaded rule whose key holds a line break prints phantom rules in ``auditctl -l``.

auditctl takes any byte but its key separator in ``-k`` (and in exe, path and dir values), the kernel
keeps the string as it is, and ``auditctl -l`` prints it with printf: a rule for getpid whose key is
``"k\\n-a always,exit -F arch=b64 -S bind,...``" lists as two lines, the second a rule the kernel
does not hold.  lbaudit read the listing a rule a line, so a host recording no socket call passed
"loaded rules b64" on the phantom.  The text cannot tell a phantom from a rule, so the collector asks
the kernel for the same list over netlink and reports each string holding a line break as a problem
of the listing: the loaded scope is not reviewed, naming the rule and the field.

The captured listing below is what auditctl 3.0.9 printed on Linux 6.18 for such a rule; the live
test (root, opt-in with LBAUDIT_TEST_LIVE_AUDIT=1, as the other tests that change the kernel's rule
list) adds one to this host's kernel, with a uid filter no process has so that it records nothing,
and removes it afterwards by its key.
"""

from __future__ import annotations

import os
import uuid

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.audit_netlink import line_broken_strings, parse_rule
from auditor.collect.live import collect_snapshot
from auditor.collect.programs import find_executable, run_command
from auditor.domain.audit_rules import parse_auditctl_list
from auditor.model.result import Status
from tests.audit_kernel import ARCH_X86_64, EQUAL, encode_rule
from tests.privileges import require_root

LIVE_ENV = "LBAUDIT_TEST_LIVE_AUDIT"
PHANTOM = "-a always,exit -F arch=b64 -S bind,listen,connect,accept,accept4,sendto,sendmsg,sendmmsg -F key=k"
# auditctl -l of "-a always,exit -F arch=b64 -S getpid -F uid=4000000 -k 'k<newline><PHANTOM>'"
CAPTURED_LISTING = f"-a always,exit -F arch=b64 -S getpid -F uid=4000000 -F key=k\n{PHANTOM}\n"
GETPID = 39


def test_the_listing_alone_shows_the_phantom_as_a_rule():
    """Why the text cannot be trusted: read a rule a line, it holds a bind rule the kernel has not."""
    parsed = parse_auditctl_list(CAPTURED_LISTING, "x86_64")
    assert parsed.problems == []
    assert [r.syscalls for r in parsed.rules] == [
        ["getpid"], ["accept", "accept4", "bind", "connect", "listen", "sendmmsg", "sendmsg", "sendto"]]


def test_the_kernels_rule_names_the_line_break():
    key = f"k\n{PHANTOM}".encode()
    rule = parse_rule(encode_rule(("arch", EQUAL, ARCH_X86_64), ("uid", EQUAL, 4000000), ("key", EQUAL, key),
                                  syscalls=(GETPID,)))
    plain = parse_rule(encode_rule(("arch", EQUAL, ARCH_X86_64), ("key", EQUAL, b"net"), syscalls=(GETPID,)))
    assert line_broken_strings([plain, rule]) == [(2, "key", key)]


def _auditctl(*args: str):
    return run_command(["auditctl", *args], 10)


@pytest.mark.live
def test_phantom_rule_in_the_live_listing_is_not_reviewed():
    require_root()
    if os.environ.get(LIVE_ENV) != "1":
        pytest.skip(f"changes this host's kernel audit rules; set {LIVE_ENV}=1 to run")
    if find_executable("auditctl") is None:
        pytest.skip("auditctl is not installed: the listing under test is auditctl's")
    if os.uname().machine != "x86_64":
        pytest.skip("the rule is written with x86_64's syscall names")
    if "enabled 2" in _auditctl("-s").stdout:
        pytest.skip("the kernel audit configuration is locked (enabled 2): no rule can be added until reboot")
    key = f"lbaudit-test-{uuid.uuid4().hex[:12]}"
    phantom = PHANTOM.replace("key=k", f"key={key}")
    try:
        # uid 4000000 runs no process here: the rule records nothing even with auditing on
        added = _auditctl("-a", "always,exit", "-F", "arch=b64", "-S", "getpid", "-F", "uid=4000000",
                          "-k", f"{key}\n{phantom}")
        assert added.ok, added.reason
        listed = _auditctl("-l").stdout
        snap = collect_snapshot(CollectContext(sections=frozenset({"audit"})))
    finally:
        removed = _auditctl("-D", "-k", key)
    assert removed.ok, removed.reason
    assert key not in _auditctl("-l").stdout
    assert f"\n{phantom}\n" in listed  # auditctl printed the phantom as a line of its own
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}["loaded rules b64"]
    assert found.status == Status.NOT_REVIEWED
    assert "holds a line break in its key" in found.message
    assert "the lines after the break read as rules the kernel does not hold" in found.message
