"""Audit facts: loaded rules and enabled state (``auditctl``), persistent rules (files under a root).

Live, ``auditctl -s`` and ``auditctl -l`` run through :func:`run_command`; each failure (not root,
tool absent, timeout, no kernel audit support) is a Gap with the reason.  The persistent rules are
what the next boot loads: the augenrules compilation of ``/etc/audit/rules.d/*.rules`` when that
directory exists (auditd's start runs ``augenrules --load``, which rewrites audit.rules from it
even when it holds no ``*.rules`` file), else ``/etc/audit/audit.rules``.  They are read through :mod:`rootfs`, so the
same code serves an offline root directory, where the runtime state is not applicable.
A line the parser refuses is recorded as a Gap under ``<field>/problems``; the rules are kept.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from auditor.collect import CollectContext, rootfs
from auditor.collect.commands import run_command
from auditor.collect.parsers import audit_rules
from auditor.errors import Problem
from auditor.model.facts import AuditFacts, AuditRule, Gap, GapKind

RULES_D = "/etc/audit/rules.d"
AUDIT_RULES = "/etc/audit/audit.rules"
SOURCE_RULES_D = f"{RULES_D} (augenrules)"
SOURCE_AUDIT_RULES = AUDIT_RULES
OFFLINE_REASON = "runtime audit state is not visible in an offline root directory"


# ELF e_machine -> uname -m, for the machines libaudit has syscall tables for; (machine, 64-bit,
# little-endian) where the word size or byte order tells two apart.
ELF_MACHINES = {
    (3, False, True): "i686", (62, True, True): "x86_64", (183, True, True): "aarch64", (40, False, True): "armv7l",
    (21, True, False): "ppc64", (21, True, True): "ppc64le", (20, False, False): "ppc",
    (22, True, False): "s390x", (22, False, False): "s390",
}
# The program that loads the rules at boot tells the image's machine; a shell is the fallback.
MACHINE_WITNESSES = ("/usr/sbin/auditctl", "/sbin/auditctl", "/bin/sh")


def _machine(ctx: CollectContext) -> str | None:
    """``uname -m`` of the host whose rules these are: auditctl looks -S names up in its syscall
    table and reads ``-F arch=b32`` by it.  Live, the host's; for an offline root directory, the
    machine the image's auditctl (or shell) is built for; None when neither is readable."""
    if ctx.live:
        return os.uname().machine
    for path in MACHINE_WITNESSES:
        try:
            fd = os.open(rootfs.resolve(ctx.root, path), os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            header = os.read(fd, 20)
        except OSError:
            continue
        finally:
            os.close(fd)
        if len(header) == 20 and header[:4] == b"\x7fELF" and header[4] in (1, 2) and header[5] in (1, 2):
            little = header[5] == 1
            number = int.from_bytes(header[18:20], "little" if little else "big")
            return ELF_MACHINES.get((number, header[4] == 2, little))
    return None


# augenrules runs "awk" from the PATH systemd gives auditd.service; these directories, in order.
AWK_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def _awk(ctx: CollectContext) -> str | None:
    """Which awk augenrules runs on the target: "gawk" or "mawk" (they read its patterns
    differently), from the program the first ``awk`` on the PATH resolves to; None when it is
    neither or cannot be found."""
    for directory in AWK_PATH:
        try:
            real = rootfs.resolve(ctx.root, f"{directory}/awk")
        except OSError:
            return None
        if real.is_file():
            # rootfs.resolve leaves paths of the live root as they are; there the kernel may follow links
            name = os.path.basename(os.path.realpath(real)) if Path(ctx.root).resolve() == Path("/") else real.name
            return "gawk" if name.startswith("gawk") else "mawk" if name.startswith("mawk") else None
    return None


def _gap(field: str, reason: str, kind: GapKind = GapKind.UNREADABLE) -> Gap:
    return Gap(section="audit", field=field, reason=reason, kind=kind)


def _problem_gaps(field: str, problems: list[Problem]) -> list[Gap]:
    return [_gap(f"{field}/problems", str(p)) for p in problems]


def _enabled(ctx: CollectContext) -> tuple[int | None, list[Gap]]:
    result = run_command(["auditctl", "-s"], ctx.command_timeout)
    if not result.ok:
        return None, [_gap("enabled", result.reason)]
    status, problems = audit_rules.parse_auditctl_status(result.stdout)
    enabled = audit_rules.enabled_from_status(status)
    if enabled is None:
        found = status.get("enabled")
        reason = ("auditctl -s: no 'enabled' value in its output" if found is None
                  else f"auditctl -s: unexpected enabled value {found!r}")
        return None, [_gap("enabled", reason)] + _problem_gaps("enabled", problems)
    return enabled, []


def _loaded(ctx: CollectContext) -> tuple[list[AuditRule] | None, list[Gap]]:
    result = run_command(["auditctl", "-l"], ctx.command_timeout)
    if not result.ok:
        return None, [_gap("loaded_rules", result.reason)]
    parsed = audit_rules.parse_auditctl_list(result.stdout, _machine(ctx))
    return parsed.rules, _problem_gaps("loaded_rules", parsed.problems)


def _persistent(ctx: CollectContext) -> tuple[list[AuditRule] | None, str | None, list[Gap]]:
    try:
        names = audit_rules.augenrules_files(rootfs.list_dir(ctx.root, RULES_D))
    except (FileNotFoundError, NotADirectoryError):
        names = None  # augenrules: "No rules directory", and the boot loads audit.rules as it is
    except OSError as exc:
        return None, None, [_gap("persistent_rules", f"{RULES_D}: {rootfs.describe_os_error(exc)}")]

    if names is not None:
        # With the directory present, augenrules --load (run when auditd starts) rewrites
        # audit.rules from it, even from no files at all; so rules.d is what the boot loads.
        files: list[tuple[str, str]] = []
        for name in names:
            path = f"{RULES_D}/{name}"
            try:
                files.append((path, rootfs.read_text(ctx.root, path)))
            except IsADirectoryError:
                continue  # augenrules cats it, cat fails, and the rest is still loaded
            except OSError as exc:
                return None, SOURCE_RULES_D, [_gap("persistent_rules", f"{path}: {rootfs.describe_os_error(exc)}")]
        parsed = audit_rules.parse_rules_d(files, _machine(ctx), _awk(ctx))
        return parsed.rules, SOURCE_RULES_D, _problem_gaps("persistent_rules", parsed.problems)

    try:
        text = rootfs.read_text(ctx.root, AUDIT_RULES)
    except OSError as exc:
        reason = rootfs.describe_os_error(exc)
        return None, None, [_gap("persistent_rules", f"{AUDIT_RULES}: {reason} (and there is no {RULES_D})")]
    parsed = audit_rules.parse_rules_text(text, AUDIT_RULES, _machine(ctx))
    return parsed.rules, SOURCE_AUDIT_RULES, _problem_gaps("persistent_rules", parsed.problems)


def collect_audit(ctx: CollectContext) -> tuple[AuditFacts | None, list[Gap]]:
    """Audit facts of ``ctx``; never raises for what it cannot read (each such thing is a Gap)."""
    gaps: list[Gap] = []
    if ctx.live:
        enabled, found = _enabled(ctx)
        gaps += found
        loaded, found = _loaded(ctx)
        gaps += found
    else:
        enabled, loaded = None, None
        gaps += [_gap(f, OFFLINE_REASON, GapKind.NOT_APPLICABLE) for f in ("enabled", "loaded_rules")]
    persistent, source, found = _persistent(ctx)
    gaps += found
    facts = AuditFacts(enabled=enabled, loaded_rules=loaded, persistent_rules=persistent, persistent_source=source,
                       machine=_machine(ctx))
    return facts, gaps
