"""A dockerd of the tests' own: started on a private socket, data and exec root, with an image
built without a registry (busybox-static in an otherwise empty root file system), and removed with
everything it made: containers, the daemon, its docker0 bridge, its iptables chains and rules, and
net.ipv4.ip_forward as it was.

Published ports use loopback or the wildcard of the host, never another address; no traffic is sent.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tarfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

IMAGE = "lbaudit-test/busybox:local"
BUSYBOX = "/bin/busybox"
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _skip(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


class Docker:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"

    def run(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(["docker", "--host", self.host, *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout.strip()


def _docker_rules() -> dict[str, list[str]]:
    """iptables rules (``-S`` form) that mention docker, by table."""
    found = {}
    for table in ("nat", "filter"):
        out = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True, timeout=10).stdout
        found[table] = [line for line in out.splitlines() if "DOCKER" in line or "docker0" in line]
    return found


def _remove_docker_chains() -> None:
    for table, lines in _docker_rules().items():
        for line in lines:
            words = shlex.split(line)
            if words[0] == "-A" and not words[1].startswith("DOCKER"):
                subprocess.run(["iptables", "-t", table, "-D", *words[1:]], capture_output=True, timeout=10)
        for line in lines:
            words = shlex.split(line)
            if words[0] == "-N":
                subprocess.run(["iptables", "-t", table, "-F", words[1]], capture_output=True, timeout=10)
        for line in lines:
            words = shlex.split(line)
            if words[0] == "-N":
                subprocess.run(["iptables", "-t", table, "-X", words[1]], capture_output=True, timeout=10)


def _build_image(docker: Docker) -> None:
    rootfs = docker.root / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    (rootfs / "www").mkdir()
    shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
    archive = docker.root / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(rootfs, arcname=".")
    docker.run("import", str(archive), IMAGE)


def _mounts_under(directory: Path) -> list[str]:
    """Mount points at or below ``directory``, deepest first (from /proc/self/mountinfo)."""
    from auditor.collect.netns import _unescape

    top = os.path.realpath(directory)
    points = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = _unescape(line.split()[4])
        if point == top or point.startswith(top + "/"):
            points.add(point)
    return sorted(points, key=lambda p: (-p.count("/"), p))


@contextmanager
def dockerd(tmp: Path, userland_proxy: bool) -> Iterator[Docker]:
    if os.geteuid() != 0:
        _skip("dockerd needs root")
    for tool in ("dockerd", "docker", "iptables"):
        if shutil.which(tool) is None:
            _skip(f"{tool} is not installed (scripts/bootstrap --test installs docker.io busybox-static iptables)")
    if not os.path.exists(BUSYBOX):
        _skip(f"{BUSYBOX} is not installed (busybox-static): no image can be built without a registry")
    if any(_docker_rules().values()) or os.path.exists("/sys/class/net/docker0"):
        _skip("another Docker daemon's bridge or iptables chains are present: a second daemon would share them")
    docker = Docker(tmp)
    forward = Path(IP_FORWARD).read_text()
    # dockerd sets the FORWARD policy to DROP when it turns forwarding on: put back what was there
    policy = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True, timeout=10).stdout.split()
    forward_policy = policy[2] if policy[:2] == ["-P", "FORWARD"] and len(policy) > 2 else "ACCEPT"
    log = open(tmp / "dockerd.log", "w")
    process = subprocess.Popen(
        ["dockerd", "--storage-driver", "vfs", "--data-root", str(tmp / "data"), "--exec-root", str(tmp / "exec"),
         "--host", docker.host, "--pidfile", str(tmp / "dockerd.pid"), "--iptables=true",
         f"--userland-proxy={'true' if userland_proxy else 'false'}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                _skip(f"dockerd exited with {process.returncode}: {(tmp / 'dockerd.log').read_text()[-600:]}")
            if docker.socket.exists():
                try:
                    docker.run("version", timeout=10)
                    break
                except (RuntimeError, subprocess.TimeoutExpired):
                    pass
            if time.monotonic() > deadline:
                _skip(f"dockerd did not answer within 60 s: {(tmp / 'dockerd.log').read_text()[-600:]}")
            time.sleep(0.2)
        _build_image(docker)
        yield docker
    finally:
        if process.poll() is None:
            try:
                for container in docker.run("ps", "-aq", timeout=30).split():
                    docker.run("rm", "-f", container, timeout=60)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()
        subprocess.run(["ip", "link", "del", "docker0"], capture_output=True, timeout=10)
        _remove_docker_chains()
        Path(IP_FORWARD).write_text(forward)
        subprocess.run(["iptables", "-P", "FORWARD", forward_policy], capture_output=True, timeout=10)
        # every mount the daemon left under its directories, deepest first: exec/netns/default (an
        # nsfs mount, which kept the daemon's namespace alive and showed up in every later
        # collection's mountinfo) is below exec, which is no mount point itself, so umount -R of
        # exec left it
        for point in _mounts_under(tmp):
            subprocess.run(["umount", "-l", point], capture_output=True, timeout=10)
