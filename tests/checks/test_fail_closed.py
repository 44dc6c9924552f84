"""Adversarial review of "fail closed": no ``pass`` and no ``compliant`` verdict on evidence that was
partial, unreadable, malformed or absent.

Each test builds the evidence a host could really give (a fixture root read by the real collector,
or a snapshot from :mod:`tests.factories`) and asserts that no finding vouches for what could not be
seen.  The first group closes false passes found in the review; the second pins the paths that
already failed closed, so that they stay that way.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from auditor.checks.net_ephemeral_port_range import IN_RANGE, EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.live import collect_live
from auditor.collect.rootdir import collect_root
from auditor.domain.audit_rules import parse_auditctl_list, parse_rules_text
from auditor.engine.evaluate import evaluate
from auditor.engine.registry import load_registry
from auditor.model.facts import AuditFacts, Gap, GapKind, HostSnapshot, ProcessInfo, SysctlFacts, SysctlSetting
from auditor.model.policy import Policy, PolicySource, ResolvedRule, Waiver
from auditor.model.result import ExitCode, Severity, Status, Verdict
from tests.factories import LINUX_DEFAULT_SYSCTLS, SOCKET_AUDIT_RULES, X32_OFF, listener, snapshot, sysctl_facts
from tests.privileges import require_root, run_as_unprivileged

ROOTS = Path(__file__).resolve().parents[1] / "fixtures" / "roots"
TODAY = date(2026, 11, 22)
REGISTRY = load_registry(plugins=False)

GOOD_RULES = SOCKET_AUDIT_RULES  # every way of making the calls


def policy_of(check: str, waivers: list[Waiver] | None = None, **params) -> Policy:
    spec = REGISTRY.get(check)
    assert spec is not None
    rule = ResolvedRule(id="r1", check=check, params=params, severity=Severity.HIGH, controls=list(spec.controls),
                        enabled=True, source="p.yaml:1")
    return Policy(id="p", version="1", owner="o", description="", rules=[rule], waivers=waivers or [],
                  sources=[PolicySource(path="p.yaml", sha256="0" * 64)])


def by_subject(outcomes) -> dict:
    return {o.subject: o for o in outcomes}


def no_pass(outcomes) -> None:
    passing = [o.subject for o in outcomes if o.status == Status.PASS]
    assert passing == [], f"passed on evidence it could not see: {passing}"


# ================================================================ false passes closed by this review


def test_persistent_audit_rules_the_parser_could_not_read_are_not_vouched_for():
    """A rules.d line lbaudit's parser refuses (an io_uring rule auditctl 3.x loads) stopped lbaudit's
    reading of the file, so it never saw the ``-a never,task`` after it, which turns syscall
    auditing off: the persistent rules passed and the image was ``compliant`` (exit 0)."""
    snap = collect_root(ROOTS / "audit-unparsed", frozenset({"audit"}))
    problems = [g for g in snap.gaps if g.field == "persistent_rules/problems"]
    assert len(problems) == 1 and "30-net.rules:7" in problems[0].reason

    outcomes = by_subject(audit_socket_logging.run(snap, SocketLoggingParams()))
    for subject in ("persistent rules b64", "persistent rules b32"):
        # lbaudit now reads the io_uring line as auditctl 3.1 does (3.0 refuses it: the problem), so
        # the never rule after it is seen, and what was read fails
        assert outcomes[subject].status == Status.FAIL
        assert "30-net.rules:7" in outcomes[subject].message and "-a never,task" in outcomes[subject].message
        assert outcomes[subject].observed["problems"] == [problems[0].reason]
    no_pass(outcomes.values())

    result = evaluate(policy_of("audit.socket_logging"), snap, REGISTRY, today=TODAY)
    assert result.verdict == Verdict.NON_COMPLIANT and result.exit_code == ExitCode.NON_COMPLIANT


def test_persistent_audit_rules_that_fail_still_fail_despite_unread_lines():
    text = "-a never,exit -F arch=b64 -S bind\n" + GOOD_RULES + "-a always,io_uring -S connect\n"
    parsed = parse_rules_text(text, "/etc/audit/rules.d/30-net.rules", "x86_64")
    gaps = [Gap(section="audit", field="persistent_rules/problems", reason=str(p)) for p in parsed.problems]
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=parse_rules_text(GOOD_RULES, "x", "x86_64").rules,
                       persistent_rules=parsed.rules, persistent_source="/etc/audit/rules.d (augenrules)")
    outcome = by_subject(audit_socket_logging.run(snapshot(audit=facts, gaps=gaps), SocketLoggingParams()))
    assert outcome["persistent rules b64"].status == Status.FAIL  # what was read already fails
    assert outcome["persistent rules b32"].status == Status.NOT_REVIEWED


def test_persistent_rule_naming_a_call_its_abi_lacks_is_not_vouched_for():
    """i386 has no accept syscall: on an x86 host auditctl refuses ``-F arch=b32 -S ...,accept,...``
    and, without -c, loads nothing after it.  lbaudit's reading accepted the line and counted the
    socketcall rule after it: the persistent b32 rules passed, though the boot loads neither."""
    text = GOOD_RULES.replace("-S bind,listen,connect,accept4 -k net", "-S bind,listen,connect,accept,accept4 -k net")
    parsed = parse_rules_text(text, "/etc/audit/rules.d/30-net.rules", "x86_64")
    gaps = [Gap(section="audit", field="persistent_rules/problems", reason=str(p)) for p in parsed.problems]
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=parse_rules_text(GOOD_RULES, "x", "x86_64").rules,
                       persistent_rules=parsed.rules, persistent_source="/etc/audit/rules.d (augenrules)")
    outcomes = by_subject(audit_socket_logging.run(snapshot(audit=facts, arch="x86_64", gaps=gaps), SocketLoggingParams()))
    # the b64 rule before the refused line loads, but the file is not what it says: not vouched for
    assert outcomes["persistent rules b64"].status == Status.NOT_REVIEWED
    # neither b32 rule loads
    assert outcomes["persistent rules b32"].status == Status.FAIL
    for subject in ("persistent rules b64", "persistent rules b32"):
        assert "/etc/audit/rules.d/30-net.rules:4" in outcomes[subject].message
        assert "accept" in outcomes[subject].message
    assert outcomes["loaded rules b32"].status == Status.PASS
    # a 64-bit socketcall rule is refused the same way (x86_64 has no socketcall)
    text64 = GOOD_RULES + "-a always,exit -F arch=b64 -S socketcall\n"
    parsed = parse_rules_text(text64, "/etc/audit/rules.d/30-net.rules", "x86_64")
    gaps = [Gap(section="audit", field="persistent_rules/problems", reason=str(p)) for p in parsed.problems]
    facts = facts.model_copy(update={"persistent_rules": parsed.rules})
    outcome = by_subject(audit_socket_logging.run(snapshot(audit=facts, arch="x86_64", gaps=gaps), SocketLoggingParams()))
    assert outcome["persistent rules b64"].status == Status.NOT_REVIEWED and "socketcall" in outcome["persistent rules b64"].reason


def test_socket_logging_with_nothing_required_is_a_policy_error():
    """With require_loaded, require_persistent and require_enabled all false every finding was
    not_applicable: a rule that could never fail, and a policy of it alone was ``compliant``."""
    with pytest.raises(ValidationError, match="nothing to judge"):
        SocketLoggingParams(require_loaded=False, require_persistent=False, require_enabled=False,
                            require_auditd=False)
    # one requirement left is enough
    assert SocketLoggingParams(require_loaded=False, require_persistent=False).require_enabled


def _sysctl_without(key: str, persistent: dict[str, tuple[str, str]]) -> SysctlFacts:
    runtime = {k: v for k, v in LINUX_DEFAULT_SYSCTLS.items() if k != key}
    return SysctlFacts(runtime=sysctl_facts(runtime).runtime,
                       persistent={k: SysctlSetting(value=v, origin=o) for k, (v, o) in persistent.items()})


def test_drift_sysctl_glob_configured_key_whose_running_value_is_unreadable():
    """A key set by a glob (net.ipv4.tcp_fin_*) whose running value could not be read was skipped,
    and the check passed: "none of the collected running values is set by a configuration file"."""
    key = "net.ipv4.tcp_fin_timeout"
    facts = _sysctl_without(key, {"net.ipv4.tcp_fin_*": ("30", "/etc/sysctl.d/60-net.conf:2")})
    gap = Gap(section="sysctl", field=f"runtime/{key}", reason="/proc/sys/net/ipv4/tcp_fin_timeout: permission denied")
    outcomes = drift_sysctl.run(snapshot(sysctl=facts, gaps=[gap]), DriftSysctlParams())
    no_pass(outcomes)
    outcome = by_subject(outcomes)[f"sysctl {key}"]
    assert outcome.status == Status.NOT_REVIEWED and outcome.reason == gap.reason


def test_drift_sysctl_collected_key_missing_without_a_gap_is_not_reviewed():
    """A snapshot whose gap for an unreadable running value was removed: the configured key was
    listed as one "lbaudit does not collect" (not_applicable) and the run was ``compliant``."""
    key = "net.ipv4.tcp_fin_timeout"
    facts = _sysctl_without(key, {key: ("30", "/etc/sysctl.d/60-net.conf:2"),
                                  "net.ipv4.tcp_tw_reuse": ("2", "/etc/sysctl.d/60-net.conf:3")})
    snap = snapshot(sysctl=facts)
    outcomes = by_subject(drift_sysctl.run(snap, DriftSysctlParams()))
    assert outcomes[f"sysctl {key}"].status == Status.NOT_REVIEWED
    assert "no reason recorded" in outcomes[f"sysctl {key}"].reason
    assert outcomes["sysctl net.ipv4.tcp_tw_reuse"].status == Status.PASS  # what was read is still judged
    result = evaluate(policy_of("drift.sysctl"), snap, REGISTRY, today=TODAY)
    assert result.verdict == Verdict.INCOMPLETE and result.exit_code == ExitCode.INCOMPLETE


@pytest.mark.parametrize("field", ["listeners", "", "listeners/udp6"])
def test_ephemeral_range_does_not_vouch_for_listeners_it_could_not_read(field):
    """A listener list the collector could read only in part (a Gap on the list, not on one
    listener) passed "no tcp listener uses an unreserved port of the ephemeral range"."""
    gap = Gap(section="sockets", field=field, reason="udp6 dump: permission denied")
    snap = snapshot(listeners=[listener("127.0.0.1", 8080)], gaps=[gap])
    outcomes = by_subject(net_ephemeral_port_range.run(snap, EphemeralRangeParams()))
    assert outcomes[IN_RANGE].status == Status.NOT_REVIEWED
    assert "udp6 dump: permission denied" in outcomes[IN_RANGE].reason
    # The sysctls were read, but the pool is less the ports TCP listeners hold in the range: a gap on the
    # whole list may hide TCP listeners, so a pool that meets the minimum is not known to (pool21); a
    # gap on UDP alone hides none.
    expected = Status.PASS if field == "listeners/udp6" else Status.NOT_REVIEWED
    assert outcomes["ephemeral port pool"].status == expected


def test_ephemeral_range_still_fails_seen_listeners_when_the_list_is_partial():
    gap = Gap(section="sockets", field="listeners", reason="udp6 dump: permission denied")
    snap = snapshot(listeners=[listener("0.0.0.0", 40000)], gaps=[gap])
    statuses = sorted(o.status.value for o in net_ephemeral_port_range.run(snap, EphemeralRangeParams())
                      if o.subject != "ephemeral port pool" and o.subject != "ephemeral port range bounds")
    assert statuses == ["fail", "not_reviewed"]


def test_ephemeral_range_offline_says_what_it_cannot_know():
    gap = Gap(section="sockets", field="listeners", kind=GapKind.NOT_APPLICABLE,
              reason="offline root directory: only listeners declared by systemd socket units are known")
    outcomes = net_ephemeral_port_range.run(snapshot(listeners=[], gaps=[gap]), EphemeralRangeParams())
    notes = [o for o in outcomes if o.status == Status.NOT_APPLICABLE]
    assert [o.reason for o in notes] == [gap.reason]


def test_negative_time_wait_count_is_malformed_not_a_small_share():
    """A TIME_WAIT count of -5 (a hand-edited or corrupt snapshot) passed as "-0.0% of the pool".
    Such a snapshot is now refused by the model, so no check ever sees the count."""
    with pytest.raises(ValidationError, match="time_wait"):
        snapshot(listeners=[], time_wait=-5)


def _never_for(process: str) -> BindAddressParams:
    """Loopback for everyone, but nothing at all for ``process``: an exception narrower than the default."""
    return BindAddressParams(allow=["loopback"], exceptions=[
        {"match": {"process": process}, "allow": [], "reason": f"{process} must never listen"}])


def test_listener_whose_holders_were_seen_in_part_is_not_judged_on_that_part():
    """Unprivileged, /proc/<pid>/fd of other users' processes cannot be read, so a socket shared
    with such a process showed only the holders that could be seen.  An exception about the unseen
    holder then did not match, and the more permissive default passed the listener."""
    seen = [ProcessInfo(pid=4242, name="worker", user="nobody")]
    gap = Gap(section="sockets", field="listeners/0/processes",
              reason="tcp 127.0.0.1:6379: other processes may hold it too: /proc/<pid>/fd not readable for 3 processes")
    snap = snapshot(listeners=[listener("127.0.0.1", 6379, processes=seen)], gaps=[gap])
    (outcome,) = net_bind_addresses.run(snap, _never_for("redis-server"))
    assert outcome.status == Status.NOT_REVIEWED
    assert "other processes may hold it too" in outcome.reason and "exception 1" in outcome.reason
    # every holder seen: the exception is judged on them, as before
    (complete,) = net_bind_addresses.run(snapshot(listeners=[listener("127.0.0.1", 6379, processes=seen)]),
                                         _never_for("redis-server"))
    assert complete.status == Status.PASS
    # a holder that is seen and matches still decides
    (matched,) = net_bind_addresses.run(snap, _never_for("worker"))
    assert matched.status == Status.FAIL


PR_SET_NAME, PR_SET_DUMPABLE = 15, 4
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before the drop: nobody cannot read the interpreter's tree


def _collect_holding_a_root_listener(name: bytes) -> tuple[str, int]:
    """In a child dropped to nobody that keeps the root listener it inherited: the socket is held
    by the root parent, whose /proc/<pid>/fd nobody cannot read, and by this child, which it can."""
    if _LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0 or _LIBC.prctl(PR_SET_NAME, name, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl")
    return collect_live(frozenset({"sockets"})).model_dump_json(by_alias=True), os.getpid()


@pytest.mark.root
def test_socket_shared_with_an_unreadable_root_process_is_not_judged_on_the_seen_holder():
    require_root()
    parent_name = Path("/proc/self/comm").read_text().strip()
    with socket.socket() as shared:
        shared.bind(("127.0.0.1", 0))
        shared.listen()
        text, child_pid = run_as_unprivileged(_collect_holding_a_root_listener, b"lbaudit-child")
        snap = HostSnapshot.model_validate(json.loads(text))
        inode = os.fstat(shared.fileno()).st_ino
    (index,) = [i for i, item in enumerate(snap.facts.sockets.listeners) if item.inode == inode]
    seen = snap.facts.sockets.listeners[index]
    assert [(p.pid, p.name) for p in seen.processes] == [(child_pid, "lbaudit-child")]  # the root parent is unseen
    gaps = [g for g in snap.gaps if g.field == f"listeners/{index}/processes"]
    assert len(gaps) == 1 and "other processes may hold it too" in gaps[0].reason
    judged = [o for o in net_bind_addresses.run(snap, _never_for(parent_name)) if o.evidence == [f"/facts/sockets/listeners/{index}"]]
    assert [o.status for o in judged] == [Status.NOT_REVIEWED]


# ================================================================ paths that already fail closed


@pytest.mark.parametrize("value", ["", "  ", "abc", "32768", "32768 60999 1", "32768 70000", "-1 60999", "0x8000 60999"])
def test_junk_port_range_is_never_a_pass(value):
    snap = snapshot(listeners=[], sysctl=sysctl_facts(**{"net__ipv4__ip_local_port_range": value}))
    outcomes = net_ephemeral_port_range.run(snap, EphemeralRangeParams())
    assert {o.subject: o.status for o in outcomes}["ephemeral port pool"] == Status.NOT_REVIEWED
    time_wait = net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=10))
    assert [o.status for o in time_wait] == [Status.NOT_REVIEWED]


def test_tab_and_newline_in_a_port_range_are_read_as_the_kernel_means_them():
    snap = snapshot(listeners=[], sysctl=sysctl_facts(**{"net__ipv4__ip_local_port_range": "32768\t60999\n"}))
    pool = by_subject(net_ephemeral_port_range.run(snap, EphemeralRangeParams()))["ephemeral port pool"]
    assert pool.status == Status.PASS and pool.observed["pool_size"] == 28232


@pytest.mark.parametrize("value", ["", " ", "two", "2 1", "0x2", "+2", "2.0"])
def test_junk_integer_sysctls_are_never_a_pass(value):
    snap = snapshot(listeners=[], sysctl=sysctl_facts(**{"net__ipv4__tcp_tw_reuse": value}))
    (outcome,) = net_time_wait.run(snap, TimeWaitParams(allowed_tw_reuse=[0, 2]))
    assert outcome.status == Status.NOT_REVIEWED


@pytest.mark.parametrize(("address", "v6only"), [("::", None), ("::", False), ("::ffff:0.0.0.0", None),
                                                  ("0.0.0.0", None), ("::ffff:10.0.0.1", None)])
@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_wildcards_mapped_and_dual_stack_listeners_are_not_loopback(address, v6only, protocol):
    owner = [ProcessInfo(pid=812, name="postgres", user="postgres")]
    snap = snapshot(listeners=[listener(address, 5432, protocol, v6only=v6only, processes=owner)])
    (outcome,) = net_bind_addresses.run(snap, BindAddressParams(allow=["loopback"]))
    assert outcome.status == Status.FAIL and "5432" in outcome.subject and "pid 812" in outcome.subject


def test_v6only_unknown_is_judged_dual_stack_even_where_ipv6_alone_is_allowed():
    snap = snapshot(listeners=[listener("::", 22, v6only=None)])
    (outcome,) = net_bind_addresses.run(snap, BindAddressParams(allow=["::/0"]))
    assert outcome.status == Status.FAIL and "assumed dual-stack" in outcome.message


def test_listener_list_that_could_not_be_read_is_not_an_empty_host():
    gap = Gap(section="sockets", field="listeners", reason="netlink sock_diag unavailable; /proc/net fallback failed")
    for listeners in (None, []):
        snap = snapshot(listeners=listeners, gaps=[gap])
        outcomes = net_bind_addresses.run(snap, BindAddressParams())
        no_pass(outcomes)
        assert [o.status for o in outcomes] == [Status.NOT_REVIEWED]


def test_snapshot_with_gaps_removed_still_fails_closed_on_absent_facts():
    snap = snapshot(listeners=None, time_wait=None, sysctl=SysctlFacts(runtime={}), audit=AuditFacts(x32=X32_OFF, ))
    for check, params in (("net.bind_addresses", {}), ("net.ephemeral_port_range", {}),
                          ("net.time_wait", {"max_time_wait_share": 0.5, "allowed_tw_reuse": [2]}),
                          ("audit.socket_logging", {}), ("drift.audit_rules", {}), ("drift.sysctl", {})):
        result = evaluate(policy_of(check, **params), snap, REGISTRY, today=TODAY)
        assert result.summary.by_status["pass"] == 0, check
        assert result.verdict == Verdict.INCOMPLETE and result.exit_code == ExitCode.INCOMPLETE, check


def test_unparseable_auditctl_list_line_is_not_vouched_for():
    text = GOOD_RULES + "-a never,exit -F arch=b64 -S bind -F frobnicate=1\n"
    parsed = parse_auditctl_list(text, "x86_64")
    gaps = [Gap(section="audit", field="loaded_rules/problems", reason=str(p)) for p in parsed.problems]
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=parsed.rules, persistent_rules=parse_rules_text(GOOD_RULES, "x", "x86_64").rules)
    outcomes = by_subject(audit_socket_logging.run(snapshot(audit=facts, gaps=gaps), SocketLoggingParams()))
    assert outcomes["loaded rules b64"].status == Status.NOT_REVIEWED and "frobnicate" in outcomes["loaded rules b64"].reason


def test_persistent_rules_that_cannot_be_read_are_a_gap_not_an_empty_list(tmp_path):
    # rules.d is a file where a directory belongs and there is no audit.rules: nothing the boot
    # would load can be read, which is a Gap, never "no rules" and never a pass.
    rules_d = tmp_path / "etc" / "audit" / "rules.d"
    rules_d.parent.mkdir(parents=True)
    rules_d.write_text("not a directory")
    snap = collect_root(tmp_path, frozenset({"audit"}))
    assert snap.facts.audit.persistent_rules is None
    outcomes = by_subject(audit_socket_logging.run(snap, SocketLoggingParams()))
    no_pass(outcomes.values())
    assert outcomes["persistent rules b64"].status == Status.NOT_REVIEWED


@pytest.mark.parametrize("subject", ["*", None])
def test_a_catch_all_waiver_waives_failures_only_never_missing_evidence(subject):
    """``subject: "*"`` is the same as no subject (every finding of the rule): approved, dated and
    listed with the findings it waived.  It cannot touch a not_reviewed finding."""
    sysctls = {"net__ipv4__ip_local_port_range": "1000 60999", "net__ipv4__ip_local_reserved_ports": "junk"}
    snap = snapshot(listeners=[listener("0.0.0.0", 40000)], sysctl=sysctl_facts(**sysctls))
    waiver = Waiver(rule="r1", subject=subject, reason="accepted", approver="CISO", expires=date(2027, 1, 1))
    result = evaluate(policy_of("net.ephemeral_port_range", waivers=[waiver]), snap, REGISTRY, today=TODAY)
    by_status = {f.subject: f.status for f in result.findings}
    assert by_status == {
        "ephemeral port range bounds": Status.WAIVED,  # 1000 is below 1024: a real failure, waived
        "ephemeral port pool": Status.NOT_REVIEWED,  # reserved ports unreadable: still not reviewed
        "tcp 0.0.0.0:40000 owner unknown": Status.NOT_REVIEWED,  # inside the range, reservation unknown
    }
    assert result.waivers[0].state == "applied" and result.exit_code == ExitCode.INCOMPLETE
