"""Hostile: a TCP connection opened without connect(2), by TCP Fast Open.

The defect: with net.ipv4.tcp_fastopen's client bit (1, the kernel's default in every network
namespace: tcp_sk_init) a program connects a TCP socket with sendto(2), sendmsg(2) or sendmmsg(2)
flagged MSG_FASTOPEN (tcp_sendmsg_locked -> tcp_sendmsg_fastopen -> __inet_stream_connect), and
never calls connect(2).  audit.socket_logging passed every scope on ``-S connect`` rules alone:
the host was ``compliant`` while such connections went unrecorded.  Now, with connect among the
policy's syscalls, the sends must be audited too (unfiltered, or by the bit test of MSG_FASTOPEN
on their flags argument: a3 of sendto and sendmmsg, a2 of sendmsg; socketcall a0=11, 16, 20
unfiltered), unless tcp_fastopen lacks the client bit where the scope is judged: in the running
namespaces (loaded rules) or in the boot's sysctl configuration (persistent rules).  A value that
cannot be read is not_reviewed.  Real sockets in a network namespace the test creates, real
/proc/sys, real rules files and sysctl.d under fixture roots.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.rootdir import collect_root
from auditor.domain.audit_rules import parse_auditctl_list, parse_rules_text
from auditor.model.facts import (
    AuditFacts,
    IoUringBoot,
    IoUringState,
    NamespaceFacts,
    NetNamespace,
    SysctlFacts,
    SysctlSetting,
)
from auditor.model.result import Status
from tests.factories import (
    BOOT_BACKLOG_RULES,
    X32_OFF,
    install_kernel_without_x32,
    install_procps_boot,
    running_auditd,
    snapshot,
    sysctl_facts,
)
from tests.netns_env import named_namespace, sysctl_in

ROOTS = Path(__file__).resolve().parents[1] / "fixtures" / "roots"
REPO = Path(__file__).resolve().parents[2]
RULES_FILE = "/etc/audit/rules.d/30-net.rules"
KEY = "net.ipv4.tcp_fastopen"
URING_OFF = IoUringState(present=True, disabled=2, group=-1, source="/proc/sys/kernel/io_uring_disabled", holders=[])

# The rules a policy of bind, connect, accept and accept4 asked for before: every call through its
# syscall and socketcall, listen with bind, and nothing for the sends.
CONNECT_RULES = """\
-a always,exit -F arch=b64 -S bind,listen,connect,accept,accept4 -k net
-a always,exit -F arch=b32 -S bind,listen,connect,accept4 -k net
-a always,exit -F arch=b32 -S socketcall -k net
"""
# The sends that connect, selected by the bit test of MSG_FASTOPEN on their flags argument.
FASTOPEN_RULES = """\
-a always,exit -F arch=b64 -S sendto,sendmmsg -F a3&0x20000000 -k net
-a always,exit -F arch=b64 -S sendmsg -F a2&0x20000000 -k net
-a always,exit -F arch=b32 -S sendto,sendmmsg -F a3&0x20000000 -k net
-a always,exit -F arch=b32 -S sendmsg -F a2&0x20000000 -k net
"""
B64_SENDS = ["sendto with MSG_FASTOPEN", "sendmsg with MSG_FASTOPEN", "sendmmsg with MSG_FASTOPEN"]

# Inside a namespace: a listener on loopback, and a client that sends with MSG_FASTOPEN to it on a
# socket that never called connect(); prints what the kernel did.
TFO_CLIENT = r"""
import json, socket
MSG_FASTOPEN = 0x20000000
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
client = socket.socket()
try:
    client.sendto(b"tfo", MSG_FASTOPEN, server.getsockname())
except OSError as exc:
    print(json.dumps({"errno": exc.errno}))
else:
    conn, peer = server.accept()
    print(json.dumps({"received": conn.recv(3).decode(), "peer": list(peer),
                      "client": list(client.getsockname())}))
"""

# Inside a namespace: the sysctl section collected as lbaudit collects it (this namespace's
# /proc/sys, the fixture root's files) and audit.socket_logging judged on the fixture's rules.
JUDGE = r"""
import json, os, sys
from pathlib import Path
from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.sysctl import collect_sysctl
from auditor.collect.targets import LocalHost
from auditor.domain.audit_rules import parse_auditctl_list, parse_rules_text
from auditor.model.facts import AuditFacts, Gap, IoUringBoot, IoUringState
from tests.factories import BOOT_BACKLOG_RULES, X32_OFF, running_auditd, snapshot
root, rules_file, uring = Path(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "off"
facts, gaps = collect_sysctl(CollectContext(target=LocalHost(root=root, program_path=(str(root / "none"),))))
text = (root / rules_file.lstrip("/")).read_text()
parsed = parse_rules_text(text, rules_file, "x86_64")  # the boot's reading: an io_uring line is a named doubt
loaded = parse_auditctl_list(text.replace("-k net", "-F key=net"), "x86_64")  # as auditctl -l lists them
assert loaded.problems == [], loaded.problems
# a compliant host's boot rules set -b (the image's 10-backlog.rules)
backlog = parse_rules_text(BOOT_BACKLOG_RULES, "/etc/audit/rules.d/10-backlog.rules", "x86_64").rules
gaps += [Gap(section="audit", field="persistent_rules/problems", reason=str(p)) for p in parsed.problems]
disabled = 2 if uring == "off" else 0
state = IoUringState(present=True, disabled=disabled, group=-1, source="/proc/sys/kernel/io_uring_disabled")
boot = IoUringBoot(value=str(disabled), origin="/etc/sysctl.d/60-io_uring.conf:1")
audit = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=loaded.rules, persistent_rules=backlog + parsed.rules,
                   persistent_source="/etc/audit/rules.d (augenrules)", machine="x86_64", io_uring=state,
                   io_uring_boot=boot, **running_auditd())
snap = snapshot(sysctl=facts, audit=audit, gaps=gaps, netns=None, kernel=os.uname().release)
print(json.dumps({o.subject: [o.status.value, o.message] for o in audit_socket_logging.run(snap, SocketLoggingParams())}))
"""


def image(tmp_path: Path, rules: str, sysctl: str | None = None) -> Path:
    """A root whose rules.d holds ``rules`` (on x86_64: its auditctl's ELF header) and whose
    sysctl.d holds ``sysctl`` in 60-net.conf (None: no file sets anything)."""
    root = tmp_path / "image"
    (root / "etc" / "audit" / "rules.d").mkdir(parents=True)
    (root / "etc" / "audit" / "rules.d" / "30-net.rules").write_text(rules)
    (root / "etc" / "audit" / "rules.d" / "10-backlog.rules").write_text(BOOT_BACKLOG_RULES)  # a compliant host sets -b
    (root / "usr" / "sbin").mkdir(parents=True)
    shutil.copy(ROOTS / "audit-rulesd" / "usr" / "sbin" / "auditctl", root / "usr" / "sbin" / "auditctl")
    install_kernel_without_x32(root)  # offline, x32 is read from the image's kernels
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    if sysctl is not None:
        (root / "etc" / "sysctl.d" / "60-net.conf").write_text(sysctl)
    (root / "proc").mkdir()
    (root / "proc" / "cmdline").write_text("root=/dev/vda1 quiet\n")
    return root


def offline(root: Path, **params) -> dict:
    snap = collect_root(root, frozenset({"audit", "sysctl"}))
    return {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams(**params))}


def in_namespace(name: str, script: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", script, *args], capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def judged(rules: str, tcp_fastopen: str | None = None, namespaces: NamespaceFacts | None = None,
           persistent: dict[str, SysctlSetting] | None = None, gaps=None, auditctl_l: bool = False, **params) -> dict:
    """audit.socket_logging on ``rules`` (loaded as ``auditctl -l`` prints them when ``auditctl_l``)
    and this namespace's running tcp_fastopen (None: not collected)."""
    parsed = (parse_auditctl_list(rules, "x86_64") if auditctl_l else parse_rules_text(rules, RULES_FILE, "x86_64"))
    assert parsed.problems == []
    values = {k: v for k, v in sysctl_facts().runtime.items() if k != KEY}  # type: ignore[union-attr]
    if tcp_fastopen is not None:
        values[KEY] = SysctlSetting(value=tcp_fastopen, origin="/proc/sys/net/ipv4/tcp_fastopen")
    facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=parsed.rules, persistent_rules=parsed.rules,
                       persistent_source="/etc/audit/rules.d (augenrules)", machine="x86_64", io_uring=URING_OFF,
                       io_uring_boot=IoUringBoot(value="2", origin="/etc/sysctl.d/60-io_uring.conf:1"),
                       **running_auditd())
    snap = snapshot(audit=facts, sysctl=SysctlFacts(runtime=values, persistent=persistent), gaps=gaps,
                    netns=namespaces)
    return {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams(**params))}


# ---------------------------------------------------------------- live: a namespace the test creates


def test_fast_open_connects_without_connect_and_connect_rules_alone_fail(tmp_path):
    root = image(tmp_path, CONNECT_RULES)
    with named_namespace() as name:
        sysctl_in(name, KEY, "1")  # the kernel's default, written so that the test does not rest on it
        sent = in_namespace(name, TFO_CLIENT)
        # the kernel opened the connection from the send alone: the server accepted it and read the data
        assert sent["received"] == "tfo" and sent["peer"] == sent["client"]
        found = in_namespace(name, JUDGE, str(root), RULES_FILE)
    status, message = found["loaded rules b64"]
    assert status == "fail"
    assert message == (
        "loaded rules b64: connect not fully audited: TCP Fast Open opens TCP connections without connect(2): "
        "net.ipv4.tcp_fastopen = 1 in this network namespace (/proc/sys/net/ipv4/tcp_fastopen), whose client bit "
        "(1) lets a program connect with sendto, sendmsg or sendmmsg and MSG_FASTOPEN, and those sends are not all "
        "audited (no rule: sendto with MSG_FASTOPEN, sendmsg with MSG_FASTOPEN, sendmmsg with MSG_FASTOPEN): audit "
        "them (-a always,exit -F arch=b64 -S sendto,sendmmsg -F a3&0x20000000; -a always,exit -F arch=b64 -S "
        "sendmsg -F a2&0x20000000) or set net.ipv4.tcp_fastopen to 0 or 2 (server only)")
    b32_status, b32_message = found["loaded rules b32"]
    assert b32_status == "fail"
    # through socketcall the flags are behind a pointer: the unfiltered socketcall rule covers them
    assert "no rule: sendto with MSG_FASTOPEN, sendmsg with MSG_FASTOPEN, sendmmsg with MSG_FASTOPEN)" in b32_message
    # the boot's configuration does not reach a namespace made after boot: not vouched for
    persistent_status, persistent_message = found["persistent rules b64"]
    assert persistent_status == "not_reviewed"
    assert "net.ipv4.tcp_fastopen as the boot's sysctl configuration sets it: lbaudit runs in a network namespace " \
           "other than the initial one" in persistent_message


def test_server_only_fast_open_refuses_the_send_and_passes_without_the_send_rules(tmp_path):
    root = image(tmp_path, CONNECT_RULES)
    with named_namespace() as name:
        sysctl_in(name, KEY, "2")
        assert in_namespace(name, TFO_CLIENT) == {"errno": 95}  # EOPNOTSUPP: no client bit
        found = in_namespace(name, JUDGE, str(root), RULES_FILE)
    assert found["loaded rules b64"] == [
        "pass", "loaded rules b64: bind, connect, accept, accept4, listen (TCP Fast Open cannot connect: no client "
                "bit in net.ipv4.tcp_fastopen) audited by always,exit rules without narrowing filters"]
    assert found["loaded rules b32"][0] == "pass"


def test_the_send_rules_with_the_bit_test_pass_where_fast_open_is_on(tmp_path):
    root = image(tmp_path, CONNECT_RULES + FASTOPEN_RULES)
    with named_namespace() as name:
        sysctl_in(name, KEY, "3")
        found = in_namespace(name, JUDGE, str(root), RULES_FILE)
    assert found["loaded rules b64"] == [
        "pass", "loaded rules b64: bind, connect, accept, accept4, listen (connect's TCP Fast Open sends too) "
                "audited by always,exit rules without narrowing filters"]
    assert found["loaded rules b32"][0] == "pass"
    assert found["persistent rules b64"][0] == "pass"  # covered by the rules: the boot's value does not matter


# ---------------------------------------------------------------- live: io_uring's SEND, which no rule records

PROGRAMS = Path(__file__).resolve().parents[1] / "fixtures" / "programs"
URING_RULE = "-a always,io_uring -S bind,listen,connect,accept,sendmsg -k net\n"
# Inside a namespace: a listener on loopback, and the io_uring client (argv[1]) that sends to it
# with IORING_OP_SEND, MSG_FASTOPEN and a destination address; prints the send's result and
# whether the listener was connected to.
URING_CLIENT = r"""
import json, socket, subprocess, sys
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
server.settimeout(5)
result = subprocess.run([sys.argv[1], str(server.getsockname()[1])], capture_output=True, text=True, timeout=30)
try:
    conn, peer = server.accept()
    connected = True
except OSError:
    connected = False
print(json.dumps({"result": result.stdout.strip(), "connected": connected}))
"""


def uring_client(tmp_path: Path) -> str:
    """The io_uring client built from tests/fixtures/programs (a skip saying why where it cannot be)."""
    if tuple(int(part) for part in os.uname().release.split(".")[:2]) < (6, 1):
        pytest.skip("this kernel is older than 6.1: io_uring's SEND takes no destination address")
    if Path("/proc/sys/kernel/io_uring_disabled").read_text().strip() == "2":
        pytest.skip("io_uring is disabled on this kernel (kernel.io_uring_disabled = 2)")
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed (scripts/bootstrap --test installs it)")
    program = tmp_path / "uring_fastopen_send"
    built = subprocess.run([gcc, "-O1", "-Wall", "-o", str(program), str(PROGRAMS / "uring_fastopen_send.c")],
                           capture_output=True, text=True, timeout=120)
    if built.returncode != 0:
        pytest.skip(f"the io_uring client does not build here: {built.stderr.strip()[:300]}")
    return str(program)


@pytest.mark.live  # this kernel's release and kernel.io_uring_disabled decide whether the client can run
@pytest.mark.slow  # builds a program and starts five interpreters
def test_io_uring_send_connects_unaudited_so_only_the_client_bit_or_io_uring_closed_passes(tmp_path):
    client = uring_client(tmp_path)
    root = image(tmp_path, CONNECT_RULES + FASTOPEN_RULES + URING_RULE)
    with named_namespace() as name:
        sysctl_in(name, KEY, "1")
        sent = in_namespace(name, URING_CLIENT, client)
        # connected by the io_uring send alone (EINPROGRESS: io_uring does not wait for the handshake)
        assert sent == {"result": "-115", "connected": True}
        found = in_namespace(name, JUDGE, str(root), RULES_FILE, "open")
        sysctl_in(name, KEY, "2")
        assert in_namespace(name, URING_CLIENT, client) == {"result": "-95", "connected": False}  # EOPNOTSUPP
        server_only = in_namespace(name, JUDGE, str(root), RULES_FILE, "open")
    # every syscall way is audited, and every io_uring rule auditctl can write is loaded: still not enough
    assert found["loaded rules b64"][0] == "pass"
    status, message = found["loaded rules io_uring"]
    assert status == "fail"
    assert message == (
        "loaded rules io_uring: TCP Fast Open connects through io_uring without connect(2): net.ipv4.tcp_fastopen = 1 "
        "in this network namespace (/proc/sys/net/ipv4/tcp_fastopen), whose client bit (1) lets a program connect with "
        "io_uring's SEND or SEND_ZC operation flagged MSG_FASTOPEN and given a destination address (Linux 6.0 and "
        "later), which the kernel never audits (audit_skip): no rule records those connects; set "
        "net.ipv4.tcp_fastopen to 0 or 2 (server only), or kernel.io_uring_disabled to 2")
    assert server_only["loaded rules io_uring"] == [
        "pass", "loaded rules io_uring: the io_uring operations accept, connect, bind, listen are audited"]


def test_io_uring_sendmsg_rule_records_fast_open_on_5_16_to_5_19():
    from auditor.model.facts import IoUringState as State

    def uring(rules: str, kernel: str) -> object:
        parsed = parse_auditctl_list(rules, "x86_64")
        assert parsed.problems == []
        facts = AuditFacts(x32=X32_OFF, enabled=1, rate_limit=0, loaded_rules=parsed.rules, persistent_rules=parsed.rules,
                           persistent_source="/etc/audit/rules.d (augenrules)", machine="x86_64",
                           io_uring=State(present=True, source="/proc/kallsyms"), io_uring_boot=IoUringBoot(),
                           **running_auditd())
        snap = snapshot(audit=facts, kernel=kernel)
        return {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}["loaded rules io_uring"]

    listed = CONNECT_RULES.replace("-k net", "-F key=net")
    without = uring(listed + "-a always,io_uring -S accept,connect -F key=net\n", "5.19.0")
    assert without.status == Status.FAIL
    assert "io_uring's SENDMSG operation flagged MSG_FASTOPEN, which is not audited on this kernel (5.19.0) (no " \
           "io_uring rule: sendmsg): audit it (-a always,io_uring -S sendmsg)" in without.message
    assert uring(listed + "-a always,io_uring -S accept,connect,sendmsg -F key=net\n", "5.19.0").status == Status.PASS
    # from 6.0 the same rules do not make it pass: SEND_ZC and SEND are never audited
    assert uring(listed + "-a always,io_uring -S accept,connect,sendmsg -F key=net\n", "6.0.2").status == Status.FAIL


# ---------------------------------------------------------------- the boot's value (fixture roots)


def test_image_without_a_tcp_fastopen_setting_boots_with_the_client_bit(tmp_path):
    found = offline(image(tmp_path, CONNECT_RULES, "net.ipv4.tcp_tw_reuse = 0\n"))
    b64 = found["persistent rules b64"]
    assert b64.status == Status.FAIL
    assert b64.message.startswith(
        "persistent rules b64: connect not fully audited: TCP Fast Open opens TCP connections without connect(2): "
        "no file of the boot's sysctl configuration sets net.ipv4.tcp_fastopen (the kernel's default, 1, applies), "
        "whose client bit (1) lets a program connect")
    assert b64.observed["fastopen"]["status"] == "not covered"
    assert "/facts/sysctl/persistent" in b64.evidence


@pytest.mark.parametrize(("value", "status"), [
    ("0", Status.PASS), ("2", Status.PASS), ("0x2", Status.PASS),
    ("1", Status.FAIL), ("3", Status.FAIL), ("-1", Status.FAIL),
    ("2 junk", Status.PASS),  # the kernel reads the first number and stops (proc_dointvec)
    ("two", Status.FAIL),  # refused: the default, 1, stays
    ("4294967298", Status.FAIL),  # not an int: refused, the default stays
])
def test_image_judged_on_the_value_its_boot_writes(tmp_path, value, status):
    b64 = offline(image(tmp_path, CONNECT_RULES, f"{KEY} = {value}\n"))["persistent rules b64"]
    assert b64.status == status, b64.message
    if status == Status.PASS:
        assert b64.observed["fastopen"]["status"] == "client disabled"
        assert b64.observed["fastopen"]["tcp_fastopen"] == [f"/etc/sysctl.d/60-net.conf:1 sets {KEY} = {value}"]


def test_image_whose_boot_entry_may_set_tcp_fastopen_is_not_reviewed(tmp_path):
    root = image(tmp_path, CONNECT_RULES, f"{KEY} = 0\n")
    (root / "etc" / "sysctl.d" / "60-net.conf").unlink()
    (root / "etc" / "default").mkdir()
    (root / "etc" / "default" / "grub").write_text('GRUB_CMDLINE_LINUX="quiet sysctl.net.ipv4.tcp_fastopen=0"\n')
    b64 = offline(root)["persistent rules b64"]
    assert b64.status == Status.NOT_REVIEWED
    assert b64.reason.startswith(
        "persistent rules b64: TCP Fast Open's sends are not all audited (no rule: sendto with MSG_FASTOPEN, sendmsg "
        "with MSG_FASTOPEN, sendmmsg with MSG_FASTOPEN), and whether net.ipv4.tcp_fastopen lets programs connect with "
        "them (its client bit, 1) is not known: net.ipv4.tcp_fastopen as the boot's sysctl configuration sets it: "
        "the image's kernel command line may set net.ipv4.tcp_fastopen (/etc/default/grub:1")


def test_image_whose_rules_audit_the_sends_passes_whatever_the_boot_sets(tmp_path):
    found = offline(image(tmp_path, CONNECT_RULES + FASTOPEN_RULES))
    assert found["persistent rules b64"].status == Status.PASS
    assert found["persistent rules b32"].status == Status.PASS
    assert found["persistent rules b64"].observed["fastopen"] == {"via": B64_SENDS, "status": "covered"}


# ---------------------------------------------------------------- how the send rules are judged


def test_auditctl_l_output_of_the_bit_test_covers_the_sends():
    # auditctl -l prints an argument filter in hex, with the operator as written (& or &=)
    listed = ("-a always,exit -F arch=b64 -S bind,listen,connect,accept,accept4 -F key=net\n"
              "-a always,exit -F arch=b64 -S sendto,sendmmsg -F a3&0x20000000 -F key=net\n"
              "-a always,exit -F arch=b64 -S sendmsg -F a2&=0x20000000 -F key=net\n")
    b64 = judged(listed, "1", auditctl_l=True, arches=["b64"])["loaded rules b64"]
    assert b64.status == Status.PASS and b64.observed["fastopen"]["status"] == "covered"


@pytest.mark.parametrize("sends", [
    "-a always,exit -F arch=b64 -S sendto,sendmsg,sendmmsg -F a3&0x20000000\n",  # sendmsg's flags are a2
    "-a always,exit -F arch=b64 -S sendto,sendmmsg -F a2&0x20000000\n-a always,exit -F arch=b64 -S sendmsg "
    "-F a2&0x20000000\n",  # sendto's and sendmmsg's are a3
    "-a always,exit -F arch=b64 -S sendto,sendmmsg -F a3&=0x20000040\n-a always,exit -F arch=b64 -S sendmsg "
    "-F a2&0x20000000\n",  # &= with MSG_DONTWAIT too: a blocking send is not selected
    "-a always,exit -F arch=b64 -S sendto,sendmmsg -F a3&0x40\n-a always,exit -F arch=b64 -S sendmsg "
    "-F a2&0x20000000\n",  # another flag
])
def test_a_filter_that_misses_some_fast_open_sends_does_not_cover_them(sends):
    b64 = judged(CONNECT_RULES + sends, "1", arches=["b64"])["loaded rules b64"]
    assert b64.status == Status.FAIL
    assert b64.observed["fastopen"]["status"] == "not covered"
    assert all(entry["status"] == "narrowed" for entry in b64.observed["fastopen"]["not_covered"])


def test_unfiltered_send_rules_cover_and_a_never_rule_of_the_bit_shadows():
    unfiltered = "-a always,exit -F arch=b64 -S sendto,sendmsg,sendmmsg\n"
    assert judged(CONNECT_RULES + unfiltered, "1", arches=["b64"])["loaded rules b64"].status == Status.PASS
    never = "-a never,exit -F arch=b64 -S sendto -F a3&0x20000000\n"
    b64 = judged(never + CONNECT_RULES + FASTOPEN_RULES, "1", arches=["b64"])["loaded rules b64"]
    assert b64.status == Status.FAIL
    assert b64.observed["fastopen"]["not_covered"] == [{
        "via": "sendto with MSG_FASTOPEN", "status": "shadowed",
        "rules": [{"origin": f"{RULES_FILE}:1", "rule": "-a never,exit -F arch=b64 -S sendto -F a3&0x20000000",
                   "evidence": "/facts/audit/loaded_rules/0"}]}]


def test_b32_sends_through_socketcall_need_their_call_numbers():
    narrow = FASTOPEN_RULES + "".join(f"-a always,exit -F arch=b32 -S socketcall -F a0={n}\n" for n in (2, 3, 4, 5, 18))
    rules = CONNECT_RULES.replace("-a always,exit -F arch=b32 -S socketcall -k net\n", "") + narrow
    b32 = judged(rules, "1", arches=["b32"])["loaded rules b32"]
    assert b32.status == Status.FAIL
    assert [e["via"] for e in b32.observed["fastopen"]["not_covered"]] == [
        "socketcall a0=11 (sendto with MSG_FASTOPEN)", "socketcall a0=16 (sendmsg with MSG_FASTOPEN)",
        "socketcall a0=20 (sendmmsg with MSG_FASTOPEN)"]
    numbered = rules + "".join(f"-a always,exit -F arch=b32 -S socketcall -F a0={n}\n" for n in (11, 16, 20))
    assert judged(numbered, "1", arches=["b32"])["loaded rules b32"].status == Status.PASS


# ---------------------------------------------------------------- running values, namespaces, opting out


def test_unreadable_running_value_is_not_reviewed_never_passed():
    from auditor.model.facts import Gap

    gap = Gap(section="sysctl", path=("runtime", KEY), reason="/proc/sys/net/ipv4/tcp_fastopen: permission denied")
    b64 = judged(CONNECT_RULES, None, gaps=[gap], arches=["b64"])["loaded rules b64"]
    assert b64.status == Status.NOT_REVIEWED
    assert b64.reason == (
        "loaded rules b64: TCP Fast Open's sends are not all audited (no rule: sendto with MSG_FASTOPEN, sendmsg with "
        "MSG_FASTOPEN, sendmmsg with MSG_FASTOPEN), and whether net.ipv4.tcp_fastopen lets programs connect with them "
        "(its client bit, 1) is not known: net.ipv4.tcp_fastopen of this network namespace: "
        "/proc/sys/net/ipv4/tcp_fastopen: permission denied")
    # a snapshot written before lbaudit read the value says so
    old = judged(CONNECT_RULES, None, arches=["b64"])["loaded rules b64"]
    assert old.status == Status.NOT_REVIEWED and old.reason.endswith("not recorded in this snapshot")


def test_another_namespace_with_the_client_bit_fails_where_this_one_has_none():
    other = NetNamespace(inode=4026532999, device=4, names=["app"], entered=True,
                         sysctl={KEY: SysctlSetting(value="1", origin="/proc/sys/net/ipv4/tcp_fastopen")})
    this = NetNamespace(inode=4026531840, device=4, current=True)
    b64 = judged(CONNECT_RULES, "0", namespaces=NamespaceFacts(namespaces=[this, other]),
                 arches=["b64"])["loaded rules b64"]
    assert b64.status == Status.FAIL
    assert b64.observed["fastopen"]["tcp_fastopen"] == [
        "net.ipv4.tcp_fastopen = 0 in this network namespace (/proc/sys/net/ipv4/tcp_fastopen)",
        "net.ipv4.tcp_fastopen = 1 in netns app (/proc/sys/net/ipv4/tcp_fastopen)"]
    assert "/facts/netns/namespaces/1/sysctl/net.ipv4.tcp_fastopen" in b64.evidence


def test_not_judged_without_connect_or_when_the_policy_opts_out():
    without = judged(CONNECT_RULES, "1", require_fastopen=False, arches=["b64"])["loaded rules b64"]
    assert without.status == Status.PASS and "fastopen" not in without.observed
    bind_only = judged(CONNECT_RULES, "1", syscalls=["bind"], arches=["b64"])["loaded rules b64"]
    assert bind_only.status == Status.PASS and "fastopen" not in bind_only.observed
