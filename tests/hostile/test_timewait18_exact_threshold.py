"""``net.time_wait`` headroom: a peak exactly at the policy's limit failed, and the rate it said the
pool sustains failed when declared.

The utilization was ``rate x hold / pool`` in binary floating point: 125 connections/s x 65.12 s over
a 16,280-port pool is exactly 50%, but 65.12 has no exact binary form and the product came out
0.5000000000000001, so ``max_pool_utilization: 0.5`` failed reading "8,140 ports ... =
50.000000000% of the 16,280-port pool ..., above 50%".  And "sustains at most N/s" was ``pool //
hold`` in floats: 249/s there by accident of rounding, but at HZ 128 (a 64 s hold, exact in binary)
an 8,000-port pool "sustains at most 125/s", while 125/s holds every port and fails.  The verdict
is now taken on the numbers as the policy and the kernel give them (exact decimals), and the rate
said to be sustained is the highest whole rate whose peak holds fewer ports than the pool, so that
declaring it passes at ``max_pool_utilization: 1``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.model.facts import KernelHz, SysctlFacts
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import evaluate_snapshot
from tests.factories import snapshot, sysctl_facts

HEADROOM = "ephemeral pool headroom at the declared peak connection rate"


def _headroom(tmp_path: Path, port_range: str, rate: str, maximum: str, hz: int | None = None) -> dict:
    facts = sysctl_facts(net__ipv4__ip_local_port_range=port_range)
    if hz is not None:
        facts = SysctlFacts(runtime=facts.runtime, kernel_hz=KernelHz(hz=hz, source=f"/proc/config.gz: CONFIG_HZ={hz}"))
    host = tmp_path / "host.snapshot.json"
    host.write_bytes(snapshot_bytes(snapshot(listeners=[], time_wait=0, sysctl=facts)))
    policy = (f'id: tw\nversion: "1"\nowner: T\nrules:\n  - id: r\n    check: net.time_wait\n    params:\n'
              f"      peak_new_connections_per_second: {rate}\n      max_pool_utilization: {maximum}\n")
    run, evidence = evaluate_snapshot(tmp_path, policy, host)
    assert run.returncode in (0, 1), run.stdout + run.stderr
    (finding,) = [f for f in json.loads(evidence.read_bytes())["result"]["findings"] if f["subject"] == HEADROOM]
    return finding


def test_a_peak_exactly_at_the_maximum_passes(tmp_path):
    # 40000-56279: 16,280 ports; 125/s x 65.12 s (HZ not known) = 8,140 ports = 50% exactly
    finding = _headroom(tmp_path, "40000 56279", "125", "0.5")
    assert finding["status"] == "pass", finding["message"]  # was fail: "50.000000000% ..., above 50%"
    assert "holds 8,140 ports per (source, destination, port) tuple = 50% of the 16,280-port pool" in finding["message"]
    assert finding["message"].endswith("at most 50%")


def test_a_peak_just_above_the_maximum_still_fails(tmp_path):
    finding = _headroom(tmp_path, "40000 56279", "125.001", "0.5")
    assert finding["status"] == "fail", finding["message"]


@pytest.mark.parametrize(("hz", "port_range"), [
    (128, "40000 47999"),   # 64 s hold, 8,000 ports: exactly 125/s fills the pool
    (100, "40000 56279"),   # 65.12 s hold, 16,280 ports: exactly 250/s fills it
    (250, "32768 60999"),   # 62.048 s, the default pool: 455.0/s is not a whole fill
    (1000, "1024 65535"),   # 64.096 s, the widest pool
])
def test_the_rate_said_to_be_sustained_passes_when_declared(tmp_path, hz, port_range):
    probe = _headroom(tmp_path, port_range, "1", "1", hz)
    sustained = probe["observed"]["sustainable_per_second"]
    assert f"(which sustains at most {sustained:,}/s)" in probe["message"]
    declared = _headroom(tmp_path, port_range, str(sustained), "1", hz)
    assert declared["status"] == "pass", declared["message"]  # was fail at HZ 128: "every port of the pool"
    beyond = _headroom(tmp_path, port_range, str(sustained + 1), "1", hz)
    assert beyond["status"] == "fail", beyond["message"]
