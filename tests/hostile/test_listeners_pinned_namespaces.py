"""Hostile corpus, false passes: a network namespace no process is in, held open by a descriptor.

A namespace lives while anything refers to it: a process in it, a name under /run/netns, an nsfs
mount, and also a descriptor of its namespace file or a socket made in it.  Discovery looked only
at the first three, so a namespace kept alive by what a process *holds* was never entered:

* a descriptor of the namespace file (``/proc/PID/fd/N`` -> ``net:[I]``): a process that opened
  ``/proc/self/ns/net``, or one that entered the namespace and left it;
* a socket: it holds the namespace it was made in, whatever namespace its holder is in.  A process
  that makes a listener in a new namespace and setns(2)s back, or a process of the namespace that
  hands its listener out with SCM_RIGHTS and exits (the namespace's last process gone), leaves a
  namespace only that listening socket holds.

And a namespace bound (an nsfs mount) only in another mount namespace: ``ip netns add`` run in a
private mount namespace whose /run/netns is its own; what listens there may be the kernel's (a
VXLAN device's UDP socket), held by no descriptor at all.

Before: the wildcard listener in such a namespace was never judged and no gap said a namespace was
missing (exit 0 on a host where everything else is readable; the finding absent).  Now each is
found (the descriptor is opened through /proc/PID/fd; a socket's namespace is asked for with
pidfd_getfd and SIOCGSKNS; the other mount namespace's mounts through a process in it), entered and
judged.

Real namespaces and real listeners; each dies with the process that holds it when the test ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from auditor.collect.netns import close_held, discover
from tests.cli import run_cli
from tests.privileges import require_root

# A process of the host's namespace that makes a new namespace, listens there on the IPv4 wildcard
# and comes back (setns), keeping the socket and, with ``nsfs``, a descriptor of the namespace file
# too.  Prints "port inode" and holds them until its stdin closes.
COME_BACK = textwrap.dedent("""
    import ctypes, os, socket, sys
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    if libc.unshare(0x40000000) != 0:
        print("unshare failed", ctypes.get_errno(), flush=True)
        sys.exit(1)
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen()
    inode = os.stat("/proc/self/ns/net").st_ino
    pinned = os.open("/proc/self/ns/net", os.O_RDONLY) if sys.argv[1] == "nsfs" else None
    if libc.setns(home, 0x40000000) != 0:
        print("setns failed", ctypes.get_errno(), flush=True)
        sys.exit(1)
    assert os.stat("/proc/self/ns/net").st_ino != inode
    print(held.getsockname()[1], inode, flush=True)
    sys.stdin.read()
""")
# A process of a new namespace (unshare --net) that listens on the IPv4 wildcard and hands the
# socket out through the unix socket given as its descriptor argv[1], with "port inode"; it exits.
MAKER = textwrap.dedent("""
    import os, socket, sys
    out = socket.socket(fileno=int(sys.argv[1]))
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen()
    inode = os.stat("/proc/self/ns/net").st_ino
    socket.send_fds(out, [f"{held.getsockname()[1]} {inode}".encode()], [held.fileno()])
""")
# A process of the host's namespace handed that listener: the namespace's last process is gone
# once the maker exits, and the socket holds it.
RECEIVER = textwrap.dedent("""
    import os, socket, subprocess, sys
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    maker = subprocess.Popen(["unshare", "--net", sys.executable, "-c", sys.argv[1], str(theirs.fileno())],
                             pass_fds=[theirs.fileno()])
    theirs.close()
    text, fds, _flags, _address = socket.recv_fds(mine, 100, 1)
    assert maker.wait() == 0
    held = socket.socket(fileno=fds[0])
    assert os.stat("/proc/self/ns/net").st_ino != int(text.split()[1])
    print(text.decode(), flush=True)
    sys.stdin.read()
""")


def _policy(directory: Path, port: int) -> Path:
    """Anything allowed, except that the listener on ``port`` must be on loopback, judged at its own
    address in every namespace: the run fails exactly when that listener is seen."""
    path = directory / "policy.yaml"
    path.write_text(textwrap.dedent(f"""\
        id: pinned-namespaces
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
    return path


def _start(*argv: str) -> tuple[subprocess.Popen, int, int]:
    process = subprocess.Popen([sys.executable, "-c", *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if len(line) != 2:
        process.kill()
        process.wait(timeout=10)
        pytest.fail(f"the listener did not start: {line}")
    return process, int(line[0]), int(line[1])


def _evaluate(policy: Path, directory: Path) -> tuple[int, list[dict[str, Any]]]:
    out = directory / "evidence.json"
    result = run_cli("evaluate", "--policy", policy, "--output", out, "--quiet", env={"LBAUDIT_CONFIG": ""})
    if result.returncode not in (0, 1, 3):
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result.returncode, json.loads(out.read_text())["result"]["findings"]


# before: no finding for the listener (its namespace was never found), exit 0 where nothing else was unseen
@pytest.mark.live  # discovers every network namespace of this host
@pytest.mark.parametrize("argv", [(COME_BACK, "socket"), (COME_BACK, "nsfs"), (RECEIVER, MAKER)],
                         ids=["only-the-socket", "a-namespace-file-descriptor", "handed-out-then-exited"])
def test_a_namespace_only_a_descriptor_holds_is_found_and_its_wildcard_listener_fails(tmp_path, argv):
    require_root()
    process, port, inode = _start(*argv)
    try:
        assert not any(os.stat(f"/proc/{pid}/ns/net").st_ino == inode
                       for pid in (process.pid, os.getpid()))  # no process of the test is in it
        code, findings = _evaluate(_policy(tmp_path, port), tmp_path)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)
    mine = [f for f in findings if f["subject"].startswith(f"tcp 0.0.0.0:{port} ")]
    assert [(f["status"], f["subject"].split(" pid ", 1)[1]) for f in mine] == [
        ("fail", f"{process.pid} in netns net:[{inode}]")]
    assert code == 1


@pytest.mark.live  # discovers every network namespace of this host
def test_a_namespace_file_descriptor_is_a_way_in_of_its_own():
    """The descriptor is found as itself (a path under /proc/PID/fd), not only through the socket
    the same process holds: a namespace held by the descriptor alone is opened by it."""
    require_root()
    process, _port, inode = _start(COME_BACK, "nsfs")
    try:
        found, _current, _gaps = discover("/proc")
        try:
            entry = next(entry for entry in found.values() if entry.inode == inode)
            assert (entry.fd, entry.pids) == (None, set())
            assert [path.rsplit("/", 1)[0] for path in entry.open_paths] == [f"/proc/{process.pid}/fd"]
        finally:
            close_held(found)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


# ---------------------------------------------------------------- bound in another mount namespace

# `ip netns add` in a private mount namespace (a service with PrivateMounts, a tool run under
# `unshare --mount`) whose /run/netns is its own: the name and its bind mount exist there only, no
# process is in the network namespace, and what listens in it is the kernel's (a VXLAN device's UDP
# socket on the wildcard).  Prints the namespace's inode, then holds the mount namespace.
HIDDEN = textwrap.dedent("""\
    set -e
    mkdir -p /run/netns
    mount -t tmpfs lbaudit-test /run/netns
    ip netns add lbaudit-hidden
    ip netns exec lbaudit-hidden ip link add vx-lbaudit type vxlan id 9 dstport 4799 dev lo
    ip netns exec lbaudit-hidden ip link set lo up
    ip netns exec lbaudit-hidden ip link set vx-lbaudit up
    stat -L -c %i /run/netns/lbaudit-hidden
    exec cat
""")


# before: no finding for the VXLAN socket (the namespace was bound only in the other mount
# namespace, which discovery never read), exit 0 where nothing else was unseen
@pytest.mark.live  # discovers every network namespace of this host
def test_a_namespace_bound_only_in_another_mount_namespace_is_found_and_its_wildcard_listener_fails(tmp_path):
    require_root()
    holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", HIDDEN],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdin is not None
    line = holder.stdout.readline().strip()
    try:
        if not line.isdigit():
            holder.stdin.close()
            error = holder.communicate(timeout=10)[1]
            if "Unknown device type" in error:
                pytest.skip("this kernel cannot make a VXLAN device")
            pytest.fail(f"the hidden namespace was not made: {error}")
        inode = int(line)
        assert not os.path.exists("/run/netns/lbaudit-hidden")  # the name is not in this mount namespace
        policy = tmp_path / "policy.yaml"
        policy.write_text(_policy(tmp_path, 4799).read_text().replace("protocol: tcp", "protocol: udp"))
        code, findings = _evaluate(policy, tmp_path)
    finally:
        if not holder.stdin.closed:
            holder.stdin.close()
        holder.wait(timeout=10)
    mine = [f for f in findings if f["subject"].startswith("udp 0.0.0.0:4799 ")
            and f["subject_detail"].get("netns_inode") == inode]
    assert [(f["status"], f["subject"], f["subject_detail"]["netns_names"]) for f in mine] == [
        ("fail", "udp 0.0.0.0:4799 owner unknown in netns lbaudit-hidden", ["lbaudit-hidden"])]
    assert code == 1


@pytest.mark.live  # discovers every network namespace of this host
def test_asking_the_sockets_of_many_processes_holds_one_process_descriptor_at_a_time():
    """Each socket's namespace is asked through a descriptor of its process (pidfd): holding one per
    process until the end ran out of descriptors on a host with more processes than the limit, and
    every socket after that was a gap (the run not_reviewed for what the collector did to itself).
    Each holder is in a namespace of its own: a socket of the collector's namespace is placed there
    by a dump and never asked."""
    require_root()
    holders = [subprocess.Popen(["unshare", "--net", sys.executable, "-c", "import socket, sys\ns = socket.socket()\n"
                                 "s.bind(('127.0.0.1', 0))\nprint(1, flush=True)\nsys.stdin.read()"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(40)]
    try:
        for holder in holders:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # a descriptor limit below the number of processes asked
            import resource
            try:
                used = len(os.listdir("/proc/self/fd"))
                resource.setrlimit(resource.RLIMIT_NOFILE, (used + 25, used + 25))
                found, _current, gaps = discover("/proc")
                close_held(found)
                os.write(write, json.dumps([g.reason for g in gaps]).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            reasons = json.loads(pipe.read())
        os.waitpid(child, 0)
    finally:
        for holder in holders:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(timeout=10)
    assert not [reason for reason in reasons if "Too many open files" in reason]


# The same from a user namespace of its own (any user may make one): its mount namespace binds the
# network namespace at /run/netns/lbaudit-trusted, a name the policy trusts.  Prints the inode.
HIDDEN_BY_A_USER = textwrap.dedent("""\
    set -e
    mkdir -p /run/netns
    mount -t tmpfs lbaudit-test /run/netns
    touch /run/netns/lbaudit-trusted
    unshare --net sh -c 'ip link set lo up
        ip link add vx-lbaudit type vxlan id 8 dstport 4798 dev lo
        ip link set vx-lbaudit up
        mount --bind /proc/self/ns/net /run/netns/lbaudit-trusted'
    stat -L -c %i /run/netns/lbaudit-trusted
    exec cat
""")


@pytest.mark.live  # discovers every network namespace of this host
def test_a_name_bound_in_a_users_own_mount_namespace_selects_nothing(tmp_path):
    """Found and judged, but by its inode: a name (or a container's sandbox path) bound in a mount
    namespace of a user namespace of its own is the user's to choose, and an exception for the
    network namespace of that name must not reach it."""
    require_root()
    holder = subprocess.Popen(["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private", "sh",
                               "-c", HIDDEN_BY_A_USER],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdin is not None
    line = holder.stdout.readline().strip()
    try:
        if not line.isdigit():
            holder.stdin.close()
            error = holder.communicate(timeout=10)[1]
            if "Unknown device type" in error:
                pytest.skip("this kernel cannot make a VXLAN device")
            pytest.fail(f"the user's namespace was not made: {error}")
        inode = int(line)
        policy = tmp_path / "policy.yaml"
        policy.write_text(textwrap.dedent("""\
            id: user-named
            version: '1'
            owner: tests
            rules:
              - id: bind
                check: net.bind_addresses
                params:
                  allow: [loopback]
                  scope: every_namespace
                  exceptions:
                    - match: {namespace: lbaudit-trusted}
                      allow: [any]
                      reason: the namespace of that name is trusted
            """))
        code, findings = _evaluate(policy, tmp_path)
    finally:
        if not holder.stdin.closed:
            holder.stdin.close()
        holder.wait(timeout=10)
    mine = [f for f in findings if f["subject"].startswith("udp 0.0.0.0:4798 ")
            and f["subject_detail"].get("netns_inode") == inode]
    assert [(f["status"], f["subject"], f["subject_detail"]["netns_names"]) for f in mine] == [
        ("fail", f"udp 0.0.0.0:4798 owner unknown in netns net:[{inode}]", [])]
    assert code == 1
