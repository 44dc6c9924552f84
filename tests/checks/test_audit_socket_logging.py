"""audit.socket_logging on snapshots whose rules come from the real parser (file and auditctl -l forms)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.domain.audit_rules import parse_auditctl_list, parse_rules_text
from auditor.engine.registry import load_registry
from auditor.model.facts import AuditFacts, AuditRule, Gap, GapKind, IoUringBoot, IoUringState
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, SOCKET_AUDIT_RULES, X32_OFF, running_auditd, snapshot, sysctl_facts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"
RULES_FILE = "/etc/audit/rules.d/50-test.rules"
BACKLOG_FILE = "/etc/audit/rules.d/10-backlog.rules"
SUBJECTS = ["loaded rules b64", "loaded rules b32", "loaded rules io_uring", "persistent rules b64",
            "persistent rules b32", "persistent rules io_uring", "audit enabled", "audit records written"]
# a running kernel where no process can use io_uring (the io_uring findings are in test_auditlog_io_uring)
URING_OFF = IoUringState(present=True, disabled=2, group=-1, source="/proc/sys/kernel/io_uring_disabled", holders=[])
URING_OFF_AT_BOOT = IoUringBoot(value="2", origin="/etc/sysctl.d/60-io_uring.conf:1")

GOOD = SOCKET_AUDIT_RULES  # every way of making each call, on both architectures


# For tests about how rules are read and walked, on rules written for the policy's calls alone: the
# ways listen (with bind) and TCP Fast Open's sends (with connect) make them are judged in
# tests/hostile/test_auditlog_autobind.py and test_auditlog_fastopen.py.
CALLS_ONLY = {"require_listen_autobind": False, "require_fastopen": False}


def rules(text: str, machine: str | None = "x86_64") -> list[AuditRule]:
    """Rules as auditctl reads them on a host of this machine (None: unknown, read with doubts)."""
    parsed = parse_rules_text(text, RULES_FILE, machine)
    if machine is not None:
        assert parsed.problems == [], parsed.problems
    return parsed.rules


def boot_rules(text: str, machine: str | None = "x86_64") -> list[AuditRule]:
    """Boot rules of a compliant host: ``text`` after a file that sets -b 8192 (without a -b the
    kernel's default backlog limit of 64 fails the persistent scopes)."""
    return parse_rules_text(BOOT_BACKLOG_RULES, BACKLOG_FILE, machine).rules + rules(text, machine)


def run(loaded: str | None = GOOD, persistent: str | None = GOOD, enabled: int | None = 1,
        gaps: list[Gap] | None = None, machine: str | None = "x86_64", **params) -> dict:
    facts = AuditFacts(x32=X32_OFF, 
        enabled=enabled,
        loaded_rules=None if loaded is None else rules(loaded, machine),
        persistent_rules=None if persistent is None else boot_rules(persistent, machine),
        persistent_source=None if persistent is None else "/etc/audit/rules.d (augenrules)",
        io_uring=None if loaded is None else URING_OFF, io_uring_boot=None if loaded is None else URING_OFF_AT_BOOT,
        **running_auditd(None if loaded is None else 612),
    )
    outcomes = audit_socket_logging.run(snapshot(audit=facts, gaps=gaps, arch=machine), SocketLoggingParams(**params))
    return {o.subject: o for o in outcomes}


def statuses(outcomes: dict) -> dict[str, str]:
    return {subject: o.status.value for subject, o in outcomes.items()}


# ---------------------------------------------------------------- pass and fail


def test_pass_when_every_scope_and_arch_is_covered_and_auditing_is_on():
    outcomes = run()
    assert list(outcomes) == SUBJECTS
    assert set(statuses(outcomes).values()) == {"pass"}
    b64 = outcomes["loaded rules b64"]
    assert b64.observed["covered"]["bind"] == {"via": "bind", "origin": f"{RULES_FILE}:1"}
    assert b64.observed["fastopen"] == {"via": ["sendto with MSG_FASTOPEN", "sendmsg with MSG_FASTOPEN",
                                                "sendmmsg with MSG_FASTOPEN"], "status": "covered"}
    assert b64.evidence == ["/facts/audit/loaded_rules/0", "/facts/audit/loaded_rules/1",
                            "/facts/audit/loaded_rules/2", "/facts/audit/x32"]
    assert b64.observed["x32"] == X32_OFF.model_dump(mode="json")  # x32 off: no call escapes every rule
    # accept on b32 exists only through socketcall (i386 has no accept syscall)
    assert outcomes["persistent rules b32"].observed["covered"]["accept"]["via"] == "socketcall a0=5 (accept)"
    assert outcomes["persistent rules b32"].observed["source"] == "/etc/audit/rules.d (augenrules)"


def test_the_remediation_snippet_passes():
    lines = [line.strip() for line in audit_socket_logging.remediation.splitlines()
             if line.strip().startswith(("-a", "#"))]
    uring = [line for line in lines if ",io_uring " in line]
    assert uring == ["-a always,io_uring -S bind,listen,connect,accept -k lbaudit-socket"]
    snippet = "\n".join(line for line in lines if line not in uring)
    assert set(statuses(run(loaded=snippet, persistent=snippet)).values()) == {"pass"}
    # with io_uring open to every process, its rule is what makes the io_uring findings pass
    loaded = parse_auditctl_list("\n".join(lines), "x86_64")
    assert loaded.problems == []
    facts = AuditFacts(x32=X32_OFF, enabled=1, loaded_rules=loaded.rules, persistent_rules=boot_rules(snippet), rate_limit=0,
                       io_uring=IoUringState(present=True, disabled=0, group=-1, source="x"), io_uring_boot=IoUringBoot(),
                       **running_auditd())
    # ... where TCP Fast Open cannot connect: through io_uring's SEND no rule records a connect
    server_only = sysctl_facts(net__ipv4__tcp_fastopen="2")
    outcomes = {o.subject: o for o in audit_socket_logging.run(snapshot(audit=facts, sysctl=server_only),
                                                               SocketLoggingParams())}
    assert outcomes["loaded rules io_uring"].status == Status.PASS
    assert outcomes["persistent rules io_uring"].status == Status.FAIL
    client = {o.subject: o for o in audit_socket_logging.run(snapshot(audit=facts), SocketLoggingParams())}
    assert client["loaded rules io_uring"].status == Status.FAIL
    assert "set net.ipv4.tcp_fastopen to 0 or 2 (server only), or kernel.io_uring_disabled to 2" in \
        client["loaded rules io_uring"].message


def test_fail_when_no_socket_rule_exists():
    outcomes = run(loaded="-w /etc/passwd -p wa -k ident\n-a always,exit -F arch=b64 -S execve -k exec")
    b64 = outcomes["loaded rules b64"]
    assert b64.status == Status.FAIL
    assert b64.observed["missing"] == ["bind", "connect", "accept", "accept4", "listen"]
    assert b64.message.startswith(
        "loaded rules b64: 5 of 5 syscalls not fully audited: no rule: bind, connect, accept, accept4, listen; listen is "
        "judged with bind: listen(2) on an unbound TCP socket binds it to an ephemeral port on the wildcard address "
        "without bind(2) (require_listen_autobind); TCP Fast Open opens TCP connections without connect(2): ")
    assert b64.expected["syscalls"] == ["bind", "connect", "accept", "accept4", "listen"]
    assert outcomes["loaded rules b32"].status == Status.FAIL
    assert outcomes["persistent rules b64"].status == Status.PASS


def test_fail_for_rules_loaded_from_real_auditctl_output():
    facts = AuditFacts(x32=X32_OFF, 
        enabled=1,
        loaded_rules=parse_auditctl_list((FIXTURES / "equivalence.auditctl-l").read_text(), "x86_64").rules,
        persistent_rules=boot_rules(GOOD),
    )
    outcomes = {o.subject: o for o in audit_socket_logging.run(snapshot(audit=facts), SocketLoggingParams())}
    b64 = outcomes["loaded rules b64"]
    # the prepended never rule takes root's AF_UNIX connects before the always rule sees them
    assert b64.status == Status.FAIL and b64.observed["narrowed"][0]["syscall"] == "connect"
    assert b64.observed["narrowed"][0]["rules"][0]["filters"] == ["saddr_fam=1", "uid=0"]
    # the never rule takes socketcall's bind: the direct i386 bind, audited, does not make up for it
    b32 = outcomes["loaded rules b32"]
    assert b32.status == Status.FAIL and [s["via"] for s in b32.observed["shadowed"]] == ["socketcall a0=2 (bind)"]
    assert b32.observed["partly_covered"] == {"bind": ["bind"], "listen": ["socketcall a0=4 (listen)"]}


# ---------------------------------------------------------------- shadowing and narrowing


def test_never_rule_before_shadows_and_the_finding_names_it():
    text = "-a never,exit -F arch=b64 -S bind,connect -k quiet\n" + GOOD
    b64 = run(loaded=text)["loaded rules b64"]
    assert b64.status == Status.FAIL
    shadowed = {s["syscall"]: s for s in b64.observed["shadowed"]}
    assert sorted(shadowed) == ["bind", "connect"]
    assert shadowed["bind"]["origin"] == f"{RULES_FILE}:1"
    assert shadowed["bind"]["rule"] == "-a never,exit -F arch=b64 -S bind,connect -k quiet"
    assert f"shadowed by {RULES_FILE}:1 (-a never,exit -F arch=b64 -S bind,connect -k quiet): bind, connect" in b64.message
    assert "/facts/audit/loaded_rules/0" in b64.evidence


def test_never_rule_after_the_always_rule_does_not_matter():
    assert run(loaded=GOOD + "-a never,exit -F arch=b64 -S all\n")["loaded rules b64"].status == Status.PASS


def test_prepended_never_rule_shadows_a_rule_written_before_it():
    text = GOOD + "-A never,exit -F arch=b64 -S accept4\n"
    b64 = run(persistent=text)["persistent rules b64"]
    assert b64.status == Status.FAIL and [s["syscall"] for s in b64.observed["shadowed"]] == ["accept4"]


def test_filtered_always_rule_only_partly_covers():
    text = "-a always,exit -F arch=b64 -S bind,connect,accept,accept4 -F auid>=1000 -F auid!=unset -k user-net\n"
    b64 = run(loaded=text)["loaded rules b64"]
    assert b64.status == Status.FAIL
    narrowed = b64.observed["narrowed"][0]
    assert narrowed["rules"][0]["origin"] == f"{RULES_FILE}:1"
    assert narrowed["rules"][0]["filters"] == ["auid!=unset", "auid>=1000"]
    assert "narrowed by" in b64.message and "auid>=1000" in b64.message


def test_unfiltered_always_rule_after_a_filtered_one_still_covers():
    text = "-a always,exit -F arch=b64 -S bind -F success=1\n-a always,exit -F arch=b64 -S bind,connect,accept,accept4\n"
    assert run(loaded=text, **CALLS_ONLY)["loaded rules b64"].status == Status.PASS


def test_filtered_never_rule_before_counts_against_coverage():
    text = "-a never,exit -F arch=b64 -S connect -F exe=/usr/sbin/chronyd\n" + GOOD
    b64 = run(loaded=text)["loaded rules b64"]
    assert b64.status == Status.FAIL
    assert b64.observed["narrowed"] == [{
        "syscall": "connect", "via": "connect",
        "rules": [{"origin": f"{RULES_FILE}:1", "rule": "-a never,exit -F arch=b64 -S connect -F exe=/usr/sbin/chronyd",
                   "evidence": "/facts/audit/loaded_rules/0", "filters": ["exe=/usr/sbin/chronyd"]}],
    }]
    assert sorted(b64.observed["covered"]) == ["accept", "accept4", "bind", "listen"]


def test_accepted_filters_do_not_narrow_in_either_spelling():
    text = (
        "-a always,exit -F arch=b64 -S bind,connect,accept,accept4 -F auid>=1000 -F auid!=4294967295\n"
        "-a always,exit -F arch=b32 -S bind,connect,accept4 -F auid>=1000 -F auid!=-1\n"
        "-a always,exit -F arch=b32 -S socketcall -F auid>=1000 -F auid!=-1\n"
    )
    accepted = ["auid>=1000", "auid!=unset"]
    outcomes = run(loaded=text, persistent=text, accepted_filters=accepted, **CALLS_ONLY)
    assert set(statuses(outcomes).values()) == {"pass"}
    assert outcomes["loaded rules b64"].expected["accepted_filters"] == accepted
    only_one = run(loaded=text, accepted_filters=["auid>=1000"])["loaded rules b64"]
    assert only_one.status == Status.FAIL and only_one.observed["narrowed"][0]["rules"][0]["filters"] == ["auid!=unset"]


# ---------------------------------------------------------------- 32-bit, socketcall, arch


def test_b32_socketcall_covers_and_its_a0_is_the_call_number():
    # socketcall alone leaves the direct i386 syscalls (bind 361, connect 362, accept4 364) unrecorded
    only_socketcall = GOOD.splitlines()[1] + "\n-a always,exit -F arch=b32 -S socketcall\n"
    alone = run(loaded=only_socketcall)["loaded rules b32"]
    assert alone.status == Status.FAIL and sorted(alone.observed["covered"]) == ["accept"]
    assert alone.observed["partly_covered"]["connect"] == ["socketcall a0=3 (connect)"]
    connect_only = "-a always,exit -F arch=b32 -S connect\n-a always,exit -F arch=b32 -S socketcall -F a0=3\n"
    b32 = run(loaded=connect_only)["loaded rules b32"]
    assert b32.status == Status.FAIL and sorted(b32.observed["covered"]) == ["connect"]
    assert b32.observed["covered"]["connect"]["via"] == "connect and socketcall a0=3 (connect)"
    assert b32.observed["missing"] == ["bind", "accept", "accept4", "listen"]


def test_b32_accept_needs_socketcall():
    direct_only = "-a always,exit -F arch=b32 -S bind,connect,accept4\n"
    b32 = run(loaded=GOOD.splitlines()[1] + "\n" + direct_only)["loaded rules b32"]
    assert b32.status == Status.FAIL and b32.observed["missing"] == ["bind", "connect", "accept", "accept4", "listen"]
    assert "no rule: socketcall a0=2 (bind), socketcall a0=3 (connect), socketcall a0=5 (accept)" in b32.message


def test_never_socketcall_bind_shadows_only_bind_through_socketcall():
    text = "-a never,exit -F arch=b32 -S socketcall -F a0=0x2\n-a always,exit -F arch=b32 -S socketcall\n"
    b32 = run(loaded=text)["loaded rules b32"]
    assert b32.status == Status.FAIL
    assert b32.observed["shadowed"] == [{
        "syscall": "bind", "via": "socketcall a0=2 (bind)", "origin": f"{RULES_FILE}:1",
        "rule": "-a never,exit -F arch=b32 -S socketcall -F a0=0x2", "evidence": "/facts/audit/loaded_rules/0",
    }]
    assert sorted(b32.observed["covered"]) == ["accept"]  # the others also need their direct i386 syscalls
    # the direct bind syscall, audited, is the other way a 32-bit program binds: it does not make up for it
    with_direct = run(loaded=text + "-a always,exit -F arch=b32 -S bind\n")["loaded rules b32"]
    assert with_direct.status == Status.FAIL and with_direct.observed["partly_covered"]["bind"] == ["bind"]


def test_rule_without_arch_counts_for_the_native_arch_only():
    text = "-a always,exit -S bind,connect,accept,accept4\n"
    outcomes = run(loaded=text, **CALLS_ONLY)
    assert outcomes["loaded rules b64"].status == Status.PASS
    assert outcomes["loaded rules b32"].status == Status.FAIL
    # i386 has no accept syscall, so that rule is refused there; socketcall carries accept
    on_32bit_host = run(loaded="-a always,exit -S bind,connect,accept4\n-a always,exit -S socketcall\n",
                        persistent="-a always,exit -S bind,connect,accept4\n-a always,exit -S socketcall\n", machine="i686",
                        **CALLS_ONLY)
    assert on_32bit_host["loaded rules b32"].status == Status.PASS
    assert on_32bit_host["loaded rules b64"].status == Status.FAIL


def test_unknown_word_size_fails_closed_for_rules_without_arch():
    outcomes = run(loaded="-a always,exit -S bind,connect,accept,accept4\n", machine=None)
    assert outcomes["loaded rules b64"].status == Status.FAIL
    never = run(loaded="-a never,exit -S bind\n" + GOOD, machine=None)["loaded rules b64"]
    assert never.status == Status.FAIL
    assert never.observed["narrowed"][0]["rules"][0]["filters"] == ["no -F arch, on a host of unknown word size"]


def test_syscall_numbers_are_read_with_the_hosts_table():
    shadow = "-a never,exit -F arch=b64 -S 49\n" + GOOD  # 49 is bind on x86_64
    b64 = run(loaded=shadow)["loaded rules b64"]
    assert b64.status == Status.FAIL and [s["syscall"] for s in b64.observed["shadowed"]] == ["bind"]
    unrelated = "-a never,exit -F arch=b64 -S 59\n" + GOOD  # execve
    assert run(loaded=unrelated)["loaded rules b64"].status == Status.PASS
    # ppc64le has no b32 ABI, and 49 is not a socket call in the ppc table; its 64-bit programs
    # have socketcall too
    ppc = "-a never,exit -F arch=b64 -S 49\n-a always,exit -F arch=b64 -S bind,connect,accept,accept4,socketcall\n"
    assert run(loaded=ppc, persistent=ppc, machine="ppc64le", arches=["b64"],
               **CALLS_ONLY)["loaded rules b64"].status == Status.PASS
    direct = ppc.replace(",socketcall", "")
    assert run(loaded=direct, persistent=direct, machine="ppc64le", arches=["b64"],
               **CALLS_ONLY)["loaded rules b64"].status == Status.FAIL


# ---------------------------------------------------------------- task and exclude lists


def test_never_task_rule_turns_everything_off():
    b64 = run(loaded="-a never,task\n" + GOOD)["loaded rules b64"]
    assert b64.status == Status.FAIL and len(b64.observed["shadowed"]) == 5
    assert "task list" in b64.observed["shadowed"][0]["note"]
    filtered = run(loaded="-a never,task -F uid=0\n" + GOOD)["loaded rules b64"]
    assert filtered.status == Status.FAIL and filtered.observed["narrowed"][0]["rules"][0]["filters"] == ["uid=0"]
    # the task list is first-match too: an unfiltered always rule before it keeps every task audited
    assert run(loaded="-a always,task\n-a never,task\n" + GOOD)["loaded rules b64"].status == Status.PASS


def test_exclude_rules_that_drop_socket_records():
    assert run(loaded=GOOD + "-a always,exclude -F msgtype=CWD\n")["loaded rules b64"].status == Status.PASS
    dropped = run(loaded=GOOD + "-a always,exclude -F msgtype=SYSCALL\n")["loaded rules b64"]
    assert dropped.status == Status.FAIL and len(dropped.observed["shadowed"]) == 5
    address = run(loaded=GOOD + "-a always,exclude -F msgtype=SOCKADDR\n")["loaded rules b64"]
    assert address.status == Status.FAIL and address.observed["narrowed"][0]["rules"][0]["filters"] == ["msgtype=SOCKADDR"]


# ---------------------------------------------------------------- enabled, persistent -e, problems


@pytest.mark.parametrize(("enabled", "status"), [(0, Status.FAIL), (1, Status.PASS), (2, Status.PASS)])
def test_enabled_state(enabled, status):
    outcome = run(enabled=enabled)["audit enabled"]
    assert outcome.status == status and outcome.observed == {"enabled": enabled}
    assert outcome.expected == {"enabled": [1, 2]}


def test_persistent_e0_turns_auditing_off_at_boot():
    b64 = run(persistent=GOOD + "-e 0\n")["persistent rules b64"]
    assert b64.status == Status.FAIL
    assert b64.observed["blockers"] == [f"-e 0 at {RULES_FILE}:8 turns auditing off at boot"]
    assert run(persistent=GOOD + "-e 0\n-e 1\n")["persistent rules b64"].status == Status.PASS


def test_unreadable_auditctl_output_is_not_vouched_for():
    gap = Gap(section="audit", field="loaded_rules/problems", reason="auditctl -l:3: something odd")
    outcomes = run(gaps=[gap])
    assert outcomes["loaded rules b64"].status == Status.NOT_REVIEWED
    assert outcomes["loaded rules b64"].reason == "auditctl -l output not fully understood: auditctl -l:3: something odd"
    assert outcomes["persistent rules b64"].status == Status.PASS


def test_persistent_problems_are_shown_and_not_vouched_for():
    # The unread line may be one auditctl loads (lbaudit's reading stopped there), e.g. a task never
    # rule after it: the rules that were read cover everything, but the scope is not reviewed.
    gap = Gap(section="audit", field="persistent_rules/problems", reason=f"{RULES_FILE}:9: bad; auditctl -R stops here")
    outcome = run(gaps=[gap])["persistent rules b64"]
    assert outcome.status == Status.NOT_REVIEWED and outcome.observed["problems"] == [gap.reason]
    assert outcome.reason == f"/etc/audit/rules.d (augenrules) not fully understood: {gap.reason}"
    assert run(gaps=[gap])["loaded rules b64"].status == Status.PASS


# ---------------------------------------------------------------- missing facts


def test_missing_loaded_rules_is_not_reviewed_with_the_collectors_reason():
    gaps = [
        Gap(section="audit", field="loaded_rules", reason="auditctl -l: must be root"),
        Gap(section="audit", field="enabled", reason="auditctl -s: must be root"),
    ]
    outcomes = run(loaded=None, enabled=None, gaps=gaps)
    for subject in ("loaded rules b64", "loaded rules b32"):
        assert outcomes[subject].status == Status.NOT_REVIEWED
        assert outcomes[subject].reason == "auditctl -l: must be root"
    assert outcomes["audit enabled"].status == Status.NOT_REVIEWED
    assert outcomes["audit enabled"].reason == "auditctl -s: must be root"
    assert outcomes["persistent rules b64"].status == Status.PASS


def test_missing_without_a_recorded_reason_still_fails_closed():
    outcome = run(persistent=None)["persistent rules b64"]
    assert outcome.status == Status.NOT_REVIEWED and "no reason recorded" in outcome.reason


def test_offline_root_runtime_state_is_not_applicable():
    reason = "runtime audit state is not visible in an offline root directory"
    gaps = [Gap(section="audit", field=f, reason=reason, kind=GapKind.NOT_APPLICABLE) for f in ("enabled", "loaded_rules")]
    outcomes = run(loaded=None, enabled=None, gaps=gaps)
    assert statuses(outcomes) == {
        "loaded rules b64": "not_applicable", "loaded rules b32": "not_applicable", "loaded rules io_uring": "not_applicable",
        "persistent rules b64": "pass", "persistent rules b32": "pass", "audit enabled": "not_applicable",
        "audit records written": "pass",
        # whether the image's kernel has io_uring is not visible, and no io_uring rule covers it
        "persistent rules io_uring": "not_reviewed",
    }
    assert outcomes["audit enabled"].reason == reason


def test_scopes_not_required_are_not_applicable():
    outcomes = run(loaded=None, enabled=0, require_loaded=False, require_enabled=False, arches=["b64"])
    assert statuses(outcomes) == {
        "loaded rules b64": "not_applicable", "persistent rules b64": "pass", "audit enabled": "not_applicable",
        "audit records written": "pass", "loaded rules io_uring": "not_applicable",
        "persistent rules io_uring": "not_reviewed",  # the kernel's io_uring state was not recorded
        "persistent rules b32": "not_applicable",  # x86_64 runs b32 programs too: said, not dropped
    }
    assert outcomes["loaded rules b64"].reason == "not required by the policy (require_loaded: false)"


# ---------------------------------------------------------------- params and declaration


def test_params_defaults_and_validation():
    params = SocketLoggingParams()
    assert params.syscalls == ["bind", "connect", "accept", "accept4"] and params.arches == ["b64", "b32"]
    assert (params.require_loaded, params.require_persistent, params.require_enabled) == (True, True, True)
    assert SocketLoggingParams(arches=["b32", "b64", "b32"]).arches == ["b64", "b32"]
    assert SocketLoggingParams(syscalls=["listen", "listen"]).syscalls == ["listen"]
    for bad in (
        {"syscalls": ["bind", "open"]},
        {"syscalls": []},
        {"arches": ["x86"]},
        {"accepted_filters": ["auid"]},
        {"accepted_filters": ["arch=b64"]},
        {"accepted_filters": ["colour=blue"]},
        {"unknown": 1},
    ):
        with pytest.raises(ValidationError):
            SocketLoggingParams(**bad)


def test_declared_in_the_registry_with_known_controls():
    spec = load_registry(plugins=False).get("audit.socket_logging")
    assert spec is not None and spec.version == "1.19.0" and spec.needs == ("audit",)
    assert spec.uses == ("sysctl", "netns")  # tcp_fastopen, read by the check: collected with it
    assert spec.controls == ("AU-2", "AU-12", "SI-4")
    assert "augenrules --load" in spec.remediation and "loopback" in spec.rationale
