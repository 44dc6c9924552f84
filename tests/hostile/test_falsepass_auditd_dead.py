"""Hostile corpus, false passes: "audit records written" passed with the audit daemon killed.

The kernel hands its records to the daemon registered with it (``auditctl -s`` pid).  A daemon that
is SIGKILLed does not unregister: the kernel keeps reporting its pid until it next fails to send it a
record (kauditd then resets it), which on a quiet host or with auditing off may be never.  lbaudit
read "pid 612" as "auditd (pid 612) is registered with the kernel and writes the records": a pass
with no daemon alive.  Now the collector looks the pid up in its own pid namespace (the one the
kernel numbers it in): gone or a zombie fails; another program at that pid (a reused pid, a daemon
lbaudit does not know), or a /proc that is not its namespace's, is not_reviewed.

``test_a_killed_registered_daemon_fails_live`` proves it on the running kernel (root, and
``LBAUDIT_TEST_LIVE_AUDIT=1``: it registers a process of its own as the audit daemon, kills it, and
unregisters it at the end).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.audit import daemon_process
from auditor.model.facts import AuditDaemonProcess, AuditFacts, Gap
from auditor.model.result import Status
from tests.audit_kernel import auditctl_status_of_this_kernel
from tests.factories import X32_OFF, running_auditd, snapshot
from tests.privileges import require_root

SUBJECT = "audit records written"
LIVE_ENV = "LBAUDIT_TEST_LIVE_AUDIT"


def judged(snap) -> tuple[Status, str]:
    [outcome] = [o for o in audit_socket_logging.run(snap, SocketLoggingParams()) if o.subject == SUBJECT]
    return outcome.status, outcome.message


def host(pid: int, process: AuditDaemonProcess | None, gaps: list[Gap] | None = None):
    fields = {**running_auditd(pid), "auditd_process": process}
    return snapshot(audit=AuditFacts(x32=X32_OFF, enabled=1, runtime_source="auditctl", loaded_rules=[], persistent_rules=[],
                                     **fields), gaps=gaps)


def test_a_pid_whose_process_is_gone_fails():
    status, message = judged(host(612, AuditDaemonProcess(state="gone")))
    assert status == Status.FAIL
    assert message == ("audit records are not written: the kernel names pid 612 as its audit daemon, but no process "
                       "612 runs: the daemon died (a killed auditd stays registered until the kernel next fails to "
                       "send it a record), so no daemon takes the records")
    zombie = judged(host(612, AuditDaemonProcess(state="exited", name="auditd", exe=None)))
    assert zombie[0] == Status.FAIL and "process 612 (auditd) has exited (a zombie not yet reaped)" in zombie[1]


def test_another_program_at_the_pid_is_not_reviewed():
    status, message = judged(host(612, AuditDaemonProcess(state="running", name="bash", exe="/usr/bin/bash")))
    assert status == Status.NOT_REVIEWED
    assert ("the kernel sends its records to pid 612, bash (/usr/bin/bash), which is not an audit daemon lbaudit "
            "knows (auditd, go-audit, auditbeat, osqueryd)") in message


def test_a_process_that_could_not_be_looked_up_is_not_reviewed_never_passed():
    unseen = Gap(section="audit", path=("auditd_process",), reason="/proc is not the /proc of lbaudit's pid namespace")
    status, message = judged(host(612, None, gaps=[unseen]))
    assert status == Status.NOT_REVIEWED
    assert message.startswith("not reviewed: whether the audit daemon the kernel names (pid 612) still runs is unknown "
                              "(/proc is not the /proc of lbaudit's pid namespace)")
    old = host(612, None).model_copy(update={"schema_version": "1.2"})
    assert judged(old)[0] == Status.NOT_REVIEWED and "a snapshot of format 1.2 does not record it" in judged(old)[1]


def test_a_running_audit_daemon_passes_by_its_executable():
    status, message = judged(host(612, AuditDaemonProcess(state="running", name="auditd", exe="/usr/sbin/auditd")))
    assert status == Status.PASS and message.startswith("auditd (pid 612) is registered with the kernel and runs")
    # a process that names itself auditd (prctl) but runs another program is not taken for it
    renamed = AuditDaemonProcess(state="running", name="auditd", exe="/usr/bin/python3.11")
    assert judged(host(612, renamed))[0] == Status.NOT_REVIEWED


# ---------------------------------------------------------------- real /proc reads

SLEEPER = "import sys; sys.stdin.read()"


@pytest.mark.live  # reads this host's /proc, as the collector does
def test_the_lookup_reads_this_pid_namespace(tmp_path: Path):
    child = subprocess.Popen([sys.executable, "-c", SLEEPER], stdin=subprocess.PIPE)
    try:
        found, gaps = daemon_process("/proc", child.pid)
        assert gaps == [] and found is not None
        comm = Path(f"/proc/{child.pid}/comm").read_text().strip()
        assert (found.state, found.name, found.exe) == ("running", comm, os.path.realpath(sys.executable))
        child.send_signal(signal.SIGKILL)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped: a zombie
        assert daemon_process("/proc", child.pid)[0] == AuditDaemonProcess(state="exited", name=found.name, exe=None)
    finally:
        child.kill()
        child.wait()
    assert daemon_process("/proc", child.pid) == (AuditDaemonProcess(state="gone"), [])
    # a /proc that is not this pid namespace's (a copy, or the host's seen from a container) says so
    fake = tmp_path / "proc"
    fake.mkdir()
    (fake / "self").symlink_to("1")
    found, gaps = daemon_process(str(fake), 612)
    assert found is None and [g.path for g in gaps] == [("auditd_process",)]
    assert f"is not the /proc of lbaudit's pid namespace ({fake}/self is 1, lbaudit is pid {os.getpid()})" in gaps[0].reason


# ---------------------------------------------------------------- the running kernel

# Registers this process as the kernel's audit daemon (AUDIT_SET, AUDIT_STATUS_PID), as auditd does.
REGISTER = """
import os, socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9); s.bind((0, 0))
status = struct.pack("=10I", 4, 0, 0, int(sys.argv[1]) if len(sys.argv) > 1 else os.getpid(), 0, 0, 0, 0, 0, 0)
s.send(struct.pack("=IHHII", 16 + len(status), 1001, 0x1 | 0x4, 1, 0) + status)
reply = s.recv(8192)
print(struct.unpack("=i", reply[16:20])[0], flush=True)
if len(sys.argv) == 1:
    sys.stdin.read()
"""


def _registered_pid() -> int | None:
    from auditor.collect import audit_netlink

    return audit_netlink.get_status(5.0).get("pid")


def _collected_audit():
    from auditor.collect import CollectContext
    from auditor.collect.live import collect_snapshot

    return collect_snapshot(CollectContext(sections=frozenset({"audit"})))


@pytest.mark.live
@pytest.mark.slow
def test_a_killed_registered_daemon_fails_live(tmp_path: Path):
    require_root()
    if os.environ.get(LIVE_ENV) != "1":
        pytest.skip(f"registers a process as the kernel's audit daemon: set {LIVE_ENV}=1 to run it")
    auditctl_status_of_this_kernel()  # skips where the kernel has no audit
    if _registered_pid():
        pytest.skip("an audit daemon is registered with this kernel: not replacing it")
    # the process's executable named auditd (a copy of this interpreter), as the daemon would be
    daemon = tmp_path / "auditd"
    shutil.copy2(os.path.realpath(sys.executable), daemon)
    child = subprocess.Popen([str(daemon), "-c", REGISTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONHOME": sys.base_prefix})
    try:
        assert child.stdout is not None
        answer = child.stdout.readline().strip()
        if answer != "0":
            pytest.skip(f"the kernel refused AUDIT_SET pid here (error {answer}): not the initial namespaces")
        assert _registered_pid() == child.pid
        alive = _collected_audit()
        assert alive.facts.audit.auditd_process == AuditDaemonProcess(state="running", name="auditd", exe=str(daemon),
                                                                      args=[str(daemon), "-c", REGISTER])
        assert judged(alive)[1].startswith(f"auditd (pid {child.pid}) is registered with the kernel and runs") \
            or judged(alive)[0] != Status.PASS  # other parts of this host (auditd.conf) may decide it
        child.kill()
        child.wait()
        assert _registered_pid() == child.pid  # the kernel still names it
        dead = _collected_audit()
        assert dead.facts.audit.auditd_pid == child.pid
        assert dead.facts.audit.auditd_process == AuditDaemonProcess(state="gone")
        status, message = judged(dead)
        assert status == Status.FAIL and f"but no process {child.pid} runs: the daemon died" in message
    finally:
        child.kill()
        child.wait()
        # unregister: the kernel first tries the registered daemon, finds it dead, and resets it
        subprocess.run([sys.executable, "-c", REGISTER, "0"], capture_output=True, timeout=10)
    assert not _registered_pid()
