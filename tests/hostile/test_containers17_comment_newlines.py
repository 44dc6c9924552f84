"""Hostile corpus, output spoofing: a rule comment with newlines rewrote the iptables-save listing.

``iptables -m comment --comment "$(printf 'a\\nCOMMIT\\nb')"`` is accepted by the kernel, and
iptables-save prints the comment as it is, newlines and all, inside its double quotes.  The NAT and
loopback-drop readers took each physical line for a line of the listing, so any local root tool
(or a container image's entrypoint with NET_ADMIN in the host namespace) could write:

* a comment holding a ``COMMIT`` line: the nat table "ended" there, and every DNAT rule after it
  (the container's published ports) was not read: "no published port";
* a comment holding a ``-A PREROUTING -d 127.0.0.1/32 ... -j DROP`` line in the raw table: a drop
  Docker 28 writes that does not exist, which closed a loopback DNAT that a neighbour reaches.

Both on a real kernel, in a throwaway ``unshare --net`` namespace, with lbaudit's own readers.
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
from auditor.collect.nat import ListedOnce, read_loopback_drops, read_nat
from auditor.collect.targets import LocalHost
listed = ListedOnce(LocalHost())
ports, gaps, _read = read_nat(listed, 10)
drops, unknown, _read = read_loopback_drops(listed, 10)
print(json.dumps({"ports": [[p.protocol, p.host_address, p.host_port, p.target_address, p.origin] for p in ports or []],
                  "drops": None if drops is None else [d.origin for d in drops], "unknown": unknown}))
"""
SPOOFED_COMMIT = "a\nCOMMIT\nb"
SPOOFED_DROP = "x\n-A PREROUTING -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j DROP\ny"


def _collect(script: str) -> dict:
    done = subprocess.run(["unshare", "--net", "sh", "-c", f"{script} && exec \"$0\" -c \"$1\"",
                           sys.executable, COLLECT], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(ROOT),
                               "SPOOFED_COMMIT": SPOOFED_COMMIT, "SPOOFED_DROP": SPOOFED_DROP})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.live
@pytest.mark.parametrize("iptables", ["iptables-nft", "iptables-legacy"])
def test_a_commit_line_in_a_comment_does_not_end_the_nat_table(iptables: str):
    require_namespaces()
    seen = _collect(f'{iptables} -t nat -A PREROUTING -m comment --comment "$SPOOFED_COMMIT" -j ACCEPT && '
                    f"{iptables} -t nat -A PREROUTING -p tcp --dport 9090 -j DNAT --to-destination 10.0.0.9:80")
    assert [p[:4] for p in seen["ports"] if p[2] == 9090] == [["tcp", "0.0.0.0", 9090, "10.0.0.9"]], seen


@pytest.mark.live
@pytest.mark.parametrize("iptables", ["iptables-nft", "iptables-legacy"])
def test_a_drop_line_in_a_comment_is_no_drop(iptables: str):
    require_namespaces()
    seen = _collect(f'{iptables} -t raw -A PREROUTING -m comment --comment "$SPOOFED_DROP" -j ACCEPT && '
                    f"{iptables} -t nat -A OUTPUT -d 127.0.0.1/32 -p tcp --dport 8080 -j DNAT "
                    "--to-destination 10.0.0.9:80")
    assert [p[:4] for p in seen["ports"] if p[2] == 8080] == [["tcp", "127.0.0.1", 8080, "10.0.0.9"]], seen
    assert seen["drops"] == [], seen


@pytest.mark.live
def test_control_a_real_drop_still_counts():
    require_namespaces()
    seen = _collect('iptables-nft -t raw -A PREROUTING -m comment --comment "$SPOOFED_COMMIT" -j LOG && '
                    "iptables-nft -t raw -A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp --dport 8080 -j DROP")
    assert len(seen["drops"]) == 1, seen


def test_a_raw_quote_in_an_interface_name_opens_nothing():
    """Interface names are printed raw (``-i "ab``, ``-i c"``): a reader that took every '"' for a
    quoted string would join the rules between two such names into one and hide them."""
    from auditor.collect.nat import parse_iptables_save

    listing = ('*nat\n-A PREROUTING -i "ab -j ACCEPT\n'
               "-A PREROUTING -p tcp -m tcp --dport 7 -j DNAT --to-destination 10.0.0.7\n"
               '-A PREROUTING -i c" -j ACCEPT\n-A PREROUTING -m comment --comment "q\\"\\\\" -j ACCEPT\n'
               "-A PREROUTING -p tcp -m tcp --dport 8 -j DNAT --to-destination 10.0.0.8\nCOMMIT\n")
    ports = parse_iptables_save(listing, "ipv4", "iptables-save")
    assert sorted((p.host_port, p.origin) for p in ports) == [(7, "iptables-save -t nat:3"), (8, "iptables-save -t nat:6")]
