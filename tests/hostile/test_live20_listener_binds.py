"""Hostile corpus, live listener binds: what a peer could reach, from real sockets in a namespace.

Each case opens real sockets inside an ``unshare --net`` namespace (lo, and a veth pair ``d0``/``d1``
with 10.5.0.1 on d0) and runs the real ``lbaudit evaluate`` there under ``allow: [loopback]``.
No defect was found in this sweep (fix/live20); these pin the verdicts the kernel's reachability
gives, so that a regression in any of them is a visible failure rather than a quiet false pass:

* ``::`` v6only=0 (dual-stack) and v6only=1, ``::ffff:0.0.0.0``, ``::ffff:10.5.0.1``: fail; ``::ffff:127.0.0.1``,
  ``127.1.2.3``, a raw socket on 127.0.0.1: pass, and fail once route_localnet lets a link deliver them
  (on d0, or on ``all``);
* 127.0.0.1 bound (SO_BINDTODEVICE) to d0: pass without route_localnet, fail with it on d0 or ``all``,
  pass with it on d1 only (the lookup compares the device the packet came in on);
* 0.0.0.0 and dual-stack ``::`` bound to lo: pass (only the namespace itself can reach them);
* IP_FREEBIND / IP_TRANSPARENT binds to addresses not on the host: fail;
* an SO_REUSEPORT pair on one port, 127.0.0.1 and 0.0.0.0: the wildcard member fails, the loopback one
  is judged as any 127.0.0.1 listener (pass, or fail under route_localnet);
* UDP on 0.0.0.0 (unconnected: a listener, as the README says) fails; a raw socket on 0.0.0.0 or ``::`` fails;
* a kernel VXLAN socket (no process holds it) on 0.0.0.0:4789 fails, owner unknown;
* 0.0.0.0 bound to a device deleted since: fails (the device is unknown, judged at its address).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.factories import loopback_only_policy
from tests.netns_env import require_namespaces

REPO = Path(__file__).resolve().parents[2]
LBAUDIT = Path(sys.executable).parent / "lbaudit"

CHILD = textwrap.dedent(r"""
    import json, os, socket, subprocess, sys
    out, policy, lbaudit, route_localnet = sys.argv[1:5]
    def sh(command):
        subprocess.run(command, shell=True, check=True, capture_output=True)
    sh("ip link set lo up; ip link add d0 type veth peer name d1; ip link set d0 up; ip link set d1 up;"
       " ip addr add 10.5.0.1/24 dev d0")
    if route_localnet:
        sh(f"sysctl -qw net.ipv4.conf.{route_localnet}.route_localnet=1")
    IP6, V6, SOL = socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, socket.SOL_SOCKET
    IP_FREEBIND, IP_TRANSPARENT = 15, 19
    held = []
    def bind(family, address, port, options=(), udp=False):
        sock = socket.socket(family, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        for level, option, value in options:
            sock.setsockopt(level, option, value)
        sock.bind((address, port))
        if not udp:
            sock.listen()
        held.append(sock)
    v4, v6 = socket.AF_INET, socket.AF_INET6
    bind(v6, "::", 7001, [(IP6, V6, 0)])
    bind(v6, "::", 7002, [(IP6, V6, 1)])
    bind(v6, "::ffff:0.0.0.0", 7003, [(IP6, V6, 0)])
    bind(v6, "::ffff:127.0.0.1", 7004, [(IP6, V6, 0)])
    bind(v6, "::ffff:10.5.0.1", 7005, [(IP6, V6, 0)])
    bind(v4, "127.0.0.1", 7006, [(SOL, socket.SO_BINDTODEVICE, b"d0")])
    bind(v4, "192.0.2.9", 7007, [(socket.SOL_IP, IP_FREEBIND, 1)])
    bind(v4, "192.0.2.9", 7008, [(socket.SOL_IP, IP_TRANSPARENT, 1)])
    bind(v4, "127.1.2.3", 7010)
    bind(v4, "0.0.0.0", 7011, [(SOL, socket.SO_BINDTODEVICE, b"lo")])
    bind(v4, "127.0.0.1", 7012, [(SOL, socket.SO_REUSEPORT, 1)])
    bind(v4, "0.0.0.0", 7012, [(SOL, socket.SO_REUSEPORT, 1)])
    bind(v4, "0.0.0.0", 7013, udp=True)
    bind(v6, "::", 7015, [(IP6, V6, 0), (SOL, socket.SO_BINDTODEVICE, b"lo")])
    for family, address in ((v4, "0.0.0.0"), (v6, "::")):
        held.append(socket.socket(family, socket.SOCK_RAW, 253))
    raw = socket.socket(v4, socket.SOCK_RAW, 254)
    raw.bind(("127.0.0.1", 0))
    held.append(raw)
    sh("ip link add d9 type veth peer name d8")
    bind(v4, "0.0.0.0", 7030, [(SOL, socket.SO_BINDTODEVICE, b"d9")])
    sh("ip link del d9")
    sh("ip link add vx0 type vxlan id 5 dstport 4789 local 10.5.0.1 dev d0 && ip link set vx0 up")
    done = subprocess.run([lbaudit, "evaluate", "--policy", policy, "-o", out], capture_output=True, text=True,
                          cwd=os.path.dirname(out))
    print(done.returncode, done.stderr[-2000:])
""")

ALWAYS = {
    "tcp [::]:7001": "fail", "tcp [::]:7002": "fail", "tcp [::ffff:0.0.0.0]:7003": "fail",
    "tcp [::ffff:10.5.0.1]:7005": "fail", "tcp 192.0.2.9:7007": "fail", "tcp 192.0.2.9:7008": "fail",
    "tcp 0.0.0.0:7011": "pass", "tcp 0.0.0.0:7012": "fail",
    "udp 0.0.0.0:7013": "fail", "tcp [::]:7015": "pass", "raw 0.0.0.0:253": "fail", "raw [::]:253": "fail",
    "tcp 0.0.0.0:7030": "fail", "udp 0.0.0.0:4789": "fail",
}
LOCALNET = ("tcp [::ffff:127.0.0.1]:7004", "tcp 127.1.2.3:7010", "raw 127.0.0.1:254", "tcp 127.0.0.1:7012")
BOUND_TO_D0 = "tcp 127.0.0.1:7006"


def _statuses(tmp_path: Path, route_localnet: str) -> dict[str, str]:
    require_namespaces()
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    policy = tmp_path / "policy.yaml"
    policy.write_text(loopback_only_policy("live20"))
    out = tmp_path / "evidence.json"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(["unshare", "--net", sys.executable, str(script), str(out), str(policy), str(LBAUDIT),
                           route_localnet], capture_output=True, text=True, timeout=240, env=env)
    if done.returncode != 0 and ("type veth" in done.stderr or "vxlan" in done.stderr):
        pytest.skip(f"this kernel cannot make the links: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr
    evidence = json.loads(out.read_text())
    found: dict[str, str] = {}
    for finding in evidence["result"]["findings"]:
        subject = finding["subject"]
        if finding["rule_id"] == "loopback-only" and " in netns " not in subject:
            found[subject.rsplit(" ", 3)[0] if " pid " in subject else subject.removesuffix(" owner unknown")] = \
                finding["status"]
    return found


@pytest.mark.parametrize("route_localnet, localnet_status, bound_to_d0_status",
                         [("", "pass", "pass"), ("d0", "fail", "fail"), ("all", "fail", "fail"),
                          ("d1", "fail", "pass")])
def test_live_binds_are_judged_by_what_a_peer_can_reach(tmp_path: Path, route_localnet: str, localnet_status: str,
                                                        bound_to_d0_status: str) -> None:
    found = _statuses(tmp_path, route_localnet)
    expected = {**ALWAYS, **dict.fromkeys(LOCALNET, localnet_status), BOUND_TO_D0: bound_to_d0_status}
    assert {subject: found.get(subject) for subject in expected} == expected, found
