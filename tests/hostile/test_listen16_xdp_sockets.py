"""Hostile corpus, false passes: an AF_XDP socket, which hands a userspace stack the frames of an
interface queue.

An AF_XDP socket bound to an interface's receive queue gets every frame an XDP program of that
interface redirects to it (XSKMAP), before the kernel's network stack sees it: no kernel socket,
address, route or firewall rule of the host decides what a userspace TCP/IP stack on it serves.
lbaudit judges the kernel's IP listeners; an AF_XDP socket was not seen at all (no IP dump lists
it), so every listener passed on a host whose service answered on the link through one.

Now namespace discovery, which already asks the protocol of every socket no dump placed, names each
``XDP`` one: a gap on the listener list, so ``net.bind_addresses`` is ``not_reviewed``
("listeners (collection)") and the run incomplete (exit 3), naming the socket and its holder.
Real sockets: one bound to a veth's queue 0 in copy mode (UMEM, fill, completion and RX rings
registered, as libxdp does), in a namespace of the test's own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.netns_env import ip, named_namespace
from tests.privileges import require_root

# Registers a UMEM and its rings on an AF_XDP socket and binds it to queue 0 of argv[1] (copy
# mode); prints the socket's inode (or "refused ..."), then holds it until stdin closes.
HOLD_XSK = textwrap.dedent("""
    import ctypes, mmap, os, socket, struct, sys
    AF_XDP, SOL_XDP = 44, 283
    XDP_RX_RING, XDP_UMEM_REG, XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_COPY = 2, 4, 5, 6, 2
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        xsk = socket.socket(AF_XDP, socket.SOCK_RAW)
        area = mmap.mmap(-1, 16 * 4096)
        address = ctypes.addressof(ctypes.c_char.from_buffer(area))
        xsk.setsockopt(SOL_XDP, XDP_UMEM_REG, struct.pack("=QQIIII", address, 16 * 4096, 4096, 0, 0, 0))
        for ring in (XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_RX_RING):
            xsk.setsockopt(SOL_XDP, ring, 64)
        where = struct.pack("=HHIII", AF_XDP, XDP_COPY, socket.if_nametoindex(sys.argv[1]), 0, 0)
        if libc.bind(xsk.fileno(), where, len(where)) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    except OSError as exc:
        print("refused", exc, flush=True)
        sys.exit(0)
    print(os.fstat(xsk.fileno()).st_ino, flush=True)
    sys.stdin.read()
""")
POLICY = textwrap.dedent("""\
    id: xdp
    version: '1'
    owner: tests
    rules:
      - id: bind
        check: net.bind_addresses
        params:
          allow: [any]
          exceptions:  # (a rule that could fail: the discard port must be on loopback)
            - match: {ports: [9], protocol: tcp}
              allow: [loopback]
              reason: nothing serves discard
""")


@pytest.mark.live  # discovers every socket of this host
def test_an_af_xdp_socket_is_not_passed_unseen(tmp_path: Path):
    require_root()
    with named_namespace() as name:
        ip("-n", name, "link", "add", "xsk0", "type", "veth", "peer", "name", "xsk1")
        ip("-n", name, "link", "set", "xsk0", "up")
        ip("-n", name, "link", "set", "xsk1", "up")
        holder = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", HOLD_XSK, "xsk0"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None
            line = holder.stdout.readline().strip()
            if not line.isdigit():
                pytest.skip(f"this kernel cannot bind an AF_XDP socket: {line}")
            policy, out = tmp_path / "policy.yaml", tmp_path / "evidence.json"
            policy.write_text(POLICY)
            result = run_cli("evaluate", "--policy", policy, "--output", out, "--quiet", env={"LBAUDIT_CONFIG": ""})
        finally:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(timeout=10)
        assert result.returncode in (0, 3), result.stderr  # before: 0
        findings = json.loads(out.read_text())["result"]["findings"]
        [collection] = [f for f in findings if f["subject"] == "listeners (collection)"]
        assert collection["status"] == "not_reviewed"  # before: no such finding
        assert f"AF_XDP socket:[{line}] of pid {holder.pid}" in collection["reason"]
        assert "a userspace network stack on it" in collection["reason"]
        assert result.returncode == 3
