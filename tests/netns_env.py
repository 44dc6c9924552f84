"""Network namespaces the tests create and remove: named ones (``ip netns add``), unnamed ones
(``unshare --net``), veth pairs, macvlan links, listeners and sysctls inside them.

Only addresses inside namespaces created here are ever configured (the host side of a veth gets
none); every namespace, link and process is removed when the context ends.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

# A listener process: binds each "proto:address" given (port 0: the kernel picks), prints
# "proto address port" per socket, then holds them until its stdin closes.
LISTENER = r"""
import socket, sys
held = []
for spec in sys.argv[1:]:
    proto, address = spec.split(":", 1)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    sock.bind((address, 0))
    if proto == "tcp":
        sock.listen(4)
    held.append(sock)
    print(proto, address, sock.getsockname()[1], flush=True)
sys.stdin.read()
"""

_counter = itertools.count()


def require_namespaces() -> None:
    if os.geteuid() != 0:
        pytest.skip("creating network namespaces needs root (CI runs the suite as root)")
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip(f"ip netns is not usable here: {probe.stderr.strip()}")


def systemd_sysctl_or_skip() -> str:
    """The path of systemd-sysctl, for tests that let it apply an image's sysctl.d in a private
    namespace (unshare) and compare with lbaudit; a skip with the reason without root, the tool or
    unshare, and a failure under CI=true (scripts/bootstrap --test installs them)."""
    return _boot_tool_or_skip(("/usr/lib/systemd/systemd-sysctl", "/lib/systemd/systemd-sysctl"),
                              "systemd-sysctl is not installed (Debian package systemd)")


def _boot_tool_or_skip(paths: tuple[str, ...], absent: str) -> str:
    """The first of ``paths`` that exists, run as root in a private namespace (unshare); a skip
    saying what is missing (``absent`` for the tool), a failure under CI=true."""
    import shutil

    tool = next((p for p in paths if os.path.exists(p)), None)
    missing = ("not root" if os.geteuid() != 0 else absent if tool is None
               else "unshare is not installed" if shutil.which("unshare") is None else None)
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {missing}", pytrace=False)
        pytest.skip(missing)
    assert tool is not None
    return tool


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


def unique_name(prefix: str = "lbt") -> str:
    return f"{prefix}{os.getpid() % 100000}x{next(_counter)}"


@contextmanager
def named_namespace(name: str | None = None) -> Iterator[str]:
    """A named namespace with loopback up."""
    require_namespaces()
    name = name or unique_name()
    ip("netns", "add", name)
    try:
        ip("-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def sysctl_in(name: str, key: str, value: str) -> None:
    subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", f"{key}={value}"], check=True,
                   capture_output=True, timeout=10)


class Listeners:
    """A process holding listeners; ``ports`` maps (proto, address) to the port the kernel gave."""

    def __init__(self, argv: list[str], specs: list[str]) -> None:
        self.process = subprocess.Popen([*argv, sys.executable, "-c", LISTENER, *specs], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.ports: dict[tuple[str, str], int] = {}
        assert self.process.stdout is not None
        for _spec in specs:
            line = self.process.stdout.readline()
            if not line:
                self.close()
                raise RuntimeError(f"listener process {argv} ended before binding {specs}")
            proto, address, port = line.split()
            self.ports[(proto, address)] = int(port)

    @property
    def pid(self) -> int:
        return self.process.pid

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def listeners_in(name: str, *specs: str) -> Iterator[Listeners]:
    """Listeners inside the named namespace ``name``."""
    held = Listeners(["ip", "netns", "exec", name], list(specs))
    try:
        yield held
    finally:
        held.close()


@contextmanager
def unnamed_namespace_listeners(*specs: str) -> Iterator[Listeners]:
    """Listeners in a namespace of their own that has no name (``unshare --net``): it exists only
    as long as the process does."""
    require_namespaces()
    held = Listeners(["unshare", "--net", "--"], list(specs))
    try:
        yield held
    finally:
        held.close()


def namespace_inode_of(pid: int) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


@contextmanager
def veth_to_host(name: str, address: str) -> Iterator[str]:
    """A veth pair: one end in the host namespace (no address), the other in ``name`` with ``address``."""
    host_end = unique_name("lbv")
    ip("link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", name)
    try:
        ip("-n", name, "addr", "add", address, "dev", "eth0")
        ip("-n", name, "link", "set", "eth0", "up")
        yield host_end
    finally:
        subprocess.run(["ip", "link", "del", host_end], capture_output=True, timeout=10)


def macvlan_in(name: str, address: str, kind: str = "macvlan") -> None:
    """A macvlan (or ipvlan) link ``out0`` with ``address``, on the end of a veth pair whose both ends
    are inside ``name`` (no address on them); skips when the kernel lacks ``kind``."""
    ip("-n", name, "link", "add", "parent0", "type", "veth", "peer", "name", "parent1")
    ip("-n", name, "link", "set", "parent0", "up")
    made = subprocess.run(["ip", "-n", name, "link", "add", "link", "parent0", "name", "out0", "type", kind],
                          capture_output=True, text=True, timeout=10)
    if made.returncode != 0:
        pytest.skip(f"this kernel cannot make a {kind} link: {made.stderr.strip()}")
    ip("-n", name, "addr", "add", address, "dev", "out0")
    ip("-n", name, "link", "set", "out0", "up")


def ss_listeners(name: str) -> set[tuple[str, str, int]]:
    """(protocol, address, port) of every TCP and UDP listener ``ss -N NAME -ltnup`` shows."""
    out = subprocess.run(["ss", "-N", name, "-H", "-ltnup"], check=True, capture_output=True, text=True,
                         timeout=10).stdout
    found = set()
    for line in out.splitlines():
        fields = line.split()
        proto, local = fields[0], fields[4]
        address, _, port = local.rpartition(":")
        address = address.strip("[]").split("%")[0]
        found.add((proto, "::" if address == "*" else address, int(port)))  # ss prints a dual-stack :: as *
    return found


def join_by_veth(server: str, peer: str, subnet: str, prefix: str = "lbv") -> str:
    """A veth between two namespaces of the test's own: the server's end (a unique name, returned)
    holds SUBNET.1/24, the peer's, ``peer0``, SUBNET.2/24; the server's loopback is up."""
    link = unique_name(prefix)
    ip("link", "add", link, "netns", server, "type", "veth", "peer", "name", "peer0", "netns", peer)
    ip("-n", server, "addr", "add", f"{subnet}.1/24", "dev", link)
    ip("-n", server, "link", "set", link, "up")
    ip("-n", server, "link", "set", "lo", "up")
    ip("-n", peer, "addr", "add", f"{subnet}.2/24", "dev", "peer0")
    ip("-n", peer, "link", "set", "peer0", "up")
    return link


def route_tproxy(namespace: str, rules: str) -> None:
    """The nftables ``rules`` (tproxy statements that mark what they take with 1) in ``namespace``,
    and the policy routing TPROXY needs to deliver it locally (fwmark 1: table 100, local 0.0.0.0/0
    via lo); skips the test when the kernel takes no tproxy rule."""
    loaded = subprocess.run(["ip", "netns", "exec", namespace, "nft", "-f", "-"], input=rules,
                            capture_output=True, text=True, timeout=10)
    if loaded.returncode != 0:
        pytest.skip(f"this kernel takes no nftables tproxy rule: {loaded.stderr.strip()}")
    ip("-n", namespace, "rule", "add", "fwmark", "1", "lookup", "100")
    ip("-n", namespace, "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "100")


def boot_one_sysctl(tool: str, directory: Path, key: str, text: str, written: str | None = None) -> tuple[Path, str, str]:
    """``key = text`` (``written = text``: a glob or another form of the key) in a sysctl.d of its
    own under ``directory`` (the only configuration: the other sysctl.d directories and
    /etc/sysctl.conf hidden), applied by the boot ``tool`` (systemd-sysctl) to ``key`` alone in a
    fresh mount and network namespace: its file, and the value of ``key`` before and after."""
    confd, empty = directory / "sysctl.d", directory / "empty"
    confd.mkdir(parents=True)
    empty.mkdir()
    conf = confd / "60-value.conf"
    conf.write_bytes(f"{written or key} = {text}\n".encode())
    path = key.replace(".", "/")
    binds = [f"mount --bind {confd} /etc/sysctl.d", "[ ! -e /etc/sysctl.conf ] || mount --bind /dev/null /etc/sysctl.conf"]
    binds += [f"[ ! -d {d} ] || mount --bind {empty} {d}"
              for d in ("/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")]
    script = "; ".join([*binds, f"cat /proc/sys/{path}", f"{tool} --prefix=/{path} 2>/dev/null || true",
                        f"cat /proc/sys/{path}"])
    before, booted = subprocess.run(["unshare", "--mount", "--net", "sh", "-ec", script], capture_output=True,
                                    text=True, timeout=30, check=True).stdout.splitlines()
    return conf, before, booted


def boot_sysctl_files(command: list[str], directory: Path, files: dict[str, str], key: str) -> tuple[str, str]:
    """``files`` (name -> text) as the only /etc/sysctl.d (the other sysctl.d directories and
    /etc/sysctl.conf hidden), applied by ``command`` (systemd-sysctl, or procps' ``sysctl --system``)
    in a fresh mount and network namespace: the value of ``key`` before and after."""
    confd, empty = directory / "sysctl.d", directory / "empty"
    confd.mkdir(parents=True)
    empty.mkdir()
    for name, text in files.items():
        (confd / name).write_text(text)
    path = key.replace(".", "/")
    binds = [f"mount --bind {confd} /etc/sysctl.d", "[ ! -e /etc/sysctl.conf ] || mount --bind /dev/null /etc/sysctl.conf"]
    binds += [f"[ ! -d {d} ] || mount --bind {empty} {d}"
              for d in ("/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")]
    script = "; ".join([*binds, f"cat /proc/sys/{path}", f"{' '.join(command)} >/dev/null 2>&1 || true",
                        f"cat /proc/sys/{path}"])
    before, booted = subprocess.run(["unshare", "--mount", "--net", "sh", "-ec", script], capture_output=True,
                                    text=True, timeout=30, check=True).stdout.splitlines()
    return before, booted


def procps_sysctl_or_skip() -> str:
    """procps' sysctl, for tests that let ``sysctl --system`` apply an image's sysctl.d in a private
    namespace; a skip with the reason without root, the tool or unshare (a failure under CI=true)."""
    return _boot_tool_or_skip(("/usr/sbin/sysctl", "/sbin/sysctl"), "procps' sysctl is not installed (Debian package procps)")
