"""A socket two processes hold, one of which ``/proc`` does not list (hidepid=2, as nobody).

A socket is shared across fork and fd passing: systemd holds the sockets it activates, a server
hands its listener to a worker that runs as another user.  Which processes hold it decides which
exception applies.  When the holder is listed but its descriptors cannot be read, lbaudit already
says "other processes may hold it too"; under hidepid=2 that holder is not listed at all, and no
error told.  Before, the holders seen were taken to be all of them: an exception for the hidden
holder's name was ruled out, and the listener passed under a default that exception narrows.

Real processes (root holds the wildcard listener and its child, dropped to nobody, holds it too),
a real /proc with hidepid=2 in a private mount namespace, and a real drop to nobody.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.cli import run_cli
from tests.privileges import (
    CLONE_NEWNET,
    directory_nobody_may_write,
    require_root,
    run_as_unprivileged,
    run_in_new_namespaces,
)

ROOT_NAME, WORKER_NAME = "lbt-rootsrv", "lbt-worker"
# Root listens on the IPv4 wildcard in a namespace of its own and prints the port; a forked child
# ("worker") drops to nobody and keeps the socket; both wait until stdin closes.  Root is named by
# exec (the interpreter run through a link named ROOT_NAME: comm and argv[0] agree); the worker
# renames itself (comm), a name lbaudit does not take as proof of what it is.
# (libc.prctl: PR_SET_NAME 15, PR_SET_DUMPABLE 4.)
SHARED_LISTENER = textwrap.dedent(f"""
    import ctypes, os, socket, sys
    libc = ctypes.CDLL(None)
    worker = sys.argv[1] == "worker"
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen()
    read_end, write_end = os.pipe()
    if worker and os.fork() == 0:
        libc.prctl(15, b"{WORKER_NAME}")
        os.setgroups([]); os.setgid(65534); os.setuid(65534)
        libc.prctl(4, 1)  # dumpable again after the drop: its /proc entries are nobody's, as an exec'd worker's are
        os.close(write_end)
        os.read(read_end, 1)
        os._exit(0)
    print(held.getsockname()[1], flush=True)
    sys.stdin.read()
    os.close(write_end)
    if worker:
        os.wait()
""")


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    with directory_nobody_may_write() as path:
        yield path


def _policy(directory: Path, port: int, process_name: str = ROOT_NAME) -> Path:
    """Anything is allowed, except that ``process_name`` (the root server) may listen on loopback only."""
    path = directory / "policy.yaml"
    path.write_text(textwrap.dedent(f"""\
        id: shared-holders
        version: '1'
        owner: tests
        rules:
          - id: bind
            check: net.bind_addresses
            params:
              allow: [any]
              exceptions:
                - match: {{process: {process_name}, ports: [{port}]}}
                  allow: [loopback]
                  reason: this server must not be reachable from the network
        """))
    path.chmod(0o644)
    return path


def _evaluate(policy: Path, directory: Path) -> tuple[int, list[dict[str, Any]]]:
    out = directory / f"evidence-{os.geteuid()}.json"
    result = run_cli("evaluate", "--policy", policy, "--output", out, "--quiet", env={"LBAUDIT_CONFIG": ""})
    if result.returncode not in (0, 1, 3):
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result.returncode, json.loads(out.read_text())["result"]["findings"]


def _run_under_hidepid(shared_tmp: Path, options: str, user: str | None,
                       worker: bool = True) -> tuple[int, int, list[dict[str, Any]]]:
    """In a network namespace of its own with a /proc mounted with ``options``: start the shared
    listener as root (on the first call), and evaluate, as root and then as ``user``.  The listener
    ends when the namespaces' process does (its stdin closes)."""
    require_root()
    started: dict[str, Any] = {}

    def scenario() -> tuple[int, int, list[dict[str, Any]]]:
        if not started:
            named = shared_tmp / ROOT_NAME
            if not named.exists():
                named.symlink_to(sys.executable)
            process = subprocess.Popen([str(named), "-c", SHARED_LISTENER, "worker" if worker else "alone"],
                                       stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
            assert process.stdout is not None
            started["port"] = int(process.stdout.readline())
            started["process"] = process
            started["policy"] = _policy(shared_tmp, started["port"])
        port = started["port"]
        code, findings = _evaluate(started["policy"], shared_tmp)
        return port, code, findings

    return run_in_new_namespaces(scenario, CLONE_NEWNET, options, user=user)


def _mine(findings: list[dict[str, Any]], port: int) -> list[dict[str, Any]]:
    return [f for f in findings if f["subject"].startswith(f"tcp 0.0.0.0:{port} ")]


@pytest.mark.live  # mounts a /proc with hidepid=2 in a private mount namespace, drops to nobody
def test_a_holder_hidden_by_hidepid_keeps_its_exception_a_candidate(shared_tmp):
    port, code, findings = _run_under_hidepid(shared_tmp, "hidepid=2", "nobody")
    mine = _mine(findings, port)
    assert [f["status"] for f in mine] == ["not_reviewed"]  # before: pass, under the default allow any
    assert mine[0]["subject"].startswith(f"tcp 0.0.0.0:{port} ? (comm {WORKER_NAME}, unproven) pid ")
    # where nobody may not search the interpreter's directory (/root/...), its path cannot be
    # compared with the file the worker runs, so it proves nothing to that run
    interpreter = os.path.realpath(sys.executable)
    searchable = run_as_unprivileged(os.path.exists, interpreter)
    exe_seen = interpreter if searchable else "?"
    exe_doubt = "" if searchable else (
        f"details of the owning process could not be read: exe of pid {mine[0]['subject_detail']['pid']}: "
        f"{interpreter} could not be compared with the file at that path here (Permission denied); ")
    assert mine[0]["reason"] == (
        f"owner not identified (the processes seen holding it may not be all of them: tcp 0.0.0.0:{port}: "
        "other processes may hold it too: /proc is mounted with hidepid=invisible: processes of other users are "
        f"not listed; {exe_doubt}pid {mine[0]['subject_detail']['pid']} is named '{WORKER_NAME}', which is neither its "
        f"executable's ({exe_seen}) nor its argv[0]'s ({shared_tmp / ROOT_NAME}): a name it may "
        "have given itself "
        "(prctl PR_SET_NAME)), and the rules that could apply disagree: the default allow list would allow it, "
        "exception 1 would not")
    assert code == 3


@pytest.mark.live  # mounts a /proc in a private mount namespace
def test_control_root_sees_both_holders_and_the_exception_fails_it(shared_tmp):
    port, code, findings = _run_under_hidepid(shared_tmp, "hidepid=2", None)
    mine = _mine(findings, port)
    assert [f["status"] for f in mine] == ["fail"]
    assert mine[0]["subject"].startswith(f"tcp 0.0.0.0:{port} {ROOT_NAME} pid ")
    assert mine[0]["subject"].endswith(" (+1 more)")  # the worker: both holders seen
    assert code == 1


@pytest.mark.live  # mounts a /proc with hidepid=2 in a private mount namespace, drops to nobody
def test_a_listener_whose_only_holder_is_hidden_says_that_proc_hides_it(shared_tmp):
    """Root's server alone (the worker gone): nobody sees no holder.  The reason names hidepid, not
    only the guesses (a kernel socket, another PID namespace, an exited process) that do not apply."""
    port, code, findings = _run_under_hidepid(shared_tmp, "hidepid=2", "nobody", worker=False)
    mine = _mine(findings, port)
    assert [(f["status"], f["subject"]) for f in mine] == [("not_reviewed", f"tcp 0.0.0.0:{port} owner unknown")]
    assert mine[0]["reason"].startswith("owner not identified (owner not attributable: no process visible here holds "
                                        "socket inode ")
    assert mine[0]["reason"].endswith("(a kernel socket, a process in another PID namespace, or one that exited during "
                                      "collection); /proc is mounted with hidepid=invisible: processes of other users "
                                      "are not listed), and the rules that could apply disagree: the default allow "
                                      "list would allow it, exception 1 would not")
    assert code == 3


# Root's server shares its wildcard listener with a forked worker whose main thread then ends
# (pthread_exit): the worker's /proc/PID/fd is its exited leader's, empty; its other thread holds
# the socket.  Both are named; they end when stdin closes.
LEADERLESS_WORKER = textwrap.dedent(f"""
    import ctypes, os, socket, sys, threading
    libc = ctypes.CDLL(None)
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen()
    ready_r, ready_w = os.pipe()
    if os.fork() == 0:
        libc.prctl(15, b"{WORKER_NAME}")
        threading.Thread(target=sys.stdin.read).start()
        os.write(ready_w, b"x")
        libc.pthread_exit(None)
    os.read(ready_r, 1)
    libc.prctl(15, b"{ROOT_NAME}")
    print(held.getsockname()[1], flush=True)
    sys.stdin.read()
    os.wait()
""")


@pytest.mark.live  # reads this host's /proc in a network namespace of its own
def test_a_holder_whose_main_thread_exited_still_holds_the_socket(shared_tmp):
    """Policy: anything, except that the worker may listen on loopback only.  Before, the worker
    was not seen holding the socket, its exception ruled out, and the listener passed (not_reviewed
    on a host where some fd table is unreadable even to root, as a container's pid 1 can be)."""
    require_root()

    def scenario() -> tuple[int, int, list[dict[str, Any]]]:
        process = subprocess.Popen([sys.executable, "-c", LEADERLESS_WORKER], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None and process.stdin is not None
        try:
            port = int(process.stdout.readline())
            policy = _policy(shared_tmp, port, process_name=WORKER_NAME)
            code, findings = _evaluate(policy, shared_tmp)
        finally:
            process.stdin.close()
            process.wait(timeout=10)
        return port, code, findings

    port, code, findings = run_in_new_namespaces(scenario, CLONE_NEWNET, "rw")
    mine = _mine(findings, port)
    assert [f["status"] for f in mine] == ["fail"]  # before: pass
    assert mine[0]["subject"].startswith(f"tcp 0.0.0.0:{port} ? (comm {ROOT_NAME}, unproven) pid ")
    assert mine[0]["subject"].endswith(" (+1 more)")  # the worker
    assert code == 1
