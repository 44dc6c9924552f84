"""``drift.audit_rules``: audit rules loaded in the kernel against the rules the next boot loads.

A rule added with ``auditctl`` and never written to /etc/audit/rules.d is lost at the next reboot;
a rule written there but not loaded (augenrules --load not run, or the rules locked with ``-e 2``)
is not in effect now.  Each such rule is one failing finding.  Rules are compared on what they mean
(list, action, arch, syscalls, filters, keys, watch and permissions), not on how they are written,
because ``auditctl -l`` prints rules in its own form.
"""

from __future__ import annotations

from bisect import bisect_left

from auditor.checks._audit_coverage import last_control
from auditor.checks._drift import missing_side
from auditor.domain.audit_statement import semantic_key
from auditor.domain.kernel_cmdline import KERNEL_CMDLINE
from auditor.model.check import CheckParams, Outcome, check, failed, not_reviewed, passed
from auditor.model.facts import AuditFacts, AuditRule, HostSnapshot
from auditor.model.result import Severity


class DriftAuditRulesParams(CheckParams):
    pass


def _unique(rules: list[AuditRule]) -> dict[tuple, tuple[int, AuditRule]]:
    """Rules by meaning (first occurrence), with their index for the evidence pointer.  Control
    statements (-D, -b, -f, -e) are not rules the kernel lists, so they are not compared."""
    found: dict[tuple, tuple[int, AuditRule]] = {}
    for index, rule in enumerate(rules):
        if rule.kind != "control":
            found.setdefault(semantic_key(rule), (index, rule))
    return found


# Lists on which the first rule that matches decides (audit_filter_syscall for exit,
# audit_filter_task, audit_filter for user, audit_filter_uring): there an always and a never rule
# that can match the same call mean something else in the other order.  On the exclude list every
# match drops the record, and the filesystem list honours only never rules: order is moot there.
_FIRST_MATCH_LISTS = ("exit", "task", "user", "io_uring")


def _may_overlap(first: AuditRule, second: AuditRule) -> bool:
    """Could one call (or event) match both rules?  Judged on what tells them apart for certain:
    two different -F arch, or syscall bitmasks without a common number; anything else may overlap."""
    if first.arch is not None and second.arch is not None and first.arch != second.arch:
        return False
    if first.kind != "syscall" or second.kind != "syscall" or not first.syscalls or not second.syscalls:
        return True
    if "all" in first.syscalls or "all" in second.syscalls:
        return True
    if first.syscall_numbers is not None and second.syscall_numbers is not None:
        return bool(set(first.syscall_numbers) & set(second.syscall_numbers))  # the kernel's mask holds numbers
    return bool(set(first.syscalls) & set(second.syscalls)) or first.syscall_table != second.syscall_table


def _order_outcomes(audit_loaded: list[AuditRule], audit_persistent: list[AuditRule]) -> list[Outcome]:
    """A failing finding for each always/never pair that the kernel holds in one order and the next
    boot loads in the other, on a list where the first match decides."""
    outcomes: list[Outcome] = []
    for rule_list in _FIRST_MATCH_LISTS:
        loaded = {k: v for k, v in _unique(audit_loaded).items() if v[1].rule_list == rule_list}
        persistent = {k: v for k, v in _unique(audit_persistent).items() if v[1].rule_list == rule_list}
        common = sorted(set(loaded) & set(persistent), key=lambda k: persistent[k][0])
        # The rules after each one at boot that the kernel holds before it, with another action, are
        # found by bisection in the kernel's order of the later rules of each action: asking every
        # later rule was quadratic (10,000 rules loaded in the order of the boot's took 40 s to find
        # no pair).  Each (kernel position, boot position), sorted; a rule leaves its list when it is
        # the earlier one, so what is left is after it at boot.
        later_by_action: dict[str | None, list[tuple[int, int]]] = {}
        for at, key in enumerate(common):
            later_by_action.setdefault(persistent[key][1].action, []).append((loaded[key][0], at))
        for held in later_by_action.values():
            held.sort()
        for i, earlier in enumerate(common):  # earlier at boot
            boot_first, now_at = persistent[earlier][1], loaded[earlier][0]
            own = later_by_action[boot_first.action]
            del own[bisect_left(own, (now_at, i))]
            held_before = sorted(at for action, held in later_by_action.items() if action != boot_first.action
                                 for _now, at in held[:bisect_left(held, (now_at, -1))])
            for later in (common[at] for at in held_before):
                boot_second = persistent[later][1]
                if not _may_overlap(boot_first, boot_second):
                    continue
                now_first, now_second = loaded[later][1], loaded[earlier][1]
                effect = ("recorded now are dropped after the next boot" if boot_first.action == "never"
                          else "dropped now are recorded after the next boot")
                outcomes.append(failed(
                    f"audit rule order ({rule_list} list): {now_first.text} / {now_second.text}",
                    f"loaded in the order {now_first.text} ({now_first.origin}) then {now_second.text} "
                    f"({now_second.origin}), but the next boot loads {boot_first.text} ({boot_first.origin}) first: "
                    f"on the {rule_list} list the first matching rule decides, so events both match that are "
                    f"{effect}",
                    observed={"loaded_order": [now_first.text, now_second.text]},
                    expected={"persistent_order": [boot_first.text, boot_second.text]},
                    evidence=[f"/facts/audit/loaded_rules/{loaded[later][0]}",
                              f"/facts/audit/loaded_rules/{loaded[earlier][0]}",
                              f"/facts/audit/persistent_rules/{persistent[earlier][0]}",
                              f"/facts/audit/persistent_rules/{persistent[later][0]}"],
                ))
    return outcomes


# Kernel settings the control statements set (-e, -r, -b, -f, --backlog_wait_time,
# --loginuid-immutable) that the loaded side holds (auditctl -s, or AUDIT_GET and AUDIT_GET_FEATURE):
# the boot's last statement of each is what the kernel has after the rules load.
_CONTROL_SETTINGS = {"enabled": ("-e", "enabled"), "rate_limit": ("-r", "rate_limit"),
                     "backlog_limit": ("-b", "backlog_limit"), "failure": ("-f", "failure"),
                     "backlog_wait_time": ("--backlog_wait_time", "backlog_wait_time"),
                     "loginuid_immutable": ("--loginuid-immutable", "loginuid_immutable")}
_MEANING = {"enabled": {0: "auditing off", 1: "auditing on", 2: "auditing on and locked"},
            "failure": {0: "silent", 1: "printk", 2: "panic"},
            "loginuid_immutable": {0: "a process may change its loginuid", 1: "loginuid immutable"}}


# What the kernel holds after a boot whose rules do not set it (kernel/audit.c: audit_rate_limit 0,
# audit_failure AUDIT_FAIL_PRINTK, audit_backlog_limit 64 unless audit_backlog_limit= is on the
# command line; the loginuid_immutable feature off).  Not -e (auditd's -s decides what the boot
# leaves) nor --backlog_wait_time (60 * HZ jiffies: it depends on the kernel's HZ).
_KERNEL_DEFAULTS = {"rate_limit": 0, "failure": 1, "backlog_limit": 64, "loginuid_immutable": 0}


def _said(setting: str, number: int) -> str:
    meaning = _MEANING.get(setting, {}).get(number)
    return f"{number} ({meaning})" if meaning else str(number)


def _control_outcomes(audit: AuditFacts, persistent: list[AuditRule], source: str) -> list[Outcome]:
    """One finding per kernel setting a control statement of the persistent rules sets: the value the
    boot leaves (its last such statement) against the value the kernel holds now.  ``-e 0`` in
    rules.d on a host running with auditing on was no drift before, nor a ``-e 2`` never loaded."""
    outcomes: list[Outcome] = []
    for name, (flag, attribute) in _CONTROL_SETTINGS.items():
        last = last_control(persistent, name)
        subject = f"audit control {flag} ({name})"
        if last is None and name == "backlog_limit" and audit.boot_backlog_limit is not None:
            # no -b in the rules: the kernel keeps what its command line set at boot
            value = str(audit.boot_backlog_limit)
            rule = AuditRule(text=f"audit_backlog_limit={value}", origin=KERNEL_CMDLINE, kind="control")
            evidence = ["/facts/audit/boot_backlog_limit", f"/facts/audit/{attribute}"]
        elif last is None:
            outcomes += _default_drift(audit, name, flag, attribute, source)
            continue
        else:
            index, rule, value = last
            evidence = [f"/facts/audit/persistent_rules/{index}", f"/facts/audit/{attribute}"]
        running = getattr(audit, attribute)
        if running is None:
            outcomes.append(not_reviewed(subject, f"{rule.text} ({rule.origin}) sets {name}, but the value the "
                                                  "kernel holds now was not collected", evidence=evidence))
            continue
        if not (value.isascii() and value.isdigit() and len(value) <= 10):
            outcomes.append(not_reviewed(subject, f"{rule.text} ({rule.origin}): {value!r} is not a number",
                                         evidence=evidence))
            continue
        configured = int(value)
        common = dict(observed={name: running}, expected={name: configured, "origin": rule.origin, "source": source},
                      evidence=evidence)
        if running == configured:
            outcomes.append(passed(subject, f"the kernel holds {name} {_said(name, running)}, as {rule.text} at "
                                            f"{rule.origin} sets it", **common))
        else:
            setter = ("the rules the next boot loads set" if rule.origin != KERNEL_CMDLINE
                      else "the kernel command line sets at boot (and no -b in the rules replaces)")
            outcomes.append(failed(subject, f"the kernel holds {name} {_said(name, running)}, but {setter} "
                                            f"{_said(name, configured)} ({rule.text} at {rule.origin})", **common))
    return outcomes


def _default_drift(audit: AuditFacts, name: str, flag: str, attribute: str, source: str) -> list[Outcome]:
    """A failing finding when the kernel holds another value than its own default, which a boot whose
    rules set no such statement leaves; none when they agree or the value is not known (nothing the
    rules configure to compare)."""
    default = _KERNEL_DEFAULTS.get(name)
    running = getattr(audit, attribute)
    if default is None or running is None or running == default:
        return []
    cmdline = ""
    if name == "backlog_limit":
        if audit.boot_audit is None:  # the command line was not read: its audit_backlog_limit= is not known
            return []
        cmdline = " (nor does audit_backlog_limit= on the kernel command line)"
    return [failed(f"audit control {flag} ({name})",
                   f"the kernel holds {name} {_said(name, running)}, but the rules the next boot loads set no "
                   f"{flag}{cmdline}, so the boot leaves the kernel's default {_said(name, default)}",
                   observed={name: running}, expected={name: default, "origin": "the kernel's default", "source": source},
                   evidence=[f"/facts/audit/{attribute}", "/facts/audit/persistent_rules"])]


@check(
    name="drift.audit_rules",
    title="Loaded audit rules match the rules the next boot loads",
    version="1.9.0",
    needs=["audit"],
    params=DriftAuditRulesParams,
    severity=Severity.MEDIUM,
    controls=["CM-6", "CM-2", "CM-3", "AU-12"],
    rationale="""
The persistent audit rules are the configured baseline (CM-2, CM-6).  A rule loaded but not
persisted was added outside that baseline and disappears at the next reboot, so the audit records
it produces today stop without anyone deciding so; a rule persisted but not loaded means the events
the baseline says are audited are not being recorded now (AU-12).  Both are changes made or left
outside configuration change control (CM-3).
""",
    remediation="""
For a rule that is loaded but not persisted: add it to a file in /etc/audit/rules.d/ (or remove it
with auditctl -d if it was a temporary change).  For a rule that is persisted but not loaded: run
`augenrules --load` (or `auditctl -R /etc/audit/audit.rules`); if the rules are locked (`-e 2`),
this takes a reboot.  Then collect again.
""",
    notes="""
Persistent rules are what the boot loads: the augenrules compilation of /etc/audit/rules.d/*.rules
when that directory exists, else /etc/audit/audit.rules, read as auditctl -R reads them (a rule
after a line auditctl refuses is not persistent).  Loaded rules come from `auditctl -l`.
Rules are compared as a set on their meaning: `-S a -S b` equals `-S b,a` and the syscall numbers
(`-S 49` is `-S bind` on x86_64), `-k x` equals `-F key=x`, `auid!=4294967295` equals `auid!=-1`,
`auid=4000000000` equals the `auid=-294967296` auditctl -l prints, and `-w path -p wa` equals its
`-F path= -F perm=` form.  Order
is compared where it decides: on the exit, task, user and io_uring lists the first matching rule
decides, so an always and a never rule that may match the same call (same or no -F arch, a common
syscall) held in one order now and loaded in the other at boot is a failing finding of its own;
the order of two always rules (or two never rules), and of rules that can never match the same
call, is not drift.  Of the control statements, the last `-e` (enabled: 0, 1, 2 locked), `-r`
(rate limit), `-b` (backlog limit), `-f` (failure: 0 silent, 1 printk, 2 panic) and
`--backlog_wait_time` (jiffies a process waits for room in a full queue) the boot loads are
compared with the values the kernel holds (auditctl -s or netlink), one finding each, not reviewed
when the kernel's value was not collected (a snapshot from before lbaudit read it, or a kernel
without it); a statement after `-e 2` is refused by the locked kernel and sets nothing.  So is
`--loginuid-immutable` (the kernel's loginuid_immutable feature, auditctl -s or AUDIT_GET_FEATURE);
`-D` is not compared.  Where the rules set no `-b`, the kernel keeps the `audit_backlog_limit=` of
its command line (/proc/cmdline), which is then the value compared.  Where the rules set no `-r`,
`-f`, `-b` (nor the command line `audit_backlog_limit=`) or `--loginuid-immutable`, the boot leaves
the kernel's default (rate limit 0, failure 1, backlog limit 64, loginuid mutable), and a kernel
holding another value (set by hand with auditctl) is a failing finding; the same value is none.  Needs a live host (or a snapshot of one); an offline root directory has no loaded rules
(not_applicable).  Lines the parser could not read make an extra not_reviewed finding, because a
rule missing from one side may then be reported as drift.
Without auditctl the loaded rules are read over netlink, with syscall numbers where auditctl -l
prints names.  With no /etc/audit at all the persistent rules are none.
Since 1.7.0 a setting rules.d leaves unset (-r, -f, -b, --loginuid-immutable) is compared with
what the next boot leaves, the kernel's default (rate 0, failure 1, backlog 64 or the command line's
audit_backlog_limit, loginuid mutable): a running auditctl -r 5 set by hand is drift.
Since 1.8.0 auditd.service's unit is read as systemd reads it (a UTF-8 byte-order mark, escaped
backslashes, a continuation left open at the end, form feeds before a section, .include on systemd
before 246).
Since 1.9.0 the persistent rules are read as augenrules and auditctl -R read them (file modes
auditctl refuses, CRLF line ends, an immutable audit.rules, glob characters in rules.d names,
loader commands that load nothing), as audit.socket_logging reads them.
""",
)
def drift_audit_rules(snapshot: HostSnapshot, params: DriftAuditRulesParams) -> list[Outcome]:
    audit = snapshot.facts.audit
    assert audit is not None  # the engine checks ``needs``
    if audit.loaded_rules is None:
        return [missing_side(snapshot, "audit", "loaded_rules", "loaded audit rules", "loaded audit rules")]
    if audit.persistent_rules is None:
        return [missing_side(snapshot, "audit", "persistent_rules", "persistent audit rules", "persistent audit rules")]

    loaded = _unique(audit.loaded_rules)
    persistent = _unique(audit.persistent_rules)
    source = audit.persistent_source or (
        "/etc/audit (which does not exist)" if audit.config_dir_exists is False else "the persistent rule files")
    outcomes: list[Outcome] = []
    for key, (index, rule) in sorted(loaded.items(), key=lambda item: item[1][1].text):
        if key not in persistent:
            outcomes.append(failed(
                f"audit rule {rule.text}",
                f"loaded ({rule.origin}) but not in {source}: lost at the next reboot",
                observed={"loaded": rule.text, "origin": rule.origin},
                expected={"persistent": None, "source": source},
                evidence=[f"/facts/audit/loaded_rules/{index}"],
            ))
    for key, (index, rule) in sorted(persistent.items(), key=lambda item: item[1][1].text):
        if key not in loaded:
            outcomes.append(failed(
                f"audit rule {rule.text}",
                f"persisted at {rule.origin} but not loaded: not in effect until the rules are reloaded or the host reboots",
                observed={"loaded": None},
                expected={"persistent": rule.text, "origin": rule.origin},
                evidence=[f"/facts/audit/persistent_rules/{index}"],
            ))
    outcomes += _order_outcomes(audit.loaded_rules, audit.persistent_rules)
    outcomes += _control_outcomes(audit, audit.persistent_rules, source)
    matching = len(set(loaded) & set(persistent))
    if matching or not outcomes:
        outcomes.insert(0, passed(
            "audit rules",
            f"{matching} loaded rules match the persistent rules of {source}" if matching
            else f"no audit rules are loaded and none are persisted in {source}",
            observed={"loaded": len(loaded), "persistent": len(persistent), "matching": matching},
            evidence=["/facts/audit/loaded_rules", "/facts/audit/persistent_rules"],
        ))
    problems = sorted({g.reason for field in ("loaded_rules", "persistent_rules")
                       for g in snapshot.gaps_for("audit", field) if len(g.path) > 1 and g.path[-1] == "problems"})
    if problems:
        outcomes.append(not_reviewed(
            "audit rules (unparsed lines)",
            "some rule lines could not be read, so a rule may be missing from one side: " + "; ".join(problems),
            evidence=["/gaps"],
        ))
    return outcomes
