"""Hostile corpus, false passes: DNAT rules the NAT reader did not see, on a real kernel.

Each case writes real rules into a throwaway ``unshare --net`` namespace and runs lbaudit's own
NAT reader (:func:`auditor.collect.nat.read_nat`) inside it.

1. ``iptables -t nat -A PREROUTING ! -p udp -j DNAT --to-destination 10.0.0.6`` forwards every TCP
   port of every address to 10.0.0.6.  The reader took ``-p udp`` and dropped the ``!``: it recorded
   one UDP publish, and no TCP one at all.
2. On a host whose ``iptables-save`` is the legacy one (the Debian alternative set to legacy, as on
   many Docker hosts), a DNAT rule written by iptables-nft (a kube-proxy or firewall image that uses
   it) shows in ``nft -j list ruleset`` only as an opaque ``xt`` target, and only iptables-nft-save
   can read it.  The reader took the nft listing as read, found no ``dnat`` statement, and said
   "no published port" with no gap.
3. ``-t nat -A PREROUTING -d 192.0.2.0/24 -j NETMAP --to 10.0.0.0/24`` rewrites the destination as a
   DNAT does (every port of 192.0.2.0/24 forwarded into 10.0.0.0/24); only ``-j DNAT`` was read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netns_env import require_namespaces

ROOT = Path(__file__).resolve().parents[2]
COLLECT = """
import json, sys
from auditor.collect.nat import read_nat
from auditor.collect.targets import LocalHost
path = tuple(sys.argv[1:]) or None
target = LocalHost(program_path=path) if path else LocalHost()
ports, gaps, read = read_nat(target, 10)
print(json.dumps({"ports": None if ports is None else [[p.protocol, p.host_address, p.host_port, p.host_port_end,
                                                         p.target_address] for p in ports],
                  "gaps": [g.reason for g in gaps], "read": read}))
"""


def _collect_in_namespace(rules: list[list[str]], program_path: Path | None = None) -> dict:
    setup = " && ".join(" ".join(argv) for argv in rules)
    argv = [sys.executable, "-c", COLLECT] + ([str(program_path)] if program_path else [])
    script = f"{setup} && exec " + " ".join(f"'{a}'" for a in argv)
    done = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.live
def test_a_negated_protocol_dnat_forwards_every_other_protocol():
    require_namespaces()
    seen = _collect_in_namespace([["iptables-nft", "-t", "nat", "-A", "PREROUTING", "!", "-p", "udp", "-j", "DNAT",
                                   "--to-destination", "10.0.0.6"]])
    ports = {(p[0], p[1], p[2], p[3], p[4]) for p in seen["ports"]}
    # every TCP port of every address reaches 10.0.0.6; UDP is what the rule leaves alone
    assert ("tcp", "0.0.0.0", 0, 65535, "10.0.0.6") in ports
    assert not any(p[0] == "udp" for p in ports)


@pytest.mark.live
def test_an_iptables_nft_dnat_beside_a_legacy_iptables_save_is_not_hidden(tmp_path: Path):
    require_namespaces()
    programs = tmp_path / "bin"
    programs.mkdir()
    for name in ("iptables-save", "ip6tables-save", "iptables-legacy-save", "ip6tables-legacy-save"):
        (programs / name).symlink_to("/usr/sbin/xtables-legacy-multi")
    (programs / "nft").symlink_to("/usr/sbin/nft")
    rule = ["iptables-nft", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "8080", "-j", "DNAT",
            "--to-destination", "10.0.0.5:80"]
    seen = _collect_in_namespace([rule], programs)
    # no reader here can name the rule: that is said, never "no published port"
    assert seen["ports"] is None or any("xt" in g or "iptables-nft" in g for g in seen["gaps"]), seen
    assert seen["gaps"], seen

    # with iptables-nft-save installed beside the legacy one, the rule is read
    (programs / "iptables-nft-save").symlink_to("/usr/sbin/xtables-nft-multi")
    (programs / "ip6tables-nft-save").symlink_to("/usr/sbin/xtables-nft-multi")
    seen = _collect_in_namespace([rule], programs)
    assert [p for p in seen["ports"] if p[2] == 8080] == [["tcp", "0.0.0.0", 8080, None, "10.0.0.5"]], seen
    assert seen["gaps"] == [], seen


def test_a_negated_transport_in_nft_takes_every_other_one():
    """``meta l4proto != udp dnat to 10.0.0.6``, as nft writes it natively: every other transport."""
    from auditor.collect.nat import parse_nft_ruleset

    rule = {"family": "ip", "table": "nat", "chain": "pre", "expr": [
        {"match": {"op": "!=", "left": {"meta": {"key": "l4proto"}}, "right": "udp"}},
        {"dnat": {"addr": "10.0.0.6"}}]}
    ports = parse_nft_ruleset({"nftables": [{"rule": rule}]})
    assert sorted(p.protocol for p in ports) == ["sctp", "tcp"]


@pytest.mark.live
def test_a_netmap_of_the_destination_is_a_dnat():
    require_namespaces()
    seen = _collect_in_namespace([
        ["iptables-nft", "-t", "nat", "-A", "PREROUTING", "-d", "192.0.2.0/24", "-p", "tcp", "-j", "NETMAP", "--to",
         "10.0.0.0/24"],
        # a NETMAP of the source (POSTROUTING) publishes nothing
        ["iptables-nft", "-t", "nat", "-A", "POSTROUTING", "-s", "10.0.0.0/24", "-j", "NETMAP", "--to", "192.0.2.0/24"]])
    assert [p for p in seen["ports"]] == [["tcp", "192.0.2.0/24", 0, 65535, "10.0.0.0/24"]], seen


@pytest.mark.live
def test_a_legacy_nat_table_whose_existence_is_unknown_is_a_gap(tmp_path: Path):
    """Where /proc/net/ip_tables_names could not be read, the legacy nat table was taken for absent:
    a DNAT rule iptables-legacy wrote was passed over with no gap."""
    require_namespaces()
    proc = tmp_path / "proc"
    (proc / "net" / "ip_tables_names").mkdir(parents=True)  # a directory: read, it fails
    script = ("iptables-legacy -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.5:80 && "
              "exec \"$0\" -c \"$1\"")
    collect = COLLECT.replace("LocalHost(program_path=path) if path else LocalHost()",
                              f"LocalHost(proc={str(proc)!r})")
    done = subprocess.run(["unshare", "--net", "sh", "-c", script, sys.executable, collect], capture_output=True,
                          text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert any("legacy ipv4 nat table may exist" in gap for gap in seen["gaps"]), seen


def test_an_inet_dnat_without_a_family_is_judged_by_its_address():
    from auditor.collect.nat import parse_nft_ruleset

    rule = {"family": "inet", "table": "t", "chain": "pre", "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}},
        {"dnat": {"addr": "fd00::2", "port": 80}}]}
    assert [p.host_address for p in parse_nft_ruleset({"nftables": [{"rule": rule}]})] == ["::"]
