"""Hostile corpus, false alarms: a transparent listener in a namespace with no TPROXY rule.

IP_TRANSPARENT lets a socket bind an address it does not have and lets a TPROXY rule (iptables
``-j TPROXY``, nftables ``tproxy to``) hand it packets for any address; by itself it widens
nothing: the socket lookup still matches the address the socket is bound to.  lbaudit judged every
transparent TCP, UDP or MPTCP listener at every address of its family, so a transparent proxy's
listener on 127.0.0.1 failed ``allow: [loopback]`` in a namespace whose TPROXY rules were all read
and were none, while one whose transparency was unknown passed there (no rule, no doubt).

Now a transparent listener is widened when its namespace has TPROXY rules, or they could not be
read (or it is not described); one in a namespace known to have none is judged at its own address.
A listener a BPF sk_lookup program may steer is still judged as one no address bounds.

``test_no_tproxy_rule_no_reach_and_lbaudit_passes_it`` proves both directions on the running kernel:
a peer across a veth is refused by the transparent listener on 127.0.0.1 while the server's
namespace has no TPROXY rule, and served once a ``tproxy to 127.0.0.1`` rule is loaded (without
the fwmark rule and local route that a foreign destination needs: the veth's own address is local);
lbaudit, run in the server's namespace, passes it in the first state and fails it in the second.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.factories import loopback_only_policy
from tests.hostile.test_judging_route_localnet import REPO, _in, _stop
from tests.hostile.test_listeners_transparent import CONNECT, PORT, TPROXY_RULES, _start
from tests.netns_env import ip, join_by_veth, require_namespaces, unique_name


def _status(server_ns: str, tmp_path) -> tuple[str, list[str]]:
    """Status and judged networks of rule loopback-only's finding about the TCP listener on PORT,
    from a real ``lbaudit evaluate`` run in the server's namespace."""
    policy, out = tmp_path / "policy.yaml", tmp_path / "evidence.json"
    policy.write_text(loopback_only_policy("transparent-unsteered"))
    run = subprocess.run(["ip", "netns", "exec", server_ns, sys.executable, "-m", "auditor.cli", "evaluate",
                          "--policy", str(policy), "--output", str(out), "-q"], capture_output=True, text=True,
                         timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Traceback" not in run.stderr, run.stderr
    [finding] = [f for f in json.loads(out.read_text())["result"]["findings"]
                 if f["subject"].startswith(f"tcp 127.0.0.1:{PORT} ")]
    assert finding["observed"]["transparent"] is True
    return finding["status"], finding["observed"]["accepts_networks"]


@pytest.mark.live
@pytest.mark.slow  # two namespaces, child interpreters and two real lbaudit runs: about 4 s
def test_no_tproxy_rule_no_reach_and_lbaudit_passes_it(tmp_path):
    require_namespaces()
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (Debian package nftables; scripts/bootstrap --test installs it)")
    server_ns, peer_ns = unique_name("lbus"), unique_name("lbup")
    ip("netns", "add", server_ns)
    ip("netns", "add", peer_ns)
    serving = None
    try:
        join_by_veth(server_ns, peer_ns, "10.191.0", "lbuw")
        serving = _start(server_ns, 1)
        # no TPROXY rule: the link is refused, whatever IP_TRANSPARENT says
        assert _in(peer_ns, CONNECT, "10.191.0.1", str(PORT)) == "ConnectionRefusedError"
        assert _status(server_ns, tmp_path) == ("pass", ["127.0.0.1/32"])  # before: fail, at 0.0.0.0/0

        loaded = subprocess.run(["ip", "netns", "exec", server_ns, "nft", "-f", "-"], input=TPROXY_RULES,
                                capture_output=True, text=True, timeout=10)
        if loaded.returncode != 0:
            pytest.skip(f"this kernel takes no nftables tproxy rule: {loaded.stderr.strip()}")
        # a TPROXY rule: the link is served by the listener on 127.0.0.1
        assert _in(peer_ns, CONNECT, "10.191.0.1", str(PORT)) == "served"
        assert _status(server_ns, tmp_path) == ("fail", ["0.0.0.0/0"])
    finally:
        _stop(serving, server_ns, peer_ns)
