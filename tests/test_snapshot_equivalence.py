"""A snapshot written on this host and evaluated later gives exactly the findings of the live run.

Real facts: loopback listeners opened by the test, this kernel's sysctls and sysctl.d files, and
the audit state as auditctl reports it.  The policy enables every network and drift check; the engine is run directly with the built-in registry.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest

from auditor.collect.live import collect_live
from auditor.collect.rootdir import collect_root
from auditor.engine.evaluate import evaluate
from auditor.engine.registry import load_registry
from auditor.model.base import with_text_of_host
from auditor.model.facts import SECTIONS
from auditor.model.result import Status
from auditor.policy.loader import load_policy
from auditor.storage.snapshot import load_snapshot, write_snapshot

TODAY = date(2026, 11, 22)
ROOTS = Path(__file__).resolve().parent / "fixtures" / "roots"


POLICY = """\
id: snapshot-equivalence
version: "1"
owner: lbaudit tests
rules:
  - id: listeners-loopback-only
    check: net.bind_addresses
    params: {allow: [loopback]}
  - id: ephemeral-pool
    check: net.ephemeral_port_range
    params: {min_pool_size: 28232, min_low: 1024, forbid_listeners_in_range: true}
  - id: time-wait
    check: net.time_wait
    params: {allowed_tw_reuse: [0, 2], min_max_tw_buckets: 65536, max_fin_timeout: 60,
             max_time_wait_share: 0.5, peak_new_connections_per_second: 300}
  - id: sysctl-drift
    check: drift.sysctl
  - id: audit-drift
    check: drift.audit_rules
"""


def load_test_policy(registry, tmp_path: Path):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return load_policy(path, registry)


def _listen(stack: ExitStack, family: int, kind: int, address: str) -> int:
    sock = stack.enter_context(socket.socket(family, kind))
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((address, 0))
    if kind == socket.SOCK_STREAM:
        sock.listen(1)
    return sock.getsockname()[1]


@pytest.mark.slow  # collects this host twice
@pytest.mark.live
def test_snapshot_of_this_host_evaluates_to_the_live_findings(tmp_path: Path):
    registry = load_registry(plugins=False)
    policy = load_test_policy(registry, tmp_path)
    with ExitStack() as stack:
        tcp4 = _listen(stack, socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1")
        tcp6 = _listen(stack, socket.AF_INET6, socket.SOCK_STREAM, "::1")
        udp4 = _listen(stack, socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1")
        # As the pipeline takes it (auditor.pipeline.acquire): a name on this shared host that is not
        # UTF-8 (another test's process) written as a visible escape, which every writer can write.
        live = with_text_of_host(collect_live(frozenset(SECTIONS)))
    ports = {(l.protocol, l.port) for l in live.facts.sockets.listeners or []}
    assert {("tcp", tcp4), ("tcp", tcp6), ("udp", udp4)} <= ports  # the facts are real and non-trivial

    live_result = evaluate(policy, live, registry, today=TODAY)
    path = tmp_path / "web01.snapshot.json"
    write_snapshot(live, path)
    loaded = load_snapshot(path)
    snapshot_result = evaluate(policy, loaded, registry, today=TODAY)

    assert loaded.provenance.source == "snapshot" and live.provenance.source == "live"
    assert loaded.facts_digest() == live.facts_digest()
    assert snapshot_result.model_dump(mode="json") == live_result.model_dump(mode="json")
    assert {f.check for f in live_result.findings} >= {"drift.sysctl", "drift.audit_rules", "net.bind_addresses"}
    assert any(f.subject.startswith(f"tcp 127.0.0.1:{tcp4} ") for f in live_result.findings)


def test_snapshot_of_a_root_directory_evaluates_to_the_same_findings(tmp_path: Path):
    registry = load_registry(plugins=False)
    policy = load_test_policy(registry, tmp_path)
    offline = collect_root(ROOTS / "socket-units", frozenset(SECTIONS))
    path = tmp_path / "image.snapshot.json"
    write_snapshot(offline, path)
    direct = evaluate(policy, offline, registry, today=TODAY)
    again = evaluate(policy, load_snapshot(path), registry, today=TODAY)
    assert again.model_dump(mode="json") == direct.model_dump(mode="json")
    drift = [f for f in direct.findings if f.check.startswith("drift.")]
    assert drift and all(f.status == Status.NOT_APPLICABLE for f in drift)
