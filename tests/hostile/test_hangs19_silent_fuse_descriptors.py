"""Hangs: a live collection stuck for ever on a file system a local user (or a container) serves.

Discovery of network namespaces (root, every process) follows other processes' descriptors by
their /proc links: one whose link merely looks like a /proc net file (``.../1/net/tcp``) was
stat'ed and statfs'ed (is it of a /proc?), one under /dev/ stat'ed (is it the tun device?).  The
file of such a descriptor may be on a FUSE file system (allow_other) whose server never answers:
stat(2) then waits in the kernel for ever, and ``lbaudit collect`` with it (uninterruptibly, once
the server has read the request; so it is on a dead hard-mounted NFS).  Before: the collection of
the netns section did not end (killed at the timeout here).

Now a descriptor's file system is told from what cannot block, its fdinfo's ``mnt_id`` against a
mountinfo, before its file is asked anything: a file not of a /proc is no /proc net file, and one
under /dev on a file system the kernel does not answer for itself (FUSE, NFS, ...) could be a node
of the tun device that nothing can tell without waiting, so it is a discovery gap naming it (fail
closed), not followed and not dropped.

A real FUSE mount (mount(2) on /dev/fuse, tests/silent_fuse.py), a real holder process, and the
collector in a subprocess under a hard timeout; the mount is aborted and unmounted after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.silent_fuse import SilentFuse, require_fuse

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 30  # the collection of the netns section takes about a second here

COLLECT = textwrap.dedent("""\
    import json
    from auditor.collect import CollectContext
    from auditor.collect.netns import collect_netns
    netns, gaps = collect_netns(CollectContext(sections=frozenset({"netns"})))
    print(json.dumps({"namespaces": len(netns.namespaces) if netns else None, "gaps": [g.reason for g in gaps]}))
""")

HOLDER = textwrap.dedent("""\
    import os, sys
    fd = os.open(sys.argv[1], os.O_RDONLY)
    print(os.getpid(), fd, flush=True)
    sys.stdin.read()
""")


def _collect(fuse: SilentFuse) -> dict:
    collector = subprocess.Popen([sys.executable, "-c", COLLECT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        out, err = collector.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # a request the server read waits uninterruptibly: no kill ends it before the abort
        fuse.close()
        collector.kill()
        collector.communicate(timeout=30)
        pytest.fail(f"the netns collection did not end in {TIMEOUT} s: stuck on the silent FUSE file system")
    assert collector.returncode == 0, err
    return json.loads(out)


@pytest.fixture
def silent_fuse(request) -> Iterator[tuple[SilentFuse, subprocess.Popen, int, int, str]]:
    """A silent FUSE mount at the point ``request.param`` names, a holder of its file (opened
    while the server answered), and the server gone silent."""
    require_fuse()
    base, inside = request.param
    # not under /tmp nor pytest's temporary directories, which other runs walk (and would wait on)
    point = Path(base) / f"lbaudit-hangs19-{os.getpid()}"
    fuse = SilentFuse(point, leaf=inside.rsplit("/", 1)[-1])
    holder = None
    try:
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(point / inside)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None
        line = holder.stdout.readline().split()
        assert len(line) == 2, "the holder could not open its file in the FUSE mount"
        fuse.go_silent()
        yield fuse, holder, int(line[0]), int(line[1]), str(point / inside)
    finally:
        fuse.close()  # aborts first: a holder or collector waiting on the mount ends
        if holder is not None:
            holder.kill()
            holder.wait(timeout=30)
        try:
            point.rmdir()
        except OSError:
            pass


# before: the collection did not end (stat and statfs of /proc/PID/fd/N waited on the server)
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine, in a process of its own
@pytest.mark.parametrize("silent_fuse", [("/run", "1/net/tcp")], indirect=True)
def test_a_proc_net_look_alike_on_a_silent_fuse_is_not_followed(silent_fuse):
    fuse, _holder, pid, fd, path = silent_fuse
    result = _collect(fuse)
    assert result["namespaces"] is not None and result["namespaces"] >= 1
    # not of a /proc (its mount says fuse): no /proc net file, nothing to say of it
    assert [g for g in result["gaps"] if f"/proc/{pid}/fd/{fd}" in g] == []
    assert os.readlink(f"/proc/{pid}/fd/{fd}") == path  # held all along: the server was not asked
    assert fuse.unanswered == 0


# before: the collection did not end (stat of /proc/PID/fd/N, is it the tun device?)
@pytest.mark.live
@pytest.mark.slow  # discovery of the whole machine, in a process of its own
@pytest.mark.parametrize("silent_fuse", [("/dev", "vpn")], indirect=True)
def test_a_device_link_on_a_silent_fuse_is_a_gap_not_a_hang(silent_fuse):
    fuse, _holder, pid, fd, path = silent_fuse
    result = _collect(fuse)
    assert result["namespaces"] is not None
    [gap] = [g for g in result["gaps"] if f"/proc/{pid}/fd/{fd}" in g]
    assert gap == (f"whether 1 descriptors are of the tun device cannot be told without waiting on their file "
                   f"system (/proc/{pid}/fd/{fd} ({path}) is of a fuse file system (mounted on "
                   f"{path.rsplit('/', 1)[0]}), whose stat(2) may wait for ever on its server: not followed): "
                   "network namespaces only such devices hold are not seen")
    assert fuse.unanswered == 0


# A listener whose program is this interpreter served by the FUSE server: it listens, prints its
# pid, and holds the socket until stdin closes.
LISTENER = textwrap.dedent("""\
    import os, socket, sys
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
    print(os.getpid(), flush=True)
    sys.stdin.read()
""")

DESCRIBE = textwrap.dedent("""\
    import json, sys
    from auditor.collect.sockets import describe_process
    info, missing = describe_process(int(sys.argv[1]))
    print(json.dumps({"exe": info.exe, "missing": missing}))
""")


# before: describing the listener's process did not end (stat of /proc/PID/exe waited on the server)
@pytest.mark.live
@pytest.mark.slow  # a program loaded through the FUSE server
def test_a_program_run_from_a_silent_fuse_is_not_stat_ed():
    require_fuse()
    program = os.path.realpath("/usr/bin/python3")
    if not os.path.exists(program):
        pytest.skip("no /usr/bin/python3 to serve")
    point = Path("/run") / f"lbaudit-hangs19-exe-{os.getpid()}"
    fuse = SilentFuse(point, leaf="daemon", leaf_mode=0o100555, content=Path(program).read_bytes())
    listener = None
    try:
        listener = subprocess.Popen([str(point / "bin" / "daemon"), "-c", LISTENER], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env={"PYTHONHOME": "/usr", "PATH": "/usr/bin"})
        assert listener.stdout is not None
        line = listener.stdout.readline().strip()
        assert line.isdigit(), "the program served by FUSE did not start"
        pid = int(line)
        fuse.go_silent()
        describer = subprocess.Popen([sys.executable, "-c", DESCRIBE, str(pid)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=REPO,
                                     env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            out, err = describer.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            fuse.close()
            describer.kill()
            describer.communicate(timeout=30)
            pytest.fail(f"describing the process did not end in {TIMEOUT} s: stuck on the silent FUSE file system")
        assert describer.returncode == 0, err
        result = json.loads(out)
    finally:
        fuse.close()
        if listener is not None:
            listener.kill()
            listener.wait(timeout=30)
        try:
            point.rmdir()
        except OSError:
            pass
    exe = f"{point}/bin/daemon"
    assert result["exe"] is None  # not proven: a path nothing here could compare with the file it runs
    assert result["missing"]["exe"] == (
        f"exe of pid {pid}: {exe} could not be compared with the file it runs without waiting on it (a fuse file "
        f"system (mounted on {point}), whose stat(2) may wait for ever on its server)")
    assert fuse.unanswered == 0
