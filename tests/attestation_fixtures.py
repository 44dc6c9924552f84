"""Evidence for the attestation tests (PDF, signing, PAdES), built through the real engine.

The checks are small CheckSpecs defined here, so the evidence covers every status an attestation
must show (fail, not_reviewed, error, waived, an expired waiver, passes) whatever the built-in
checks of the day do.  Everything is a real model object; nothing is mocked.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

from pydantic import Field

from auditor.engine.evaluate import evaluate
from auditor.engine.registry import build_registry
from auditor.model.check import CheckParams, check, failed, missing_fact, passed
from auditor.model.evidence import Evidence
from auditor.model.facts import Gap, HostSnapshot, Listener, ProcessInfo
from auditor.model.policy import Policy, PolicySource, ResolvedRule, Waiver
from auditor.model.result import Severity
from auditor.report.evidence import build_evidence, write_evidence
from tests.factories import FIXED_TIME, listener, snapshot

EVALUATED_ON = FIXED_TIME.date()


class BindParams(CheckParams):
    exposed_ports: list[int] = Field(default_factory=list)


@check(
    name="net.bind_addresses",
    title="Listeners bind to loopback unless the policy names them",
    version="1.0",
    needs=["sockets"],
    params=BindParams,
    severity=Severity.HIGH,
    controls=["CM-7", "SC-7"],
    rationale="Every socket reachable from the network is attack surface; least functionality keeps "
              "services on loopback unless exposure is a decision.",
    remediation="Bind the service to 127.0.0.1 / ::1 in its configuration, or add a reviewed exception "
                "to the policy.",
)
def bind_addresses(snap: HostSnapshot, params: BindParams):
    listeners = snap.facts.sockets.listeners if snap.facts.sockets else None
    if listeners is None:
        return [missing_fact(snap, "sockets", "listeners", "listeners", "the listener list")]
    outcomes = []
    for item in listeners:
        if ipaddress.ip_address(item.address).is_loopback or item.port in params.exposed_ports:
            outcomes.append(passed(item.subject, "bound as the policy allows", observed=item.endpoint))
        else:
            outcomes.append(failed(item.subject, f"reachable from the network on {item.endpoint}",
                                   observed=item.endpoint, expected="loopback, or a port the policy names"))
    return outcomes


class RangeParams(CheckParams):
    min_pool_size: int = 28232


@check(
    name="net.ephemeral_port_range",
    title="The ephemeral port pool is large enough",
    version="1.0",
    needs=["sysctl"],
    params=RangeParams,
    severity=Severity.MEDIUM,
    controls=["SC-5", "CM-6"],
    rationale="A small ephemeral range runs out under load and outbound connections fail (EADDRNOTAVAIL).",
    remediation="Set net.ipv4.ip_local_port_range in /etc/sysctl.d/ to a range of at least the policy's size.",
)
def port_range(snap: HostSnapshot, params: RangeParams):
    setting = snap.facts.sysctl.effective("net.ipv4.ip_local_port_range")
    low, high = (int(v) for v in setting.value.split())
    size = high - low + 1
    observed = {"range": setting.value, "ports": size, "origin": setting.origin}
    expected = {"min_pool_size": params.min_pool_size}
    subject = "sysctl net.ipv4.ip_local_port_range"
    if size >= params.min_pool_size:
        return [passed(subject, f"{size} ephemeral ports", observed=observed, expected=expected)]
    return [failed(subject, f"only {size} ephemeral ports", observed=observed, expected=expected)]


@check(
    name="audit.socket_logging",
    title="Socket system calls are audited",
    version="1.0",
    needs=["audit"],
    params=CheckParams,
    severity=Severity.MEDIUM,
    controls=["AU-2", "AU-12", "SI-4"],
    rationale="Without audit records of bind/connect, a new listener or an exfiltration path leaves no trace.",
    remediation="Add '-a always,exit -F arch=b64 -S bind,connect -k net-socket' to /etc/audit/rules.d/.",
)
def socket_logging(snap: HostSnapshot, params: CheckParams):
    return [passed("audit rules", "socket calls audited")]


@check(
    name="net.time_wait",
    title="TIME_WAIT tuning leaves headroom for the declared peak",
    version="1.0",
    needs=["sysctl", "sockets"],
    params=CheckParams,
    severity=Severity.HIGH,
    controls=["SC-5(2)", "CA-7"],
    rationale="Sockets in TIME_WAIT hold ephemeral ports; at the declared peak the pool must not run dry.",
    remediation="Enable net.ipv4.tcp_tw_reuse=1 or widen the ephemeral range.",
)
def time_wait(snap: HostSnapshot, params: CheckParams):
    # The fixture host lacks this sysctl: the KeyError becomes an `error` finding, never a pass.
    reuse = snap.facts.sysctl.runtime["net.ipv4.tcp_tw_reuse"].value
    return [passed("sysctl net.ipv4.tcp_tw_reuse", f"tcp_tw_reuse={reuse}")]


@check(
    name="net.unprivileged_port_start",
    title="Only root binds ports below 1024",
    version="1.0",
    needs=["sysctl"],
    params=CheckParams,
    severity=Severity.LOW,
    controls=["AC-4"],
    rationale="Privileged ports are a cheap guarantee that a well-known port belongs to a system service.",
    remediation="Set net.ipv4.ip_unprivileged_port_start = 1024.",
)
def unprivileged_port_start(snap: HostSnapshot, params: CheckParams):
    setting = snap.facts.sysctl.effective("net.ipv4.ip_unprivileged_port_start")
    subject = "sysctl net.ipv4.ip_unprivileged_port_start"
    if setting is not None and int(setting.value) >= 1024:
        return [passed(subject, "privileged ports reserved", observed=setting.value, expected=">= 1024")]
    return [failed(subject, "unprivileged users may bind low ports", observed=setting and setting.value,
                   expected=">= 1024")]


CHECKS = [bind_addresses, port_range, socket_logging, time_wait, unprivileged_port_start]

# The failing subjects an attestation must name (the waived 8080 listener is not failing).
FAILING_SUBJECTS = [
    "tcp 0.0.0.0:5432 postgres pid 812",
    "tcp [::]:6379 redis-server pid 901",
    "udp 0.0.0.0:5353 avahi-daemon pid 640",
    "sysctl net.ipv4.ip_local_port_range",
]


def _proc(name: str, pid: int, user: str = "root") -> list[ProcessInfo]:
    return [ProcessInfo(pid=pid, name=name, exe=f"/usr/sbin/{name}", user=user)]


def host_listeners(extra: int = 0) -> list[Listener]:
    listeners = [
        listener("0.0.0.0", 22, processes=_proc("sshd", 611)),
        listener("0.0.0.0", 443, processes=_proc("nginx", 700, "www-data")),
        listener("0.0.0.0", 5432, processes=_proc("postgres", 812, "postgres")),
        listener("::", 6379, v6only=False, processes=_proc("redis-server", 901, "redis")),
        listener("127.0.0.1", 631, processes=_proc("cupsd", 540)),
        listener("0.0.0.0", 8080, processes=_proc("java", 1500, "app")),
        listener("0.0.0.0", 5353, protocol="udp", processes=_proc("avahi-daemon", 640, "avahi")),
        listener("::1", 25, processes=_proc("exim4", 990, "Debian-exim")),
    ]
    # Bulk listeners for scale tests: each one is a failing finding of its own.
    listeners += [
        listener("0.0.0.0", 10000 + i, processes=_proc(f"worker-{i:05d}", 20000 + i, "app")) for i in range(extra)
    ]
    return listeners


def make_policy() -> Policy:
    def rule(rule_id: str, check_name: str, severity: Severity, controls: list[str], line: int, **params) -> ResolvedRule:
        return ResolvedRule(id=rule_id, check=check_name, params=params, severity=severity, controls=controls,
                            enabled=True, source=f"policies/corp.yaml:{line}")

    return Policy(
        id="corp-baseline",
        version="2026.11",
        owner="Security Engineering <secops@example.com>",
        description="Production server baseline for the network-socket layer.",
        rules=[
            rule("listeners-loopback-only", "net.bind_addresses", Severity.HIGH, ["CM-7", "SC-7"], 14,
                 exposed_ports=[22, 443]),
            rule("ephemeral-pool", "net.ephemeral_port_range", Severity.MEDIUM, ["SC-5", "CM-6"], 30,
                 min_pool_size=30000),
            rule("socket-audit", "audit.socket_logging", Severity.MEDIUM, ["AU-2", "AU-12", "SI-4"], 38),
            rule("outbound-capacity", "net.time_wait", Severity.HIGH, ["SC-5(2)", "CA-7"], 44),
            rule("privileged-ports", "net.unprivileged_port_start", Severity.LOW, ["AC-4"], 52),
        ],
        waivers=[
            Waiver(rule="listeners-loopback-only", subject="tcp 0.0.0.0:8080 *",
                   reason="Legacy billing API; migration to the mesh tracked in CHG-4411",
                   approver="Dana Whitfield (CISO)", expires=EVALUATED_ON + timedelta(days=150)),
            Waiver(rule="ephemeral-pool", reason="Kernel tuning rollout pending",
                   approver="Sam Okafor (Platform lead)", expires=EVALUATED_ON - timedelta(days=30)),
            Waiver(rule="listeners-loopback-only", subject="udp *:1900 *", reason="SSDP lab device",
                   approver="Dana Whitfield (CISO)", expires=EVALUATED_ON + timedelta(days=30)),
        ],
        sources=[PolicySource(path="policies/corp.yaml", sha256="ab" * 32)],
    )


def make_snapshot(extra_listeners: int = 0, hostname: str = "web01.example.test") -> HostSnapshot:
    from tests.factories import LINUX_DEFAULT_SYSCTLS, sysctl_facts

    values = {k: v for k, v in LINUX_DEFAULT_SYSCTLS.items() if k != "net.ipv4.tcp_tw_reuse"}
    snap = snapshot(
        listeners=host_listeners(extra_listeners),
        sysctl=sysctl_facts(values),
        audit=None,
        gaps=[Gap(section="audit", reason="auditctl -l: Operation not permitted (needs CAP_AUDIT_CONTROL)")],
        hostname=hostname,
        methods={"sockets": "netlink sock_diag; owners from /proc/<pid>/fd", "sysctl": "/proc/sys",
                 "audit": "auditctl -s, auditctl -l; /etc/audit/rules.d"},
    )
    return snap


def make_evidence(extra_listeners: int = 0, hostname: str = "web01.example.test",
                  only_rules: list[str] | None = None) -> Evidence:
    """The fixture evidence; ``only_rules`` keeps a subset of the policy's rules (and their waivers)."""
    registry = build_registry(list(CHECKS))
    policy = make_policy()
    if only_rules is not None:
        policy = policy.model_copy(update={
            "rules": [r for r in policy.rules if r.id in only_rules],
            "waivers": [w for w in policy.waivers if w.rule in only_rules],
        })
    snap = make_snapshot(extra_listeners, hostname)
    result = evaluate(policy, snap, registry, fail_on=Severity.LOW, today=EVALUATED_ON)
    return build_evidence(
        policy=policy, snapshot=snap, registry=registry, result=result,
        started_at=FIXED_TIME, finished_at=FIXED_TIME + timedelta(seconds=2), evaluated_on=EVALUATED_ON,
        timings_ms={"collect": 1400, "evaluate": 12},
    )


def write_evidence_file(directory: Path, evidence: Evidence, name: str = "evidence.json") -> tuple[Path, bytes]:
    path = directory / name
    return path, write_evidence(evidence, path)
