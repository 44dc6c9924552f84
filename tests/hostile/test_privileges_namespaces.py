"""Network namespaces lbaudit cannot find through the processes it lists.

Discovery finds a namespace through a process in it (``/proc/PID/ns/net``), a name in /run/netns
or an nsfs mount.  Three ways a namespace stays out of that list while the run called itself
complete:

* a thread alone in it: ``unshare(CLONE_NEWNET)`` or ``setns`` in one thread moves that thread
  only, and ``/proc/PID/ns/net`` is the leader's.  Before, its wildcard listener was never judged,
  as root, with no gap (exit 0 where 1 is due);
* a ``/proc`` of another PID namespace (lbaudit in a container with the host's network but its
  own PID namespace, ``unshare --pid --mount-proc``): the processes outside are not listed, and
  no error says so.  Before: exit 0, compliant, with a wildcard listener in a namespace only a
  process outside holds;
* ``hidepid=2`` on /proc, as nobody: the processes of other users are not listed at all (where
  without hidepid they are listed and refused, which was a not_reviewed discovery finding).
  Before: no discovery finding at all.

Real namespaces, real listeners, a real /proc mount in a private mount namespace and a real drop
to nobody; everything is undone when the test ends (the namespaces die with their processes).
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
from tests.privileges import CLONE_NEWNET, CLONE_NEWPID, directory_nobody_may_write, require_root, run_in_new_namespaces

# A process whose second thread leaves for a new network namespace and listens there on the IPv4
# wildcard; it prints "port inode" and holds the socket until its stdin closes.
THREAD_LISTENER = textwrap.dedent("""
    import ctypes, os, socket, sys, threading
    libc = ctypes.CDLL(None, use_errno=True)
    ready = threading.Event()
    def leave():
        if libc.unshare(0x40000000) != 0:
            print("unshare failed", ctypes.get_errno(), flush=True)
            os._exit(1)
        global held
        held = socket.socket()
        held.bind(("0.0.0.0", 0))
        held.listen()
        inode = os.stat(f"/proc/thread-self/ns/net").st_ino
        print(held.getsockname()[1], inode, flush=True)
        ready.set()
        sys.stdin.read()
    threading.Thread(target=leave, daemon=True).start()
    ready.wait()
    sys.stdin.read()
""")
# The same, whose main thread then ends (pthread_exit): the leader is a zombie, /proc/PID/ns/net
# is gone, and the listening thread lives on in its namespace.
LEADERLESS_LISTENER = THREAD_LISTENER.replace("ready.wait()\nsys.stdin.read()\n",
                                              "ready.wait()\nlibc.pthread_exit(None)\n")
assert LEADERLESS_LISTENER != THREAD_LISTENER
# A process alone in a new network namespace (unshare --net), listening on the IPv4 wildcard.
NAMESPACE_LISTENER = textwrap.dedent("""
    import os, socket, sys
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen()
    print(held.getsockname()[1], os.stat("/proc/self/ns/net").st_ino, flush=True)
    sys.stdin.read()
""")


def _policy(directory: Path, port: int) -> Path:
    """Anything allowed, except that the listener on ``port`` must be on loopback, judged at its own
    address in every namespace: the run fails exactly when that listener is seen."""
    path = directory / "policy.yaml"
    path.write_text(textwrap.dedent(f"""\
        id: hidden-namespaces
        version: '1'
        owner: tests
        rules:
          - id: bind
            check: net.bind_addresses
            params:
              allow: [any]
              scope: every_namespace
              exceptions:
                - match: {{ports: [{port}], protocol: tcp}}
                  allow: [loopback]
                  reason: the listener under test must be on loopback
        """))
    path.chmod(0o644)
    return path


def _start(script: str, *wrapper: str) -> tuple[subprocess.Popen, int, int]:
    process = subprocess.Popen([*wrapper, sys.executable, "-c", script], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if len(line) != 2:
        _stop(process)
        pytest.fail(f"the listener did not start: {line}")
    return process, int(line[0]), int(line[1])


def _stop(process: subprocess.Popen) -> None:
    if process.stdin is not None:
        process.stdin.close()
    process.wait(timeout=10)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    with directory_nobody_may_write() as path:
        yield path


def _evaluate(policy: Path, directory: Path) -> tuple[int, list[dict[str, Any]]]:
    out = directory / f"evidence-{os.geteuid()}.json"  # the run as root, then the one as nobody
    result = run_cli("evaluate", "--policy", policy, "--output", out, "--quiet", env={"LBAUDIT_CONFIG": ""})
    if result.returncode not in (0, 1, 3):
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result.returncode, json.loads(out.read_text())["result"]["findings"]


def _by_subject(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["subject"]: f for f in findings}


# ---------------------------------------------------------------- a thread alone in a namespace


# before: the thread's namespace was never found, nothing judged in it (exit 0, or 3 where something
# else was not seen); the leaderless one, once found, had "owner unknown": /proc/PID/fd is the
# exited leader's, empty.
@pytest.mark.live  # discovers every network namespace of this host
@pytest.mark.parametrize("listener", [THREAD_LISTENER, LEADERLESS_LISTENER], ids=["one-thread", "leader-exited"])
def test_a_namespace_only_threads_are_in_is_found_and_its_wildcard_listener_fails(tmp_path, listener):
    require_root()
    process, port, inode = _start(listener)
    try:
        code, findings = _evaluate(_policy(tmp_path, port), tmp_path)
    finally:
        _stop(process)
    mine = [f for f in findings if f["subject"].startswith(f"tcp 0.0.0.0:{port} ")]
    assert [(f["status"], f["subject"].split(" pid ", 1)[1]) for f in mine] == [
        ("fail", f"{process.pid} in netns net:[{inode}]")]
    assert code == 1


# ---------------------------------------------------------------- a /proc that lists part of the processes


@pytest.mark.live  # mounts a /proc of its own in a private mount namespace and discovers namespaces
def test_a_proc_of_another_pid_namespace_is_not_proof_that_no_other_namespace_exists(shared_tmp):
    process, port, inode = _start(NAMESPACE_LISTENER, "unshare", "--net")
    policy = _policy(shared_tmp, port)
    try:
        code, findings = run_in_new_namespaces(lambda: _evaluate(policy, shared_tmp),
                                        CLONE_NEWPID | CLONE_NEWNET, "rw")
    finally:
        _stop(process)
    discovery = _by_subject(findings)["listeners in other network namespaces (discovery)"]
    assert discovery["status"] == "not_reviewed"  # before: absent, and the run compliant
    assert discovery["reason"].startswith("some network namespaces may not have been found: /proc lists the "
                                          "processes of PID namespace pid:[")
    assert discovery["reason"].endswith("only, not the host's (a container or unshare --pid): processes outside "
                                        "it are not seen: namespaces only they are in are not seen")
    assert not [f for f in findings if f"net:[{inode}]" in f["subject"]]  # truly out of sight
    assert code == 3  # before: 0


@pytest.mark.live  # mounts a /proc with hidepid=2 in a private mount namespace, drops to nobody
def test_hidepid_as_nobody_is_not_proof_that_no_other_namespace_exists(shared_tmp):
    process, port, inode = _start(NAMESPACE_LISTENER, "unshare", "--net")
    policy = _policy(shared_tmp, port)
    try:
        code, findings = run_in_new_namespaces(lambda: _evaluate(policy, shared_tmp),
                                        CLONE_NEWNET, "hidepid=2", user="nobody")
    finally:
        _stop(process)
    found = _by_subject(findings)
    discovery = found["listeners in other network namespaces (discovery)"]  # before: absent
    # The hidepid reason first; others may follow on a shared host (a process of nobody's elsewhere,
    # a throwaway PostgreSQL of another test, holds sockets whose namespace nobody may not ask).
    hidepid = ("some network namespaces may not have been found: /proc is mounted with hidepid=invisible: "
               "processes of other users are not listed: namespaces only they are in are not seen")
    assert discovery["status"] == "not_reviewed"
    assert discovery["reason"] == hidepid or discovery["reason"].startswith(hidepid + "; "), discovery["reason"]
    assert not [f for f in findings if f"net:[{inode}]" in f["subject"]]
    assert code == 3


@pytest.mark.live  # mounts a /proc with hidepid=2 and gid=0 in a private mount namespace
def test_hidepid_does_not_hide_from_root_nor_from_the_exempt_group(shared_tmp):
    """Control: root (CAP_SYS_PTRACE) sees every process through hidepid=2, so the listener's
    namespace is found and judged; no hidepid gap is invented."""
    process, port, inode = _start(NAMESPACE_LISTENER, "unshare", "--net")
    policy = _policy(shared_tmp, port)
    try:
        code, findings = run_in_new_namespaces(lambda: _evaluate(policy, shared_tmp),
                                        CLONE_NEWNET, "hidepid=2,gid=0")
    finally:
        _stop(process)
    mine = [f for f in findings if f"net:[{inode}]" in f["subject"]]
    assert [f["status"] for f in mine] == ["fail"]
    assert "listeners in other network namespaces (discovery)" not in _by_subject(findings) or \
        "hidepid" not in _by_subject(findings)["listeners in other network namespaces (discovery)"]["reason"]
    assert code == 1


def test_the_proc_mount_options_are_those_of_the_last_proc_mounted_there():
    from auditor.collect.procview import proc_mount_options

    mountinfo = ("22 27 0:21 / /proc rw,relatime - proc proc rw\n"
                 "90 22 0:50 / /proc rw,relatime - proc proc rw,hidepid=invisible,gid=4\n"
                 "91 22 0:51 / /proc/sys ro - proc proc rw\n")
    assert proc_mount_options(mountinfo, "/proc") == ["rw", "hidepid=invisible", "gid=4"]
    assert proc_mount_options(mountinfo, "/other") is None


@pytest.mark.live  # collects as nobody under hidepid=2 in a private mount namespace
def test_a_snapshot_collected_under_hidepid_stays_incomplete_when_root_evaluates_it_elsewhere(shared_tmp):
    """``collect`` as nobody writes what it could not see into the snapshot; root evaluating it
    later, where every process is visible, still may not call the namespaces complete."""
    process, port, inode = _start(NAMESPACE_LISTENER, "unshare", "--net")
    policy = _policy(shared_tmp, port)

    def collect() -> int:
        out = shared_tmp / f"snapshot-{os.geteuid()}.json"
        return run_cli("collect", "--output", out, "--quiet", env={"LBAUDIT_CONFIG": ""}).returncode

    try:
        collected = run_in_new_namespaces(collect, CLONE_NEWNET, "hidepid=2", user="nobody")
    finally:
        _stop(process)
    assert collected == 0
    snapshot = json.loads((shared_tmp / "snapshot-65534.json").read_text())
    assert snapshot["provenance"]["effective_uid"] == 65534
    assert ("/proc is mounted with hidepid=invisible: processes of other users are not listed: namespaces only "
            "they are in are not seen") in [g["reason"] for g in snapshot["gaps"] if g["section"] == "netns"]
    result = run_cli("evaluate", "--policy", policy, "--snapshot", shared_tmp / "snapshot-65534.json",
                     "--output", shared_tmp / "later.json", "--quiet", env={"LBAUDIT_CONFIG": ""})
    findings = _by_subject(json.loads((shared_tmp / "later.json").read_text())["result"]["findings"])
    discovery = findings["listeners in other network namespaces (discovery)"]
    assert discovery["status"] == "not_reviewed" and "hidepid=invisible" in discovery["reason"]
    assert result.returncode == 3
