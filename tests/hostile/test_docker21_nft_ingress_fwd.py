"""Hostile corpus, false passes: a namespace behind a veth the host does not forward to, reached
through an nftables ingress chain on the host's link (``fwd to``, ``dup to``).

With scope ``effective``, a listener of a namespace whose only link is a veth into the host is
"reachable only inside" unless the host forwards what arrives from beyond, or a tc ingress, tcx or
XDP program on the host's link may redirect it there (test_bindaddr17_tc_redirect).  An nftables
chain of the ``netdev`` family hooked at ``ingress`` on that link does the same without any tc
qdisc, BPF link or forwarding: ``table netdev t { chain c { type filter hook ingress device eth0
priority 0; ip daddr 172.17.0.2 fwd to "veth0" } }`` hands the packet to the veth before IP input
(``dup to`` hands it a copy).  lbaudit read the qdiscs, the BPF links and the XDP programs only: the
link's ``ingress_hooks`` was ``[]`` and the container's listener passed ``allow: [loopback]`` while
a neighbour on the host's link reached it.  Now the nftables ruleset of the namespace lbaudit runs
in (the ``nft -j list ruleset`` listing the NAT and TPROXY readers take) is read too: each link an
ingress chain of a table that holds a ``fwd`` or ``dup`` statement hooks (every link, where nft
does not name the device: nft before 1.0.7 leaves it out of its JSON) gets ``nft ingress``, read
from the kernel over nfnetlink (nft need not be installed), else from ``nft -j list ruleset``; where
neither could be read the links' hooks are unknown (None), as for a qdisc dump that failed.
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

from auditor.collect.nat import parse_nft_ingress_redirects
from tests.hostile.test_judging_route_localnet import _in
from tests.netns_env import ip, require_namespaces, unique_name

REPO = Path(__file__).resolve().parents[2]


def _ruleset(*items: dict) -> dict:
    return {"nftables": [{"metainfo": {"version": "1.0.6"}}, *items]}


def _chain(family: str, table: str, name: str, hook: str | None = None, **extra) -> dict:
    chain = {"family": family, "table": table, "name": name, **extra}
    if hook is not None:
        chain.update(type="filter", hook=hook, prio=0, policy="accept")
    return {"chain": chain}


def _rule(family: str, table: str, chain: str, *expr: dict) -> dict:
    return {"rule": {"family": family, "table": table, "chain": chain, "expr": list(expr)}}


def test_an_ingress_fwd_names_its_device_or_every_device():
    # nft 1.0.6 (Debian 12) does not name the device of a netdev chain in its JSON: every link
    unnamed = _ruleset(_chain("netdev", "t", "in", "ingress"),
                       _rule("netdev", "t", "in", {"fwd": {"dev": "veth0"}}))
    assert parse_nft_ingress_redirects(unnamed) == {None: ["nft ingress fwd (netdev t in)"]}
    # a newer nft names it ("dev": a name, or a list of them)
    named = _ruleset(_chain("netdev", "t", "in", "ingress", dev=["eth0", "eth1"]),
                     _rule("netdev", "t", "in", {"dup": {"dev": "veth0"}}))
    assert parse_nft_ingress_redirects(named) == {"eth0": ["nft ingress dup (netdev t in)"],
                                                  "eth1": ["nft ingress dup (netdev t in)"]}
    # a statement in a regular chain of the table, which the ingress chain may jump to, counts too
    jumped = _ruleset(_chain("netdev", "t", "in", "ingress", dev="eth0"), _chain("netdev", "t", "j"),
                      _rule("netdev", "t", "in", {"jump": {"target": "j"}}),
                      _rule("netdev", "t", "j", {"fwd": {"dev": "veth0"}}))
    assert parse_nft_ingress_redirects(jumped) == {"eth0": ["nft ingress fwd (netdev t in)"]}


def test_control_an_ingress_chain_that_only_drops_or_counts_hands_nothing_on():
    dropping = _ruleset(_chain("netdev", "t", "in", "ingress", dev="eth0"),
                        _rule("netdev", "t", "in", {"counter": None}, {"drop": None}))
    assert parse_nft_ingress_redirects(dropping) == {}
    # a fwd of a table with no ingress chain, or of an egress chain, takes nothing arriving on a link
    egress = _ruleset(_chain("netdev", "t", "out", "egress", dev="eth0"),
                      _rule("netdev", "t", "out", {"fwd": {"dev": "veth0"}}))
    assert parse_nft_ingress_redirects(egress) == {}
    assert parse_nft_ingress_redirects({"nftables": "not a list"}) == {}


COLLECT = textwrap.dedent("""
    import json, sys
    from auditor.collect import CollectContext
    from auditor.collect.netns import collect_netns
    from auditor.collect.targets import LocalHost
    path = tuple(sys.argv[1:]) or None
    facts, gaps = collect_netns(CollectContext(target=LocalHost(program_path=path) if path else LocalHost()))
    [current] = [ns for ns in facts.namespaces if ns.current]
    print(json.dumps({"hooks": {i.name: i.ingress_hooks for i in current.interfaces},
                      "gaps": [g.reason for g in gaps if g.path[-1:] == ("ingress_hooks",)]}))
""")


def _collected(setup: str, program_path: Path | None = None) -> dict:
    argv = [sys.executable, "-c", COLLECT] + ([str(program_path)] if program_path else [])
    script = f"{setup} && exec " + " ".join(f"'{a}'" for a in argv)
    done = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


LINKS = "ip link add lbd21a type veth peer name lbd21b && ip link set lbd21a up && ip link set lbd21b up"
FWD = ("nft add table netdev lbd21 && nft add chain netdev lbd21 in '{ type filter hook ingress device lbd21a "
       "priority 0; }' && nft add rule netdev lbd21 in fwd to lbd21b")


@pytest.mark.live
@pytest.mark.slow  # three collections in namespaces of their own
def test_the_collector_reads_an_ingress_fwd_of_the_host(tmp_path: Path):
    require_namespaces()
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables)")
    seen = _collected(f"{LINKS} && {FWD}")
    # read from the kernel (nfnetlink), which names the device the chain hooks
    assert seen["hooks"] == {"lo": [], "lbd21a": ["nft ingress fwd (netdev lbd21 in)"], "lbd21b": []}, seen
    # without the chain, nothing
    assert _collected(LINKS)["hooks"]["lbd21a"] == [], seen
    # with no nft installed, the kernel still says (a host whose rules another tool loaded)
    empty = tmp_path / "bin"
    empty.mkdir()
    for name in ("ip", "iptables-save", "ip6tables-save"):
        if shutil.which(name):
            (empty / name).symlink_to(shutil.which(name))  # type: ignore[arg-type]
    assert _collected(f"{LINKS} && {FWD}", empty)["hooks"]["lbd21a"] == ["nft ingress fwd (netdev lbd21 in)"]


def test_chains_that_could_not_be_read_leave_every_links_hooks_unknown():
    from auditor.collect.netns import with_nft_ingress

    links = [{"name": "eth0", "ingress_hooks": ["tc clsact"], "ingress_hooks_error": None},
             {"name": "eth1", "ingress_hooks": [], "ingress_hooks_error": None}]
    unread = with_nft_ingress(links, None, "nfnetlink dump failed: Operation not permitted; nft is not installed")
    assert [(link["ingress_hooks"], "nft is not installed" in link["ingress_hooks_error"]) for link in unread] == [
        (None, True), (None, True)]
    # every link where the chain names no device (nft before 1.0.7's JSON)
    every = with_nft_ingress(links, {None: ["nft ingress fwd (netdev t in)"]}, None)
    assert [link["ingress_hooks"] for link in every] == [["tc clsact", "nft ingress fwd (netdev t in)"],
                                                         ["nft ingress fwd (netdev t in)"]]


RECEIVE = textwrap.dedent("""
    import select, socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.197.1.2", 0))
    print(s.getsockname()[1], flush=True)
    sys.stdin.readline()  # the chain is in place and the world is about to send
    ready, _, _ = select.select([s], [], [], 10)
    print(s.recv(64).decode() if ready else "nothing", flush=True)
    sys.stdin.read()
""")
SEND = textwrap.dedent("""
    import socket, sys
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"from-beyond", ("10.197.1.2", int(sys.argv[1])))
""")


def _statuses(host_ns: str, container_ns: str, tmp_path: Path) -> dict[str, str]:
    policy, out = tmp_path / "policy.yaml", tmp_path / "evidence.json"
    policy.write_text("id: fwd\nversion: '1'\nowner: Tests <tests@example.test>\ndescription: loopback\n"
                      "rules:\n  - id: loopback-only\n    check: net.bind_addresses\n    params:\n      allow: [loopback]\n")
    run = subprocess.run(["ip", "netns", "exec", host_ns, sys.executable, "-m", "auditor.cli", "evaluate", "--policy",
                          str(policy), "--output", str(out), "-q"], capture_output=True, text=True, timeout=120,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Traceback" not in run.stderr, run.stderr
    return {f["subject"]: f["status"] for f in json.loads(out.read_text())["result"]["findings"]
            if f["subject"].startswith("udp 10.197.1.2:") and f["subject"].endswith(f"in netns {container_ns}")}


@pytest.mark.live
@pytest.mark.slow  # three namespaces, child interpreters and two real lbaudit runs
@pytest.mark.parametrize("statement", ["fwd", "dup"])
def test_an_nft_ingress_fwd_on_the_hosts_link_reaches_the_namespace_and_lbaudit_does_not_pass_it(tmp_path, statement):
    require_namespaces()
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables)")
    host, world, inner = unique_name("lbd21h"), unique_name("lbd21w"), unique_name("lbd21c")
    for name in (host, world, inner):
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
    receiving = None
    try:
        ip("link", "add", "lbd21w0", "netns", host, "type", "veth", "peer", "name", "lbd21w1", "netns", world)
        ip("link", "add", "lbd21c0", "netns", host, "type", "veth", "peer", "name", "lbd21c1", "netns", inner)
        ip("-n", host, "addr", "add", "10.197.0.1/24", "dev", "lbd21w0")
        ip("-n", host, "link", "set", "lbd21w0", "up")
        ip("-n", host, "addr", "add", "10.197.1.1/24", "dev", "lbd21c0")
        ip("-n", host, "link", "set", "lbd21c0", "up")
        ip("-n", world, "addr", "add", "10.197.0.2/24", "dev", "lbd21w1")
        ip("-n", world, "link", "set", "lbd21w1", "up")
        ip("-n", world, "route", "add", "10.197.1.0/24", "via", "10.197.0.1")
        # the world forwards what arrives on a tunnel of its own: the host's link to it leads beyond
        ip("-n", world, "tuntap", "add", "lbd21t", "mode", "tun")
        subprocess.run(["ip", "netns", "exec", world, "sysctl", "-qw", "net.ipv4.conf.all.forwarding=1"], check=True,
                       timeout=10)
        # the container's end takes the host link's MAC: the handed-on frame is addressed to it
        mac = json.loads(subprocess.run(["ip", "-n", host, "-j", "link", "show", "lbd21w0"], check=True,
                                        capture_output=True, text=True, timeout=10).stdout)[0]["address"]
        ip("-n", inner, "link", "set", "lbd21c1", "address", mac)
        ip("-n", inner, "addr", "add", "10.197.1.2/24", "dev", "lbd21c1")
        ip("-n", inner, "link", "set", "lbd21c1", "up")
        assert _in(host, "print(open('/proc/sys/net/ipv4/ip_forward').read().strip())") == "0"
        receiving = subprocess.Popen(["ip", "netns", "exec", inner, sys.executable, "-c", RECEIVE],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert receiving.stdout is not None and receiving.stdin is not None
        port = receiving.stdout.readline().strip()
        [(subject, before)] = _statuses(host, inner, tmp_path).items()
        assert before == "pass"  # no chain yet: the host does not forward, reachable only inside
        for command in (["add", "table", "netdev", "lbd21"],
                        ["add", "chain", "netdev", "lbd21", "in",
                         "{ type filter hook ingress device lbd21w0 priority 0; }"],
                        ["add", "rule", "netdev", "lbd21", "in", "ip", "daddr", "10.197.1.2", statement, "to",
                         "lbd21c0"]):
            made = subprocess.run(["ip", "netns", "exec", host, "nft", *command], capture_output=True, text=True,
                                  timeout=10)
            if made.returncode != 0:
                pytest.skip(f"this kernel cannot take nft {' '.join(command[:3])}: {made.stderr.strip()}")
        receiving.stdin.write("go\n")
        receiving.stdin.flush()
        _in(world, SEND, port)
        # the kernel: what the world sends reaches the container, though the host does not forward
        assert receiving.stdout.readline().strip() == "from-beyond"
        # lbaudit: before, pass ("reachable only inside"); now not_reviewed, naming the chain
        assert _statuses(host, inner, tmp_path) == {subject: "not_reviewed"}
    finally:
        if receiving is not None:
            receiving.kill()
            receiving.wait(timeout=10)
        for name in (host, world, inner):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
