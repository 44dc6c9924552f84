"""Audit facts: loaded rules and enabled state (``auditctl``, or netlink), persistent rules (files under a root).

Live, ``auditctl -s`` and ``auditctl -l`` run through the target (:mod:`auditor.collect.targets`) when auditctl is
installed; without it the same two questions go to the kernel over netlink (AUDIT_GET,
AUDIT_LIST_RULES, :mod:`auditor.collect.audit_netlink`), and ``runtime_source`` says which of the
two answered.  Each failure (not root, timeout, no kernel audit support) is a Gap with the reason.
A loaded rule read over netlink that auditctl's syntax cannot carry faithfully is a Gap under
``loaded_rules/problems``, like a line of ``auditctl -l`` the parser refuses.

The persistent rules are what the next boot loads: the augenrules compilation of
``/etc/audit/rules.d/*.rules`` when that directory exists (auditd's start runs ``augenrules
--load``, which rewrites audit.rules from it even when it holds no ``*.rules`` file), else
``/etc/audit/audit.rules``; or, where the boot's systemd units load a file with ``auditctl -R``
instead of running augenrules (:data:`RULE_LOADERS`), that file; without systemd, Debian's init
script loads audit.rules as it stands when /etc/default/auditd sets USE_AUGENRULES=no.  They are read through :mod:`rootfs`, so the same code serves an
offline root directory, where the runtime state is not applicable.  A line the parser refuses is
recorded as a Gap under ``<field>/problems``; the rules are kept.  A host without ``/etc/audit``
at all has no persistent rules: ``config_dir_exists`` is False and the persistent rules are empty,
which is seen, not a Gap.  An /etc/audit that exists but cannot be read, or that is a symbolic link
to nothing (in an image, perhaps a mount that is not there), stays a Gap.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from pathlib import Path

from auditor.collect import CollectContext, audit_netlink, rootfs, systemd_sockets
from auditor.collect.fdtables import read_table
from auditor.collect.procview import unlisted_processes
from auditor.collect.sysctl import image_boot_cmdlines, read_boot_sysctls
from auditor.collect.x32 import collect_x32
from auditor.domain import audit_rules, auditd_conf
from auditor.domain.kernel_cmdline import kernel_parameters
from auditor.domain.sysctl import IO_URING_DISABLED as IO_URING_SYSCTL
from auditor.domain.sysctl import configured_setting
from auditor.errors import Problem
from auditor.model.facts import (
    IMAGE_BOOT_AUDIT_GAP,
    AuditDaemonProcess,
    AuditdConfig,
    AuditFacts,
    AuditRule,
    Gap,
    GapKind,
    IoUringBoot,
    IoUringHolder,
    IoUringState,
)
from auditor.patterns import first_use
from auditor.safeio import NotRegularFile, read_regular

CONFIG_DIR = "/etc/audit"
RULES_D = "/etc/audit/rules.d"
AUDIT_RULES = "/etc/audit/audit.rules"
AUDITD_CONF = "/etc/audit/auditd.conf"
SOURCE_RULES_D = f"{RULES_D} (augenrules)"
SOURCE_AUDIT_RULES = AUDIT_RULES
OFFLINE_REASON = "runtime audit state is not visible in an offline root directory"
RUNTIME_AUDITCTL = "auditctl"
RUNTIME_NETLINK = "netlink"
NETLINK_LIST = audit_netlink.REQUEST_NAMES[audit_netlink.AUDIT_LIST_RULES]
NETLINK_STATUS = audit_netlink.REQUEST_NAMES[audit_netlink.AUDIT_GET]


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
    if ctx.target.runtime:
        return ctx.target.uname()[1]
    for path in MACHINE_WITNESSES:
        try:
            header = rootfs.read_head(ctx.root, path, 20)
        except OSError:
            continue
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
            real = ctx.target.resolve(f"{directory}/awk")
        except OSError:
            return None
        if real.is_file():
            # rootfs.resolve leaves paths of the live root as they are; there the kernel may follow links
            name = os.path.basename(os.path.realpath(real)) if rootfs.real_root(ctx.root) == os.sep else real.name
            return "gawk" if name.startswith("gawk") else "mawk" if name.startswith("mawk") else None
    return None


def _gap(field: str, reason: str, kind: GapKind = GapKind.UNREADABLE) -> Gap:
    return Gap(section="audit", path=(field,), reason=reason, kind=kind)


def _problem_gaps(field: str, problems: list[Problem]) -> list[Gap]:
    return [Gap(section="audit", path=(field, "problems"), reason=str(p)) for p in problems]


Status = tuple[int | None, int | None, int | None, list[Gap]]  # enabled, rate limit, auditd pid, gaps
# what the kernel does with records it cannot queue: lost, backlog_limit, failure, backlog_wait_time
# (auditctl -s, AUDIT_GET), and the loginuid_immutable feature (auditctl -s, AUDIT_GET_FEATURE)
LOSS_FIELDS = ("lost", "backlog_limit", "failure", "backlog_wait_time", "loginuid_immutable")
_ZERO_OR_ONE = {"failure": (0, 1, 2), "loginuid_immutable": (0, 1)}


def _loss(status: dict) -> dict[str, int | None]:
    """lost, backlog_limit, failure and backlog_wait_time of a status (auditctl -s text values, or
    netlink numbers); None for one the status does not hold (a kernel before 3.14 has no wait time)."""
    found: dict[str, int | None] = {}
    for name in LOSS_FIELDS:
        value = status.get(name)
        if isinstance(value, str):
            value = audit_rules.number_from_status(status, name)
        found[name] = value if value is None or name not in _ZERO_OR_ONE or value in _ZERO_OR_ONE[name] else None
    return found


def _enabled(ctx: CollectContext, loss: dict[str, int | None]) -> Status:
    """(enabled, rate limit, auditd pid, gaps) from ``auditctl -s``; fills ``loss``."""
    result = ctx.target.run(["auditctl", "-s"], ctx.command_timeout)
    if not result.ok:
        return None, None, None, [_gap("enabled", result.reason)]
    status, problems = audit_rules.parse_auditctl_status(result.stdout)
    loss.update(_loss(status))
    enabled = audit_rules.enabled_from_status(status)
    rate_limit = audit_rules.rate_limit_from_status(status)
    pid = audit_rules.pid_from_status(status)
    gaps = [] if pid is not None else [_gap("auditd_pid", "auditctl -s: no 'pid' value in its output")]
    if enabled is None:
        found = status.get("enabled")
        reason = ("auditctl -s: no 'enabled' value in its output" if found is None
                  else f"auditctl -s: unexpected enabled value {found!r}")
        return None, rate_limit, pid, [_gap("enabled", reason)] + _problem_gaps("enabled", problems) + gaps
    return enabled, rate_limit, pid, gaps


def _loaded(ctx: CollectContext) -> tuple[list[AuditRule] | None, list[Gap]]:
    result = ctx.target.run(["auditctl", "-l"], ctx.command_timeout)
    if not result.ok:
        return None, [_gap("loaded_rules", result.reason)]
    machine = _machine(ctx)
    parsed = audit_rules.parse_auditctl_list(result.stdout, machine)
    return parsed.rules, _problem_gaps("loaded_rules", parsed.problems + _listing_doubts(ctx, parsed.rules, machine))


def _listing_doubts(ctx: CollectContext, listed: list[AuditRule], machine: str | None) -> list[Problem]:
    """Rules whose ``auditctl -l`` lines cannot be trusted, found by asking the kernel for the same
    list over netlink: a key, exe, path or dir holding a line break (auditctl takes one) is printed
    as it is, so what follows the break reads as a rule the kernel does not hold (a phantom
    ``-a always,exit ... -S bind,connect`` after a rule for getpid); and a rule's arch or syscalls
    printed as another rule's (:func:`listing_disagreements`).  Reading the list needs what
    ``auditctl -l`` needs (CAP_AUDIT_CONTROL, the initial namespaces), so it fails only where
    auditctl -l would too; a failure is then not a problem of its own."""
    try:
        kernel_rules = audit_netlink.list_rules(ctx.command_timeout)
    except OSError:
        return []
    broken = [Problem(audit_rules.AUDITCTL_LIST, None, None,
                      f"the kernel's rule {number} ({NETLINK_LIST}) holds a line break in its {name} ({text!r}): "
                      "auditctl -l prints it over several lines, and the lines after the break read as rules the "
                      "kernel does not hold, so the listing cannot be read")
              for number, name, text in audit_netlink.line_broken_strings(kernel_rules)]
    return broken or listing_disagreements(listed, kernel_rules, machine)


def listing_disagreements(listed: list[AuditRule], kernel_rules: list[audit_netlink.KernelRule],
                          machine: str | None) -> list[Problem]:
    """Rules of ``auditctl -l`` (``listed``, in the order printed) whose arch or syscalls are not
    what the kernel holds (``kernel_rules``, the same list over netlink, in the same order).

    auditctl 3.0.9's print_arch() (src/auditctl-listing.c) prints the arch of any 64-bit ELF
    machine as ``b64`` and of any 32-bit one as ``b32``, and names the syscalls from that
    machine's table, so a rule for another machine (``-F arch=aarch64`` on x86_64, which the
    kernel holds and which matches no call there) reads as one of this host's ABI.  It also keeps
    that machine (``_audit_elf``, reset once for the whole listing) to name the syscalls of every
    later rule without ``-F arch``, so those names are another table's for the kernel's numbers.
    Its is_watch() does not look at the action, so a never rule for a path or directory with a perm
    field is printed as a watch (always).  A rule that auditctl's syntax cannot carry
    (:func:`audit_netlink.render_rule`: a string with white space, say) is printed all the same and
    cannot be compared: it is a disagreement too.
    With a different number of rules (a line break above, or a rule changed between the two reads)
    nothing is compared."""
    words = audit_netlink.ARCH_WORDS.get(machine or "")
    if words is None or len(listed) != len(kernel_rules):
        return []
    problems = []
    for number, (shown, kernel_rule) in enumerate(zip(listed, kernel_rules), start=1):
        foreign = [f.value for f in kernel_rule.fields if f.type == audit_netlink.AUDIT_ARCH and f.value not in words]
        if foreign:
            problems.append(Problem(audit_rules.AUDITCTL_LIST, number, None, (
                f"the kernel holds this rule for arch {foreign[0]:#x} ({NETLINK_LIST}), an ABI this {machine} host "
                "does not run (it matches no call here), but auditctl -l prints any 64-bit or 32-bit machine's arch "
                "as b64 or b32 and names the syscalls from that machine's table, so the listed rule reads as one "
                "of this host's own")))
            continue
        try:
            audit_netlink.render_rule(kernel_rule, machine)
        except audit_netlink.RenderError as exc:
            # auditctl -l printed it all the same, and a string printed as it is may spell more of a
            # rule: a key "k -S bind,connect" lists a rule for getpid as one for bind and connect too
            problems.append(Problem(audit_rules.AUDITCTL_LIST, number, None, (
                f"the kernel's rule {number} ({NETLINK_LIST}) cannot be shown faithfully in auditctl's syntax "
                f"({exc}), so its auditctl -l line cannot be read as the kernel holds it")))
            continue
        rendered, _ = loaded_from_kernel_rules([kernel_rule], machine)
        if not rendered:
            continue  # the grammar refuses the kernel's rule: nothing to compare the listed one with
        held = rendered[0]
        if (held.action, held.rule_list) != (shown.action, shown.rule_list):
            # is_watch() does not look at the action: a never rule for a path or dir with a perm
            # field and every syscall is printed as a watch, "-w /run -p w", always by definition
            problems.append(Problem(audit_rules.AUDITCTL_LIST, number, None, (
                f"auditctl -l lists this rule as {shown.action} on the {shown.rule_list} list, but the kernel holds "
                f"{held.text} ({NETLINK_LIST}): auditctl prints a never rule for a path or directory with a perm "
                "field as a watch, which is always")))
            continue
        if shown.kind != "syscall" or shown.rule_list != "exit":
            continue  # io_uring operations are named from their own table, other lists have no syscalls
        if (held.arch, _syscall_identity(held)) != (shown.arch, _syscall_identity(shown)):
            problems.append(Problem(audit_rules.AUDITCTL_LIST, number, None, (
                f"auditctl -l names this rule's syscalls {','.join(shown.syscalls)}, but the kernel holds "
                f"{','.join(held.syscalls)} ({NETLINK_LIST}): auditctl names the syscalls of a rule without -F arch "
                "from the table of the last arch it printed before it, so the listed rule is not the kernel's")))
    return problems


def _syscall_identity(rule: AuditRule) -> tuple:
    return tuple(rule.syscall_numbers) if rule.syscall_numbers is not None else tuple(rule.syscalls)


def _netlink_enabled(ctx: CollectContext, loss: dict[str, int | None]) -> Status:
    try:
        status = audit_netlink.get_status(ctx.command_timeout)
    except OSError as exc:
        return None, None, None, [_gap("enabled", f"{NETLINK_STATUS}: {audit_netlink.describe_error(exc)}")]
    try:
        status.update(audit_netlink.get_features(ctx.command_timeout))
    except OSError:
        pass  # a kernel before 3.13 has no features; the drift finding that needs one says it was not collected
    loss.update(_loss(status))
    enabled, rate_limit, pid = status["enabled"], status.get("rate_limit"), status.get("pid")
    gaps = [] if pid is not None else [_gap("auditd_pid", f"{NETLINK_STATUS}: the reply has no pid")]
    if enabled not in (0, 1, 2):
        return None, rate_limit, pid, [_gap("enabled", f"{NETLINK_STATUS}: unexpected enabled value {enabled}")] + gaps
    return enabled, rate_limit, pid, gaps


def loaded_from_kernel_rules(
    kernel_rules: list[audit_netlink.KernelRule], machine: str | None
) -> tuple[list[AuditRule], list[Problem]]:
    """Loaded rules read over netlink, each rendered as auditctl text and read by the rule grammar.
    A rule that cannot be rendered faithfully, or that the grammar refuses, is a problem and is
    left out (so its scope cannot pass on a guess)."""
    rules: list[AuditRule] = []
    problems: list[Problem] = []
    for number, kernel_rule in enumerate(kernel_rules, start=1):
        try:
            text = audit_netlink.render_rule(kernel_rule, machine)
        except audit_netlink.RenderError as exc:
            reason = f"rule left out, it cannot be shown as auditctl text: {exc}"
            problems.append(Problem(NETLINK_LIST, number, None, reason))
            continue
        origin = f"{NETLINK_LIST}:{number}"
        try:
            # listing=True: the values are the kernel's, read as auditctl reads its own listing
            statement = audit_rules.parse_statement(text, origin, machine, listing=True)
        except audit_rules.RuleError as exc:
            problems.append(Problem(NETLINK_LIST, number, None, f"{text!r}: {exc}"))
            continue
        if statement is None or statement.op != "add" or statement.rule.kind == "control":
            problems.append(Problem(NETLINK_LIST, number, None, f"not a listed rule: {text!r}"))
            continue
        for doubt in statement.doubts:
            problems.append(Problem(NETLINK_LIST, number, None, f"lbaudit cannot read this rule exactly: {doubt}"))
        rules.append(statement.rule)
    return rules, problems


def _netlink_loaded(ctx: CollectContext) -> tuple[list[AuditRule] | None, list[Gap]]:
    try:
        kernel_rules = audit_netlink.list_rules(ctx.command_timeout)
    except OSError as exc:
        return None, [_gap("loaded_rules", f"{NETLINK_LIST}: {audit_netlink.describe_error(exc)}")]
    rules, problems = loaded_from_kernel_rules(kernel_rules, ctx.target.uname()[1])
    return rules, _problem_gaps("loaded_rules", problems)


def _runtime(
    ctx: CollectContext, loss: dict[str, int | None]
) -> tuple[str, Status, list[AuditRule] | None, list[Gap]]:
    """Enabled state and loaded rules: from auditctl when it is installed, else over netlink."""
    if ctx.target.find_program("auditctl") is not None:
        source, read_enabled, read_loaded = RUNTIME_AUDITCTL, _enabled, _loaded
    else:
        source, read_enabled, read_loaded = RUNTIME_NETLINK, _netlink_enabled, _netlink_loaded
    status = read_enabled(ctx, loss)
    loaded, found = read_loaded(ctx)
    return source, status, loaded, found


IO_URING_DISABLED = "/proc/sys/kernel/io_uring_disabled"
IO_URING_GROUP = "/proc/sys/kernel/io_uring_group"
KALLSYMS = "/proc/kallsyms"
KALLSYMS_LIMIT = 256 * 1024 * 1024
# Functions io_uring's file operations point to, so the compiler always emits them: in the symbol
# table exactly when the kernel is built with io_uring (io_uring_setup's name is there either way,
# as the stub that returns ENOSYS).
IO_URING_SYMBOLS = (" io_uring_release", " io_uring_mmap", " io_uring_poll")


def _io_uring(ctx: CollectContext) -> tuple[IoUringState | None, list[Gap]]:
    """io_uring of the running kernel: kernel.io_uring_disabled (Linux 6.6+) and its group; on an
    older kernel, whether it is built with io_uring, from its symbol table."""
    try:
        text = ctx.target.read_text(IO_URING_DISABLED, kernel_file=True).strip()
    except FileNotFoundError:
        text = None
    except OSError as exc:
        return None, [_gap("io_uring", f"{IO_URING_DISABLED}: {rootfs.describe_os_error(exc)}")]
    if text is not None:
        if text not in ("0", "1", "2"):
            return None, [_gap("io_uring", f"{IO_URING_DISABLED}: unexpected value {text!r}")]
        group: int | None = None
        try:
            raw = ctx.target.read_text(IO_URING_GROUP, kernel_file=True).strip()
            group = int(raw) if raw.lstrip("-").isdigit() and -1 <= int(raw) < 2**32 else None
        except OSError:
            pass  # the group matters only with io_uring_disabled 1, and the finding says it is unread
        if text != "2":
            return IoUringState(present=True, disabled=int(text), group=group, source=IO_URING_DISABLED), []  # type: ignore[arg-type]
        holders, unread = io_uring_holders(getattr(ctx.target, "proc", None))
        gaps = [Gap(section="audit", path=("io_uring", "holders"), reason=reason) for reason in unread]
        return IoUringState(present=True, disabled=2, group=group, source=IO_URING_DISABLED, holders=holders), gaps
    # No sysctl: a kernel before 6.6, or one built without io_uring.
    try:
        symbols = ctx.target.read_text(KALLSYMS, KALLSYMS_LIMIT, kernel_file=True)
    except OSError as exc:
        return None, [_gap("io_uring", f"{IO_URING_DISABLED} does not exist (a kernel before 6.6, or one without "
                                       f"io_uring), and {KALLSYMS}: {rootfs.describe_os_error(exc)}")]
    if not symbols.strip():
        return None, [_gap("io_uring", f"{IO_URING_DISABLED} does not exist and {KALLSYMS} is empty")]
    present = any(line.endswith(IO_URING_SYMBOLS) for line in symbols.splitlines())
    return IoUringState(present=present, source=KALLSYMS), []


IO_URING_LINK = "anon_inode:[io_uring]"


def io_uring_holders(proc: str | None) -> tuple[list[IoUringHolder] | None, list[str]]:
    """The processes of ``proc`` holding an io_uring descriptor, in any of their tables (a thread's
    own, a ring's registered files: :func:`auditor.collect.fdtables.read_table`; None when no
    process can be listed), and why any table could not be read or ``proc`` may not list every
    process of the host (then whether another process holds a ring is not known: the sysctl is
    the host's, so a ring in any PID namespace counts).

    kernel.io_uring_disabled = 2 refuses only io_uring_setup(2): a ring created before it was set
    keeps taking IORING_OP_BIND, _LISTEN, _CONNECT and _ACCEPT, so the setting proves no ring
    exists only where no process holds one.  A ring whose descriptor was closed is found by its
    mapping (:func:`_ring_mappings`); one neither held nor mapped (IORING_SETUP_NO_MMAP, its
    descriptor registered and closed) is not seen: the README states that limit."""
    if proc is None:
        return None, ["no /proc to read the processes' descriptors from"]
    try:
        pids = sorted(int(name) for name in os.listdir(proc) if name.isdigit())
    except OSError as exc:
        return None, [f"{proc}: {rootfs.describe_os_error(exc)}"]
    holders: list[IoUringHolder] = []
    refused: list[str] = []
    for pid in pids:
        table = read_table(proc, pid)
        if table is None:
            continue  # exited meanwhile: it holds nothing
        fds = []
        for part in table.parts():
            if part.refused:
                refused.append(part.fd_dir)
            prefix = "" if part.fd_dir == f"{proc}/{pid}/fd" else part.fd_dir.removeprefix(f"{proc}/{pid}/") + "/"
            fds += [prefix + fd for fd, target in zip(part.fds, part.targets) if target == IO_URING_LINK]
        mappings = _ring_mappings(f"{proc}/{pid}/maps")
        if mappings is None:
            refused.append(f"{proc}/{pid}/maps")
        if fds or mappings:
            try:
                name = Path(f"{proc}/{pid}/comm").read_text(encoding="utf-8", errors="replace").rstrip("\n")
            except OSError:
                name = ""
            holders.append(IoUringHolder(pid=pid, name=name, fds=fds, mappings=mappings or []))
    unread = []
    if refused:
        shown = ", ".join(refused[:5]) + (f" and {len(refused) - 5} more" if len(refused) > 5 else "")
        unread.append(f"{shown} could not be read")
    hidden = unlisted_processes(proc)  # kernel.io_uring_disabled is the host's: a ring anywhere counts
    if hidden:
        unread.append(hidden)
    return holders, unread


def _ring_mappings(maps: str) -> list[str] | None:
    """The address ranges of ``maps`` (``/proc/PID/maps``) that map an io_uring's rings; None when
    the file cannot be read (a process gone meanwhile maps nothing).  A ring whose descriptor was
    closed stays usable through its mapping: with IORING_SETUP_SQPOLL the kernel's thread takes
    what the process writes there, and a descriptor registered with IORING_REGISTER_RING_FDS
    (liburing's io_uring_close_ring_fd) lets it call io_uring_enter without one."""
    try:
        with open(maps, "rb") as handle:
            return [line.split(b" ", 1)[0].decode("ascii", "replace") for line in handle
                    if line.rstrip(b"\n").endswith(b" " + IO_URING_LINK.encode())]
    except (FileNotFoundError, ProcessLookupError):
        return []
    except OSError:
        return None


def _boot_audit(ctx: CollectContext) -> tuple[tuple[str | None, int | None], list[Gap]]:
    """audit= and audit_backlog_limit= of the running kernel's command line."""
    try:
        cmdline = ctx.target.read_text("/proc/cmdline", kernel_file=True)
    except OSError as exc:
        return (None, None), [_gap("boot_audit", f"/proc/cmdline: {rootfs.describe_os_error(exc)}")]
    release = ctx.target.uname()[0]  # audit= is read otherwise before Linux 4.17 ("on" turns auditing off)
    return (audit_rules.boot_audit_param(cmdline, release), audit_rules.boot_backlog_limit_param(cmdline)), []


def _boot_loader_audit(ctx: CollectContext) -> list[Gap]:
    """The kernel command lines of the boot loader files (the next boot's, on a running host), as
    the persistent rules depend on them: one that turns auditing off (audit=0 or off; audit=on to a
    kernel before 4.17) keeps every persistent rule from loading, since the kernel then makes no
    audit socket until reboot.  Offline the boot entry an image starts is not known, and live the
    entry the next boot starts is not either (a default, a recovery entry, a grub.cfg not yet
    regenerated): any such line is a doubt.  A boot loader file that cannot be read may hold one.
    Live, the next boot's kernel is taken to be the running one (its release tells how audit= reads)."""
    cmdlines, problems = image_boot_cmdlines(Path(ctx.root))
    release = ctx.target.uname()[0] if ctx.target.runtime else None
    whose = "the boot loader's" if ctx.target.runtime else "the image's"
    unknown = "the next boot starts is not known" if ctx.target.runtime else "it starts is not known offline"
    off = []
    for origin, cmdline in cmdlines:
        if audit_rules.boot_audit_param(cmdline, release) in ("off", "invalid"):
            values = [f"audit={value}" for param, value in kernel_parameters(cmdline) if param == "audit"]
            off.append(f"{origin} has {' '.join(values)}")
    gaps = []
    if off:
        gaps.append(Gap(section="audit", path=IMAGE_BOOT_AUDIT_GAP, reason=(
            f"{whose} kernel command line may turn auditing off ({'; '.join(off)}), and which boot entry {unknown}: "
            "audit=0 or off (audit=on too before Linux 4.17) disables the kernel's audit until reboot, so no rule is "
            "loaded and none records")))
    if problems:
        gaps.append(Gap(section="audit", path=IMAGE_BOOT_AUDIT_GAP, reason=(
            f"{whose} boot loader configuration could not be read completely ({'; '.join(problems)}): its "
            "kernel command line may turn auditing off (audit=0), which keeps every rule from loading")))
    return gaps


BOOT_UNITS = ("auditd.service", "audit-rules.service")
AUDITD_PROGRAMS = ("/usr/sbin/auditd", "/sbin/auditd")


def _auditd_installed(ctx: CollectContext) -> bool | None:
    """True when an auditd program is there; False only when a directory it would be in exists and
    holds none (an image without /usr/sbin may lack a mount, which proves nothing); else None."""
    seen_directory = False
    for path in AUDITD_PROGRAMS:
        try:
            if stat.S_ISREG(ctx.target.file_mode(path)):
                return True
        except OSError:
            pass
        try:
            seen_directory = seen_directory or stat.S_ISDIR(ctx.target.file_mode(os.path.dirname(path)))
        except OSError:
            continue
    return False if seen_directory else None
SYSTEMD_WITNESSES = ("/run/systemd/system", "/usr/lib/systemd/systemd", "/lib/systemd/systemd")


def _boot_units_seen(ctx: CollectContext) -> bool:
    """Does the host boot with systemd: /run/systemd/system on a running host, the systemd program
    in an image."""
    witnesses = SYSTEMD_WITNESSES if ctx.target.runtime else SYSTEMD_WITNESSES[1:]
    for path in witnesses:
        try:
            ctx.target.file_mode(path)
        except OSError:
            continue
        return True
    return False


def _boot_units(ctx: CollectContext) -> tuple[dict[str, str] | None, list[Gap]]:
    """Whether the next boot starts auditd.service and audit-rules.service (None: no systemd here:
    /run/systemd/system on a host booted with it, the systemd program in an image)."""
    if not _boot_units_seen(ctx):
        return None, []
    states: dict[str, str] = {}
    problems: list[str] = []
    for name in BOOT_UNITS:
        states[name], found = systemd_sockets.unit_boot_state(Path(ctx.root), name, ctx.target.runtime)
        problems += found
    gaps = [Gap(section="audit", path=("boot_units", "problems"), reason=p) for p in sorted(set(problems))]
    return states, gaps


def _auditd_exec_start(ctx: CollectContext) -> str | None:
    """auditd.service's ExecStart= after its drop-ins (the last one: a forking service runs one);
    None when the unit is absent, masked or unreadable (the boot units say so themselves)."""
    values, _ = systemd_sockets.unit_list_setting(Path(ctx.root), "auditd.service", "Service", "ExecStart",
                                                  ctx.target.runtime)
    return values[-1] if values else None


def _auditd_conf_refusal(ctx: CollectContext) -> str | None:
    """Why auditd's load_config() would refuse to open auditd.conf itself: it opens it with
    O_NOFOLLOW (auditd started without -l, as its systemd unit does), then wants a file not
    writable by others and, on a running host, owned by root (an image's owners may be those of
    whoever unpacked it)."""
    try:
        entry = os.lstat(ctx.target.resolve(CONFIG_DIR) / "auditd.conf")
    except OSError:
        return None
    if stat.S_ISLNK(entry.st_mode):
        return "it is a symbolic link, which auditd (without -l) does not follow"
    if entry.st_mode & stat.S_IWOTH:
        return "it is writable by every user"
    if ctx.target.runtime and entry.st_uid != 0:
        return f"it is owned by uid {entry.st_uid}, not root"
    return None


def _auditd_config(ctx: CollectContext) -> tuple[AuditdConfig | None, list[Gap]]:
    """/etc/audit/auditd.conf as auditd reads it; a missing file is auditd's defaults (seen, not a gap),
    a symbolic link to nothing is not missing to auditd: refused like any link."""
    try:
        text: str | None = ctx.target.read_text(AUDITD_CONF)
    except FileNotFoundError:
        text = None
    except OSError as exc:
        return None, [_gap("auditd_config", f"{AUDITD_CONF}: {rootfs.describe_os_error(exc)}")]
    config, problems = auditd_conf.parse_auditd_conf(text, AUDITD_CONF)
    # asked also when there is nothing to read: a link to nothing is refused as any link is (O_NOFOLLOW
    # gives ELOOP, not the ENOENT for which auditd takes its defaults); a name that is absent has no refusal
    refusal = _auditd_conf_refusal(ctx)
    if refusal is not None and not config.refused:
        problems.insert(0, Problem(AUDITD_CONF, None, None, f"{refusal}: auditd refuses the file and does not start"))
        config = config.model_copy(update={"refused": True})
    if not config.refused and config.write_logs:
        try:
            mode = ctx.target.file_mode(config.log_file)
        except OSError:
            mode = None  # absent (auditd creates it) or not visible: auditd's own open decides
        if mode is not None and not stat.S_ISREG(mode):
            # log_file_parser: "is not a regular file", and auditd does not start (/dev/null, a FIFO)
            problems.append(Problem(AUDITD_CONF, None, None, f"log_file {config.log_file} is not a regular file: "
                                                              "auditd refuses the file and does not start"))
            config = config.model_copy(update={"refused": True})
    return config, _problem_gaps("auditd_config", problems)


def config_dir_exists(ctx: CollectContext) -> bool | None:
    """Does /etc/audit exist under the root?  False only when /etc is a directory without any
    entry of that name; None when that cannot be told (unreadable, or a link to nothing)."""
    try:
        etc = ctx.target.resolve("/etc")
        if not stat.S_ISDIR(os.stat(etc).st_mode):
            return None
    except OSError:
        return None
    try:
        mode = os.lstat(etc / "audit").st_mode
    except FileNotFoundError:
        return False
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        try:
            os.stat(ctx.target.resolve(CONFIG_DIR))
        except OSError:
            return None  # a dangling link may be a mount the image does not carry
    return True


AUGENRULES_PROGRAMS = ("/usr/sbin/augenrules", "/sbin/augenrules")


def _augenrules_script(ctx: CollectContext) -> str | None:
    """The text of the target's augenrules script; None when it is not found."""
    for path in AUGENRULES_PROGRAMS:
        try:
            return ctx.target.read_text(path, 1 << 20)
        except OSError:
            continue
    return None


def _augenrules_variant(ctx: CollectContext) -> str | None:
    """How the target's augenrules lists rules.d ("ls" or "glob"); None when its script is not found
    or is neither."""
    script = _augenrules_script(ctx)
    return audit_rules.augenrules_variant(script) if script is not None else None


def _augenrules_strips_cr(ctx: CollectContext) -> bool | None:
    """Does the target's augenrules strip a carriage return ending a line (audit 3.1.1 and later)?
    None when its script is not found, or is not one whose way of listing rules.d lbaudit knows
    (then the absence of the line proves nothing)."""
    script = _augenrules_script(ctx)
    if script is None or audit_rules.augenrules_variant(script) is None:
        return None
    return audit_rules.augenrules_strips_cr(script)


# augenrules up to audit 3.1 reads each listed name with "cat ${SourceRulesDir}/${rules}", unquoted:
# the shell expands a name holding a pattern character, and cat reads the files it matches instead
# (3.1.1 quotes it, 4.2 lists rules.d with a glob and quotes it).
UNQUOTED_CAT = "cat ${SourceRulesDir}/${rules}"
PATTERN_CHARACTERS = frozenset("*?[\\")


def _pattern_gaps(ctx: CollectContext, names: list[str]) -> list[Gap]:
    """A problem for each name augenrules may read as a shell pattern (:data:`UNQUOTED_CAT`): which
    files it reads for that name depends on what the pattern matches and on the shell."""
    suspect = [n for n in names if PATTERN_CHARACTERS & set(n)]
    if not suspect:
        return []
    script = _augenrules_script(ctx)
    if script is not None and audit_rules.augenrules_variant(script) is not None and UNQUOTED_CAT not in script:
        return []  # it quotes the name (audit 3.1.1 and later)
    whose = ("the target's augenrules (audit before 3.1.1)" if script is not None and UNQUOTED_CAT in script
             else "augenrules before audit 3.1.1 (which one the target runs cannot be told)")
    return [Gap(section="audit", path=("persistent_rules", "problems"), reason=(
        f"{RULES_D}: {name!r} holds a shell pattern character, and {whose} reads each name with an unquoted "
        f"'{UNQUOTED_CAT}': the shell reads the files the name matches as a pattern, not the file itself"))
        for name in suspect]


def _rules_d_names(ctx: CollectContext, listed: list[str]) -> tuple[list[str], list[Gap]]:
    """The rules.d files the boot's augenrules reads.  When its version cannot be told and the two
    ways of listing differ (a name with a space, tab or newline), the wider list is read and that
    is a problem: augenrules up to audit 4.1 skips such a file, 4.2 and later read it.  A name
    augenrules may read as a shell pattern is a problem too (:func:`_pattern_gaps`)."""
    names, gaps = _listed_rules_d_names(ctx, listed)
    return names, gaps + _pattern_gaps(ctx, names)


def _listed_rules_d_names(ctx: CollectContext, listed: list[str]) -> tuple[list[str], list[Gap]]:
    variant = _augenrules_variant(ctx)
    if variant is not None:
        return audit_rules.augenrules_files(listed, variant), []
    split, whole = audit_rules.augenrules_files(listed, "ls"), audit_rules.augenrules_files(listed, "glob")
    if split == whole:
        return whole, []
    skipped = ", ".join(repr(n) for n in whole if n not in split)
    reason = (f"{RULES_D}: {skipped} has white space in its name: augenrules up to audit 4.1 skips it, 4.2 and later "
              "read it, and which the target runs cannot be told (no augenrules script found); read as 4.2 reads it")
    return whole, [Gap(section="audit", path=("persistent_rules", "problems"), reason=reason)]


# The units that load the rules at boot, and the setting that holds the command: auditd.service's
# ExecStartPost (audit 3: "-/sbin/augenrules --load"), audit-rules.service's ExecStart (audit 4).
# Both units ship the documented alternative, commented out: "#ExecStartPost=-/sbin/auditctl -R
# /etc/audit/audit.rules" ("To not use augenrules, copy this file to /etc/systemd/system/..."),
# with which the boot loads audit.rules as it stands and never compiles rules.d.
RULE_LOADERS = (("auditd.service", "ExecStartPost"), ("audit-rules.service", "ExecStart"))
# The other settings of those units that run commands when they start, before or after the loader:
# a rules command there changes what the loader leaves (ExecStartPre= of auditd.service runs before
# its ExecStartPost=, and audit-rules.service's ExecStartPost= after its augenrules --load).
RULE_LOADER_NEIGHBOURS = (("auditd.service", "ExecStartPre"), ("audit-rules.service", "ExecStartPre"),
                          ("audit-rules.service", "ExecStartPost"))
# auditctl options that only print (the status, the rules, the version, the usage)
AUDITCTL_READ_ONLY = frozenset({"-s", "-l", "-v", "-h", "--help"})


def _loader_command(value: str) -> tuple[str, str | None]:
    """What one Exec line does with the rules: ("augenrules", None) for ``augenrules --load``,
    ("auditctl", FILE) for ``auditctl -R FILE``, ("other", None) for another command that names
    either program (a shell running it, another form), ("unrelated", None) for any other."""
    text = value.lstrip("-@:+!")  # systemd's command prefixes
    try:
        argv = shlex.split(text)
    except ValueError:
        argv = []
    program = os.path.basename(argv[0]) if argv else ""
    if program == "augenrules" and argv[1:] and set(argv[1:]) == {"--load"}:
        # any other word is its usage and exit 1, and --check neither writes nor loads changed rules
        return "augenrules", None
    if program == "auditctl" and len(argv) == 3 and argv[1] == "-R":
        # auditctl's main() reads a file only as "auditctl -R FILE", alone: anywhere else -R is
        # setopt's "nested rule files not supported" and nothing is loaded (an "other" command)
        return "auditctl", argv[2]
    if program == "auditctl" and argv[1:] and set(argv[1:]) <= AUDITCTL_READ_ONLY:
        return "unrelated", None  # prints the status or the rules, changes nothing
    if "augenrules" in value or "auditctl" in value:
        return "other", None
    return "unrelated", None


def _boot_rule_file(ctx: CollectContext) -> tuple[tuple[str, str] | None, list[Gap]]:
    """The rules file the boot's units load with ``auditctl -R`` instead of ``augenrules --load``,
    with the unit setting that does it; None where augenrules loads them (or no unit of systemd's
    says: not booted with systemd, units absent, unreadable, which the boot units say themselves).
    A command lbaudit cannot read, two files, or a command that touches the rules beside ``augenrules
    --load`` (the settings are lists, run in order) is a gap: which rules load is not known."""
    if not _boot_units_seen(ctx):
        return _init_script_rule_file(ctx)
    files: list[tuple[str, str]] = []
    commands = [(f"{unit} {key}={value}", *_loader_command(value)) for unit, key in RULE_LOADERS
                for value in systemd_sockets.unit_list_setting(Path(ctx.root), unit, "Service", key,
                                                               ctx.target.runtime)[0] or []]
    neighbours = [(f"{unit} {key}={value}", *_loader_command(value)) for unit, key in RULE_LOADER_NEIGHBOURS
                  for value in systemd_sockets.unit_list_setting(Path(ctx.root), unit, "Service", key,
                                                                 ctx.target.runtime)[0] or []]
    augenrules = next((setting for setting, kind, _ in commands if kind == "augenrules"), None)
    loader = augenrules or next((setting for setting, kind, _ in commands if kind == "auditctl"), None)
    # The settings are lists run in order: a command added beside the loader (a drop-in without a
    # reset, or in ExecStartPre=) runs too, before or after it, and may delete, disable or add rules.
    # A second augenrules --load loads the same rules again: only another command changes them (two
    # auditctl -R files of the loaders' own settings are a gap of their own, below).
    beside = {setting for setting, _, _ in neighbours}
    others = [setting for setting, kind, _ in neighbours + commands
              if kind == "other" or (kind == "auditctl" and (augenrules is not None or setting in beside))]
    if loader is not None and others:
        other_unit, named = others[0].split(" ", 1)[0], loader.split(" ", 1)
        shown = named[1] if named[0] == other_unit else loader  # the unit named once when the same
        return None, [_gap("persistent_rules", f"{others[0]} runs besides {shown}: lbaudit cannot tell which "
                                               "audit rules the two leave loaded at boot")]
    rules_unit_loads = any(setting.startswith("audit-rules.service ") and kind != "unrelated"
                           for setting, kind, _ in commands)
    if not any(setting.startswith("auditd.service ") and kind != "unrelated" for setting, kind, _ in commands):
        # auditd.service loads no rules itself (audit 4 leaves that to audit-rules.service, which it
        # pulls in with Wants=; an audit 3 unit whose ExecStartPost= a drop-in emptied): an auditd
        # the boot starts then loads nothing unless audit-rules.service is started too.  (Neither
        # started, or audit-rules.service masked, the check's boot units already say so.)
        root = Path(ctx.root)
        auditd_state, _ = systemd_sockets.unit_boot_state(root, "auditd.service", ctx.target.runtime)
        rules_state, _ = systemd_sockets.unit_boot_state(root, "audit-rules.service", ctx.target.runtime)
        if auditd_state == "enabled" and rules_state in ("disabled", "absent", "unknown"):
            state = "cannot be read" if rules_state == "unknown" else f"is {rules_state}"
            return None, [_gap("persistent_rules", "auditd.service starts at boot but loads no rules (no augenrules "
                                                   "--load or auditctl -R in its ExecStartPost=), and "
                                                   f"audit-rules.service, which loads them in audit 4, {state}: "
                                                   "nothing may load the persistent rules at boot")]
        if rules_state == "enabled" and not rules_unit_loads:
            return None, [_gap("persistent_rules", "neither auditd.service nor audit-rules.service, which the boot "
                                                   "starts, runs augenrules --load or auditctl -R (ExecStartPost=, "
                                                   "ExecStart=): nothing may load the persistent rules at boot")]
    if augenrules is not None:
        return None, []
    for setting, kind, path in commands:
        if kind == "other":
            return None, [_gap("persistent_rules", f"{setting}: lbaudit cannot tell which audit rules this loads at "
                                                   "boot")]
        if kind == "auditctl" and path is not None:
            files.append((path, setting))
    if len(files) > 1:
        shown = "; ".join(setting for _, setting in files)
        return None, [_gap("persistent_rules", f"the boot loads more than one rules file ({shown}): lbaudit reads one")]
    return (files[0] if files else None), []


INIT_SCRIPT = "/etc/init.d/auditd"
INIT_DEFAULTS = "/etc/default/auditd"  # what Debian's script sources: . /etc/default/"$NAME"
# Debian's script (for sysvinit, Devuan): "case "$USE_AUGENRULES" in no|NO) ;; *) [ -d
# /etc/audit/rules.d ] && /sbin/augenrules ;; esac", then "auditctl -R /etc/audit/audit.rules"
DEBIAN_INIT_CASE = 'case "$USE_AUGENRULES" in'
AUGENRULES_OFF = ("no", "NO")
INIT_AUDITD = "/sbin/auditd"  # the script's DAEMON
_PLAIN_VALUE = first_use(r"\"([^\"$`\\]*)\"" + r"|'([^']*)'" + r"|([^\s\"'$`\\;&|<>()]*)")


def _defaults_value(text: str, name: str) -> tuple[str | None, str, str | None]:
    """The value /etc/default/auditd (``text``, sourced by the init script) gives the shell variable
    ``name``: (value, "FILE:LINE" of the last assignment, None) with None for no assignment; or
    (None, "", why) for a line that sets it in a way lbaudit does not read (an expansion, a command,
    more words), where the value the script sees is not known."""
    assignment = re.compile(rf"\s*(?:export\s+)?{name}=(.*)")
    value, where = None, ""
    for number, line in enumerate(text.splitlines(), start=1):
        if name not in line or line.lstrip().startswith("#"):
            continue
        found = assignment.fullmatch(line.rstrip())
        plain = _PLAIN_VALUE().fullmatch(found[1]) if found else None
        if plain is None:
            return None, "", f"{INIT_DEFAULTS}:{number}: {line.strip()!r} sets {name} in a way lbaudit does not read"
        value, where = next(v for v in plain.groups() if v is not None), f"{INIT_DEFAULTS}:{number}"
    return value, where, None


def _init_script(ctx: CollectContext) -> tuple[str | None, str | None, list[Gap]]:
    """Debian's init script (None when absent or another) and /etc/default/auditd (None when absent)."""
    try:
        script = ctx.target.read_text(INIT_SCRIPT)
    except FileNotFoundError:
        return None, None, []
    except OSError as exc:
        return None, None, [_gap("persistent_rules", f"{INIT_SCRIPT}: {rootfs.describe_os_error(exc)} (without "
                                                     "systemd it loads the rules at boot)")]
    if "USE_AUGENRULES" not in script:
        return None, None, []
    if DEBIAN_INIT_CASE not in script:
        return None, None, [_gap("persistent_rules", f"{INIT_SCRIPT} (without systemd it loads the rules at boot) "
                                                     "compiles rules.d depending on USE_AUGENRULES in a way lbaudit "
                                                     "does not read")]
    try:
        return script, ctx.target.read_text(INIT_DEFAULTS), []
    except FileNotFoundError:
        # in an image a link to nothing may be a mount it does not carry, whose file the script sources
        problem = None if ctx.target.runtime else rootfs.absence_problem(ctx.root, INIT_DEFAULTS)
        if problem is not None:
            return None, None, [_gap("persistent_rules", f"{problem} (it sets how {INIT_SCRIPT} starts auditd and "
                                                         "loads the rules)")]
        return script, None, []
    except OSError as exc:
        return None, None, [_gap("persistent_rules", f"{INIT_DEFAULTS}: {rootfs.describe_os_error(exc)} (it sets "
                                                     f"how {INIT_SCRIPT} starts auditd and loads the rules)")]


def _init_script_rule_file(ctx: CollectContext) -> tuple[tuple[str, str] | None, list[Gap]]:
    """Without systemd, the init script loads the rules.  Debian's (:data:`DEBIAN_INIT_CASE`)
    compiles rules.d with augenrules unless USE_AUGENRULES of /etc/default/auditd is no or NO, and
    then loads /etc/audit/audit.rules with auditctl -R: with no, that file as it stands is what the
    boot loads, and rules.d is never compiled.  Another script that reads USE_AUGENRULES (RHEL 6's
    compiles only when it is set and not no) is a gap: which rules it loads is not known."""
    script, defaults, gaps = _init_script(ctx)
    if script is None or defaults is None:
        return None, gaps  # no such script, or no defaults: the script compiles rules.d
    value, where, unread = _defaults_value(defaults, "USE_AUGENRULES")
    if unread is not None:
        return None, [_gap("persistent_rules", f"{unread} (it decides whether {INIT_SCRIPT} compiles rules.d)")]
    if value not in AUGENRULES_OFF:
        return None, []
    return (AUDIT_RULES, f"{INIT_SCRIPT}, USE_AUGENRULES={value} at {where}"), []


def _init_script_auditd_command(ctx: CollectContext) -> tuple[str | None, list[Gap]]:
    """Without systemd, the command Debian's init script starts auditd with: ``/sbin/auditd``
    and the words of EXTRAOPTIONS from /etc/default/auditd (``-- $EXTRAOPTIONS``, unquoted)."""
    script, defaults, _ = _init_script(ctx)  # its gaps are the persistent rules' already
    if script is None or "$EXTRAOPTIONS" not in script:
        return None, []
    value, _, unread = _defaults_value(defaults or "", "EXTRAOPTIONS")
    if unread is not None:
        return None, [Gap(section="audit", path=("persistent_rules", "problems"),
                          reason=f"{unread} (the options {INIT_SCRIPT} starts auditd with)")]
    return " ".join([INIT_AUDITD, *(value or "").split()]), []


# auditctl's fileopt() refuses the file given to -R, and loads none of its rules, when it is not
# owned by root (audit up to 3.1.1) or when every user may write it (up to 3.1.1, and again from 4.2:
# upstream 3bbe0ab3 dropped both checks, 2f9f91c3 brought the second back).


def _rules_file_refusal(ctx: CollectContext, path: str, compiled: bool) -> list[Problem]:
    """Why ``auditctl -R`` may refuse the rules file ``path`` whole, whatever its lines say.  The
    target's auditctl version is not known, so each is a doubt, not a failure.  The owner is judged
    only on a running host: an image's owners may be those of whoever unpacked it.  ``compiled``:
    the file is augenrules' output, which copies the compiled rules.d into it (keeping its owner)
    and sets mode 0640 only when they differ from what it holds."""
    try:
        entry = os.lstat(ctx.target.resolve(path))  # resolve follows links inside the root, as open() does
    except OSError:
        return []  # absent or unreadable: the reading of its text says so
    if not stat.S_ISREG(entry.st_mode):
        # a directory takes augenrules' copy inside it; auditctl -R then refuses it ("is not a
        # regular file", every version).  (A file loaded as it stands was refused when read.)
        return [Problem(path, None, None, "not a regular file: auditctl -R refuses it and loads no rule")]
    found = []
    if entry.st_mode & stat.S_IWOTH:
        fixed = (" (augenrules sets mode 0640 only when the rules it compiles from rules.d differ from what the file "
                 "holds, so a file that holds them stays as it is)" if compiled else "")
        found.append(Problem(path, None, None, (
            "writable by every user: auditctl before audit 3.1.2 and from 4.2 refuses it ('is world "
            f"writable') and loads none of its rules, and which auditctl the target runs is not known{fixed}")))
    if ctx.target.runtime and entry.st_uid != 0:
        kept = " (augenrules copies the compiled rules into it, which keeps its owner)" if compiled else ""
        found.append(Problem(path, None, None, (
            f"owned by uid {entry.st_uid}, not root: auditctl before audit 3.1.2 refuses it ('isn't owned "
            f"by root') and loads none of its rules, and which auditctl the target runs is not known{kept}")))
    return found


def _persistent(ctx: CollectContext) -> tuple[list[AuditRule] | None, str | None, list[Gap]]:
    # Every way the boot loads the rules ends in auditctl -R of one file: the one a unit (or the
    # init script) names, else audit.rules (augenrules' output where rules.d exists, else as it stands).
    loaded_file, loader_gaps = _boot_rule_file(ctx)
    if loader_gaps:
        return None, None, loader_gaps
    if loaded_file is None:  # augenrules, where rules.d exists: unless it cannot write audit.rules
        loaded_file, loader_gaps = _unwritable_audit_rules(ctx)
        if loader_gaps:
            return None, None, loader_gaps
    rules, source, gaps = _persistent_rules(ctx, loaded_file)
    if rules is None:
        return rules, source, gaps
    path = loaded_file[0] if loaded_file is not None else AUDIT_RULES
    doubts = _rules_file_refusal(ctx, path, compiled=source == SOURCE_RULES_D)
    return rules, source, gaps + _problem_gaps("persistent_rules", doubts)


def _unwritable_audit_rules(ctx: CollectContext) -> tuple[tuple[str, str] | None, list[Gap]]:
    """audit.rules with what keeps augenrules from writing it: augenrules ``cp`` s the rules it
    compiles from rules.d over it, goes on when that fails, and loads it with ``auditctl -R``, so
    an immutable (chattr +i) or append-only (chattr +a: cp truncates) audit.rules is loaded as it
    stands.  None when it can be written (or is absent: augenrules creates it); a gap when its
    flags cannot be read."""
    try:
        flags = ctx.target.inode_flags(AUDIT_RULES)
    except (FileNotFoundError, NotRegularFile):
        return None, []  # augenrules creates it; not a file: auditctl -R refuses it (_rules_file_refusal)
    except OSError as exc:
        if not _rules_d_exists(ctx):
            return None, []  # no augenrules compilation: audit.rules is loaded as it stands anyway
        return None, [_gap("persistent_rules", f"{AUDIT_RULES}: {rootfs.describe_os_error(exc)} (whether augenrules "
                                               f"can write the rules it compiles from {RULES_D} into it cannot be told)")]
    held = [name for bit, name in ((rootfs.FS_IMMUTABLE_FL, "immutable, chattr +i"),
                                   (rootfs.FS_APPEND_FL, "append-only, chattr +a")) if flags & bit]
    if not held or not _rules_d_exists(ctx):
        return None, []
    return (AUDIT_RULES, f"{' and '.join(held)}: augenrules cannot rewrite it from {RULES_D}, and loads it as it "
                         "stands"), []


def _rules_d_exists(ctx: CollectContext) -> bool:
    """Is there a rules.d for augenrules to compile (a directory, through links)?"""
    try:
        return stat.S_ISDIR(os.stat(ctx.target.resolve(RULES_D)).st_mode)
    except OSError:
        return False


def _persistent_rules(ctx: CollectContext, loaded_file: tuple[str, str] | None
                      ) -> tuple[list[AuditRule] | None, str | None, list[Gap]]:
    """The rules the boot loads, read from ``loaded_file`` (path, the setting that loads it) when
    a unit or the init script loads one with auditctl -R, else from rules.d or audit.rules."""
    if loaded_file is not None:
        path, setting = loaded_file
        try:
            text = ctx.target.read_text(path)
        except OSError as exc:
            return None, None, [_gap("persistent_rules", f"{path}: {rootfs.describe_os_error(exc)} (loaded at boot "
                                                         f"by {setting})")]
        parsed = audit_rules.parse_rules_text(text, path, _machine(ctx))
        # rules.d, if any, is never compiled: the file is loaded as it stands
        return _read_rules(parsed, f"{path} (auditctl -R, {setting})")
    naming_gaps: list[Gap] = []
    try:
        listed = ctx.target.list_dir(RULES_D)
        # counted before the version sort, which alone takes seconds for 100,000 names
        if sum(name.endswith(".rules") for name in listed) > rootfs.MAX_CONFIG_FILES:
            return None, SOURCE_RULES_D, [_gap("persistent_rules", f"{RULES_D}: more than {rootfs.MAX_CONFIG_FILES} "
                                                                   "rules files, more than lbaudit reads (none was read)")]
        names, naming_gaps = _rules_d_names(ctx, listed)
    except (FileNotFoundError, NotADirectoryError):
        names = None  # augenrules: "No rules directory", and the boot loads audit.rules as it is
        try:
            link = ctx.target.dangling_link(RULES_D)
        except OSError as exc:
            return None, None, [_gap("persistent_rules", f"{RULES_D}: {rootfs.describe_os_error(exc)}")]
        if link is not None:
            # Not proof that there is no rules.d: in an image, perhaps a mount it does not carry.
            # Where it exists at boot, augenrules rewrites audit.rules from it, so audit.rules
            # alone cannot stand for what the next boot loads.
            return None, None, [_gap("persistent_rules", f"{RULES_D}: not found, through a symbolic link to nothing ({link}): "
                                                         f"whether the boot compiles its rules cannot be told")]
    except OSError as exc:
        return None, None, [_gap("persistent_rules", f"{RULES_D}: {rootfs.describe_os_error(exc)}")]

    if names is not None:
        # With the directory present, augenrules --load (run when auditd starts) rewrites
        # audit.rules from it, even from no files at all; so rules.d is what the boot loads.
        files: list[tuple[str, str]] = []
        for name in names:
            path = f"{RULES_D}/{name}"
            try:
                files.append((path, ctx.target.read_text(path)))
            except IsADirectoryError:
                continue  # augenrules cats it, cat fails, and the rest is still loaded
            except OSError as exc:
                return None, SOURCE_RULES_D, [_gap("persistent_rules", f"{path}: {rootfs.describe_os_error(exc)}")]
        parsed = audit_rules.parse_rules_d(files, _machine(ctx), _awk(ctx), _augenrules_strips_cr(ctx))
        rules, source, gaps = _read_rules(parsed, SOURCE_RULES_D)
        return rules, source, naming_gaps + gaps

    try:
        text = ctx.target.read_text(AUDIT_RULES)
    except OSError as exc:
        reason = rootfs.describe_os_error(exc)
        return None, None, [_gap("persistent_rules", f"{AUDIT_RULES}: {reason} (and there is no {RULES_D})")]
    parsed = audit_rules.parse_rules_text(text, AUDIT_RULES, _machine(ctx))
    return _read_rules(parsed, SOURCE_AUDIT_RULES)


def _read_rules(parsed: audit_rules.ParsedRules, source: str) -> tuple[list[AuditRule] | None, str, list[Gap]]:
    """The persistent rules of one reading, with its problems as gaps; None (a gap) when the
    reading was abandoned part way (:data:`audit_rules.MAX_RULE_VISITS`)."""
    if parsed.unread is not None:
        return None, source, [_gap("persistent_rules", parsed.unread)]
    return parsed.rules, source, _problem_gaps("persistent_rules", parsed.problems)




def _io_uring_boot(ctx: CollectContext) -> tuple[IoUringBoot | None, list[Gap]]:
    """kernel.io_uring_disabled as the boot's sysctl configuration sets it (read as the sysctl
    checks read it: a file that cannot be read may set it, so then it is not known)."""
    settings, gaps = read_boot_sysctls(ctx)
    if settings is None:
        return None, [_gap("io_uring_boot", g.reason) for g in gaps]
    setting = configured_setting(settings, IO_URING_SYSCTL)  # a glob (kernel.io_uring_*) sets it too
    unknown = [g.reason for g in gaps if g.path == ("persistent", IO_URING_SYSCTL)]
    if setting is None and unknown:  # an image's kernel command line may set it
        return None, [_gap("io_uring_boot", reason) for reason in unknown]
    return IoUringBoot(value=None if setting is None else setting.value,
                       origin=None if setting is None else setting.origin), []


def daemon_process(proc: str | None, pid: int) -> tuple[AuditDaemonProcess | None, list[Gap]]:
    """The process the kernel's audit daemon pid names (not 0).  AUDIT_GET gives that pid as the
    caller's pid namespace numbers it (0 when the daemon is outside it), so it is looked up there:
    kill(pid, 0) says whether such a process exists whatever /proc hides (hidepid), and ``proc``
    (which must be this namespace's: its ``self`` is this process) gives its state, name and exe."""
    if proc is None:
        return None, [_gap("auditd_process", "no /proc to look the audit daemon's pid up in")]
    try:
        own = os.readlink(f"{proc}/self")
    except OSError as exc:
        return None, [_gap("auditd_process", f"{proc}/self: {rootfs.describe_os_error(exc)}")]
    if own != str(os.getpid()):
        return None, [_gap("auditd_process", f"{proc} is not the /proc of lbaudit's pid namespace ({proc}/self is "
                                             f"{own}, lbaudit is pid {os.getpid()}): whether the audit daemon's "
                                             f"pid {pid} runs cannot be looked up")]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return AuditDaemonProcess(state="gone"), []
    except PermissionError:
        pass  # it exists
    except OSError as exc:
        return None, [_gap("auditd_process", f"kill({pid}, 0): {rootfs.describe_os_error(exc)}")]
    try:
        stat_text = read_regular(f"{proc}/{pid}/stat", 4096).decode("utf-8", "replace")
        name = read_regular(f"{proc}/{pid}/comm", 4096).decode("utf-8", "replace").rstrip("\n")
    except FileNotFoundError:
        return AuditDaemonProcess(state="gone"), []  # it ended in between
    except OSError as exc:
        return None, [_gap("auditd_process", f"{proc}/{pid}: {rootfs.describe_os_error(exc)} (the audit daemon's "
                                             "pid, which exists, could not be told apart from another process)")]
    state = stat_text.rpartition(")")[2].split()[:1]
    try:
        exe: str | None = os.readlink(f"{proc}/{pid}/exe")
    except OSError:
        exe = None  # a kernel thread, or not readable: the name says what it is
    found = "exited" if state in (["Z"], ["X"], ["x"]) else "stopped" if state in (["T"], ["t"]) else "running"
    try:
        raw = read_regular(f"{proc}/{pid}/cmdline", 64 * 1024)
        text = raw.decode("utf-8", "surrogateescape")
        args: list[str] | None = (text[:-1] if text.endswith("\0") else text).split("\0") if text else None
    except OSError:
        args = None  # gone meanwhile, or not readable: what it was started with is not known
    if args and os.path.basename(args[0]) != "auditd":
        # Only auditd's arguments are judged (its -c and -s), and only they are recorded: another
        # daemon's command line may carry a secret (auditbeat -E output.elasticsearch.password=...),
        # and no process's command line lands in the evidence unless --record-cmdline asks.
        args = None
    return AuditDaemonProcess(state=found, name=name, exe=exe, args=args), []


def collect_audit(ctx: CollectContext) -> tuple[AuditFacts | None, list[Gap]]:
    """Audit facts of ``ctx``; never raises for what it cannot read (each such thing is a Gap)."""
    gaps: list[Gap] = []
    runtime_source: str | None = None
    pid: int | None = None
    boot: str | None = None
    boot_backlog_limit: int | None = None
    loss: dict[str, int | None] = {}
    if ctx.target.runtime:
        runtime_source, (enabled, rate_limit, pid, status_gaps), loaded, found = _runtime(ctx, loss)
        (boot, boot_backlog_limit), boot_gaps = _boot_audit(ctx)
        io_uring, uring_gaps = _io_uring(ctx)
        gaps += status_gaps + found + boot_gaps + uring_gaps
        # the running kernel's command line is this boot's; the boot loader's is the next one's
        gaps += _boot_loader_audit(ctx)
    else:
        enabled, rate_limit, loaded, io_uring = None, None, None, None
        # auditd_pid and boot_audit stay None: the findings that read them say "offline" themselves
        gaps += [_gap(f, OFFLINE_REASON, GapKind.NOT_APPLICABLE) for f in ("enabled", "loaded_rules", "io_uring")]
        gaps += _boot_loader_audit(ctx)
    exists = config_dir_exists(ctx)
    if exists is False:
        persistent, source = [], None  # nothing to load at boot: seen, not a gap
    else:
        persistent, source, found = _persistent(ctx)
        gaps += found
    if exists is True:
        auditd_config, found = _auditd_config(ctx)
    else:  # none to read (False), or /etc/audit cannot be told (None): then neither can auditd.conf
        auditd_config = None
        found = [] if exists is False else [_gap("auditd_config", f"{AUDITD_CONF}: whether {CONFIG_DIR} exists "
                                                                  "cannot be told (see persistent_rules)")]
    gaps += found
    boot_units, found = _boot_units(ctx)
    gaps += found
    if boot_units is not None:
        auditd_exec_start = _auditd_exec_start(ctx)
    else:
        auditd_exec_start, found = _init_script_auditd_command(ctx)
        gaps += found
    io_uring_boot, found = _io_uring_boot(ctx)
    gaps += found
    machine = _machine(ctx)
    x32, found = collect_x32(ctx, machine)
    gaps += found
    process = None
    if pid:
        process, found = daemon_process(getattr(ctx.target, "proc", None), pid)
        gaps += found
    facts = AuditFacts(
        enabled=enabled, rate_limit=rate_limit, loaded_rules=loaded, persistent_rules=persistent, persistent_source=source,
        runtime_source=runtime_source, config_dir_exists=exists, machine=machine,
        auditd_pid=pid, auditd_process=process, auditd_config=auditd_config, boot_audit=boot,
        boot_backlog_limit=boot_backlog_limit, boot_units=boot_units, auditd_exec_start=auditd_exec_start,  # type: ignore[arg-type]
        auditd_installed=_auditd_installed(ctx), io_uring=io_uring, io_uring_boot=io_uring_boot, x32=x32, **loss,  # type: ignore[arg-type]
    )
    return facts, gaps


def describe_audit(facts: AuditFacts, ctx: CollectContext) -> str:
    """How the audit state was collected, for the provenance."""
    runtime = ("netlink AUDIT_GET, AUDIT_LIST_RULES (auditctl is not installed)" if facts.runtime_source == "netlink"
               else "auditctl -s, auditctl -l")
    parts = [runtime] if (facts.enabled is not None or facts.loaded_rules is not None) else []
    parts += [facts.persistent_source] if facts.persistent_source else []
    parts += ["/etc/audit does not exist (no persistent rules)"] if facts.config_dir_exists is False else []
    return "; ".join(parts) or "not collected (see gaps)"


def summarize_audit(facts: AuditFacts) -> str:
    """The `lbaudit collect` summary of the section."""
    loaded, persistent = facts.loaded_rules, facts.persistent_rules
    return (f"audit rules {'-' if loaded is None else len(loaded)} loaded, "
            f"{'?' if persistent is None else len(persistent)} persistent")
