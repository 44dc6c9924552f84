"""``audit.socket_logging``: socket syscalls are audited for each architecture, in the loaded and in
the persistent rules, and auditing is on.  How rules are judged is in :mod:`._audit_coverage`."""

from __future__ import annotations

import re
from typing import Literal, Sequence

from pydantic import Field, field_validator, model_validator

from auditor.checks._audit_coverage import (
    FASTOPEN_CALL,
    FASTOPEN_SENDS,
    MSG_FASTOPEN,
    SOCKET_SYSCALLS,
    TFO_CLIENT_ENABLE,
    URING_AUDIT_SINCE,
    URING_FASTOPEN_OP,
    URING_OP_SINCE,
    URING_SENDMSG_SINCE,
    URING_UNAUDITED_SEND_SINCE,
    Hit,
    Host,
    PathVerdict,
    SyscallVerdict,
    judge_fastopen,
    judge_syscall,
    judge_uring_op,
    last_control,
    uring_ops,
)
from auditor.checks._namespaces import gaps_by_namespace
from auditor.checks._sysctl import FASTOPEN, KERNEL_TAKES, SysctlValueError, parse_kernel_int
from auditor.domain import auditd_conf, platform_audit
from auditor.domain.audit_statement import RuleError, format_field, parse_field
from auditor.domain.auditctl_grammar import c_strtoul
from auditor.domain.sysctl import collected_runtime_keys, configured_setting
from auditor.model.base import empty_list, json_pointer
from auditor.model.check import (
    CheckParams,
    Outcome,
    check,
    failed,
    missing_fact,
    not_applicable,
    not_reviewed,
    passed,
)
from auditor.model.facts import (
    IMAGE_BOOT_AUDIT_GAP,
    NO_AUDITD_PROCESS_VERSIONS,
    NO_IO_URING_HOLDERS_VERSIONS,
    NO_X32_VERSIONS,
    AuditFacts,
    AuditRule,
    HostSnapshot,
    MacosAudit,
    MacosAuditUser,
    SysctlSetting,
)
from auditor.model.records import record
from auditor.model.result import Severity

ARCH_ORDER = ("b64", "b32")
SCOPES = (  # (params flag, fact field, subject prefix)
    ("loaded", "loaded_rules", "loaded rules"),
    ("persistent", "persistent_rules", "persistent rules"),
)
ENABLED_SUBJECT = "audit enabled"
AUDITD_SUBJECT = "audit records written"
NO_CONFIG_DIR_REASON = "/etc/audit does not exist, so the next boot loads no audit rules"


class SocketLoggingParams(CheckParams):
    laxer_when = {"syscalls": "fewer", "arches": "fewer", "accepted_filters": "more"}

    syscalls: list[str] = Field(
        default_factory=lambda: ["bind", "connect", "accept", "accept4"],
        min_length=1,
        description="Socket syscalls that must be audited: " + ", ".join(SOCKET_SYSCALLS) + ".",
    )
    arches: list[Literal["b64", "b32"]] = Field(
        default_factory=lambda: ["b64", "b32"],
        min_length=1,
        description="Syscall ABIs to cover.  A call is audited only when every way of making it is: the syscall, and socketcall(2) where the ABI has it (32-bit x86, s390, ppc and arm; 64-bit s390x and ppc64 too).",
    )
    require_loaded: bool = Field(
        True, description="Judge the rules loaded in the kernel (auditctl -l, or netlink without auditctl).")
    require_persistent: bool = Field(True, description="Judge the rules the next boot loads (rules.d / audit.rules).")
    require_enabled: bool = Field(
        True, description="Require auditing to be on (auditctl -s or netlink: enabled 1 or 2).")
    require_boot_audit: bool = Field(
        True, description="Require audit=1 on the running kernel's command line (/proc/cmdline), with the "
                          "enabled state: without it processes started before auditd (systemd, pid 1, which binds "
                          "socket units' listeners) are never audited.")
    require_auditd: bool = Field(
        True, description="Require the audit daemon to take the records and write them: auditd.conf with "
                          "local_events and write_logs on and accepted by auditd, and (live) an auditd registered "
                          "with the kernel (auditctl -s pid other than 0) whose process runs.")
    refuse_lossy_log_actions: bool = Field(
        False, description="Also fail when auditd.conf lets auditd stop writing while the host runs on: "
                           "max_log_file_action, space_left_action or admin_space_left_action SUSPEND, or "
                           "disk_full_action or disk_error_action IGNORE, SYSLOG, EMAIL or SUSPEND.")
    require_io_uring: bool = Field(
        True, description="Also require the io_uring operations that make the policy's calls (accept, connect "
                          "since Linux 5.5; bind, listen since 6.11) to be audited (-a always,io_uring -S "
                          "bind,listen,connect,accept), in each scope judged, unless the running kernel has no "
                          "io_uring or kernel.io_uring_disabled is 2 (and, live, no process holds a ring created "
                          "before it was set): no syscall rule records them.")
    require_fastopen: bool = Field(
        True, description="With connect among the syscalls: also require the sends that open a TCP connection "
                          "without connect(2), TCP Fast Open's sendto, sendmsg and sendmmsg with MSG_FASTOPEN "
                          "(0x20000000), to be audited (unfiltered, or filtered by the bit test -F a3&0x20000000 "
                          "for sendto and sendmmsg, -F a2&0x20000000 for sendmsg; socketcall a0=11, 16 and 20 "
                          "unfiltered where the ABI has it), unless net.ipv4.tcp_fastopen lacks the client bit "
                          "(1) in the running network namespaces (loaded scope) and in the boot's sysctl "
                          "configuration (persistent scope; the kernel's default is 1).")
    require_listen_autobind: bool = Field(
        True, description="With bind among the syscalls: also require listen to be audited (the syscall, "
                          "socketcall a0=4 and the io_uring operation): listen(2) on an unbound TCP socket binds it "
                          "to an ephemeral port on the wildcard address without bind(2), so the listener has no "
                          "bind record.")
    min_backlog_limit: int = Field(
        8192, ge=0, le=2**32 - 1,
        description="Smallest kernel backlog limit (auditctl -s backlog_limit, and the boot rules' last -b, else "
                    "audit_backlog_limit= on the kernel command line, else the kernel's default 64) that "
                    "passes: records past a "
                    "full queue are lost (the kernel's default is 64; CIS asks for 8192).  A kernel limit of 0 is no "
                    "limit and passes.  0: not judged.")
    accepted_filters: list[str] = Field(
        default_factory=empty_list,
        description='Rule filters the organisation accepts as not narrowing, e.g. "auid>=1000", "auid!=unset". '
                    "Beware: those two leave every daemon started at boot (auid unset), which holds most "
                    "listeners, unrecorded; a pass names the accepted filters it relied on.",
    )

    @field_validator("syscalls")
    @classmethod
    def _known_syscalls(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SOCKET_SYSCALLS))
        if unknown:
            raise ValueError(f"unknown socket syscalls {unknown}; known: {', '.join(SOCKET_SYSCALLS)}")
        return list(dict.fromkeys(value))

    @field_validator("arches")
    @classmethod
    def _unique_arches(cls, value: list[str]) -> list[str]:
        return [a for a in ARCH_ORDER if a in value]

    @field_validator("accepted_filters")
    @classmethod
    def _filters_parse(cls, value: list[str]) -> list[str]:
        for expression in value:
            try:
                item = parse_field(expression)
            except RuleError as exc:
                raise ValueError(f"accepted filter {expression!r}: {exc}") from None
            if item.name in ("arch", "key"):
                raise ValueError(f"accepted filter {expression!r}: arch and key never narrow a rule")
        return value

    @model_validator(mode="after")
    def _something_to_judge(self) -> "SocketLoggingParams":
        if not (self.require_loaded or self.require_persistent or self.require_enabled or self.require_auditd):
            # Every finding would be not_applicable: a rule that can never fail is a defect, not a policy.
            raise ValueError("nothing to judge: set at least one of require_loaded, require_persistent, "
                             "require_enabled, require_auditd")
        return self

    def unused_params(self) -> dict[str, str]:
        unused: dict[str, str] = {}
        if not (self.require_loaded or self.require_persistent or self.require_enabled or self.require_auditd):
            return unused  # nothing is judged: _something_to_judge says so
        if not self.require_enabled:
            unused["require_boot_audit"] = "it is judged with the enabled state, and require_enabled is false; set that"
        if not (self.require_enabled or self.require_persistent):
            unused["min_backlog_limit"] = ("it is judged with the enabled state and in the persistent rules, and "
                                           "require_enabled and require_persistent are false; set one")
        if not self.require_auditd:
            unused["refuse_lossy_log_actions"] = ("it is judged with the audit daemon, and require_auditd is "
                                                  "false; set that")
        if not (self.require_loaded or self.require_persistent):
            for name in ("syscalls", "arches", "accepted_filters", "require_io_uring", "require_fastopen",
                         "require_listen_autobind"):
                unused[name] = ("it is judged in the loaded and the persistent rules, and require_loaded and "
                                "require_persistent are false; set one")
        return unused

    def judged_syscalls(self) -> list[str]:
        """The syscalls judged: the policy's, and listen when bind is among them
        (``require_listen_autobind``).  inet_listen() -> __inet_listen_sk() ->
        inet_csk_listen_start() (net/ipv4/af_inet.c, inet_connection_sock.c) calls
        sk->sk_prot->get_port(sk, inet->inet_num), and on a socket never bound inet_num is 0: the
        kernel picks an ephemeral port and the socket listens on the wildcard address, as
        inet_autobind() does for a datagram socket's first send.  No bind(2) is made, so a bind
        rule alone leaves such a listener unrecorded."""
        judged = list(self.syscalls)
        if self.require_listen_autobind and "bind" in judged and "listen" not in judged:
            judged.append("listen")
        return judged

    def listen_added(self) -> bool:
        return "listen" in self.judged_syscalls() and "listen" not in self.syscalls

    def accepted(self) -> frozenset[tuple[str, str, str]]:
        fields = (parse_field(e) for e in self.accepted_filters)
        return frozenset((f.name, f.op, f.value) for f in fields)


def _pointer(field: str, index: int) -> str:
    return json_pointer("facts", "audit", field, index)


def _uncovered_cause(status: str, decided_by: Hit | None, against: Sequence[Hit], otherwise: str) -> str:
    """Why a call (syscall path or io_uring operation) is not recorded, as a finding says it."""
    if status == "shadowed" and decided_by is not None:
        return f"shadowed by {decided_by.rule.origin} ({decided_by.rule.text}" + (
            f"; {decided_by.note})" if decided_by.note else ")")
    if status == "narrowed":
        return "narrowed by " + ", ".join(f"{h.rule.origin} ({' '.join(h.filters)})" for h in against)
    return otherwise


def _rule_ref(field: str, hit: Hit) -> dict:
    ref = {"origin": hit.rule.origin, "rule": hit.rule.text, "evidence": _pointer(field, hit.index)}
    if hit.filters:
        ref["filters"] = list(hit.filters)
    if hit.note:
        ref["note"] = hit.note
    return ref


def _causes(verdicts: list[SyscallVerdict]) -> list[str]:
    """Why calls are not covered, one phrase per cause with the calls it affects, in first-seen order."""
    causes: dict[str, list[str]] = {}
    for verdict in verdicts:
        for path in verdict.paths:
            if path.status == "covered":
                continue  # another way of making the call is what leaves it unaudited
            cause = _uncovered_cause(path.status, path.decided_by, path.against, "no rule")
            causes.setdefault(cause, []).append(path.path.label)
    return [f"{cause}: {', '.join(labels)}" for cause, labels in causes.items()]


def boot_loads_rules(units: dict[str, str]) -> bool | None:
    """Does the next boot load the persistent rules?  auditd.service runs augenrules --load when it
    starts (ExecStartPost in audit 3, Wants=audit-rules.service in audit 4), and audit-rules.service
    can be enabled on its own; a masked audit-rules.service is audit 4's unit that would load them.
    None when a unit's state is not known."""
    auditd, rules = units.get("auditd.service"), units.get("audit-rules.service")
    if rules == "enabled" or (auditd == "enabled" and rules != "masked"):
        return True
    if "unknown" in (auditd, rules):
        return None
    return False


def _units_text(units: dict[str, str]) -> str:
    return ", ".join(f"{name} {state}" for name, state in units.items())


def _rate_limited(value: str) -> bool:
    """A -r value other than 0 (no limit); one that is not a number is judged as a limit."""
    try:
        return int(value, 0) != 0
    except ValueError:
        return True


FASTOPEN_SYSCTL = FASTOPEN
FASTOPEN_DEFAULT = 1  # tcp_sk_init(): each network namespace starts with TFO_CLIENT_ENABLE
LISTEN_AUTOBIND_NOTE = ("listen is judged with bind: listen(2) on an unbound TCP socket binds it to an ephemeral port "
                        "on the wildcard address without bind(2) (require_listen_autobind)")


@record
class FastOpenClient:
    """Whether TCP Fast Open lets programs connect without connect(2) (net.ipv4.tcp_fastopen with the
    client bit) in the namespaces a scope judges: ``enabled`` True when one of them has the bit,
    None when one could not be read and none has it; ``settings`` says each value and where it was
    read, ``unknown`` why a value is missing."""

    enabled: bool | None
    settings: tuple[str, ...]
    unknown: tuple[str, ...]
    evidence: tuple[str, ...]


def _client_bit(value: int) -> bool:
    return bool(value & TFO_CLIENT_ENABLE)


def _running_fastopen(snapshot: HostSnapshot) -> list[tuple[str, SysctlSetting | None, str, str]]:
    """(namespace, running value or None, why it is missing, evidence) for lbaudit's own network
    namespace and each other one the snapshot holds: tcp_fastopen is each namespace's own
    (net->ipv4.sysctl_tcp_fastopen), and a program in any of them connects as it allows."""
    sysctl = snapshot.facts.sysctl
    runtime = None if sysctl is None else sysctl.runtime
    pointer = json_pointer("facts", "sysctl", "runtime", FASTOPEN_SYSCTL)

    def why(gaps: list, fallback: str) -> str:
        return "; ".join(sorted({g.reason for g in gaps})) or fallback

    unrecorded = ("not recorded in this snapshot" if FASTOPEN_SYSCTL in collected_runtime_keys(snapshot.schema_version)
                  else f"a snapshot of format {snapshot.schema_version} does not record it (collect again)")
    found = [("this network namespace", None if runtime is None else runtime.get(FASTOPEN_SYSCTL),
              why(snapshot.gaps_for("sysctl", f"runtime/{FASTOPEN_SYSCTL}"), unrecorded), pointer)]
    netns = snapshot.facts.netns
    namespace_gaps = gaps_by_namespace(snapshot)  # once: asked of every gap for each namespace, quadratic
    for index, ns in enumerate([] if netns is None else netns.namespaces):
        if ns.current:
            continue
        gaps = [g for g in namespace_gaps.get(index, ())
                if len(g.path) == 2 or g.path[2:] in (("sysctl",), ("sysctl", FASTOPEN_SYSCTL))]
        value = ns.sysctl.get(FASTOPEN_SYSCTL) if ns.entered and ns.sysctl is not None else None
        found.append((f"netns {ns.label}", value, why(gaps, unrecorded),
                      json_pointer("facts", "netns", "namespaces", index, "sysctl", FASTOPEN_SYSCTL)))
    return found


def _fastopen_client(snapshot: HostSnapshot, scope: str) -> FastOpenClient:
    """net.ipv4.tcp_fastopen's client bit: running in each namespace the snapshot holds (loaded
    scope), or as the boot's sysctl configuration sets it (persistent scope; no setting is the
    kernel's default, 1, and a write the kernel refuses leaves that default)."""
    settings: list[str] = []
    unknown: list[str] = []
    evidence: list[str] = []
    enabled = False
    if scope == "loaded":
        for where, setting, missing, pointer in _running_fastopen(snapshot):
            if setting is None:
                unknown.append(f"{FASTOPEN_SYSCTL} of {where}: {missing}")
                continue
            try:
                value = parse_kernel_int(FASTOPEN_SYSCTL, setting.value, configured=False)
            except SysctlValueError:
                unknown.append(f"{FASTOPEN_SYSCTL} of {where}: unexpected value {setting.value!r} ({setting.origin})")
                continue
            settings.append(f"{FASTOPEN_SYSCTL} = {setting.value} in {where} ({setting.origin})")
            evidence.append(pointer)
            enabled = enabled or _client_bit(value)
    else:
        sysctl = snapshot.facts.sysctl
        persistent = None if sysctl is None else sysctl.persistent
        gaps = snapshot.gaps_for("sysctl", f"persistent/{FASTOPEN_SYSCTL}")
        if persistent is None or gaps:
            reason = "; ".join(sorted({g.reason for g in gaps})) or "not recorded in this snapshot"
            unknown.append(f"{FASTOPEN_SYSCTL} as the boot's sysctl configuration sets it: {reason}")
        else:
            setting = configured_setting(persistent, FASTOPEN_SYSCTL)
            evidence.append("/facts/sysctl/persistent")
            if setting is None:
                settings.append(f"no file of the boot's sysctl configuration sets {FASTOPEN_SYSCTL} (the kernel's "
                                f"default, {FASTOPEN_DEFAULT}, applies)")
                enabled = _client_bit(FASTOPEN_DEFAULT)
            else:
                try:
                    value = parse_kernel_int(FASTOPEN_SYSCTL, setting.value)
                    lowest, highest, _ = KERNEL_TAKES[FASTOPEN_SYSCTL]  # proc_dointvec: an int, else EINVAL
                    refused = not lowest <= value <= highest
                except SysctlValueError:
                    refused = True
                if refused:
                    settings.append(f"{setting.origin} sets {FASTOPEN_SYSCTL} = {setting.value!r}, which the kernel "
                                    f"refuses, so its default, {FASTOPEN_DEFAULT}, stays")
                    value = FASTOPEN_DEFAULT
                else:
                    settings.append(f"{setting.origin} sets {FASTOPEN_SYSCTL} = {setting.value}")
                enabled = _client_bit(value)
    return FastOpenClient(True if enabled else (None if unknown else False), tuple(settings), tuple(unknown),
                          tuple(evidence))


def _fastopen_sends(arch: str) -> str:
    """The rules that record TCP Fast Open's connects, as the remediation writes them."""
    by_arg: dict[str, list[str]] = {}
    for send, arg in FASTOPEN_SENDS.items():
        by_arg.setdefault(arg, []).append(send)
    return "; ".join(f"-a always,exit -F arch={arch} -S {','.join(sends)} -F {arg}&0x{MSG_FASTOPEN:X}"
                     for arg, sends in sorted(by_arg.items(), key=lambda item: item[0], reverse=True))


def _scope_outcome(
    snapshot: HostSnapshot, rules: list[AuditRule], field: str, subject: str, arch: str, params: SocketLoggingParams
) -> Outcome:
    host = Host(snapshot.facts.audit.machine or snapshot.provenance.arch)  # the machine the rules were read for
    accepted = params.accepted()
    judged = params.judged_syscalls()
    verdicts = [judge_syscall(rules, arch, s, host, accepted) for s in judged]
    covered, missing, shadowed, narrowed = {}, [], [], []
    partly: dict[str, list[str]] = {}  # syscall -> the ways of making it that are covered, when others are not
    evidence: set[str] = set()
    for verdict in verdicts:
        if verdict.covered:
            # every way of making the call is covered: each way and the rule that covers it
            covered[verdict.syscall] = {"via": " and ".join(p.path.label for p in verdict.paths),
                                        "origin": ", ".join(dict.fromkeys(p.decided_by.rule.origin for p in verdict.paths))}
            evidence.update(_pointer(field, h.index) for p in verdict.paths for h in (p.decided_by, *p.relied))
            continue
        for path in verdict.paths:
            if path.status == "covered":
                partly.setdefault(verdict.syscall, []).append(path.path.label)
                evidence.add(_pointer(field, path.decided_by.index))
                continue
            hits = ([path.decided_by] if path.status == "shadowed" else []) + list(path.against)
            evidence.update(_pointer(field, h.index) for h in hits)
            entry = {"syscall": verdict.syscall, "via": path.path.label}
            if path.status == "shadowed":
                shadowed.append({**entry, **_rule_ref(field, path.decided_by)})
            elif path.status == "narrowed":
                narrowed.append({**entry, "rules": [_rule_ref(field, h) for h in path.against]})
        if any(p.status == "missing" for p in verdict.paths) or not verdict.paths:
            missing.append(verdict.syscall)  # some way of making the call has no rule at all

    blockers = []
    if field == "persistent_rules":
        # the last -e of the boot rules decides whether auditing is on after boot
        enable = last_control(rules, "enabled")
        if enable is not None and enable[2] == "0":
            index, rule, _ = enable
            blockers.append(f"{rule.text} at {rule.origin} turns auditing off at boot")
            evidence.add(_pointer(field, index))
        # The last -r decides the rate limit after boot.  Past it the kernel drops records
        # (audit_rate_check: "rate limit exceeded", only printk'd with -f 1), so a scan or a busy
        # server's binds and connects go unrecorded: the events are selected but not kept.
        rate = last_control(rules, "rate_limit")
        if rate is not None and _rate_limited(rate[2]):
            index, rule, value = rate
            blockers.append(f"{rule.text} at {rule.origin} sets a rate limit of {value} records a second: "
                            "the kernel drops the records beyond it")
            evidence.add(_pointer(field, index))
        loss, boot_doubt = _boot_loss_blockers(snapshot, rules, params, evidence)
        blockers += loss
        startup_blocker, startup_doubt = _auditd_startup_part(snapshot, rules, evidence)
        blockers += [startup_blocker] if startup_blocker else []
        boot_doubt = "; ".join(part for part in (boot_doubt, startup_doubt) if part)
        units = snapshot.facts.audit.boot_units
        if units is not None and boot_loads_rules(units) is False:
            blockers.append(f"nothing loads these rules at boot ({_units_text(units)}): augenrules --load runs "
                            "when auditd.service (or audit-rules.service) starts")
            evidence.add("/facts/audit/boot_units")
        # a boot entry (an image's, or the next boot's of a running host) that may start the kernel with
        # auditing off
        boot_doubt = "; ".join([*sorted({g.reason for g in snapshot.gaps if g.section == "audit" and g.path == IMAGE_BOOT_AUDIT_GAP}),
                                *([boot_doubt] if boot_doubt else [])])
    else:
        boot_doubt = ""
    x32_blocker, x32_doubt = _x32_part(snapshot, arch, params, evidence)
    if x32_blocker:
        blockers.append(x32_blocker)
    problems = sorted(g.reason for g in snapshot.gaps if g.section == "audit" and g.path == (field, "problems"))
    if field == "persistent_rules":
        units = snapshot.facts.audit.boot_units
        if units is not None and boot_loads_rules(units) is None:
            problems.append(f"whether the boot starts the units that load the rules is not known ({_units_text(units)})")
        problems += sorted(g.reason for g in snapshot.gaps if g.section == "audit" and g.path == ("boot_units", "problems"))

    observed = {"covered": covered, "missing": missing, "shadowed": shadowed, "narrowed": narrowed}
    if partly:
        observed["partly_covered"] = partly
    x32 = snapshot.facts.audit.x32  # type: ignore[union-attr]
    if x32 is not None and _x32_possible(snapshot, arch):
        observed["x32"] = x32.model_dump(mode="json")
    fastopen, fastopen_failure, fastopen_unknown = _fastopen_part(snapshot, rules, field, arch, params, evidence)
    if fastopen is not None:
        observed["fastopen"] = fastopen
    if blockers:
        observed["blockers"] = blockers
    if problems:
        observed["problems"] = problems
    if field == "persistent_rules":
        observed["source"] = snapshot.facts.audit.persistent_source
        if snapshot.facts.audit.boot_units is not None:
            observed["boot_units"] = snapshot.facts.audit.boot_units
    expected = {
        "arch": arch,
        "syscalls": judged,
        "rule": f"-a always,exit -F arch={arch} -S {','.join(judged)} without narrowing filters, "
        "and no never rule before it" + (" (and the same for socketcall where the ABI has it)" if arch == "b32" else ""),
        "accepted_filters": params.accepted_filters,
    }
    if fastopen is not None:
        expected["fastopen"] = (f"{_fastopen_sends(arch)}, or net.ipv4.tcp_fastopen without the client bit (0 or 2)")
    common = dict(
        observed=observed, expected=expected, evidence=sorted(evidence),
        subject_detail={"scope": field.split("_")[0], "arch": arch},
    )
    uncovered = [v for v in verdicts if not v.covered and not v.unsure]
    unsure = [v for v in verdicts if v.unsure]
    if uncovered or blockers or fastopen_failure:
        details = _causes(uncovered)
        if params.listen_added() and any(v.syscall == "listen" for v in uncovered):
            details.append(LISTEN_AUTOBIND_NOTE)
        details += [part for part in (fastopen_failure, fastopen_unknown) if part] + blockers
        if problems:  # a refused line explains rules that are written but not loaded
            details.append("rule lines: " + "; ".join(problems))
        head = (f"{len(uncovered)} of {len(verdicts)} syscalls not fully audited" if uncovered
                else f"{FASTOPEN_CALL} not fully audited" if fastopen_failure
                else "syscalls audited, but not for x32 programs" if x32_blocker else "syscalls audited")
        return failed(subject, f"{subject}: {head}: " + "; ".join(details), **common)
    if problems:
        # A line we could not read might be a never rule: do not vouch for the list.  In a rules
        # file it may also be a line auditctl loads while our reading stopped there, so a task
        # never rule after it would go unseen.
        what = "auditctl -l output" if field == "loaded_rules" else (observed["source"] or "the persistent rules")
        return not_reviewed(subject, f"{what} not fully understood: " + "; ".join(problems), **common)
    if unsure:
        ways = "; ".join(_causes(unsure))
        return not_reviewed(subject, f"the machine of this host is not known, so whether its {arch} programs can make "
                                     f"these calls in the ways no rule covers is not known either: {ways}", **common)
    if fastopen_unknown:
        return not_reviewed(subject, f"{subject}: {fastopen_unknown}", **common)
    if boot_doubt:
        return not_reviewed(subject, f"{subject}: {boot_doubt}", **common)
    if x32_doubt:
        return not_reviewed(subject, f"{subject}: {x32_doubt}", **common)
    names = ", ".join(judged)
    if fastopen is not None:
        names += (" (connect's TCP Fast Open sends too)" if fastopen["status"] == "covered"
                  else " (TCP Fast Open cannot connect: no client bit in net.ipv4.tcp_fastopen)")
    relied = _accepted_relied_on([p for v in verdicts for p in v.paths], accepted)
    if relied:
        # the pass holds only for the calls these filters let through
        observed["accepted_filters_relied_on"] = relied
        return passed(subject, f"{subject}: {names} audited by always,exit rules without narrowing filters "
                               f"other than the accepted {', '.join(relied)} (calls they exclude are not recorded)",
                      **common)
    return passed(subject, f"{subject}: {names} audited by always,exit rules without narrowing filters", **common)


X32_REMEDY = "boot with syscall.x32=n (Debian's kernels) or a kernel built without CONFIG_X86_X32_ABI"


def _x32_possible(snapshot: HostSnapshot, arch: str) -> bool:
    """Can this scope's programs call through the x32 ABI?  x32 is a 64-bit-mode ABI of x86_64,
    audited as arch b64 (syscall_get_arch: "x32 tasks should be considered AUDIT_ARCH_X86_64"), and
    only where ``uname -m`` is x86_64; on a machine not known the b64 scope may be x86_64's."""
    machine = snapshot.facts.audit.machine or snapshot.provenance.arch  # type: ignore[union-attr]
    return arch == "b64" and (machine is None or machine.lower() == "x86_64")


def _x32_part(snapshot: HostSnapshot, arch: str, params: SocketLoggingParams, evidence: set[str]) -> tuple[str, str]:
    """(why the x32 ABI leaves the calls unrecorded, a failure; why that is not known, a doubt).
    An x32 program makes each call as a syscall numbered from 0x40000000, and the kernel's
    audit_in_mask() (kernel/auditsc.c) returns false for a number past the rule bitmask's 2048 bits:
    no rule matches it, -S all and a rule without -S included, so no rule can make up for it.
    A snapshot before format 1.7 does not record the ABI: not reviewed (fail closed)."""
    if not _x32_possible(snapshot, arch):
        return "", ""
    x32 = snapshot.facts.audit.x32  # type: ignore[union-attr]
    if x32 is not None:
        evidence.add("/facts/audit/x32")
        if not x32.usable:
            return "", ""
        return (f"the x32 ABI is usable on this kernel ({x32.source}): x32 programs make "
                f"{', '.join(params.judged_syscalls())} as syscalls numbered from 0x40000000 (arch b64), which no "
                "audit rule can match (the kernel's audit_in_mask() looks only at numbers below 2048, -S all "
                f"included), so none of their calls is recorded; {X32_REMEDY}"), ""
    reasons = sorted({g.reason for g in snapshot.gaps_for("audit", "x32")})
    if not reasons:
        reasons = [f"a snapshot of format {snapshot.schema_version} does not record it (collect again)"
                   if snapshot.schema_version in NO_X32_VERSIONS else "not recorded in this snapshot"]
    return "", (f"whether the x32 ABI is usable on this kernel is not known ({'; '.join(reasons)}): where it is, no "
                f"audit rule records the calls x32 programs make (their syscall numbers carry bit 0x40000000, past "
                f"every rule's bitmask), so the rules alone cannot show these calls audited; {X32_REMEDY} rules it out")


def _accepted_relied_on(verdicts: list[PathVerdict], accepted: frozenset) -> list[str]:
    """The accepted filters covered verdicts rest on, as a pass names them: those of the rule that
    records each call and those of an always task rule that keeps a later never task rule away
    (the tasks its filters leave out reach that never rule and are not audited)."""
    return sorted({format_field(f) for v in verdicts
                   for hit in ([v.decided_by] if v.decided_by is not None else []) + list(v.relied)
                   for f in hit.rule.fields if (f.name, f.op, f.value) in accepted})


def _fastopen_part(snapshot: HostSnapshot, rules: list[AuditRule], field: str, arch: str, params: SocketLoggingParams,
                   evidence: set[str]) -> tuple[dict | None, str, str]:
    """TCP Fast Open's connects in one scope and arch: (what the finding's ``observed.fastopen``
    shows, None when not judged; why they go unrecorded, a failure; why that cannot be told).
    Judged only with connect among the syscalls and ``require_fastopen``.  The sends are audited,
    or the namespaces' net.ipv4.tcp_fastopen lacks the client bit, or connect is not."""
    if not params.require_fastopen or FASTOPEN_CALL not in params.syscalls:
        return None, "", ""
    host = Host(snapshot.facts.audit.machine or snapshot.provenance.arch)
    verdict = judge_fastopen(rules, arch, host, params.accepted())
    shown: dict[str, object] = {"via": [p.path.label for p in verdict.paths]}
    not_covered = []
    for path in verdict.paths:
        hits = ([path.decided_by] if path.decided_by is not None else []) + list(path.against)
        evidence.update(_pointer(field, h.index) for h in hits)
        if path.status != "covered":
            not_covered.append({"via": path.path.label, "status": path.status,
                                "rules": [_rule_ref(field, h) for h in hits]})
    if verdict.covered:
        return {**shown, "status": "covered"}, "", ""
    shown["not_covered"] = not_covered
    client = _fastopen_client(snapshot, field.split("_")[0])
    evidence.update(client.evidence)
    shown["tcp_fastopen"] = list(client.settings)
    if client.unknown:
        shown["unknown"] = list(client.unknown)
    if client.enabled is False:
        return {**shown, "status": "client disabled"}, "", ""
    ways = "; ".join(_causes([verdict]))
    if client.enabled is None:
        return {**shown, "status": "unknown"}, "", (
            f"TCP Fast Open's sends are not all audited ({ways}), and whether net.ipv4.tcp_fastopen lets programs "
            f"connect with them (its client bit, 1) is not known: {'; '.join(client.unknown)}")
    if verdict.unsure:
        return {**shown, "status": "unknown"}, "", (
            f"the machine of this host is not known, so whether its {arch} programs can make TCP Fast Open's sends "
            f"in the ways no rule covers is not known either: {ways}")
    where = "; ".join(client.settings)
    return {**shown, "status": "not covered"}, (
        f"TCP Fast Open opens TCP connections without connect(2): {where}, whose client bit (1) lets a program "
        f"connect with sendto, sendmsg or sendmmsg and MSG_FASTOPEN, and those sends are not all audited "
        f"({ways}): audit them ({_fastopen_sends(arch)}"
        + (", and socketcall a0=11, 16 and 20 where the ABI has it" if arch == "b32" else "")
        + ") or set net.ipv4.tcp_fastopen to 0 or 2 (server only)"), ""


def _no_config_dir_outcome(subject: str, arch: str, params: SocketLoggingParams) -> Outcome:
    # Seen, not unseen: with no /etc/audit neither augenrules nor auditd has rules to load at boot.
    return failed(
        subject,
        f"{subject}: {NO_CONFIG_DIR_REASON}",
        observed={"config_dir_exists": False, "rules": 0},
        expected={"arch": arch, "syscalls": params.judged_syscalls(),
                  "rule": f"-a always,exit -F arch={arch} -S {','.join(params.judged_syscalls())} in /etc/audit/rules.d"},
        evidence=["/facts/audit/config_dir_exists"],
        subject_detail={"scope": "persistent", "arch": arch},
    )


BOOT_AUDIT_MEANING = {
    "off": ("audit= on the kernel command line turns auditing off (audit=0 or off; before Linux 4.17 any value "
            "that is not a number other than 0, audit=on too)"),
    "unset": "no audit=1 on the kernel command line",
    "invalid": "only an audit= value the kernel rejects on its command line (no audit=1)",
}


def _enabled_outcome(snapshot: HostSnapshot, params: SocketLoggingParams) -> Outcome:
    if not params.require_enabled:
        return not_applicable(ENABLED_SUBJECT, "not required by the policy (require_enabled: false)")
    enabled = snapshot.facts.audit.enabled
    if enabled is None:
        return missing_fact(snapshot, "audit", "enabled", ENABLED_SUBJECT, "the audit enabled state")
    rate_limit = snapshot.facts.audit.rate_limit
    boot = snapshot.facts.audit.boot_audit
    observed: dict[str, object] = {"enabled": enabled}
    expected: dict[str, object] = {"enabled": [1, 2]}
    evidence = ["/facts/audit/enabled"]
    if rate_limit is not None:
        observed["rate_limit"], expected["rate_limit"] = rate_limit, 0
        evidence.append("/facts/audit/rate_limit")
    if boot is not None and params.require_boot_audit:
        observed["boot_audit"], expected["boot_audit"] = boot, "on"
        evidence.append("/facts/audit/boot_audit")
    audit = snapshot.facts.audit
    loss_expected: dict[str, object] = {"lost": 0, "backlog_limit": f">= {params.min_backlog_limit} or 0 (no limit)",
                                        "failure": [1, 2]}
    for name in ("lost", "backlog_limit", "failure"):
        if getattr(audit, name) is not None and (name != "backlog_limit" or params.min_backlog_limit):
            observed[name], expected[name] = getattr(audit, name), loss_expected[name]
            evidence.append(f"/facts/audit/{name}")
    common = dict(observed=observed, expected=expected, evidence=evidence)
    if enabled not in (1, 2):
        return failed(ENABLED_SUBJECT, f"kernel auditing is off (enabled {enabled}): no rule produces a record",
                      **common)
    state = "on and locked until reboot" if enabled == 2 else "on"
    blockers = []
    if rate_limit:
        # past the limit the kernel drops records (audit_rate_check): selected socket events go unrecorded
        blockers.append(f"its rate limit is {rate_limit} records a second: the kernel drops the records past it")
    blockers += _loss_blockers(snapshot, params)
    if params.require_boot_audit and boot is not None and boot != "on":
        # audit_alloc() gives a task an audit context only once auditing was ever on: a process
        # forked before that is never audited, whatever the rules say later.
        blockers.append(f"{BOOT_AUDIT_MEANING[boot]}: processes started before auditd turned auditing on have "
                        "no audit context and none of their calls is ever recorded, among them systemd (pid 1), "
                        "which binds the listening sockets of socket units")
    if blockers:
        return failed(ENABLED_SUBJECT, f"kernel auditing is {state} (enabled {enabled}), but " + "; and ".join(blockers),
                      **common)
    unread_cmdline = sorted({g.reason for g in snapshot.gaps_for("audit", "boot_audit")})
    if params.require_boot_audit and boot is None and unread_cmdline:
        # audit_alloc() gives a task an audit context only once auditing was ever on: without
        # audit=1 every process started before auditd (systemd, the socket units) is never audited
        return not_reviewed(ENABLED_SUBJECT, f"kernel auditing is {state} (enabled {enabled}), but whether the kernel "
                                             "command line has audit=1 is not known ("
                                             f"{'; '.join(unread_cmdline)}): without it the processes started before "
                                             "auditd turned auditing on have no audit context and none of their calls "
                                             "is ever recorded", **common)
    notes = ["no rate limit" if rate_limit == 0
             else "the rate limit was not recorded in this snapshot, so records it drops are not ruled out"]
    audit = snapshot.facts.audit
    if audit.lost is None:
        notes.append("records lost since boot were not recorded in this snapshot, so lost records are not ruled out")
    else:
        limit = "no backlog limit (0)" if audit.backlog_limit == 0 else f"backlog limit {audit.backlog_limit}"
        notes.append(f"no record lost since boot, {limit}")
    if params.require_boot_audit:
        notes.append("audit=1 on the kernel command line" if boot == "on"
                     else "the kernel command line was not recorded in this snapshot, so processes started before "
                          "auditd (unaudited without audit=1) are not ruled out")
    return passed(ENABLED_SUBJECT, f"kernel auditing is {state} (enabled {enabled}), " + ", ".join(notes), **common)


FAILURE_MEANING = {0: "silent", 1: "printk", 2: "panic"}


def _auditd_starter(audit: AuditFacts) -> str:
    """Who starts auditd at boot, as the findings name it: auditd.service's ExecStart= on a systemd
    host, else Debian's init script (with its EXTRAOPTIONS)."""
    return "auditd.service starts" if audit.boot_units is not None else "/etc/init.d/auditd starts"


def _auditd_command(audit: AuditFacts) -> str:
    return (f"ExecStart={audit.auditd_exec_start}" if audit.boot_units is not None
            else f"{audit.auditd_exec_start}, with EXTRAOPTIONS of /etc/default/auditd")


def _auditd_startup_part(snapshot: HostSnapshot, rules: list[AuditRule], evidence: set[str]) -> tuple[str, str]:
    """(why auditing is off after boot because of how the boot starts auditd, a failure; why
    that is not known, a doubt).  auditd sets the kernel's enabled flag when it starts, by its -s
    (src/auditd.c: audit_set_enabled() unless -s nochange or the flag is 2): -s disable turns it
    off, -s nochange leaves what the kernel booted with (on only with audit=1).  The rules
    augenrules loads in ExecStartPost= (or the init script's auditctl -R) come after, so their last
    -e 1 (or 2) turns it back on; with audit-rules.service (audit 4), which may load them before
    auditd starts, only -e 2 does."""
    audit = snapshot.facts.audit
    command = audit.auditd_exec_start  # type: ignore[union-attr]
    mode = auditd_conf.auditd_startup(command) if command else None
    if mode not in ("disable", "nochange"):
        return "", ""  # an auditd that refuses its arguments does not start: the daemon's finding says so
    enable = last_control(rules, "enabled")
    last = enable[2] if enable is not None else None
    if last == "2":
        return "", ""  # locked on by the rules: auditd leaves a locked flag alone
    boot = audit.boot_audit  # type: ignore[union-attr]
    how = f"{_auditd_starter(audit)} auditd with -s {mode} ({_auditd_command(audit)})"
    evidence.add("/facts/audit/auditd_exec_start")
    if last == "1":
        units = audit.boot_units  # type: ignore[union-attr]
        if units is None or units.get("audit-rules.service") == "absent":
            # augenrules --load in ExecStartPost=, or the init script's auditctl -R after it started auditd
            return "", ""
        return "", (f"{how}, and whether the -e 1 of these rules loads after it (audit-rules.service is "
                    f"{units.get('audit-rules.service', 'not known')}) is not known: loaded before, auditing "
                    "stays as auditd leaves it")
    if mode == "disable":
        return f"{how}: auditd turns auditing off when it starts, and no -e 1 of these rules turns it back on", ""
    if boot in ("off", "unset", "invalid"):
        return (f"{how}: auditd leaves auditing as the kernel booted, off without audit=1 on its command line "
                f"({BOOT_AUDIT_MEANING[boot]}), and no -e 1 of these rules turns it on"), ""
    if boot is None:
        return "", (f"{how}: auditd leaves auditing as the kernel booted, on only with audit=1 on its command line, "
                    "which was not read, and no -e 1 of these rules turns it on")
    return "", ""


def _loss_blockers(snapshot: HostSnapshot, params: SocketLoggingParams) -> list[str]:
    """Records the kernel selected but did not keep: auditing that drops them is not logging."""
    audit = snapshot.facts.audit
    blockers = []
    if audit.lost:
        # audit_log_lost(): a record the queue had no room for (backlog_limit reached and
        # backlog_wait_time over), that the rate limit dropped, or that no daemon was there to take
        blockers.append(f"the kernel has lost {audit.lost} audit records since boot (or since auditctl "
                        "--reset-lost): the backlog was full, the rate limit was reached or no daemon took them, "
                        "so the records of those events exist nowhere")
    # 0 is no limit: audit_queue_full() (kernel/audit.c) is "audit_backlog_limit && len > limit", so
    # with 0 the queue never refuses a record for its length (memory is then the only bound)
    if audit.backlog_limit and audit.backlog_limit < params.min_backlog_limit:
        blockers.append(f"its backlog limit is {audit.backlog_limit} records (at least {params.min_backlog_limit} "
                        "expected): a burst of events beyond it while auditd is busy or not yet started is lost")
    if audit.failure == 0:
        blockers.append("its failure mode is 0 (silent): a lost record is not even reported in the kernel log "
                        "(AU-5 asks for an alert on an audit processing failure)")
    return blockers


def _control_number(value: str) -> int | None:
    """A -b or -f value as auditctl reads it (strtoul base 0, the grammar's :func:`c_strtoul`: 0x
    hexadecimal, a leading 0 octal, the leading digits); None for one that does not start with a
    digit (auditctl refuses it, a problem of the rules).  The parser writes the value in decimal; a
    snapshot's may be written otherwise."""
    text = value.strip()
    return c_strtoul(text) if text[:1].isdigit() else None


# kernel/audit.c: "static u32 audit_backlog_limit = 64", the limit of a kernel whose command line
# has no audit_backlog_limit= and whose rules set no -b
KERNEL_DEFAULT_BACKLOG_LIMIT = 64


def _boot_loss_blockers(snapshot: HostSnapshot, rules: list[AuditRule], params: SocketLoggingParams,
                        evidence: set[str]) -> tuple[list[str], str]:
    """What the boot's rules make the kernel do with records it cannot queue, as the running
    values are judged (:func:`_loss_blockers`): the last -b (else the kernel command line's
    audit_backlog_limit=, else the kernel's default of 64) below ``min_backlog_limit`` loses a
    burst's records after boot, and the last -f 0 loses them silently.  Each is what the kernel
    holds once the rules load.  Also the doubt (empty when none) when no -b is set and the kernel
    command line was not read: the default the boot leaves then is not known."""
    blockers = []
    doubt = ""
    backlog = last_control(rules, "backlog_limit")
    boot_backlog = snapshot.facts.audit.boot_backlog_limit  # type: ignore[union-attr]
    if backlog is not None:
        index, rule, value = backlog
        number = _control_number(value)
        if params.min_backlog_limit and number is not None and 0 < number < params.min_backlog_limit:
            blockers.append(f"{rule.text} at {rule.origin} sets a backlog limit of {number} records (at least "
                            f"{params.min_backlog_limit} expected): a burst of events beyond it while auditd is busy "
                            "is lost after boot")
            evidence.add(_pointer("persistent_rules", index))
    elif params.min_backlog_limit and boot_backlog is not None and 0 < boot_backlog < params.min_backlog_limit:
        blockers.append(f"audit_backlog_limit={boot_backlog} on the kernel command line, which no -b of these rules "
                        f"changes, is a backlog limit of {boot_backlog} records (at least {params.min_backlog_limit} "
                        "expected): a burst of events beyond it while auditd is busy is lost after boot")
        evidence.add("/facts/audit/boot_backlog_limit")
    elif params.min_backlog_limit > KERNEL_DEFAULT_BACKLOG_LIMIT and boot_backlog is None:
        # without -b or audit_backlog_limit= the kernel keeps its default, far below any such minimum
        if snapshot.facts.audit.boot_audit is not None:  # type: ignore[union-attr]  # the command line was read
            blockers.append(f"no -b of these rules sets a backlog limit and the kernel command line has no "
                            f"audit_backlog_limit=, so the kernel's default of {KERNEL_DEFAULT_BACKLOG_LIMIT} records "
                            f"applies (at least {params.min_backlog_limit} expected): a burst of events beyond it "
                            "while auditd is busy is lost after boot")
            evidence.add("/facts/audit/boot_audit")
        else:
            unread = sorted({g.reason for g in snapshot.gaps_for("audit", "boot_audit")})
            why = ("; ".join(unread) if unread else "it is not read in an offline root directory"
                   if snapshot.provenance.source == "root" else "it is not recorded in this snapshot")
            doubt = (f"no -b of these rules sets a backlog limit, so after boot the kernel holds the kernel command "
                     f"line's audit_backlog_limit=, else its default of {KERNEL_DEFAULT_BACKLOG_LIMIT} records (at "
                     f"least {params.min_backlog_limit} expected), and whether the command line sets it is not known "
                     f"({why})")
    failure = last_control(rules, "failure")
    if failure is not None and _control_number(failure[2]) == 0:
        index, rule, _ = failure
        blockers.append(f"{rule.text} at {rule.origin} sets the failure mode to 0 (silent): after boot a lost record "
                        "is not even reported in the kernel log (AU-5 asks for an alert on an audit processing "
                        "failure)")
        evidence.add(_pointer("persistent_rules", index))
    return blockers, doubt


URING_SUBJECT = "io_uring"


def _kernel_release(snapshot: HostSnapshot) -> tuple[int, int] | None:
    found = re.match(r"(\d{1,4})\.(\d{1,4})", snapshot.provenance.kernel or "")
    return (int(found[1]), int(found[2])) if found else None


def _rings_left(snapshot: HostSnapshot) -> str:
    """Why kernel.io_uring_disabled = 2, read live, does not keep io_uring operations from being
    made ("" when it does): it is checked only by io_uring_setup(2) (io_uring_allowed(),
    io_uring/io_uring.c), so a ring created before it was set keeps taking IORING_OP_BIND, _LISTEN,
    _CONNECT and _ACCEPT; only no process holding one makes the setting cover every process."""
    state = snapshot.facts.audit.io_uring  # type: ignore[union-attr]
    before = "created before kernel.io_uring_disabled was set to 2 (which refuses only new ones)"
    if state is not None and state.holders:
        shown = "; ".join(f"pid {h.pid} ({h.name or 'name not readable'}) "
                          + ", ".join([f"fd {', '.join(h.fds)}"] * bool(h.fds)
                                      + [f"mapped at {', '.join(h.mappings)}"] * bool(h.mappings))
                          for h in state.holders[:10])
        more = f" and {len(state.holders) - 10} more" if len(state.holders) > 10 else ""
        return (f"kernel.io_uring_disabled is 2, but {len(state.holders)} process(es) hold an io_uring {before}: "
                f"{shown}{more}; each ring keeps taking operations")
    unread = sorted({g.reason for g in snapshot.gaps_for("audit", "io_uring/holders")})
    if state is not None and state.holders is not None and not unread:
        return ""
    if state is not None and state.holders is None and snapshot.schema_version in NO_IO_URING_HOLDERS_VERSIONS:
        unread = [f"a snapshot of format {snapshot.schema_version} does not record the processes holding one"]
    return (f"kernel.io_uring_disabled is 2, but whether a process holds an io_uring {before} is not known "
            f"({'; '.join(unread) or 'not recorded in this snapshot'})")


def _uring_causes(verdicts: list[PathVerdict], field: str) -> tuple[list[str], list[dict], set[str]]:
    causes: dict[str, list[str]] = {}
    details: list[dict] = []
    evidence: set[str] = set()
    for verdict in verdicts:
        op = verdict.path.name
        hits = ([verdict.decided_by] if verdict.decided_by is not None else []) + list(verdict.against)
        evidence.update(_pointer(field, h.index) for h in hits + list(verdict.relied))
        if verdict.status == "covered":
            continue
        cause = _uncovered_cause(verdict.status, verdict.decided_by, verdict.against, "no io_uring rule")
        causes.setdefault(cause, []).append(op)
        details.append({"op": op, "status": verdict.status, "rules": [_rule_ref(field, h) for h in hits]})
    return [f"{cause}: {', '.join(ops)}" for cause, ops in causes.items()], details, evidence


def _uring_outcome(snapshot: HostSnapshot, rules: list[AuditRule], field: str, subject: str,
                   params: SocketLoggingParams) -> Outcome:
    """io_uring operations bind, listen, connect and accept without the syscalls: they are audited
    only by rules on the io_uring list, or cannot happen (no io_uring in the kernel, or disabled)."""
    scope = field.split("_")[0]
    state = snapshot.facts.audit.io_uring
    release = _kernel_release(snapshot) if state is not None else None  # the kernel's, only when seen live
    wanted = uring_ops(params.judged_syscalls())
    ops = wanted if release is None else [op for op in wanted if URING_OP_SINCE[op] <= release]
    rule_text = f"-a always,io_uring -S {','.join(wanted)} without narrowing filters, and no never rule before it"
    expected = {"ops": wanted, "rule": rule_text, "or": "kernel.io_uring_disabled = 2",
                "accepted_filters": params.accepted_filters}
    observed: dict[str, object] = {"io_uring": None if state is None else state.model_dump(mode="json")}
    evidence = {"/facts/audit/io_uring"} if state is not None else set()
    if release is not None:
        observed["kernel"] = snapshot.provenance.kernel
    detail = {"scope": scope, "filter": "io_uring"}

    def common() -> dict:
        return dict(observed=observed, expected=expected, evidence=sorted(evidence), subject_detail=detail)

    if state is not None and state.present is False:
        return passed(subject, f"{subject}: this kernel is built without io_uring ({state.source}), so socket calls "
                               "are made only through the syscalls", **common())
    boot = snapshot.facts.audit.io_uring_boot
    boot_off = boot is not None and boot.value is not None and _boot_writes_2(boot.value)
    if scope == "persistent" and boot is not None:
        observed["io_uring_boot"] = boot.model_dump(mode="json")
        evidence.add("/facts/audit/io_uring_boot")
    rings_left = _rings_left(snapshot) if scope == "loaded" and state is not None and state.disabled == 2 else ""
    if scope == "loaded" and state is not None and state.disabled == 2 and not rings_left:
        return passed(subject, f"{subject}: kernel.io_uring_disabled is 2 and no process holds an io_uring: no "
                               "process can create one, so socket calls are made only through the syscalls",
                      **common())
    if scope == "persistent" and boot_off and (state is None or state.disabled is not None):
        # a kernel before 6.6 has no such sysctl, and the setting would do nothing there
        return passed(subject, f"{subject}: the boot's sysctl configuration sets kernel.io_uring_disabled = 2 "
                               f"({boot.origin if boot else ''}): after boot no process can create an io_uring (Linux "
                               "6.6 or later), so socket calls are made only through the syscalls", **common())
    fastopen_failure, fastopen_doubt = _uring_fastopen(snapshot, scope, release, rules, params, observed, evidence)
    if scope == "persistent" and boot is None and fastopen_failure:
        # whether io_uring is open after the next boot is not known: the failure is a doubt
        gaps = "; ".join(sorted({g.reason for g in snapshot.gaps_for("audit", "io_uring_boot")}))
        fastopen_failure, fastopen_doubt = "", (f"{fastopen_failure}, if io_uring is open after the next boot, which is "
                                                f"not known ({gaps or 'not recorded in this snapshot'})")
    if not ops and (fastopen_failure or fastopen_doubt):
        judge = failed if fastopen_failure else not_reviewed
        return judge(subject, f"{subject}: {fastopen_failure or fastopen_doubt}", **common())
    if not ops:
        return passed(subject, f"{subject}: this kernel ({snapshot.provenance.kernel}) has no io_uring operation "
                               f"for {', '.join(params.judged_syscalls())} (accept and connect came in Linux 5.5, bind and "
                               "listen in 6.11)", **common())
    verdicts = [judge_uring_op(rules, op, params.accepted()) for op in ops]
    causes, details, found = _uring_causes(verdicts, field)
    evidence |= found
    observed["covered"] = [v.path.name for v in verdicts if v.status == "covered"]
    if details:
        observed["not_covered"] = details
    problems = sorted(g.reason for g in snapshot.gaps if g.section == "audit" and g.path == (field, "problems"))
    if problems:
        observed["problems"] = problems
    if state is not None and release is not None and release < URING_AUDIT_SINCE:
        return failed(subject, f"{subject}: io_uring is on in this kernel ({snapshot.provenance.kernel}), which "
                               f"can make {', '.join(ops)} through io_uring operations, but the kernel audits "
                               "io_uring operations only from Linux 5.16: those calls go unrecorded whatever the "
                               "rules say", **common())
    if problems and all(o["status"] == "missing" for o in details):
        # auditctl before 3.1 prints a loaded io_uring rule as "-a always,(null) -S <syscall names>":
        # the unread line may be exactly the rule that is missing, so neither a pass nor a failure
        missing = "" if not details else f"no io_uring rule read audits {', '.join(o['op'] for o in details)}, but "
        return not_reviewed(subject, f"{subject}: {missing}rule lines were not fully understood (an io_uring rule "
                                     "among them?): " + "; ".join(problems), **common())
    if not causes and problems:
        # a line lbaudit could not read, or one the target's auditctl may refuse, may be a never rule
        return not_reviewed(subject, f"{subject}: the io_uring operations {', '.join(ops)} are audited by the rules "
                                     "read, but rule lines were not fully understood: " + "; ".join(problems),
                            **common())
    if not causes and fastopen_failure:
        return failed(subject, f"{subject}: {fastopen_failure}", **common())
    if not causes and fastopen_doubt:
        return not_reviewed(subject, f"{subject}: the io_uring operations {', '.join(ops)} are audited, but "
                                     f"{fastopen_doubt}", **common())
    if not causes:
        relied = _accepted_relied_on(verdicts, params.accepted())
        note = f" (accepted filters relied on: {', '.join(relied)})" if relied else ""
        return passed(subject, f"{subject}: the io_uring operations {', '.join(ops)} are audited{note}", **common())
    if scope == "persistent" and boot is None:
        gaps = "; ".join(sorted({g.reason for g in snapshot.gaps_for("audit", "io_uring_boot")}))
        return not_reviewed(subject, f"{subject}: no io_uring rule audits {', '.join(o['op'] for o in details)}, and "
                                     "whether the boot's sysctl configuration sets kernel.io_uring_disabled = 2 is not "
                                     f"known ({gaps or 'not recorded in this snapshot'})", **common())
    if rings_left and state is not None and not state.holders:
        return not_reviewed(subject, f"{subject}: no io_uring rule audits {', '.join(o['op'] for o in details)}, and "
                                     f"{rings_left}", **common())
    if state is None:
        gaps = "; ".join(sorted({g.reason for g in snapshot.gaps_for("audit", "io_uring")}))
        return not_reviewed(subject, f"{subject}: no io_uring rule audits {', '.join(o['op'] for o in details)}, and "
                                     "whether the kernel has io_uring and whether kernel.io_uring_disabled is 2 is "
                                     f"not known ({gaps or 'not recorded in this snapshot'})", **common())
    who = {0: "every process", 1: "members of kernel.io_uring_group"
           + ("" if state.group is None or state.group < 0 else f" (gid {state.group})")
           + " and processes with CAP_SYS_ADMIN"}.get(state.disabled if state.disabled is not None else -1,
                                                    "every process (a kernel before 6.6 has no io_uring_disabled)")
    if scope == "persistent":
        setting = ("no file of the boot's sysctl configuration sets kernel.io_uring_disabled (the kernel's default, 0, "
                   "applies)" if boot is None or boot.value is None
                   else f"{boot.origin} sets kernel.io_uring_disabled = {boot.value}")
        if boot_off:
            setting += ", which this kernel (without that sysctl) does not have"
        opened = f"after the next boot {setting}, so io_uring is open"
        if state.disabled == 2 and not boot_off:
            opened = f"kernel.io_uring_disabled is 2 now, but {opened} again"
        who_text = f"{opened} (0: to every process)" if not boot_off else opened + f" to {who}"
    elif rings_left:
        who_text = rings_left
    else:
        who_text = f"io_uring is open to {who}"
    text = (f"{subject}: {len(details)} of {len(verdicts)} io_uring operations not audited: {'; '.join(causes)}; "
            f"{who_text}, which can bind, listen, connect and accept through it without the "
            "syscalls the syscall rules record")
    if fastopen_failure:
        text += "; and " + fastopen_failure
    if problems:
        text += "; rule lines: " + "; ".join(problems)
    return failed(subject, text, **common())


def _uring_fastopen(snapshot: HostSnapshot, scope: str, release: tuple[int, int] | None, rules: list[AuditRule],
                    params: SocketLoggingParams, observed: dict, evidence: set[str]) -> tuple[str, str]:
    """TCP Fast Open through io_uring, with connect among the syscalls (``require_fastopen``):
    (why such connects go unrecorded, a failure; why that cannot be told).  io_uring hands
    MSG_FASTOPEN and the address to the socket as sendto does: IORING_OP_SENDMSG since Linux 5.3,
    SEND_ZC (6.0) and SEND (6.1) with a destination address, and the kernel never audits SEND and
    SEND_ZC (audit_skip in io_uring/opdef.c).  So from 6.0 only net.ipv4.tcp_fastopen without the
    client bit (or io_uring closed) keeps them from happening unrecorded; from 5.16 to 5.19 an
    io_uring rule for sendmsg records them; before 5.16 nothing audits io_uring."""
    if not params.require_fastopen or FASTOPEN_CALL not in params.syscalls:
        return "", ""
    if release is not None and release < URING_SENDMSG_SINCE:
        return "", ""
    client = _fastopen_client(snapshot, scope)
    shown: dict[str, object] = {"tcp_fastopen": list(client.settings)}
    if client.unknown:
        shown["unknown"] = list(client.unknown)
    observed["fastopen"] = shown
    evidence.update(client.evidence)
    if client.enabled is False:
        shown["status"] = "client disabled"
        return "", ""
    kernel = snapshot.provenance.kernel
    remedy = "set net.ipv4.tcp_fastopen to 0 or 2 (server only), or kernel.io_uring_disabled to 2"
    sendmsg_way = "io_uring's SENDMSG operation flagged MSG_FASTOPEN"
    if release is not None and URING_AUDIT_SINCE <= release < URING_UNAUDITED_SEND_SINCE:
        sendmsg = judge_uring_op(rules, URING_FASTOPEN_OP, params.accepted())
        if sendmsg.status == "covered":
            shown["status"] = "covered"
            return "", ""
        cause = _uncovered_cause(sendmsg.status, sendmsg.decided_by, sendmsg.against, "no io_uring rule")
        way, tail = sendmsg_way, (f"which is not audited on this kernel ({kernel}) ({cause}: sendmsg): audit it "
                                  f"(-a always,io_uring -S sendmsg) or {remedy}")
    elif release is not None and release < URING_AUDIT_SINCE:
        way, tail = sendmsg_way, f"and this kernel ({kernel}) audits no io_uring operation (Linux 5.16 does): {remedy}"
    else:
        way = ("io_uring's SEND or SEND_ZC operation flagged MSG_FASTOPEN and given a destination address (Linux 6.0 "
               "and later)")
        tail = f"which the kernel never audits (audit_skip): no rule records those connects; {remedy}"
    settings = "; ".join(client.settings)
    if client.enabled is None:
        shown["status"] = "unknown"
        return "", (f"whether net.ipv4.tcp_fastopen lets a program connect without connect(2) through {way} is not "
                    f"known: {'; '.join(client.unknown)}")
    if release is None:
        shown["status"] = "unknown"
        return "", (f"{settings}, whose client bit (1) lets a program connect through {way}, {tail}; this kernel's "
                    "release is not known, so whether its io_uring has those operations is not known either")
    shown["status"] = "not covered"
    return (f"TCP Fast Open connects through io_uring without connect(2): {settings}, whose client bit (1) lets a "
            f"program connect with {way}, {tail}"), ""


# The programs that register with the kernel as its audit daemon and keep what it sends them (by
# executable name, else by process name): auditd, and the daemons that take its place (Slack's
# go-audit, Elastic's auditbeat, osquery with its audit publisher).  Any other process at the pid
# (pid reuse after the daemon died, or a daemon lbaudit does not know) makes the finding not_reviewed.
AUDIT_DAEMONS = ("auditd", "go-audit", "auditbeat", "osqueryd")


def _daemon_doubt(snapshot: HostSnapshot, pid: int) -> tuple[str | None, str | None]:
    """(why no daemon takes the records: a blocker; why that is unknown) for the registered pid."""
    process = snapshot.facts.audit.auditd_process  # type: ignore[union-attr]
    if process is None:
        if snapshot.schema_version in NO_AUDITD_PROCESS_VERSIONS:
            why = f"a snapshot of format {snapshot.schema_version} does not record it"
        else:
            why = "; ".join(sorted(g.reason for g in snapshot.gaps_for("audit", "auditd_process"))) or "it was not read"
        return None, (f"whether the audit daemon the kernel names (pid {pid}) still runs is unknown ({why}): the "
                      "kernel keeps the pid of a daemon that was killed until it next fails to send it a record")
    if process.state in ("gone", "exited"):
        what = (f"no process {pid} runs" if process.state == "gone"
                else f"process {pid} ({process.name}) has exited (a zombie not yet reaped)")
        return (f"the kernel names pid {pid} as its audit daemon, but {what}: the daemon died (a killed auditd stays registered until the kernel next fails to send it "
                "a record), so no daemon takes the records"), None
    if process.state == "stopped":
        # kauditd keeps sending to the registered pid: a stopped daemon reads nothing, so the
        # records wait in the kernel's queues until its backlog limit and are lost past it
        return (f"the kernel sends its records to pid {pid} ({process.name}), which is stopped (by SIGSTOP, or "
                "held by a debugger): it takes no record until it is continued, so nothing is written meanwhile "
                "and the kernel loses what its backlog cannot hold"), None
    program = (process.exe or "").rsplit("/", 1)[-1].removesuffix(" (deleted)") or process.name
    if program not in AUDIT_DAEMONS:
        return None, (f"the kernel sends its records to pid {pid}, {process.name} ({process.exe or 'exe not readable'}), "
                      f"which is not an audit daemon lbaudit knows ({', '.join(AUDIT_DAEMONS)}): whether it writes "
                      "them cannot be told (the daemon may have died and its pid been reused)")
    options = auditd_conf.auditd_argv_options(process.args) if process.args else None
    config_dir = None if options is None else options.get("c")
    if config_dir is not None and config_dir.rstrip("/") != auditd_conf.DEFAULT_CONFIG_DIR:
        return None, (f"the audit daemon (pid {pid}) runs with -c {config_dir} ({' '.join(process.args or [])}): it "
                      f"read its auditd.conf there, not {auditd_conf.DEFAULT_CONFIG_DIR}/auditd.conf, which lbaudit "
                      "read")
    return None, None


def _auditd_outcome(snapshot: HostSnapshot, params: SocketLoggingParams) -> Outcome:
    """Are the records the rules select received and written?  The kernel hands them to the audit
    daemon registered with it; with none (pid 0) it prints them to the kernel log, rate-limited by
    printk, or drops them past its backlog.  auditd writes them unless auditd.conf says otherwise."""
    if not params.require_auditd:
        return not_applicable(AUDITD_SUBJECT, "not required by the policy (require_auditd: false)")
    audit = snapshot.facts.audit
    config = audit.auditd_config
    offline = audit.runtime_source is None and audit.auditd_pid is None
    no_conf = audit.config_dir_exists is False or (config is not None and not config.exists)
    if offline and no_conf and audit.auditd_installed is not True and audit.boot_units is None:
        # An image without auditd, auditd.conf or systemd (a container image, most often): whatever
        # writes its records runs outside it.  A systemd image without auditd fails below (boot units).
        return not_applicable(AUDITD_SUBJECT, "this image holds no audit daemon (neither the auditd program nor "
                                              "auditd.conf) and does not boot with systemd: a daemon outside it "
                                              "writes its records, if any; a running host is judged on its own")
    if config is None:
        if audit.config_dir_exists is False:
            return failed(AUDITD_SUBJECT, f"{NO_CONFIG_DIR_REASON}, and no auditd configuration either: auditd "
                                          "is not installed, so no audit daemon writes the records",
                          observed={"config_dir_exists": False}, expected={"auditd": "installed and running"},
                          evidence=["/facts/audit/config_dir_exists"])
        return missing_fact(snapshot, "audit", "auditd_config", AUDITD_SUBJECT, "/etc/audit/auditd.conf")
    problems = sorted(g.reason for g in snapshot.gaps if g.section == "audit" and g.path == ("auditd_config", "problems"))
    lossy = auditd_conf.lossy_actions(config)
    pid = audit.auditd_pid
    observed: dict[str, object] = {"source": config.origin, "exists": config.exists,
                                   "local_events": config.local_events, "write_logs": config.write_logs,
                                   "log_format": config.log_format, "actions": config.actions}
    expected: dict[str, object] = {"local_events": True, "write_logs": True, "auditd_pid": "not 0"}
    evidence = ["/facts/audit/auditd_config"]
    if lossy:
        observed["lossy_actions"] = lossy
    if params.refuse_lossy_log_actions:
        expected["lossy_actions"] = {}
    live = audit.runtime_source is not None or pid is not None
    if pid is not None:
        observed["auditd_pid"] = pid
        evidence.append("/facts/audit/auditd_pid")
    dead, doubt = _daemon_doubt(snapshot, pid) if pid else (None, None)
    if audit.auditd_process is not None:
        observed["auditd_process"] = audit.auditd_process.model_dump(mode="json")
        evidence.append("/facts/audit/auditd_process")
    common = dict(observed=observed, expected=expected, evidence=evidence)
    where = config.origin if config.exists else f"{config.origin} does not exist, so auditd's defaults apply:"
    blockers = []
    if audit.auditd_installed is False and not pid:
        evidence.append("/facts/audit/auditd_installed")
        observed["auditd_installed"] = False
        blockers.append("auditd is not installed (no /usr/sbin/auditd or /sbin/auditd): no audit daemon writes "
                        "the records")
    if config.refused:
        blockers.append(f"auditd refuses {config.origin} and does not start with it ({'; '.join(problems)})")
    if not config.local_events:
        blockers.append(f"{config.origin} sets local_events = no: auditd does not take this kernel's records")
    if not config.write_logs:
        why = "log_format = NOLOG" if config.log_format == "nolog" else "write_logs = no"
        blockers.append(f"{config.origin} sets {why}: auditd writes no record to its log file "
                        "(a plugin may forward them; a policy relying on one can waive this finding, naming it)")
    if pid == 0:
        # With auditing off as well, nothing is written either: the "audit enabled" finding says why no
        # record is made, this one that none would be kept (a pass here read as "auditd writes them").
        blockers.append("no audit daemon is registered with the kernel (auditctl -s pid 0): the kernel prints "
                        "records to its own log, rate-limited, or drops them past its backlog (or auditd runs in a "
                        "pid namespace this one does not see; a host that keeps them through journald's audit "
                        "socket instead can waive this finding, naming it)")
    if dead is not None:
        blockers.append(dead)
    units = audit.boot_units
    auditd_unit = None if units is None else units.get("auditd.service")
    if auditd_unit is not None:
        observed["boot_units"] = units
        evidence.append("/facts/audit/boot_units")
    if auditd_unit in ("disabled", "masked", "absent"):
        blockers.append(f"auditd.service is {auditd_unit}: no audit daemon runs after the next boot")
    options = auditd_conf.auditd_options(audit.auditd_exec_start) if audit.auditd_exec_start else None
    if options is not None:
        observed["auditd_exec_start"] = audit.auditd_exec_start
        evidence.append("/facts/audit/auditd_exec_start")
    if options is not None and "invalid" in options:
        blockers.append(f"{_auditd_starter(audit)} auditd with arguments it refuses ({options['invalid']}, "
                        f"{_auditd_command(audit)}): it prints its usage and does not start at boot")
    config_dir = None if options is None else options.get("c")
    if config_dir is not None and config_dir.rstrip("/") != auditd_conf.DEFAULT_CONFIG_DIR:
        doubt = doubt or (f"{_auditd_starter(audit)} auditd with -c {config_dir} ({_auditd_command(audit)}): "
                          f"it reads its auditd.conf there, not {config.origin}, which lbaudit read")
    if lossy and params.refuse_lossy_log_actions:
        blockers.append(f"{config.origin} lets auditd stop writing while the host runs on: "
                        + ", ".join(f"{k} = {v.upper()}" for k, v in lossy.items()))
    if blockers:
        return failed(AUDITD_SUBJECT, "audit records are not written: " + "; ".join(blockers), **common)
    if auditd_unit == "unknown":
        return not_reviewed(AUDITD_SUBJECT, "whether the boot starts auditd.service is not known: "
                                            + "; ".join(g.reason for g in snapshot.gaps_for("audit", "boot_units")),
                            **common)
    if not pid and audit.auditd_installed is None:
        return not_reviewed(AUDITD_SUBJECT, "neither /usr/sbin nor /sbin could be read, so whether the auditd program "
                                            "is installed cannot be told", **common)
    if live and pid is None:
        return not_reviewed(AUDITD_SUBJECT, "whether an audit daemon is registered with the kernel (auditctl -s "
                                            "pid) was not recorded in this snapshot", **common)
    if doubt is not None:
        return not_reviewed(AUDITD_SUBJECT, doubt, **common)
    process = audit.auditd_process
    daemon = "auditd" if process is None or process.name is None else process.name
    running = (f"{daemon} (pid {pid}) is registered with the kernel and runs" if pid
               else "whether auditd runs is not visible in an offline root directory; its configuration")
    note = ("" if not lossy else "; it stops writing on " + ", ".join(f"{k} = {v.upper()}" for k, v in lossy.items())
            + " (not judged: refuse_lossy_log_actions is false)")
    return passed(AUDITD_SUBJECT, f"{running} takes the kernel's records and writes them "
                                  f"({where} local_events yes, write_logs yes){note}", **common)


# ------------------------------------------------------------------ Windows and macOS

WFP_SUBJECT = "Windows Filtering Platform connection auditing"
BSM_ENABLED_SUBJECT = "audit(4) enabled"
BSM_CLASS_SUBJECT = "audit(4) network class"
_EDR_NOTE = "(a policy whose sockets are logged by an EDR instead can waive this finding, naming the EDR)"


def _windows_outcomes(snapshot: HostSnapshot) -> list[Outcome]:
    policy = snapshot.facts.audit.windows
    if policy is None:
        return [missing_fact(snapshot, "audit", "windows", WFP_SUBJECT, "the audit policy (auditpol /backup)")]
    guid = platform_audit.WFP_CONNECTION_GUID
    rows = [(i, row) for i, row in enumerate(policy.subcategories) if row.guid == guid]
    problems = sorted(g.reason for g in snapshot.gaps if g.section == "audit" and g.path == ("windows", "problems"))
    evidence = [json_pointer("facts", "audit", "windows", "subcategories", i) for i, _ in rows]
    if not rows:
        return [not_reviewed(WFP_SUBJECT, f"the subcategory {platform_audit.WFP_CONNECTION_NAME} {guid} is not in "
                                          f"{policy.origin}" + (f"; {'; '.join(problems)}" if problems else ""),
                             evidence=["/facts/audit/windows"])]
    values = sorted({row.setting_value for _, row in rows})
    if len(values) > 1:
        return [not_reviewed(WFP_SUBJECT, f"{policy.origin} lists {guid} with different Setting Values {values}",
                             evidence=evidence)]
    value = values[0]
    meaning = platform_audit.SETTING_VALUES[value]
    common = dict(observed={"subcategory": platform_audit.WFP_CONNECTION_NAME, "guid": guid, "setting_value": value,
                            "meaning": meaning, "source": policy.origin},
                  expected={"setting_value": list(platform_audit.SUCCESS_SETTING_VALUES)}, evidence=evidence)
    head = (f'the "{platform_audit.WFP_CONNECTION_NAME}" audit subcategory {guid} has Setting Value {value} '
            f"({meaning}) in {policy.origin}")
    if value not in platform_audit.SUCCESS_SETTING_VALUES:
        return [failed(WFP_SUBJECT, f"{head}: Windows Filtering Platform success auditing is off, so no event 5156 "
                                    "(connection permitted) or 5158 (bind permitted) records who listened or "
                                    f"connected {_EDR_NOTE}", **common)]
    if problems:
        return [not_reviewed(WFP_SUBJECT, f"{head}, but rows of the backup were not understood: {'; '.join(problems)}",
                             **common)]
    return [passed(WFP_SUBJECT, f"{head}: events 5156 (connection permitted) and 5158 (bind permitted) are logged",
                   **common)]


def _macos_outcomes(snapshot: HostSnapshot, params: SocketLoggingParams) -> list[Outcome]:
    bsm = snapshot.facts.audit.macos
    if bsm is None:
        return [missing_fact(snapshot, "audit", "macos", BSM_ENABLED_SUBJECT, "the audit(4) state")]
    outcomes: list[Outcome] = []
    if not params.require_enabled:
        outcomes.append(not_applicable(BSM_ENABLED_SUBJECT, "not required by the policy (require_enabled: false)"))
    elif bsm.auditd_loaded is None:
        outcomes.append(missing_fact(snapshot, "audit", "macos/auditd_loaded", BSM_ENABLED_SUBJECT,
                                     "whether auditd is loaded"))
    else:
        common = dict(observed={"auditd_loaded": bsm.auditd_loaded, "launchctl_exit": bsm.launchctl_exit},
                      expected={"auditd_loaded": True}, evidence=["/facts/audit/macos/auditd_loaded"])
        if bsm.auditd_loaded:
            outcomes.append(_bsm_kernel_outcome(snapshot, bsm))
        elif bsm.kernel_auditing:
            # Records are written now, but no auditd answers the kernel's triggers: a full trail is
            # not rotated, and nothing starts auditing again after a reboot.
            outcomes.append(failed(
                BSM_ENABLED_SUBJECT,
                f"audit -c exited 0 (the kernel audits now), but launchctl print system/com.apple.auditd exited "
                f"{bsm.launchctl_exit}: auditd is not loaded, so launchd starts none on the kernel's triggers (a full "
                f"trail is not rotated) and auditing does not start again after a reboot {_EDR_NOTE}", **common))
        else:
            outcomes.append(failed(
                BSM_ENABLED_SUBJECT,
                f"audit(4) is off: launchctl print system/com.apple.auditd exited {bsm.launchctl_exit} (auditd is not "
                "loaded), so no BSM record of socket activity is written; Apple deprecated audit(4) in macOS 11 and "
                f"ships it disabled since macOS 14 {_EDR_NOTE}", **common))
    flags = bsm.flags
    if bsm.audit_control_present is False:
        outcomes.append(failed(BSM_CLASS_SUBJECT, "/etc/security/audit_control does not exist: audit(4) has no flags "
                                                  f"line, so the network class ({platform_audit.BSM_NETWORK_CLASS}) "
                                                  f"is not audited {_EDR_NOTE}",
                               observed={"audit_control_present": False},
                               expected={"flags_include": platform_audit.BSM_NETWORK_CLASS},
                               evidence=["/facts/audit/macos/audit_control_present"]))
    elif flags is None:
        outcomes.append(missing_fact(snapshot, "audit", "macos/flags", BSM_CLASS_SUBJECT, "the audit_control flags"))
    elif bsm.naflags is None and snapshot.gaps_for("audit", "macos/naflags"):
        outcomes.append(missing_fact(snapshot, "audit", "macos/naflags", BSM_CLASS_SUBJECT,
                                     "the audit_control naflags"))
    elif bsm.audit_user is None and snapshot.gaps_for("audit", "macos/audit_user"):
        outcomes.append(missing_fact(snapshot, "audit", "macos/audit_user", BSM_CLASS_SUBJECT,
                                     "the per-user audit masks (/etc/security/audit_user)"))
    else:
        outcomes.append(_bsm_class_outcome(flags, bsm.naflags, bsm.audit_user))
    return outcomes


def _bsm_kernel_outcome(snapshot: HostSnapshot, bsm: MacosAudit) -> Outcome:
    """Whether the kernel audits, auditd being loaded: launchd starts auditd on demand (its plist has
    no RunAtLoad and a TimeOut of 60 s) and auditd under launchd exits when idle with the kernel still
    auditing, so neither "loaded" nor a running auditd says it; ``audit -c`` does."""
    common = dict(observed={"auditd_loaded": True, "launchctl_exit": bsm.launchctl_exit,
                            "kernel_auditing": bsm.kernel_auditing, "audit_condition_exit": bsm.audit_condition_exit},
                  expected={"auditd_loaded": True, "kernel_auditing": True},
                  evidence=["/facts/audit/macos/auditd_loaded", "/facts/audit/macos/kernel_auditing"])
    if bsm.kernel_auditing:
        return passed(BSM_ENABLED_SUBJECT, "audit(4) is on: audit -c exited 0 (auditing is enabled in the kernel) and "
                                           "launchd has com.apple.auditd loaded", **common)
    if bsm.kernel_auditing is False:
        return failed(BSM_ENABLED_SUBJECT, f"audit(4) is off: launchd has com.apple.auditd loaded, but audit -c exited "
                                           f"{bsm.audit_condition_exit}: auditing is not enabled in the kernel (never "
                                           "started, or stopped with audit -t), so no BSM record of socket activity "
                                           f"is written {_EDR_NOTE}", **common)
    unread = "; ".join(sorted({g.reason for g in snapshot.gaps_for("audit", "macos/kernel_auditing")}))
    return not_reviewed(BSM_ENABLED_SUBJECT, "launchd has com.apple.auditd loaded, but that does not say the kernel "
                                             "audits: launchd starts auditd on demand and auditd exits when idle with "
                                             "the kernel still auditing (or never told to), and whether it audits is "
                                             "what audit -c answers, which is unknown: "
                                             + (unread or "the snapshot holds no answer of audit -c (written before "
                                                          "lbaudit read it)"), **common)


def _bsm_class_outcome(flags: list[str], naflags: list[str] | None, users: list[MacosAuditUser] | None) -> Outcome:
    """The network class must be in both masks: ``flags`` for processes of a login session, and
    ``naflags`` for those no login is attributed to (every daemon launchd starts, which hold most
    listeners): the kernel preselects their events with the non-attributable mask only."""
    nt = platform_audit.BSM_NETWORK_CLASS
    expected = {"flags_include": nt, "naflags_include": nt}
    text = f"audit_control flags:{','.join(flags)}"
    for line, classes in (("flags", flags), ("naflags", naflags or [])):
        try:
            platform_audit.bsm_success_mask(classes)
        except platform_audit.UnknownBsmClass as exc:
            return not_reviewed(BSM_CLASS_SUBJECT, f"the {line}: line of audit_control ({','.join(classes)}) names the "
                                                   f"class {exc.name!r}, which is not one of the classes audit_class(5) ships "
                                                   "(libbsm looks names up exactly as written, case included): a "
                                                   "class the host's /etc/security/audit_class adds holds bits the "
                                                   "capture does not read, and a name it does not hold makes libbsm "
                                                   "refuse the whole list, so which classes the kernel audits cannot "
                                                   "be told",
                                observed={"flags": flags, "naflags": naflags}, expected=expected,
                                evidence=["/facts/audit/macos/flags", "/facts/audit/macos/naflags"])
    if not platform_audit.bsm_network_audited(flags):
        return failed(BSM_CLASS_SUBJECT, f"{text} does not audit successful network events (class {nt}) {_EDR_NOTE}",
                      observed={"flags": flags, "naflags": naflags}, expected=expected,
                      evidence=["/facts/audit/macos/flags"])
    if naflags is None:
        return not_reviewed(BSM_CLASS_SUBJECT, f"{text} audits the network class for login sessions, but the "
                                               "naflags: line (the mask of daemons no login is attributed to) was "
                                               "not recorded in this snapshot",
                            observed={"flags": flags}, expected=expected, evidence=["/facts/audit/macos"])
    common = dict(observed={"flags": flags, "naflags": naflags}, expected=expected,
                  evidence=["/facts/audit/macos/flags", "/facts/audit/macos/naflags"])
    natext = f"naflags:{','.join(naflags)}" if naflags else "no naflags: value (an empty non-attributable mask)"
    if not platform_audit.bsm_network_audited(naflags):
        return failed(BSM_CLASS_SUBJECT, f"{text} audits the network class ({nt}) for login sessions, but {natext} "
                                         "does not: the kernel preselects the events of processes no login is "
                                         "attributed to (every daemon launchd starts, which hold most listeners) "
                                         f"with naflags alone, so their bind, connect and accept are not recorded "
                                         f"{_EDR_NOTE}", **common)
    if users is None:
        return not_reviewed(BSM_CLASS_SUBJECT, f"{text} and {natext} audit the network class, but the per-user masks "
                                               "of /etc/security/audit_user (a never class is taken from that user's "
                                               "login sessions) were not recorded in this snapshot", **common)
    # libbsm's getfauditflags: a user's sessions get the flags: mask, plus always, minus never.
    network = platform_audit.BSM_CLASSES[nt]
    system = platform_audit.bsm_success_mask(flags)
    unaudited = [user for user in users if not (system | platform_audit.bsm_success_mask(user.always))
                 & ~platform_audit.bsm_success_mask(user.never) & network]
    common["observed"] = {**common["observed"], "audit_user": [user.model_dump() for user in users]}
    if unaudited:
        named = ", ".join(f"{user.name} (never: {','.join(user.never)})" for user in unaudited)
        return failed(BSM_CLASS_SUBJECT, f"{text} and {natext} audit the network class ({nt}), but "
                                         f"/etc/security/audit_user takes it from the login sessions of {named}: "
                                         f"libbsm gives a user's sessions the flags: mask plus always, minus never, so "
                                         f"their bind, connect and accept are not recorded {_EDR_NOTE}",
                      **{**common, "evidence": [*common["evidence"], "/facts/audit/macos/audit_user"]})
    return passed(BSM_CLASS_SUBJECT, f"{text} and {natext} audit the network class ({nt}): bind, connect and accept "
                                     "are recorded for login sessions and for daemons"
                                     + (f" (no /etc/security/audit_user entry takes it away: "
                                        f"{', '.join(user.name for user in users)})" if users else ""), **common)


def _uring_scope(snapshot: HostSnapshot, scope: str, field: str, label: str, params: SocketLoggingParams) -> Outcome:
    subject = f"{label} {URING_SUBJECT}"
    if not getattr(params, f"require_{scope}"):
        return not_applicable(subject, f"not required by the policy (require_{scope}: false)")
    audit = snapshot.facts.audit
    rules = [] if field == "persistent_rules" and audit.config_dir_exists is False else getattr(audit, field)
    if rules is None:
        return missing_fact(snapshot, "audit", field, subject, f"the {label}")
    return _uring_outcome(snapshot, rules, field, subject, params)


def _arches_left_out(snapshot: HostSnapshot, label: str, params: SocketLoggingParams) -> list[Outcome]:
    """An ABI of this host the policy's ``arches`` leave out, said in a not_applicable finding: with
    arches [b32] on x86_64 the rule passed on the 32-bit rules alone, every call of the host's
    64-bit programs unrecorded and unjudged, and nothing in the result said so."""
    host = Host(snapshot.facts.audit.machine or snapshot.provenance.arch)
    outcomes = []
    for arch in ARCH_ORDER:
        if arch in params.arches or (host.machine and host.table(arch) is None):
            continue  # judged, or an ABI this machine does not have
        outcomes.append(not_applicable(
            f"{label} {arch}",
            f"not judged: the policy's arches ({', '.join(params.arches)}) leave {arch} out, so the socket calls "
            f"of this host's {arch} programs are not required to be audited"))
    return outcomes


def _boot_writes_2(value: str) -> bool:
    """Whether the boot's write of ``value`` leaves kernel.io_uring_disabled at 2, read as the kernel
    reads it (proc_dointvec_minmax, 0-2): ``0x2`` is 2, and ``2\v`` (kept by systemd-sysctl) is
    refused, so io_uring stays enabled."""
    try:
        return parse_kernel_int(IO_URING_DISABLED, value) == 2
    except SysctlValueError:
        return False


IO_URING_DISABLED = "kernel.io_uring_disabled"


@check(
    name="audit.socket_logging",
    title="Socket syscalls are audited (loaded and persistent rules, every architecture)",
    version="1.19.0",
    needs=("audit",),
    # net.ipv4.tcp_fastopen, running (each network namespace's) and as the boot sets it: whether
    # programs connect with sendto/sendmsg and MSG_FASTOPEN, which the rules must then audit
    uses=("sysctl", "netns"),
    platforms=("linux", "windows", "macos"),
    params=SocketLoggingParams,
    severity=Severity.MEDIUM,
    controls=("AU-2", "AU-12", "SI-4"),
    rationale="""
Traffic between processes on one host, over loopback or a local socket, never crosses a firewall or
a network sensor: perimeter monitoring cannot see it.  The kernel audit subsystem can, by recording
bind, connect and accept calls with the process, user and address.  Those socket-level records are
what auditors ask for when they need to know who listened or connected, and when.  The rules must be
loaded now, survive a reboot, cover 32-bit programs as well as 64-bit ones, and not be shadowed by
an earlier never rule or narrowed by filters; auditing must be on; and the audit daemon must take
the records and write them, or the selected events are never recorded anywhere an auditor can read.
""",
    remediation="""
On Linux:

Put the rules in a file that sorts before any never rule, e.g. /etc/audit/rules.d/10-lbaudit-socket.rules:

    # listen with bind: listen on an unbound socket binds it to a port of the kernel's choosing
    -a always,exit -F arch=b64 -S bind,listen,connect,accept,accept4 -k lbaudit-socket
    -a always,exit -F arch=b32 -S bind,listen,connect,accept4 -k lbaudit-socket
    # TCP Fast Open connects with a send flagged MSG_FASTOPEN (0x20000000) instead of connect
    -a always,exit -F arch=b64 -S sendto,sendmmsg -F a3&0x20000000 -k lbaudit-socket
    -a always,exit -F arch=b64 -S sendmsg -F a2&0x20000000 -k lbaudit-socket
    -a always,exit -F arch=b32 -S sendto,sendmmsg -F a3&0x20000000 -k lbaudit-socket
    -a always,exit -F arch=b32 -S sendmsg -F a2&0x20000000 -k lbaudit-socket
    # 32-bit programs may go through socketcall: bind 2, connect 3, listen 4, accept 5, accept4 18,
    # and sendto 11, sendmsg 16, sendmmsg 20 (their flags are behind a pointer: no filter selects them)
    -a always,exit -F arch=b32 -S socketcall -F a0=2 -k lbaudit-socket
    -a always,exit -F arch=b32 -S socketcall -F a0=3 -k lbaudit-socket
    -a always,exit -F arch=b32 -S socketcall -F a0=4 -k lbaudit-socket
    -a always,exit -F arch=b32 -S socketcall -F a0=5 -k lbaudit-socket
    -a always,exit -F arch=b32 -S socketcall -F a0=18 -k lbaudit-socket
    -a always,exit -F arch=b32 -S socketcall -F a0=11 -k lbaudit-socket
    -a always,exit -F arch=b32 -S socketcall -F a0=16 -k lbaudit-socket
    -a always,exit -F arch=b32 -S socketcall -F a0=20 -k lbaudit-socket
    # io_uring makes the same calls without the syscalls (auditctl 3.1 or later, Linux 5.16 or later)
    -a always,io_uring -S bind,listen,connect,accept -k lbaudit-socket

Where no program needs TCP Fast Open as a client, `net.ipv4.tcp_fastopen = 0` (or 2, server
only) in /etc/sysctl.d/ makes the MSG_FASTOPEN rules unnecessary; each network namespace has its
own value, and a new one (a container's) starts with the kernel's default, 1.  Where io_uring is
open (Linux 6.0 or later), that setting, or io_uring turned off, is the only remedy: io_uring's
SEND and SEND_ZC operations connect with MSG_FASTOPEN and a destination address, and the kernel
never audits them.

On x86_64 no audit rule can record a call made through the x32 ABI (its syscall numbers carry bit
0x40000000, past every rule's bitmask): where the kernel has it, boot with `syscall.x32=n` (on
Debian's kernels; GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) or a kernel built
without CONFIG_X86_X32_ABI.

Where no program needs io_uring, turn it off instead (Linux 6.6 or later):
`kernel.io_uring_disabled = 2` in /etc/sysctl.d/ (then `sysctl --system`), and restart the programs
holding an io_uring (`ls -l /proc/*/fd | grep io_uring`): the setting refuses only new rings, and
one created before it keeps working.  On a kernel from 5.5
to 5.15 io_uring can connect and accept but the kernel cannot audit it: boot a newer kernel, or
one built without io_uring.

Then load them with `augenrules --load` (a reboot is needed when the configuration is locked with
-e 2) and check with `auditctl -l`.  Remove or narrow never rules that precede them, make sure no
-e 0 is left in rules.d, and set `-e 1` (or `-e 2`) so auditing is on.  Leave the rate limit at
`-r 0`: past a limit the kernel drops records; give the queue room with `-b 8192` (or
`audit_backlog_limit=8192` on the kernel command line), keep `-f 1` (or 2) so a lost record is
reported, and once the cause of lost records is fixed clear the count with `auditctl --reset-lost`.  Run auditd (`systemctl enable --now auditd`) with
`local_events = yes` and `write_logs = yes` in /etc/audit/auditd.conf, and check that auditd
accepts the file (`auditd -f` reports the first line it refuses).  Add `audit=1` to the kernel
command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub or grub2-mkconfig) so
processes that start before auditd are audited too.

On Windows:

Audit successes of the "Filtering Platform Connection" subcategory, in an elevated prompt:
`auditpol /set /subcategory:"Filtering Platform Connection" /success:enable` (or
`/subcategory:{0CCE9226-69AE-11D9-BED3-505054503030}` on a Windows that names it in another
language), and check it with `auditpol /get /subcategory:"Filtering Platform Connection"`.  The
Security log then records events 5156 (connection permitted) and 5158 (bind permitted); they are
many, so size the log or forward it.  Where Group Policy sets the audit policy, set it there instead
(Advanced Audit Policy Configuration, Object Access, Audit Filtering Platform Connection), or the
next refresh undoes it.  Where an EDR records the host's connections instead, waive this finding
and name the EDR in the waiver's reason.

On macOS:

audit(4) is deprecated since macOS 11 and disabled since macOS 14; where an EDR (an
EndpointSecurity client) records the host's connections instead, waive this finding and name it in
the waiver's reason.  To audit with it: copy /etc/security/audit_control.example to
/etc/security/audit_control if that is absent, add the network class nt to both its `flags:` and
its `naflags:` lines (e.g. `flags:lo,aa,nt` and `naflags:lo,aa,nt`), remove nt from the never
classes (the third field) of every entry in /etc/security/audit_user, run `sudo launchctl enable
system/com.apple.auditd` and reboot.  `sudo audit -c` then exits 0 (the kernel audits); after a
later change to audit_control, `sudo audit -s` makes auditd read it again (flags apply from each
user's next login).
""",
    notes="""
One finding per scope (loaded, persistent) and architecture, plus one for the enabled state and
one for the records written.  rules.d is listed as the target's augenrules script does: up to audit
4.1 it skips a name with a space, tab or newline, from 4.2 it reads it; with no script to tell, such
a name is read and the scope cannot pass.  The
persistent rules are read as `auditctl -R` reads them at boot (auditctl 3.x's own grammar, field
by field, value by value): loading stops at the first line auditctl or the kernel refuses, unless
-c or -i came first, so the rules after it do not count.  The rules are walked as the kernel does:
a never rule on the task list, or an exclude rule that drops SYSCALL records, stops the events (a
task rule is matched when the task is forked, before any syscall, so one with an arch, a0 to a3 or
saddr_fam field matches no task, always or never); on the exit list the first matching rule
decides.  `-D -k KEY` deletes every rule whose key contains KEY, as auditctl does.  A rule without -F arch matches its syscall numbers
(looked up in the host's own table) on every architecture: on x86_64 a never rule for getuid (102)
also takes i386 socketcall (102).  A number from 2032 to 2047 is a syscall class to the kernel,
which replaces it with every syscall of the class (2041, the write class, holds bind): a rules-file
rule holding one records no call it does not name itself, and a never rule holding one counts
against every call (auditctl -l lists the class's syscalls instead).  A call counts as audited only when every way of making it is:
the syscall itself and, on an ABI that has socketcall(2) (i386, s390 and s390x, ppc and ppc64,
arm), socketcall with its call number.  The program picks the way, so a rule for one of them leaves
the other unrecorded; a syscall covered one way only is listed in `partly_covered`.  With bind
among the syscalls listen is judged too (`require_listen_autobind`): listen(2) on a socket never
bound binds it to an ephemeral port on the wildcard address without bind(2).  With connect among
them (`require_fastopen`), so are the sends that connect with TCP Fast Open: sendto, sendmsg and
sendmmsg with MSG_FASTOPEN (0x20000000) on an unconnected TCP socket connect it without
connect(2) where net.ipv4.tcp_fastopen has the client bit (1, the kernel's default in each network
namespace).  A rule covers them unfiltered or filtered by the bit test of the flags argument (`-F
a3&0x20000000` for sendto and sendmmsg, `-F a2&0x20000000` for sendmsg; `&=` too), and through
socketcall only unfiltered (a0=11, 16, 20).  They need not be covered where tcp_fastopen lacks the
client bit: running, in lbaudit's namespace and every other one collected (loaded scope), or as the
boot's sysctl configuration sets it, no setting being 1 (persistent scope); a value that cannot be
read is not_reviewed (`observed.fastopen` says which).  A rule line lbaudit could not read,
or whose fate it cannot tell (a user name resolved on the target, an unknown machine, gawk and mawk compiling rules.d differently where
neither is found), makes its scope not_reviewed, unless what was read already fails; so does a
line auditctl refuses, because the boot then loads less than the files say.  Without auditctl the
loaded rules and the enabled state are read from the kernel over netlink (as root); a loaded rule
that cannot be shown faithfully in auditctl's syntax counts as a line that could not be read.  A
host without /etc/audit has no persistent rules: its persistent scope fails (an /etc/audit that
exists but cannot be read is not_reviewed).  A rate limit other than 0 (the last -r of the
persistent rules) fails the persistent scope, and the loaded one (auditctl -s or netlink) fails the
enabled finding: past it the kernel drops records the rules selected.  So do the persistent rules'
last -b below min_backlog_limit (else the kernel command line's audit_backlog_limit=) and last
-f 0 (a lost record not even reported), as the running values fail the enabled finding.  auditd
sets the enabled flag when it starts, by its -s: an auditd.service ExecStart= (after its drop-ins),
or without systemd the EXTRAOPTIONS Debian's init script gives auditd, with -s disable fails the persistent scope unless the rules end with -e 1 or 2 (augenrules loads them
in ExecStartPost=, after auditd started; with audit-rules.service, which may load them first, -e 1
is not reviewed), and -s nochange without such an -e leaves the flag as the kernel booted: it fails
without audit=1 and is not reviewed where the command line is not known.  An ExecStart= whose
arguments auditd refuses (it prints its usage and does not start) fails the audit records written
finding, and one with -c another directory (auditd then reads its auditd.conf there) makes it not
reviewed.  Boot
rules with no -b and a kernel command line without audit_backlog_limit= leave the kernel's default
of 64 records, which fails a min_backlog_limit above 64; a command line not read (offline, a gap,
an older snapshot) makes the persistent scopes not_reviewed then.  An offline image whose boot
loader files hold a kernel command line with audit=0 or off (audit=on too, read as 0 before Linux
4.17), or that cannot all be read, has its persistent scopes not_reviewed: the boot entry it starts
is not known, and with auditing off at boot no rule loads until reboot.  So does a running host's
(its boot loader files are the next boot's; /proc/cmdline is this boot's), read by the running
kernel's release.

On x86_64 the b64 findings also fail where the x32 ABI is usable: an x32 program makes each call
as a syscall numbered from 0x40000000, audited as arch b64, and the kernel's audit_in_mask()
(kernel/auditsc.c) refuses every number past the rule bitmask (2048 bits), so no rule matches it,
`-S all` and a rule without -S included (`observed.x32`).  Live, lbaudit asks the kernel (x32
getpid in a child process: a pid or ENOSYS; under a seccomp filter of its own a refusal is checked
against the kernel's configuration and /proc/cmdline); offline, each /boot/config-* of the image
(CONFIG_X86_X32_ABI, CONFIG_X86_X32 before Linux 5.18, Debian's CONFIG_X86_X32_DISABLED) with the
`syscall.x32=` of its boot loader files (GRUB_CMDLINE_LINUX, not _DEFAULT, which recovery entries
lack), usable when any kernel with any of those command lines leaves it usable; a kernel without
Debian's patch has no such parameter.  Not known (no kernel configuration in an image, one that
cannot be read, a snapshot before format 1.7) is not_reviewed; a machine other than x86_64 is not
concerned.  The persistent scope takes the next boot's kernel to be the running one (live) or the
image's.

io_uring makes the same calls without the syscalls (IORING_OP_ACCEPT and IORING_OP_CONNECT since
Linux 5.5, IORING_OP_BIND and IORING_OP_LISTEN since 6.11), so no syscall rule records them.  One
more finding per scope ("loaded rules io_uring", "persistent rules io_uring"; `require_io_uring`)
asks for the operations that make the policy's calls (accept and accept4: accept; connect, bind,
listen), those the running kernel has, to be audited by rules on the io_uring list (Linux 5.16,
`-a always,io_uring -S ...`, auditctl 3.1 or later), judged like the exit list: the first matching
rule decides, a task never rule or an exclude rule that drops URINGOP records stops them.  With
connect among the syscalls (`require_fastopen`) the finding also asks how io_uring's sends connect
with TCP Fast Open: from Linux 6.0 SEND_ZC and SEND (6.1) take MSG_FASTOPEN and a destination
address and the kernel never audits them (audit_skip), so it fails while net.ipv4.tcp_fastopen has
the client bit (read as for the syscall findings; unknown is not_reviewed); from 5.16 to 5.19 an
io_uring rule for sendmsg records them, and from 5.3 to 5.15 nothing does.  It
passes without such rules when the running kernel has no io_uring (no kernel.io_uring_disabled
and none of io_uring's functions in /proc/kallsyms) or has kernel.io_uring_disabled = 2; with 0
(every process) or 1 (members of kernel.io_uring_group and CAP_SYS_ADMIN, root's daemons among
them) the rules must cover the operations.  The persistent scope counts kernel.io_uring_disabled only
as the boot's sysctl configuration sets it (the running kernel's command line, sysctl.d and its
globs, read as the sysctl checks read it): 2 there passes it (on a kernel with that sysctl), a
running 2 that nothing of it sets fails it (the next boot opens io_uring again), and a
configuration that cannot be read, an offline image's boot entry that may set it on the kernel
command line, or an offline image in which nothing applies its sysctl configuration (no
systemd-sysctl, and no procps sysctl that an init script an init starts runs: a container image,
which runs with its host's io_uring_disabled), is not_reviewed.  A kernel from 5.5 to 5.15 with io_uring fails: it
cannot audit io_uring at all.  The kernel's io_uring state is read live only: an offline image or
a snapshot written before lbaudit read it is not_reviewed unless its rules cover the operations.
A persistent io_uring rule is a line auditctl before 3.1 refuses (loading stops there), so a
rules.d holding one cannot pass the persistent scopes until lbaudit can tell the target's
auditctl version (read as 3.1 reads it, the problem named).

augenrules copies what it compiles from rules.d over /etc/audit/audit.rules and loads that file even
when the copy fails: an audit.rules made immutable or append-only (`chattr +i`, `+a`) is judged as
it stands.  The file `auditctl -R` loads at boot (the unit's, else /etc/audit/audit.rules, augenrules' output
where rules.d exists) is refused whole, none of its rules loaded, by auditctl up to 3.1.1 when it
is not owned by root and by auditctl up to 3.1.1 and from 4.2 when every user may write it; the
target's auditctl version is not known, so such a file leaves the persistent scopes not_reviewed
(the owner judged live only: an image's owners may be whoever unpacked it; augenrules sets mode
0640 on audit.rules only when what it compiles differs from what the file holds).

"audit enabled" also fails when the kernel drops records (auditctl -s or netlink AUDIT_GET):
`lost` above 0 (records lost since boot, or since `auditctl --reset-lost`: a full backlog, the
rate limit, or no daemon to take them; the number is in the finding), a `backlog_limit` below
`min_backlog_limit` (default 8192, as CIS asks; the kernel's default of 64 loses a burst), and
`failure` 0 (silent: a lost record is not even reported).  A snapshot without these values passes
with those words, as for the rate limit.

Live, "audit enabled" also requires audit=1 on the running kernel's command line (/proc/cmdline,
the last audit= before "--" decides, unless an earlier one turned auditing off, which no later one
undoes; each read as the running kernel reads it: before Linux 4.17 a number,
so audit=on is 0 there and turns auditing off; `require_boot_audit`): the kernel gives a process an audit
context only if auditing was ever on when it was forked, so without audit=1 every process started
before auditd turned auditing on, systemd (pid 1) among them, which binds the listeners of socket
units, is never audited (STIG RHEL-08-030601).  A snapshot without the command line passes with
those words; a collection that could not read /proc/cmdline (a gap) is not_reviewed.

On a host that boots with systemd (/run/systemd/system live, the systemd program in an image) the
persistent rules are the file those units load with `auditctl -R` when they run that instead of
`augenrules --load` (`ExecStartPost=-/sbin/auditctl -R /etc/audit/audit.rules`, the documented
alternative): rules.d is then never compiled (a loader run through a shell, two files, or a command
that touches the rules run besides the loader, such as a drop-in's added
`ExecStartPost=-/sbin/auditctl -D` or an `ExecStartPre=` of auditd.service, is not_reviewed; so is an
auditd.service the boot starts that loads no rules itself while audit-rules.service is not started,
or is started with its augenrules --load replaced).  The persistent rules count only if the boot loads them: auditd.service runs augenrules --load when it
starts (ExecStartPost in audit 3, Wants=audit-rules.service in audit 4) and audit-rules.service can
be enabled alone; a unit is started when linked from a .wants/.requires/.upholds directory or an
alias, or pulled in by a unit the boot starts, and not masked (recorded as `boot_units`).  When
neither starts, the persistent scope fails; a disabled, masked or absent auditd.service fails
"audit records written" (no daemon after the next boot).  Other init systems are not read.

The "audit records written" finding judges what receives the records.  /etc/audit/auditd.conf is
read as auditd 3.x reads it: split at single spaces (a tab is part of a word), a last line without
a newline skipped, keywords and words case-insensitive, the last setting wins; `write_logs = no`
(or the deprecated `log_format = NOLOG`) writes no log, `local_events = no` takes no record of this
kernel, and a line auditd refuses (no ` = `, an unknown keyword, a value its parser refuses, an
option where none is taken, an action word its parser refuses, a log_file that is not a regular
file; and the file itself as a symbolic link, writable by others or, live, not owned by root)
keeps auditd from starting: each fails.  Values of keywords that do not decide this are not
checked.  No auditd.conf is auditd's defaults; no auditd program (/usr/sbin/auditd, /sbin/auditd)
fails unless an audit daemon is registered, and neither directory readable is not_reviewed.  An
offline image with neither auditd nor auditd.conf that does not boot with systemd (a container
image) is not_applicable: what writes its records runs outside it.  Live, the kernel must have an
audit daemon registered (auditctl -s `pid`, or netlink AUDIT_GET): with pid 0 the kernel prints
the records to its own log, rate-limited, or drops them, so the finding fails (auditd in a pid
namespace the collector cannot see also shows as 0).  A pid is not a running daemon: the kernel
keeps the pid of a daemon that was killed (SIGKILL, a crash) until it next fails to send it a
record, so the collector looks the pid up in its own pid namespace, where the kernel numbers it
(kill(pid, 0), then /proc/PID/stat, comm and exe): no such process, a zombie, or a process stopped
(SIGSTOP, state T, or held by a debugger, t: it reads no record until continued) fails; a daemon
running with -c another directory (/proc/PID/cmdline: it read the auditd.conf there) is
not_reviewed; a process
whose executable (else its name) is none of auditd, go-audit, auditbeat, osqueryd (a reused pid, or
a daemon lbaudit does not know) is not_reviewed, and so is a pid that could not be looked up (a
/proc that is not lbaudit's pid namespace's, as in a container given the host's /proc) or a
snapshot of format 1.0 to 1.2, which does not record the process.  A live snapshot without the pid is
not_reviewed; an offline root is judged on auditd.conf, the auditd program and its boot units.
Actions after which auditd stops writing while the host runs on (max_log_file_action,
space_left_action, admin_space_left_action SUSPEND; disk_full_action, disk_error_action IGNORE,
SYSLOG, EMAIL, SUSPEND; auditd's defaults are IGNORE and SYSLOG) are listed in `lossy_actions` and
fail only with `refuse_lossy_log_actions: true` (AU-5 asks the organisation to choose them).  A host
that forwards records through a plugin with write_logs = no, or reads them with journald's audit
socket instead of auditd, waives the finding naming that, or sets `require_auditd: false`.

On Windows the check judges the advanced audit policy instead of auditd rules: the "Filtering
Platform Connection" subcategory ({0CCE9226-69AE-11D9-BED3-505054503030}, found by GUID, so the
display language does not matter) must audit success (Setting Value 1 or 3 in auditpol /backup),
which logs events 5156 (connection permitted) and 5158 (bind permitted).  On macOS, audit(4) must
be on: launchctl has com.apple.auditd loaded and `audit -c` exits 0 (auditing is enabled in the
kernel; launchd starts auditd on demand and auditd exits when idle with the kernel still auditing,
so neither "loaded" nor a running auditd says it; a capture without `audit -c`, from an older
script, is not_reviewed), and both the flags and the naflags line of
/etc/security/audit_control must audit the network class nt (the kernel preselects the events of
processes no login is attributed to, every daemon launchd starts, with naflags alone; a missing
naflags line leaves that mask empty).  A line is read as libbsm reads it, class after class: a
`^` class takes away what the classes before it added, so `^nt,nt` audits the network class and
`nt,^nt` does not; a class name the shipped audit_class(5) lacks (a typo, `NT`, or a class the
host's own audit_class adds, which the capture does not read) is not_reviewed.  A login session
gets the flags mask plus the `always` and minus the `never` classes of its user's entry in
/etc/security/audit_user (read as libbsm walks it, which stops at the first line it cannot
read): an entry whose never classes take nt away fails, naming the user.  Without audit_control, or with auditd not loaded (the default since
macOS 14), it fails with that reason.  syscalls, arches and the loaded/persistent split are Linux
notions and are not used there.  Hosts whose sockets an EDR logs instead waive the failure, naming
the EDR in the waiver's reason.
Since 1.15.0 the persistent scopes are not_reviewed where the boot may load other rules than rules.d
says or none: a command beside augenrules --load in the units that load the rules (an auditctl -D,
-e 0 or -R, a shell), or no unit that loads them at all (audit 4's auditd.service without
audit-rules.service, an emptied ExecStartPost=, a replaced audit-rules.service ExecStart=).
Also since 1.15.0 an auditd.conf that is a symbolic link to nothing fails as any link does (auditd
opens it with O_NOFOLLOW and does not start), and in an image an /etc/default/auditd linked to nothing
leaves the persistent rules not_reviewed.
Since 1.16.0 an image in which nothing applies sysctl.d at boot (no systemd-sysctl, and no procps
sysctl run by an init script under an init) has kernel.io_uring_disabled unknown at boot, so the
persistent io_uring finding is not_reviewed.
Since 1.17.0 a macOS audit_control or audit_user of more than 400,000 lines is not reviewed: read
for 40 s, such a file then passed the network audit class.
Since 1.18.0 the remediation has a part for each platform it judges (On Linux: / On Windows: / On
macOS:), and every report shows the part of the platform its evidence records; the judging is unchanged.
Also since 1.18.0, in an image, auditd.service is read as systemd reads it (a UTF-8 byte-order mark, escaped backslashes and a
backslash before a space, a continuation left open at the end, form feeds before a section, and
.include on systemd before 246).
Since 1.19.0 the persistent rules are read as augenrules and auditctl -R read them: a rules file
auditctl refuses for its mode (world-writable; not owned by root, on a live host), an audit.rules
that is a directory beside rules.d, CRLF line ends (as the target's augenrules strips them, else
not_reviewed where the readings differ), an immutable or append-only audit.rules (judged as it
stands), rules.d names with glob characters, and boot units whose loader command loads nothing
(auditctl -R with other arguments, augenrules other than --load) are each not_reviewed or judged
as the boot loads them.  Loading stays near-linear in the number of rules (bounded, else not
reviewed).  An image not booted yet counts auditd.service as its first boot's presets enable it.
""",
)
def audit_socket_logging(snapshot: HostSnapshot, params: SocketLoggingParams) -> list[Outcome]:
    if snapshot.provenance.platform == "windows":
        return _windows_outcomes(snapshot)
    if snapshot.provenance.platform == "macos":
        return _macos_outcomes(snapshot, params)
    audit = snapshot.facts.audit
    outcomes: list[Outcome] = []
    for scope, field, label in SCOPES:
        for arch in params.arches:
            subject = f"{label} {arch}"
            if not getattr(params, f"require_{scope}"):
                outcomes.append(not_applicable(subject, f"not required by the policy (require_{scope}: false)"))
                continue
            rules = getattr(audit, field)
            if field == "persistent_rules" and audit.config_dir_exists is False:
                outcomes.append(_no_config_dir_outcome(subject, arch, params))
                continue
            if rules is None:
                outcomes.append(missing_fact(snapshot, "audit", field, subject, f"the {label}"))
                continue
            outcomes.append(_scope_outcome(snapshot, rules, field, subject, arch, params))
        if getattr(params, f"require_{scope}"):
            outcomes += _arches_left_out(snapshot, label, params)
        if params.require_io_uring and uring_ops(params.judged_syscalls()):
            outcomes.append(_uring_scope(snapshot, scope, field, label, params))
    outcomes.append(_enabled_outcome(snapshot, params))
    outcomes.append(_auditd_outcome(snapshot, params))
    return outcomes
