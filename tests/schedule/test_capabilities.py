"""The service's CapabilityBoundingSet is what collection needs, measured: `lbaudit collect` under
exactly those capabilities sees what full root sees, and without any one of them it does not."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor import schedule as sched
from tests.report.conftest import in_ci
from tests.schedule.conftest import subprocess_env

pytestmark = pytest.mark.slow  # lbaudit under setpriv, a real process per capability set

PR_SET_DUMPABLE = 4


@pytest.fixture
def listener_of_nobody():
    """A loopback listener owned by nobody: its /proc/PID/fd is not root's to read without capabilities."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody first, so that the socket is nobody's
        try:
            os.close(ready_r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            # A process that changed its uid is not dumpable, and its /proc/PID stays root's; a
            # service started by exec is dumpable, its /proc/PID/fd its user's: be that service.
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            os.write(ready_w, str(sock.getsockname()[1]).encode())
            time.sleep(300)
        finally:
            os._exit(0)
    os.close(ready_w)
    port = int(os.read(ready_r, 32) or b"0")
    os.close(ready_r)
    try:
        yield pid, port
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def _collect(tmp_path: Path, name: str, capabilities: list[str], hidepid: bool = False,
             netns: str | None = None) -> dict:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        message = "setpriv (util-linux) is not installed"
        if in_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    bounding = ",".join(["-all", *(f"+{c.removeprefix('CAP_').lower()}" for c in capabilities)])
    out = tmp_path / f"{name}.json"
    argv = [setpriv, f"--bounding-set={bounding}", "--inh-caps=-all", sys.executable, "-m", "auditor.cli",
            "collect", "-o", str(out)]
    if hidepid:
        # ProtectProc=invisible: a /proc of its own, mounted hidepid=invisible, in a mount namespace
        unshare = shutil.which("unshare")
        assert unshare is not None
        argv = [unshare, "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                'mount -t proc -o hidepid=invisible proc /proc && exec "$@"', "sh", *argv]
    if netns is not None:
        argv = [_ip(), "netns", "exec", netns, *argv]
    run = subprocess.run(argv, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(out.read_text(encoding="utf-8"))


ALL = ["CAP_" + name.upper() for name in ("chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill",
                                          "setgid", "setuid", "setpcap", "net_admin", "net_raw", "sys_ptrace",
                                          "sys_admin", "audit_write", "audit_control", "audit_read", "sys_resource")]


def _owners(snapshot: dict, port: int) -> list[int]:
    return [p["pid"] for l in snapshot["facts"]["sockets"]["listeners"] if l["port"] == port for p in l["processes"]]


@pytest.mark.live
@pytest.mark.root
def test_the_bounding_set_collects_what_full_root_collects(tmp_path, listener_of_nobody):
    pid, port = listener_of_nobody
    full = _collect(tmp_path, "full", ALL)
    bounded = _collect(tmp_path, "bounded", list(sched.CAPABILITIES))
    assert _owners(full, port) == [pid] and _owners(bounded, port) == [pid]
    # The host is shared: listeners, TIME_WAIT counts and loaded audit rules (other tests add and
    # remove some) change between the two runs.  What the capabilities decide is compared: every
    # other fact whole, that the loaded rules were read, and each listener both runs saw.
    stable_bounded, stable_full = _same_where_both_saw(_stable(bounded), _stable(full))
    assert stable_bounded == stable_full
    assert isinstance(full["facts"]["audit"]["loaded_rules"], list)
    assert isinstance(bounded["facts"]["audit"]["loaded_rules"], list)
    assert _stable_gaps(bounded) == _stable_gaps(full)
    seen_full, seen_bounded = _listeners(full), _listeners(bounded)
    both = seen_full.keys() & seen_bounded.keys()
    assert any(key[0] == "tcp" for key in both)
    for key in both:
        if _closing_between(seen_full[key], seen_bounded[key]):
            continue
        assert seen_bounded[key] == seen_full[key], key


def _ip() -> str:
    ip = shutil.which("ip")
    if ip is None:
        pytest.skip("ip (iproute2) is not installed")
    return ip


@pytest.fixture
def namespace_of_test():
    """A named network namespace of this test's own, for setns to enter."""
    ip = _ip()
    name = f"lbcap-{os.getpid()}"
    subprocess.run([ip, "netns", "add", name], check=True, capture_output=True, timeout=30)
    try:
        yield name
    finally:
        subprocess.run([ip, "netns", "delete", name], capture_output=True, timeout=30)


def _entered(snapshot: dict, name: str) -> bool | None:
    for ns in snapshot["facts"]["netns"]["namespaces"]:
        if name in ns.get("names", []):
            return ns["entered"]
    return None


def _stable(snapshot: dict) -> dict:
    facts = {k: v for k, v in snapshot["facts"].items() if k != "sockets"}
    facts["audit"] = {k: v for k, v in facts["audit"].items() if k != "loaded_rules"}
    if facts.get("netns"):
        # member pids and socket counts change between the runs on a shared host; which namespaces
        # were found and entered, their interfaces and settings are what the capabilities decide
        facts["netns"] = dict(facts["netns"], namespaces=[
            {k: v for k, v in ns.items() if k not in ("pids", "counts", "listeners")}
            for ns in facts["netns"]["namespaces"]])
    return facts


def _stable_gaps(snapshot: dict) -> list[dict]:
    """The gaps of ``snapshot`` that the capabilities decide: not the sockets section's, nor those of
    another namespace's listeners (``namespaces/N/listeners...``), which change between the runs as
    the host's own listeners do: a test beside this one (pytest -n) opened or closed one while a run
    looked up its owners (seen once in a full run: "its listeners changed while their owners were
    looked up" in one run, the listener's owner gap in the other)."""
    return [g for g in snapshot["gaps"] if g["section"] != "sockets"
            and not (g["section"] == "netns" and len(g["path"]) >= 3 and g["path"][0] == "namespaces"
                     and g["path"][2] == "listeners")]


def _same_where_both_saw(first: dict, second: dict) -> tuple[dict, dict]:
    """``first`` and ``second`` (from :func:`_stable`) with only the namespaces both runs found: a
    test running beside this one (pytest -n) may create or delete a namespace between the runs,
    which no capability decides."""
    if not (first.get("netns") and second.get("netns")):
        return first, second
    both = ({ns["inode"] for ns in first["netns"]["namespaces"]}
            & {ns["inode"] for ns in second["netns"]["namespaces"]})
    return tuple(dict(facts, netns=dict(facts["netns"], namespaces=[
        ns for ns in facts["netns"]["namespaces"] if ns["inode"] in both])) for facts in (first, second))


def _closing_between(first: tuple, second: tuple) -> bool:
    """Whether a listener another test held was closing while the second run read it: in its
    socket table, and held by no process by the time the run looked for its holders (a test beside
    this one, pytest -n, closed it; seen once in CI-like runs).  Each owner the first run named has
    exited since, so no capability decided it."""
    owners, _ = first
    return bool(owners) and not second[0] and all(not Path(f"/proc/{pid}").exists() for pid in owners)


def _listeners(snapshot: dict) -> dict[tuple, tuple]:
    """(protocol, inode) -> (owner pids, why not attributed) of each listener."""
    return {(l["protocol"], l["inode"]): (sorted(p["pid"] for p in l["processes"]), l["owner_reason"])
            for l in snapshot["facts"]["sockets"]["listeners"]}


@pytest.mark.live
@pytest.mark.root
def _held_mount_namespace(tmp_path: Path) -> tuple[Path, int]:
    """A mount namespace only a bind mount holds (the returned path: unmount it), with a network
    namespace bound in it only (its inode returned), as tests/hostile/test_netns_held_mount_namespaces.py makes it."""
    from tests.hostile.test_netns_held_mount_namespaces import MAKE, _made

    holder = tmp_path / "held-mnt"
    holder.touch()
    made = subprocess.run(["unshare", f"--mount={holder}", "--propagation", "private", "sh", "-c", MAKE, "sh", "4785"],
                          capture_output=True, text=True, timeout=30)
    try:
        return holder, _made(made)
    except BaseException:
        subprocess.run(["umount", str(holder)], capture_output=True, timeout=30)
        raise


@pytest.mark.parametrize("missing", sched.CAPABILITIES)
def test_each_capability_is_needed(tmp_path, listener_of_nobody, namespace_of_test, missing):
    pid, port = listener_of_nobody
    full = _collect(tmp_path, "full", list(sched.CAPABILITIES))
    without = _collect(tmp_path, "without", [c for c in sched.CAPABILITIES if c != missing])
    if missing == "CAP_AUDIT_CONTROL":
        if any(g["section"] == "audit" and g["kind"] == "unreadable" for g in full["gaps"]):
            pytest.skip("the audit subsystem is not readable here even with the capability")
        assert any(g["section"] == "audit" and g["kind"] == "unreadable" for g in without["gaps"])
    elif missing == "CAP_SYS_ADMIN":
        # setns into another namespace: the one this test made is entered only with it
        assert _entered(full, namespace_of_test) is True and _entered(without, namespace_of_test) is False
        assert any("could not be entered" in g["reason"] for g in without["gaps"] if g["section"] == "netns")
    elif missing == "CAP_SYS_CHROOT":
        # setns into a mount namespace no process is in, where ip netns bound a network namespace
        held = _held_mount_namespace(tmp_path)
        try:
            full = _collect(tmp_path, "full-held", list(sched.CAPABILITIES))
            without = _collect(tmp_path, "without-held", [c for c in sched.CAPABILITIES if c != missing])
        finally:
            subprocess.run(["umount", str(held[0])], capture_output=True, timeout=30)
        inodes = [[ns["inode"] for ns in snapshot["facts"]["netns"]["namespaces"]] for snapshot in (full, without)]
        assert held[1] in inodes[0] and held[1] not in inodes[1]
        assert any("mount namespace" in g["reason"] for g in without["gaps"] if g["section"] == "netns")
    elif missing == "CAP_NET_ADMIN":
        # the kernel's NAT rules (published ports with no host listener), nft's and iptables'
        assert "nat" in full["facts"]["netns"]["published_sources"]
        assert "nat" not in without["facts"]["netns"]["published_sources"]
    elif missing == "CAP_NET_RAW":
        # iptables-legacy-save opens a raw socket: without it the legacy NAT rules are a gap.
        # lbaudit reads them only where a legacy nat table exists (reading one would create it),
        # and whether the host has one depends on what ran on it before (CI found none), so both
        # collections run in a namespace of the test's own that has one, and the host is left as is.
        legacy = shutil.which("iptables-legacy")
        if legacy is None:
            message = "iptables-legacy is not installed: no reader here needs CAP_NET_RAW"
            if in_ci():
                pytest.fail(f"CI=true and {message}", pytrace=False)
            pytest.skip(message)
        subprocess.run([_ip(), "netns", "exec", namespace_of_test, legacy, "-t", "nat", "-S"],
                       check=True, capture_output=True, timeout=30)

        def nat_gaps(snapshot: dict) -> list[str]:
            return [g["reason"] for g in snapshot["gaps"] if g["section"] == "netns" and "-save" in g["reason"]]
        full = _collect(tmp_path, "full-in-netns", list(sched.CAPABILITIES), netns=namespace_of_test)
        without = _collect(tmp_path, "without-in-netns", [c for c in sched.CAPABILITIES if c != missing],
                           netns=namespace_of_test)
        assert nat_gaps(full) == []
        assert [reason.split(":")[0] for reason in nat_gaps(without)] == ["iptables-legacy-save failed"]
    else:
        assert _owners(without, port) == []
        assert any(str(port) in g["reason"] for g in without["gaps"])


@pytest.mark.live
@pytest.mark.root
def test_protect_proc_invisible_hides_no_process_from_the_scan(tmp_path, listener_of_nobody):
    """The unit sets ProtectProc=invisible: with CAP_SYS_PTRACE every process stays visible."""
    pid, port = listener_of_nobody
    hidden = _collect(tmp_path, "hidepid", list(sched.CAPABILITIES), hidepid=True)
    assert _owners(hidden, port) == [pid]
    assert "ProtectProc=invisible" in sched.render_service(
        sched.ScheduleConfig(executable="/usr/bin/lbaudit", policy="/etc/lbaudit/corp.yaml")).splitlines()
