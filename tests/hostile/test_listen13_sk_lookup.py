"""Hostile corpus, false passes: a listener on 127.0.0.1 that a BPF sk_lookup program hands
connections sent to the namespace's outward address.

An ``sk_lookup`` program (Linux 5.9+), attached to a network namespace through a BPF link, runs
when the kernel looks up the socket for an incoming TCP connection or UDP datagram and may assign
any socket of a SOCKMAP to it (``bpf_sk_assign``), whatever the address and port it was sent to:
the listener's own address then bounds nothing, as for a transparent socket under a TPROXY rule.
lbaudit judged the listener by its address alone: ``tcp 127.0.0.1:P accepts 127.0.0.1 only``, a
pass under ``allow: [loopback]``, while a peer across a veth connected to it.

``test_a_listener_steered_by_sk_lookup_is_not_passed`` proves it on the running kernel: a peer
namespace connects to SERVER:7777 over a veth and the listener on 127.0.0.1 accepts it.  Now the
collector lists the BPF links of the kernel (``BPF_LINK_GET_NEXT_ID``) and, when an sk_lookup one
is attached to the listeners' namespace (or whether one is cannot be read), gives each TCP, UDP
and MPTCP listener a gap; the check judges such a listener as one that accepts any address and it
is ``not_reviewed`` where only its own address is allowed, from inside the namespace and from the
host alike.  A namespace without such a program is judged as before.

Real sockets, namespaces, a real BPF program and link (loaded through bpf(2) by hand: no compiler).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.collect import sk_lookup
from tests.factories import loopback_only_policy
from tests.netns_env import ip, join_by_veth, require_namespaces, unique_name

REPO = Path(__file__).resolve().parents[2]
POLICY = loopback_only_policy("sk-lookup")
# Listens on 127.0.0.1, puts the listener in a SOCKMAP and attaches to its network namespace an
# sk_lookup program that assigns it every TCP connection; prints the port (or "unsupported"), then
# for each line read accepts one connection and prints whom from.
HOLDER = textwrap.dedent("""
    import ctypes, os, platform, socket, struct, sys
    from auditor.collect.sk_lookup import SYS_BPF
    libc = ctypes.CDLL(None, use_errno=True)
    def bpf(cmd, attr):
        buf = ctypes.create_string_buffer(attr, 128)
        r = libc.syscall(ctypes.c_long(SYS_BPF[platform.machine()]), ctypes.c_int(cmd), buf, ctypes.c_uint(128))
        if r < 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        return r
    def op(code, dst=0, src=0, off=0, imm=0):
        return struct.pack("<BBhi", code, dst | (src << 4), off, imm)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        sockmap = bpf(0, struct.pack("<IIII", 15, 4, 8, 1))  # BPF_MAP_CREATE: SOCKMAP, 1 entry
        key, value = ctypes.c_uint32(0), ctypes.c_uint64(listener.fileno())
        bpf(2, struct.pack("<IIQQQ", sockmap, 0, ctypes.addressof(key), ctypes.addressof(value), 0))
        # r6 = ctx; sk = map_lookup(sockmap, 0); if sk: bpf_sk_assign(ctx, sk, 0), bpf_sk_release(sk); return SK_PASS
        code = b"".join([op(0xbf, 6, 1), op(0x62, 10, 0, -4, 0), op(0x18, 1, 1, 0, sockmap), op(0),
                         op(0xbf, 2, 10), op(0x07, 2, 0, 0, -4), op(0x85, imm=1), op(0x15, 0, 0, 7, 0),
                         op(0xbf, 7, 0), op(0xbf, 1, 6), op(0xbf, 2, 7), op(0xb7, 3, 0, 0, 0), op(0x85, imm=124),
                         op(0xbf, 1, 7), op(0x85, imm=86), op(0xb7, 0, 0, 0, 1), op(0x95)])
        text, licence = ctypes.create_string_buffer(code), ctypes.create_string_buffer(b"GPL")
        program = bpf(5, struct.pack("<IIQQIIQII", 30, len(code) // 8, ctypes.addressof(text),  # SK_LOOKUP
                                     ctypes.addressof(licence), 0, 0, 0, 0, 0) + struct.pack("<16sII", b"", 0, 36))
        namespace = os.open("/proc/self/ns/net", os.O_RDONLY)
        link = bpf(28, struct.pack("<IIII", program, namespace, 36, 0))  # BPF_LINK_CREATE, BPF_SK_LOOKUP
    except (OSError, KeyError) as exc:
        print("unsupported", exc, flush=True)
        sys.exit(0)
    print(listener.getsockname()[1], flush=True)
    listener.settimeout(10)
    for _line in sys.stdin:
        connection, peer = listener.accept()
        print(peer[0], flush=True)
        connection.close()
""")


def _evaluate(argv: list[str], tmp_path: Path) -> tuple[int, list[dict]]:
    policy, out = tmp_path / "policy.yaml", tmp_path / "evidence.json"
    policy.write_text(POLICY)
    run = subprocess.run([*argv, sys.executable, "-m", "auditor.cli", "evaluate", "--policy", str(policy),
                          "--output", str(out), "-q"], capture_output=True, text=True, timeout=120, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, json.loads(out.read_text())["result"]["findings"]


@pytest.mark.live
@pytest.mark.slow  # two namespaces, a BPF program, child interpreters and two real lbaudit runs: about 5 s
def test_a_listener_steered_by_sk_lookup_is_not_passed(tmp_path):
    require_namespaces()
    server, peer = unique_name("lbskl"), unique_name("lbskp")
    ip("netns", "add", server)
    ip("netns", "add", peer)
    holder = None
    try:
        join_by_veth(server, peer, "10.196.0", "lbsk")
        holder = subprocess.Popen(["ip", "netns", "exec", server, sys.executable, "-c", HOLDER],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
                                  env={**os.environ, "PYTHONPATH": str(REPO)})
        assert holder.stdin is not None and holder.stdout is not None
        first = holder.stdout.readline()
        if first.startswith("unsupported"):
            pytest.skip(f"this kernel cannot attach an sk_lookup program: {first.strip()}")
        port = int(first)
        holder.stdin.write("accept\n")
        holder.stdin.flush()
        connect = "import socket, sys; socket.create_connection((sys.argv[1], 7777), timeout=5).close()"
        subprocess.run(["ip", "netns", "exec", peer, sys.executable, "-c", connect, "10.196.0.1"], check=True,
                       timeout=30)
        # the kernel: a connection to the veth's address, port 7777, reaches the listener on 127.0.0.1
        assert holder.stdout.readline() == "10.196.0.2\n"

        code, findings = _evaluate(["ip", "netns", "exec", server], tmp_path)
        owner = f"{Path(f'/proc/{holder.pid}/comm').read_text().strip()} pid {holder.pid}"
        subject = f"tcp 127.0.0.1:{port} {owner}"
        [steered] = [f for f in findings if f["subject"] == subject]
        # before: "pass", "accepts 127.0.0.1 only, which is allowed"
        assert steered["status"] == "not_reviewed"
        assert ": a BPF sk_lookup program is attached to its network namespace (link " in steered["reason"]
        assert steered["reason"].endswith("it can hand it connections and datagrams sent to any address and port, "
                                          "at which it would not be allowed")
        assert steered["observed"]["accepts_networks_if_transparent"] == ["0.0.0.0/0"]
        assert code in (1, 3)  # 1 only when another namespace of this host has a listener refused

        # from the host, lbaudit enters the namespace: the same listener, the same doubt
        _code, host_findings = _evaluate([], tmp_path)
        there = {f["subject"]: f["status"] for f in host_findings if f["subject"] == f"{subject} in netns {server}"}
        assert there == {f"{subject} in netns {server}": "not_reviewed"}
    finally:
        if holder is not None and holder.stdin:
            holder.stdin.close()
            holder.wait(timeout=10)
        for name in (server, peer):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def test_a_namespace_without_an_sk_lookup_program_has_none_listed():
    """The host's listing names no link of another namespace (the test's links are in its own)."""
    require_namespaces()
    attached = subprocess.run(["unshare", "--net", sys.executable, "-c",
                               "from auditor.collect import sk_lookup; print(sk_lookup.attached_here())"],
                              capture_output=True, text=True, timeout=30, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    assert attached.stdout == "[]\n", attached.stderr
    assert sk_lookup.BPF_SK_LOOKUP == 36


@pytest.mark.live
def test_links_that_cannot_be_listed_leave_a_loopback_listener_not_reviewed(tmp_path):
    """Without CAP_SYS_ADMIN the kernel does not list BPF links: an sk_lookup program may be there,
    so a listener allowed only at its own address is not passed (exit 3), and the finding says why."""
    require_namespaces()
    if subprocess.run(["setpriv", "--help"], capture_output=True).returncode != 0:
        pytest.skip("setpriv is not installed")
    policy, out = tmp_path / "policy.yaml", tmp_path / "evidence.json"
    policy.write_text(POLICY)
    # lo up, a listener on 127.0.0.1 held while lbaudit runs without CAP_SYS_ADMIN, in a namespace of
    # its own (unshare: gone with the script)
    script = textwrap.dedent(f"""
        import os, socket, subprocess, sys
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        run = subprocess.run(["setpriv", "--bounding-set=-sys_admin", sys.executable, "-m", "auditor.cli", "evaluate",
                              "--policy", {str(policy)!r}, "--output", {str(out)!r}, "-q"],
                             capture_output=True, text=True)
        print(listener.getsockname()[1], run.returncode, "Traceback" in run.stderr)
    """)
    done = subprocess.run(["unshare", "--net", sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    port, code, traceback = done.stdout.split()
    assert (code, traceback) == ("3", "False"), done.stderr
    [finding] = [f for f in json.loads(out.read_text())["result"]["findings"]
                 if f["subject"].startswith(f"tcp 127.0.0.1:{port} ")]
    assert finding["status"] == "not_reviewed"
    assert finding["reason"] == (
        f"tcp 127.0.0.1:{port}: whether a BPF sk_lookup program is attached to its network namespace is unknown "
        "(bpf BPF_LINK_GET_NEXT_ID: Operation not permitted): one can hand it connections and datagrams sent to "
        "any address and port, at which it would not be allowed")
