"""Hostile corpus, false passes: a vsock listener, which no IP dump lists.

``AF_VSOCK`` connects a virtual machine with its hypervisor (and, through it, other machines): a
listener bound to ``VMADDR_CID_ANY`` accepts connections from the host side whatever the guest's
network and firewall say.  lbaudit judges IP listeners; a vsock listener was not seen at all (the
sock_diag dumps are of IP transports, and ``vsock_diag`` is a module many kernels lack), so
``allow: [loopback]`` passed on a guest exposing a vsock service (exit 0).

Now namespace discovery, which already asks the protocol of every socket no dump placed, copies
each ``AF_VSOCK`` one and asks whether it listens (``SO_ACCEPTCONN``); a vsock listener is a gap
on the listener list, so ``net.bind_addresses`` is ``not_reviewed`` ("listeners (collection)")
and the run incomplete (exit 3), naming the CID, port and holder.  A connected or unbound vsock
socket is no listener and changes nothing.  Real vsock sockets; skipped where the kernel has none.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.privileges import require_root

# Makes a vsock socket of the kind argv[1] names ("listen": bound to VMADDR_CID_ANY and listening,
# "bound": bound only), prints its port and holds it until stdin closes.
VSOCK = textwrap.dedent("""
    import socket, sys
    try:
        held = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        held.bind((socket.VMADDR_CID_ANY, socket.VMADDR_PORT_ANY))
        if sys.argv[1] == "listen":
            held.listen()
    except OSError as exc:
        print("refused", exc, flush=True)
        sys.exit(0)
    print(held.getsockname()[1], flush=True)
    sys.stdin.read()
""")


def _policy(directory: Path) -> Path:
    path = directory / "policy.yaml"
    path.write_text(textwrap.dedent("""\
        id: vsock
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
        """))
    return path


def _start(kind: str) -> tuple[subprocess.Popen[str], int]:
    if not hasattr(socket, "AF_VSOCK"):
        pytest.skip("this Python has no AF_VSOCK")
    process = subprocess.Popen([sys.executable, "-c", VSOCK, kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        process.wait(timeout=10)
        pytest.skip(f"this kernel cannot make a vsock socket: {line}")
    return process, int(line)


def _evaluate(directory: Path, process: subprocess.Popen[str]) -> tuple[int, list[dict]]:
    out = directory / "evidence.json"
    try:
        result = run_cli("evaluate", "--policy", _policy(directory), "--output", out, "--quiet",
                         env={"LBAUDIT_CONFIG": ""})
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)
    assert result.returncode in (0, 1, 3), result.stderr
    return result.returncode, json.loads(out.read_text())["result"]["findings"]


@pytest.mark.live  # discovers every socket of this host
def test_a_vsock_listener_on_any_cid_is_not_passed_unseen(tmp_path):
    require_root()
    process, port = _start("listen")
    code, findings = _evaluate(tmp_path, process)
    collection = [f for f in findings if f["subject"] == "listeners (collection)"]
    assert [f["status"] for f in collection] == ["not_reviewed"]  # before: no such finding, every listener passed
    reason = collection[0]["reason"]
    assert f"vsock listener on CID any, port {port}, held by pid {process.pid}" in reason
    assert "lbaudit judges IP listeners only" in reason
    assert code == 3


@pytest.mark.live
def test_a_vsock_socket_that_does_not_listen_is_no_listener(tmp_path):
    require_root()
    process, port = _start("bound")
    _code, findings = _evaluate(tmp_path, process)
    assert not any(f"port {port}, held by pid {process.pid}" in (f["reason"] or "") for f in findings)
