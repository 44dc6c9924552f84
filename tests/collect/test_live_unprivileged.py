"""collect_live as root and as ``nobody``: what cannot be seen is a reason and a Gap, never a guess.

The unprivileged run forks and drops to nobody (tests/privileges.py explains why not
``subprocess.run(user=...)``: the interpreter lives under /root, mode 0700).
"""

from __future__ import annotations

import ctypes
import json
import os
import socket

import pytest

from auditor.collect.live import COLLECTORS, collect_live, gap_sort_key
from auditor.collect.provenance import parse_os_release
from auditor.collect.sockets import scan_socket_owners
from auditor.model.facts import SECTIONS, HostSnapshot
from tests.privileges import require_root, run_as_unprivileged

PR_SET_DUMPABLE = 4
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before any privilege drop
SOCKETS_AND_SYSCTL = frozenset({"sockets", "sysctl"})


def _inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


def _listener_index(snapshot: HostSnapshot, inode: int) -> int:
    matches = [i for i, l in enumerate(snapshot.facts.sockets.listeners) if l.inode == inode]
    assert len(matches) == 1, f"listener with inode {inode} not found exactly once"
    return matches[0]


@pytest.mark.live
def test_collects_only_requested_sections_as_root_with_own_listener_attributed():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        snapshot = collect_live(SOCKETS_AND_SYSCTL)
        index = _listener_index(snapshot, _inode(listener))
    own = snapshot.facts.sockets.listeners[index]
    assert [p.pid for p in own.processes] == [os.getpid()]
    assert snapshot.facts.audit is None  # not requested, not run
    assert snapshot.facts.sysctl.runtime["net.ipv4.ip_local_port_range"].value.count(" ") == 1
    prov = snapshot.provenance
    assert prov.source == "live" and prov.effective_uid == os.geteuid()
    assert prov.privileged == (os.geteuid() == 0)
    assert set(prov.methods) == SOCKETS_AND_SYSCTL
    assert "netlink sock_diag" in prov.methods["sockets"] and "/proc/sys" in prov.methods["sysctl"]
    assert prov.kernel == os.uname().release and prov.arch == os.uname().machine
    assert snapshot.gaps == sorted(snapshot.gaps, key=gap_sort_key)
    own_gaps = [g for g in snapshot.gaps if g.field.startswith(f"listeners/{index}/")]
    # Even root cannot read every descriptor where a process is more privileged than this one (a
    # container's pid 1 from an outer user namespace): then, and only then, lbaudit cannot know
    # that no other process holds this socket too, and says so.
    holders_unknown = f"tcp {own.endpoint}: other processes may hold it too: /proc/<pid>/fd not readable for "
    if scan_socket_owners({own.inode or 0}).unreadable:
        assert [g.reason[:len(holders_unknown)] for g in own_gaps] == [holders_unknown]
    else:
        assert own_gaps == []


def test_unknown_section_is_refused():
    with pytest.raises(ValueError, match="unknown fact sections: routes"):
        collect_live(frozenset({"sockets", "routes"}))


def test_every_section_has_a_collector():
    assert set(COLLECTORS) == {"sockets", "sysctl", "audit", "netns"}


def test_gaps_sort_listener_indexes_numerically():
    from auditor.model.facts import Gap

    gaps = [Gap(section="sockets", field=f"listeners/{i}/processes", reason="r") for i in (10, 9, 100)]
    gaps.append(Gap(section="sysctl", field="runtime/x", reason="r"))
    ordered = sorted(gaps, key=gap_sort_key)
    assert [g.field for g in ordered] == [
        "listeners/9/processes", "listeners/10/processes", "listeners/100/processes", "runtime/x",
    ]


def test_os_release_parsing():
    text = '# comment\nNAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nBAD="unbalanced\n'
    assert parse_os_release(text) == {"NAME": "Debian GNU/Linux", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "ID": "debian"}


# ---------------------------------------------------------------- as nobody

def _collect_as_nobody(inherited_fds: list[int]) -> tuple[str, int, int]:
    """Runs in the child after the drop to nobody."""
    for fd in inherited_fds:  # the child must not hold the root listener itself
        os.close(fd)
    # setuid() made the child non-dumpable, which hides its own /proc/<pid>/fd from itself; a
    # program started as nobody is dumpable, so restore that state.
    if _LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")
    with socket.socket() as own:
        own.bind(("127.0.0.1", 0))
        own.listen()
        snapshot = collect_live(frozenset(SECTIONS))
        return snapshot.model_dump_json(by_alias=True), os.getpid(), _inode(own)


@pytest.mark.root
def test_as_nobody_root_listener_is_not_attributable_with_reason_and_gap():
    require_root()
    with socket.socket() as root_listener:
        root_listener.bind(("127.0.0.1", 0))
        root_listener.listen()
        port = root_listener.getsockname()[1]
        text, child_pid, own_inode = run_as_unprivileged(_collect_as_nobody, [root_listener.fileno()])
        snapshot = HostSnapshot.model_validate(json.loads(text))

        index = _listener_index(snapshot, _inode(root_listener))
        listener = snapshot.facts.sockets.listeners[index]
        assert (listener.address, listener.port) == ("127.0.0.1", port)
        assert (listener.uid, listener.user) == (0, "root")  # the kernel's socket uid is visible
        assert listener.processes == []  # never silently attributed
        assert "not attributable" in listener.owner_reason and "without privileges" in listener.owner_reason
        assert listener.subject.endswith("owner unknown")
        gaps = snapshot.gaps_for("sockets", f"listeners/{index}/processes")
        assert [g.field for g in gaps] == [f"listeners/{index}/processes"]
        assert f"127.0.0.1:{port}" in gaps[0].reason and "not attributable" in gaps[0].reason

    # nobody's own listener is attributed to the child: attribution works where the kernel allows it
    own = snapshot.facts.sockets.listeners[_listener_index(snapshot, own_inode)]
    assert [p.pid for p in own.processes] == [child_pid]
    assert own.processes[0].user == "nobody" and own.uid == 65534

    prov = snapshot.provenance
    assert (prov.effective_uid, prov.effective_user, prov.privileged) == (65534, "nobody", False)
    assert snapshot.facts.sysctl.runtime["net.ipv4.tcp_fin_timeout"].value.isdigit()  # readable unprivileged
    assert set(prov.methods) == set(SECTIONS)
    # every section either has its facts or says why not; no collector crashed
    assert not [g for g in snapshot.gaps if g.reason.startswith("collector failed")]
    assert snapshot.gaps == sorted(snapshot.gaps, key=gap_sort_key)


@pytest.mark.live
def test_all_sections_as_root_never_crash_a_collector():
    snapshot = collect_live(frozenset(SECTIONS))
    assert set(snapshot.provenance.methods) == set(SECTIONS)
    assert not [g for g in snapshot.gaps if g.reason.startswith("collector failed")]
    for section in SECTIONS:
        assert getattr(snapshot.facts, section) is not None or snapshot.gaps_for(section), section


@pytest.mark.live
def test_the_collected_snapshot_is_the_one_validation_builds_from_its_parts():
    # collect_snapshot builds the snapshot from models validated already, without validating them
    # again (issue 16): it must be the snapshot validation gives, fields set and all.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        snapshot = collect_live(SOCKETS_AND_SYSCTL)
    validated = HostSnapshot(provenance=snapshot.provenance, facts=snapshot.facts, gaps=snapshot.gaps)
    assert snapshot == validated and list(snapshot.__dict__) == list(validated.__dict__)
    assert snapshot.__pydantic_fields_set__ == validated.__pydantic_fields_set__
    assert snapshot.model_dump(mode="json", by_alias=True) == validated.model_dump(mode="json", by_alias=True)
