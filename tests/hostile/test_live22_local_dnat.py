"""Hostile corpus, false alarms: a DNAT of the nat OUTPUT chain was judged a port published to every link.

A DNAT rule in the nat table's OUTPUT chain (``iptables -t nat -A OUTPUT -p tcp --dport 8022 -j DNAT
--to-destination 127.0.0.1:9022``, an nftables ``type nat hook output`` chain: a local transparent
proxy, Tor's TransPort, a test harness) sees only what this host's own processes send; OUTPUT is a
built-in (base) chain, which no rule can jump to, so nothing from a link ever reaches it.  The NAT
reader took every DNAT of the nat table for a published port, so net.bind_addresses failed
"published tcp 0.0.0.0:8022 -> 127.0.0.1:9022 is reachable at 0.0.0.0/0" for a port no neighbour can
reach (checked by hand on this kernel: a peer's connection to that port of the namespace's veth
address times out; the same rule in PREROUTING is reached once route_localnet is on).

Each case writes real rules in a throwaway ``unshare --net`` namespace and reads them with lbaudit's
own reader; the PREROUTING rule (and a regular chain, which a jump from PREROUTING may reach) of the
same listing is still a published port.
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
import json
from auditor.collect.nat import ListedOnce, read_nat
from auditor.collect.targets import LocalHost
ports, gaps, _read = read_nat(ListedOnce(LocalHost()), 10)
print(json.dumps({"ports": sorted({p.host_port for p in ports or []}), "gaps": [g.reason for g in gaps]}))
"""


def _collect(script: str) -> dict:
    done = subprocess.run(["unshare", "--net", "sh", "-c", f"{script} && exec \"$0\" -c \"$1\"",
                           sys.executable, COLLECT], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.live
@pytest.mark.parametrize("iptables", ["iptables-nft", "iptables-legacy"])
def test_an_output_chain_dnat_is_no_published_port(iptables: str):
    require_namespaces()
    seen = _collect(f"{iptables} -t nat -A OUTPUT -p tcp --dport 8022 -j DNAT --to-destination 127.0.0.1:9022 && "
                    f"{iptables} -t nat -A OUTPUT -p udp --dport 8023 -j NETMAP --to 10.0.0.0/24 && "
                    f"{iptables} -t nat -N PUBLISH && "
                    f"{iptables} -t nat -A PUBLISH -p tcp --dport 8024 -j DNAT --to-destination 10.0.0.9:80 && "
                    f"{iptables} -t nat -A PREROUTING -p tcp --dport 8025 -j DNAT --to-destination 10.0.0.9:80")
    assert seen["ports"] == [8024, 8025], seen


@pytest.mark.live
def test_an_nftables_output_hook_dnat_is_no_published_port():
    require_namespaces()
    seen = _collect("nft 'add table ip t; "
                    "add chain ip t out { type nat hook output priority -100; }; "
                    "add chain ip t pre { type nat hook prerouting priority -100; }; add chain ip t publish; "
                    "add rule ip t out tcp dport 8022 dnat to 127.0.0.1:9022; "
                    "add rule ip t publish tcp dport 8024 dnat to 10.0.0.9:80; "
                    "add rule ip t pre tcp dport 8025 dnat to 10.0.0.9:80; "
                    "add rule ip t pre jump publish'")
    assert seen["ports"] == [8024, 8025], seen
