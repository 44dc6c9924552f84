"""Hostile corpus, false passes: an exception about a process, met by a process that is not it.

An exception (``match: {process: ..., exe: ...}``) widens where a program may bind.  Which program
holds a socket is read from ``/proc``: its name (comm), its executable, its owner.  Two ways to
borrow an allowed program's exception, each with real processes and sockets in a network
namespace of the test's own:

* a process renames itself (``prctl(PR_SET_NAME)``) to the allowed name: comm is whatever the
  process last wrote, so a name that is neither its executable's nor its argv[0]'s proves nothing;
* a process binds the wildcard and hands the socket to an allowed program (an inherited
  descriptor): both hold it and either can accept on it.  "Matches if any holder matches" let the
  allowed program's exception cover the other's listener.

Before, both passed.  Now the renamed process is ``not_reviewed`` (which rule applies cannot be
told) and the shared socket fails: it is judged for each holder, and the one no exception fits is
refused by the default list.  The controls (a program named by exec, an allowed program alone,
systemd (pid 1) holding the socket of the service it activated) still pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.model.facts import ProcessInfo
from auditor.model.result import Status
from tests.factories import listener, snapshot
from tests.privileges import CLONE_NEWNET, require_root, run_in_new_namespaces

ALLOWED = "lbt-allowed"
# Binds the IPv4 wildcard (SO_REUSEPORT, so that two processes can share a port) on the port given
# (0: any), renames itself when told, hands the socket to a program when told, prints the port,
# and holds the socket until stdin closes.
HOLDER = textwrap.dedent("""
    import ctypes, os, socket, subprocess, sys
    port, rename, hand_to = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    held.bind(("0.0.0.0", port))
    held.listen()
    if rename:
        ctypes.CDLL(None).prctl(15, rename.encode())  # PR_SET_NAME
    child = subprocess.Popen(hand_to, pass_fds=[held.fileno()]) if hand_to else None
    print(held.getsockname()[1], flush=True)
    sys.stdin.read()
    if child:
        child.kill()
        child.wait()
""")


def _hold(program: str, port: int = 0, rename: str = "", hand_to: list[str] | None = None) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen([program, "-c", HOLDER, str(port), rename, *(hand_to or [])], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def _stop(*processes: subprocess.Popen[str]) -> None:
    for process in processes:
        if process.stdin:
            process.stdin.close()
        process.wait(timeout=10)


def _judged(params: dict[str, Any]) -> list[tuple[str, int, str, str]]:
    """(status, port, subject, message) of each listener this namespace has."""
    from auditor.collect.live import collect_live

    taken = collect_live(frozenset({"sockets"}))
    judged = net_bind_addresses.run(taken, BindAddressParams.model_validate(params))
    return sorted((o.status.value, int(o.subject_detail["port"]), o.subject, o.message)
                  for o in judged if o.subject_detail.get("port"))


def _refused() -> str:
    """What a listener no rule allows is: fail where every holder of a socket can be seen; where
    some process's descriptors cannot be read even by root (a container's pid 1 from an outer user
    namespace), it may hold the socket too and the listener is not_reviewed.  Never pass."""
    from auditor.collect.sockets import scan_socket_owners

    return "fail" if not scan_socket_owners({0}).unreadable else "not_reviewed"


def _named_interpreter(directory: Path, name: str) -> str:
    """The interpreter, run through a link called ``name``: exec names the process ``name`` (comm)
    and so does its argv[0]."""
    link = directory / name
    link.symlink_to(sys.executable)
    return str(link)


def _in_own_namespace(scenario):
    return run_in_new_namespaces(scenario, CLONE_NEWNET, "rw")


@pytest.mark.live
def test_a_process_that_renames_itself_to_the_allowed_name_is_not_reviewed(tmp_path):
    require_root()
    params = {"allow": ["loopback"],
              "exceptions": [{"match": {"process": ALLOWED}, "allow": ["any"], "reason": "the allowed service"}]}

    def scenario():
        impostor, impostor_port = _hold(sys.executable, rename=ALLOWED)
        named, named_port = _hold(_named_interpreter(tmp_path, ALLOWED))
        try:
            return impostor_port, impostor.pid, named_port, _judged(params)
        finally:
            _stop(impostor, named)

    impostor_port, impostor_pid, named_port, found = _in_own_namespace(scenario)
    by_port = {port: (status, reason) for status, port, _subject, reason in found}
    status, reason = by_port[impostor_port]
    assert status == "not_reviewed"  # before: pass, under exception 1
    assert f"pid {impostor_pid} is named '{ALLOWED}', which is neither its executable's" in reason
    assert "a name it may have given itself (prctl PR_SET_NAME)" in reason
    assert reason.endswith("the rules that could apply disagree: exception 1 would allow it, "
                           "the default allow list would not")
    # control: the program that exec gave the name is the allowed one
    assert by_port[named_port][0] == "pass"


@pytest.mark.live
def test_a_socket_handed_to_an_allowed_program_is_judged_for_the_process_that_made_it_too():
    require_root()
    sleep = shutil.which("sleep")
    assert sleep is not None
    allowed_exe = os.path.realpath(sleep)
    params = {"allow": ["loopback"],
              "exceptions": [{"match": {"exe": allowed_exe}, "allow": ["any"], "reason": "the allowed service"}]}

    def scenario():
        maker, shared_port = _hold(sys.executable, hand_to=[sleep, "600"])
        try:
            return shared_port, _judged(params), _refused()
        finally:
            _stop(maker)

    shared_port, found, refused = _in_own_namespace(scenario)
    [(status, _port, subject, message)] = [item for item in found if item[1] == shared_port]
    assert status == refused  # before: pass, under exception 1 (sleep holds it too)
    assert subject.endswith(" (+1 more)")
    assert "held by 2 different processes, each of which can accept on it, so it is judged for each" in message
    if refused == "fail":
        assert ": not allowed for python" in message and "the default allow list allows loopback" in message


@pytest.mark.live
def test_a_look_alike_sharing_the_allowed_port_fails_while_the_allowed_program_passes(tmp_path):
    """An exception by process and port: another program on the same port (SO_REUSEPORT) is not it."""
    require_root()

    def scenario():
        named, port = _hold(_named_interpreter(tmp_path, ALLOWED))
        other, same_port = _hold(sys.executable, port=port)
        assert same_port == port
        params = {"allow": ["loopback"], "exceptions": [
            {"match": {"process": ALLOWED, "ports": [port]}, "allow": ["any"], "reason": "the allowed service"}]}
        try:
            return port, named.pid, other.pid, _judged(params), _refused()
        finally:
            _stop(named, other)

    port, named_pid, other_pid, found, refused = _in_own_namespace(scenario)
    verdicts = sorted((status, subject.split(" pid ")[1]) for status, p, subject, _r in found if p == port)
    assert verdicts == sorted([("pass", str(named_pid)), (refused, str(other_pid))])


def test_the_service_manager_holding_an_activated_socket_does_not_take_the_service_s_exception_away():
    """systemd (pid 1) keeps the sockets of socket units it passes to services: judged as the service."""
    held = listener("0.0.0.0", 22, processes=[ProcessInfo(pid=1, name="systemd", exe="/usr/lib/systemd/systemd"),
                                              ProcessInfo(pid=900, name="sshd", exe="/usr/sbin/sshd")])
    params = BindAddressParams.model_validate(
        {"exceptions": [{"match": {"exe": "/usr/sbin/sshd"}, "allow": ["any"], "reason": "ssh"}]})
    [outcome] = [o for o in net_bind_addresses.run(snapshot(listeners=[held]), params) if o.subject_detail.get("port")]
    assert outcome.status == Status.PASS
    # ... but only alongside another holder: a socket only systemd holds is systemd's
    alone = listener("0.0.0.0", 22, processes=[ProcessInfo(pid=1, name="systemd", exe="/usr/lib/systemd/systemd")])
    [outcome] = [o for o in net_bind_addresses.run(snapshot(listeners=[alone]), params) if o.subject_detail.get("port")]
    assert outcome.status == Status.FAIL


@pytest.mark.parametrize(("process", "own"), [
    (ProcessInfo(pid=2, name="nginx", exe="/usr/sbin/nginx", argv0="nginx: worker process"), True),  # a title
    (ProcessInfo(pid=2, name="systemd-resolve", exe="/usr/lib/systemd/systemd-resolved"), True),  # comm: 15 bytes
    (ProcessInfo(pid=2, name="sshd", exe="/usr/sbin/sshd (deleted)"), True),  # upgraded under it
    (ProcessInfo(pid=2, name="python3", exe="/usr/bin/python3.11", argv0="python3"), True),  # run through a link
    (ProcessInfo(pid=2, name="svchost.exe", exe="C:\\Windows\\System32\\SVCHOST.EXE"), True),
    (ProcessInfo(pid=2, name="nginx"), True),  # nothing to compare with (Windows, macOS): as reported
    (ProcessInfo(pid=2, name="nginx", exe="/usr/bin/python3.11", argv0="/usr/bin/python3"), False),  # prctl
    (ProcessInfo(pid=2, name="nginx", argv0="python3"), False),  # exe unreadable: argv[0] still tells
    (ProcessInfo(pid=2, name="nginx ", exe="/usr/sbin/nginx"), False),  # a look-alike with a space
])
def test_a_name_counts_only_as_exec_gave_it(process, own):
    from auditor.checks.net_bind_addresses import own_name

    assert (own_name(process) == process.name) is own
