"""Running values of the network sysctls the checks judge, read from /proc/sys.

Values are normalised in the kernel's own separators only (``ip_local_port_range`` is printed
tab-separated, every value ends in a newline): a run of spaces, tabs and newlines becomes one space.
Any other character is kept, so a value the kernel never prints is seen as such by the checks.  Persistent values (sysctl.d) come from
:mod:`auditor.collect.sysctl_d`.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from auditor import safeio
from auditor.collect import CollectContext, rootfs
from auditor.collect.kernel_hz import collect_kernel_hz
from auditor.collect.procview import proc_mount_options_of
from auditor.collect.sysctl_d import boot_applier, directories_note, read_persistent_sysctls
from auditor.domain.kernel_cmdline import (
    BLS_ENTRIES_DIRS,
    EFI_VENDORS_DIR,
    EXTLINUX_MENUS,
    FIRMWARE_CMDLINES,
    GENERATOR_DEFAULTS,
    GRUB_DEFAULTS,
    GRUB_DEFAULTS_DIR,
    GRUB_ENVIRONMENT_NAME,
    GRUB_ENVIRONMENTS,
    GRUB_MENU_NAME,
    GRUB_MENUS,
    KERNEL_CMDLINE,
    KERNEL_INSTALL_CMDLINES,
    MAX_CMDLINE_BYTES,
    PE_HEADER_BYTES,
    UKI_ADDON_DIRS,
    UKI_DIRS,
    UKI_EXTRA_SUFFIX,
    UKI_SUFFIX,
    boot_entry_cmdlines,
    pe_section,
)
from auditor.domain.sysctl import (
    BOOT_APPLIERS,
    EXCLUDE_PREFIX,
    IO_URING_DISABLED,
    PRINTED_SEPARATORS,
    SysctlLine,
    cmdline_sysctls,
    collected_runtime_keys,
    order_dependent_writes,
)
from auditor.model.facts import SNAPSHOT_SCHEMA_VERSION, Gap, GapKind, SysctlFacts, SysctlSetting
from auditor.safeio import read_regular

PROC_SYS = "/proc/sys"
MAX_VALUE_BYTES = 64 * 1024  # ip_local_reserved_ports is the longest we read; far below this

# The keys the snapshot format this collector writes declares as collected (auditor.domain.sysctl).
SYSCTL_KEYS: tuple[str, ...] = collected_runtime_keys(SNAPSHOT_SCHEMA_VERSION)

_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
# The sysctls the kernel keeps per network namespace (the net.* keys lbaudit reads all are).
PER_NETNS_PREFIX = "net."




def normalise_value(text: str) -> str:
    """Collapse runs of the kernel's separators (spaces, tabs, newlines) to single spaces and trim;
    any other white space (``\v``, U+00A0) is kept for the checks to refuse."""
    return PRINTED_SEPARATORS.sub(" ", text).strip(" ")


def sysctl_path(key: str, proc_sys: str = PROC_SYS) -> str:
    """/proc/sys path of a dotted key; only plain keys are accepted, so no path can escape."""
    if not _KEY.match(key):
        raise ValueError(f"not a sysctl key: {key!r}")
    return f"{proc_sys}/{key.replace('.', '/')}"


def _why(key: str, path: str, exc: OSError, proc_sys: str = PROC_SYS) -> str:
    if exc.errno == errno.ENOENT and not os.path.isdir(proc_sys):
        # not this key: the whole tree is missing (a /proc mounted with subset=pid, ProcSubset=pid)
        proc = os.path.dirname(proc_sys)
        hidden = " (this /proc shows processes only: mounted with subset=pid)" if "subset=pid" in (
            proc_mount_options_of(proc) or []) else ""
        return f"{proc_sys}: not present{hidden}: no running sysctl can be read through it"
    if exc.errno == errno.ENOENT:
        return (f"{path}: not present: the running kernel has no such key (it does not know {key}, or its "
                "subsystem is disabled)")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{path}: permission denied"
    return f"{path}: {exc.strerror or exc}"


def read_runtime_sysctls(keys: tuple[str, ...], proc_sys: str = PROC_SYS) -> tuple[dict[str, SysctlSetting], list[Gap]]:
    """Read each key; a key that cannot be read becomes a Gap at ``runtime/<key>``."""
    values: dict[str, SysctlSetting] = {}
    gaps: list[Gap] = []
    for key in sorted(keys):
        path = sysctl_path(key, proc_sys)
        try:
            # bounded and non-blocking: a FIFO or an endless file under a given proc root is a gap,
            # and a value longer than the bound is refused rather than judged cut short
            raw = read_regular(path, MAX_VALUE_BYTES)
        except OSError as exc:
            gaps.append(Gap(section="sysctl", path=("runtime", key), reason=_why(key, path, exc, proc_sys)))
            continue
        if not raw.endswith(b"\n"):
            # The kernel ends every value it prints with a newline (an empty ip_local_reserved_ports
            # reads "\n"): without it the read is empty or cut short, and an empty reserved list read
            # as "no port reserved" passed a pool the real list fails.
            gaps.append(Gap(section="sysctl", path=("runtime", key), reason=(
                f"{path}: {'empty' if not raw else 'cut short'}: it does not end in the newline the kernel prints "
                "after every value, so what was read is not the value the kernel holds")))
            continue
        values[key] = SysctlSetting(value=normalise_value(raw.decode("utf-8", errors="replace")), origin=path)
    return values, gaps


# The first kernel that applies sysctl.* parameters of its command line (fs/proc/proc_sysctl.c,
# do_sysctl_args); an earlier one leaves them to init, which ignores them.
CMDLINE_SYSCTLS_SINCE = (5, 8)


def _kernel_release(release: str | None) -> tuple[int, int] | None:
    parts = (release or "").split(".")
    if len(parts) < 2 or not parts[0].isdigit():
        return None
    minor = "".join(ch for ch in parts[1][:4] if ch.isdigit()) if parts[1][:1].isdigit() else ""
    return (int(parts[0]), int(minor)) if minor else None


def running_cmdline_sysctls(ctx: CollectContext) -> tuple[list[SysctlLine], list[str]]:
    """The sysctls the running kernel set from its command line at boot, and the problems met
    reading it; none offline (where :func:`image_cmdline_gaps` says which keys an image's boot
    entries may set)."""
    if not ctx.target.runtime:
        return [], []
    try:
        text = ctx.target.read_text(KERNEL_CMDLINE, kernel_file=True)
    except OSError as exc:
        return [], [f"{KERNEL_CMDLINE}: {rootfs.describe_os_error(exc)} (the kernel command line may set sysctls)"]
    found = cmdline_sysctls(text)
    if not found:
        return [], []
    release = ctx.target.uname()[0]
    version = _kernel_release(release)
    if version is None:
        return [], [f"{KERNEL_CMDLINE} sets sysctls, but whether this kernel (release {release!r}) applied them "
                    "(Linux 5.8 and later do) cannot be told"]
    return (found if version >= CMDLINE_SYSCTLS_SINCE else []), []


def boot_entry_files(root: Path, problems: list[str]) -> list[str]:
    """The boot loader files of an image that may hold a kernel command line (see
    :func:`auditor.domain.kernel_cmdline.boot_entry_cmdlines`)."""
    paths = [*KERNEL_INSTALL_CMDLINES, GRUB_DEFAULTS, *GRUB_MENUS, *GRUB_ENVIRONMENTS, *FIRMWARE_CMDLINES,
             *EXTLINUX_MENUS, *GENERATOR_DEFAULTS]
    for directory, suffix in ((GRUB_DEFAULTS_DIR, ".cfg"), *((entries, ".conf") for entries in BLS_ENTRIES_DIRS)):
        paths += [f"{directory}/{name}" for name, kind in rootfs.list_config_dir_kinds(root, directory, problems)
                  if name.endswith(suffix) and not name.startswith(".") and kind != rootfs.DIRECTORY]
    for vendor, kind in rootfs.list_config_dir_kinds(root, EFI_VENDORS_DIR, problems):
        if kind != rootfs.OTHER:  # a directory, or a link that may lead to one
            paths += [f"{EFI_VENDORS_DIR}/{vendor}/{GRUB_MENU_NAME}", f"{EFI_VENDORS_DIR}/{vendor}/{GRUB_ENVIRONMENT_NAME}"]
    for directory in UKI_DIRS:
        for name, kind in rootfs.list_config_dir_kinds(root, directory, problems):
            if name.endswith(UKI_SUFFIX) and not name.startswith(".") and kind != rootfs.DIRECTORY:
                paths.append(f"{directory}/{name}")
            elif name.endswith(UKI_EXTRA_SUFFIX) and kind != rootfs.OTHER:
                paths += _uki_addons(root, f"{directory}/{name}", problems)
    for directory in UKI_ADDON_DIRS:
        paths += _uki_addons(root, directory, problems)
    return paths


def _uki_addons(root: Path, directory: str, problems: list[str]) -> list[str]:
    return [f"{directory}/{name}" for name, kind in rootfs.list_config_dir_kinds(root, directory, problems)
            if name.endswith(".addon" + UKI_SUFFIX) and not name.startswith(".") and kind != rootfs.DIRECTORY]


def _uki_cmdlines(root: Path, path: str) -> list[tuple[int, str]]:
    """The command line embedded in the Unified Kernel Image (or add-on) at ``path``: its .cmdline
    section.  An image without one boots with what the boot loader passes, which is not known
    offline (OSError); a file that is no PE file is a ValueError."""
    header = rootfs.read_head(root, path, PE_HEADER_BYTES)
    try:
        section = pe_section(header, b".cmdline")
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    if section is None:
        if path.endswith(".addon" + UKI_SUFFIX):
            return []  # an add-on may carry only a devicetree
        raise OSError(errno.ENODATA, "a Unified Kernel Image without an embedded command line (.cmdline): it boots "
                                     "with what the boot loader passes, which is not known offline", path)
    offset, size = section
    if size > MAX_CMDLINE_BYTES:
        raise ValueError(f"{path}: its .cmdline section is larger than {MAX_CMDLINE_BYTES} bytes")
    text = rootfs.read_head(root, path, size, offset).split(b"\0", 1)[0]
    return [(1, text.decode("utf-8", "replace"))]


def image_boot_cmdlines(root: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """The kernel command lines an image's boot loader files hold, as ``(origin, command line)``
    (``"/etc/default/grub:6"``), and the problems met reading them (a file that cannot be read may
    hold any).  Read once a collection: the sysctl and audit sections both ask."""
    found, problems = rootfs.read_once(("image boot command lines", os.fspath(root)),
                                       lambda: _image_boot_cmdlines(root))
    return list(found), list(problems)


# What one image's boot loader files may hold at the most (a real one: a dozen files, tens of KB, a
# few dozen command lines).  Each file alone is bounded, and a link to one read once, but a hard link
# is another name of one file: 20 EFI vendor directories each holding one of a 4 MiB grub.cfg took
# 217 s and 562 MB.  Past any bound none is used, and the configuration could not be read completely.
MAX_BOOT_LOADER_FILES = 256
MAX_BOOT_LOADER_BYTES = 8 * 1024 * 1024
MAX_KERNEL_CMDLINES = 1_024


def _image_boot_cmdlines(root: Path) -> tuple[list[tuple[str, str]], list[str]]:
    problems: list[str] = []
    found: list[tuple[str, str]] = []
    read: set[Path] = set()
    paths = boot_entry_files(root, problems)
    if len(paths) > MAX_BOOT_LOADER_FILES:
        return [], [*problems, f"the image's boot loader directories name {len(paths):,} files that may hold a kernel "
                               f"command line, more than the {MAX_BOOT_LOADER_FILES} lbaudit looks at"]
    budget = MAX_BOOT_LOADER_BYTES
    for path in paths:
        try:
            real = rootfs.resolve(root, path)
            if real in read:
                continue  # /boot/grub2/grubenv is a link to the EFI partition's, also read by its own name
            if path.endswith(UKI_SUFFIX):
                read.add(real)
                found += [(f"{path} (.cmdline)", cmdline) for _, cmdline in _uki_cmdlines(root, path)]
                continue
            limit = min(rootfs.MAX_CONFIG_BYTES, budget)
            try:
                text = rootfs.read_text(root, path, limit)
            except safeio.FileTooLarge:
                if limit == rootfs.MAX_CONFIG_BYTES:
                    raise
                return [], [*problems, f"{path}: the image's boot loader files hold more than "
                                       f"{MAX_BOOT_LOADER_BYTES:,} bytes together, more than lbaudit reads"]
            budget -= len(text)
            read.add(real)
        except FileNotFoundError:
            # RHEL's /boot/grub2/grubenv leads into the EFI system partition, which an image may
            # not carry: the command line it holds is not known, not absent
            problem = rootfs.absence_problem(root, path)
            if problem is not None:
                problems.append(problem)
            continue
        except OSError as exc:
            problems.append(f"{path}: {rootfs.describe_os_error(exc)}")
            continue
        except ValueError as exc:  # a Unified Kernel Image that is no PE file lbaudit can read
            problems.append(str(exc))
            continue
        found += [(f"{path}:{number}", cmdline)
                  for number, cmdline in boot_entry_cmdlines(path, text, MAX_KERNEL_CMDLINES - len(found))]
        if len(found) > MAX_KERNEL_CMDLINES:
            return [], [*problems, f"{path}: the image's boot loader files hold more than {MAX_KERNEL_CMDLINES:,} "
                                   "kernel command lines, more than lbaudit reads"]
    return found, problems


def image_cmdline_gaps(root: Path, persistent: dict[str, SysctlSetting]) -> list[Gap]:
    """Offline, the boot entry an image starts (and so its kernel command line) is not known: a key a
    ``sysctl.*`` parameter of any of its boot loader files sets, and no sysctl.d file names, has a
    boot value lbaudit cannot tell (one ``persistent/<key>`` gap each, so that no kernel default is
    assumed for it).  A boot loader file that cannot be read may set any key: then every key
    lbaudit collects that no file names gets such a gap."""
    cmdlines, problems = image_boot_cmdlines(root)
    found: dict[str, list[str]] = {}
    for origin, cmdline in cmdlines:
        for line in cmdline_sysctls(cmdline):
            found.setdefault(line.key, []).append(f"{origin} sets {line.key} = {line.value!r}")
    gaps = [Gap(section="sysctl", path=("persistent", key), kind=GapKind.UNREADABLE,
                reason=f"the image's kernel command line may set {key} ({'; '.join(origins)}), and which boot entry "
                       "it starts is not known offline; no sysctl.d file sets the key, so its value at boot is unknown")
            for key, origins in sorted(found.items()) if key not in persistent]
    # A file's write that the command line's earlier write changes (a one-number range keeps the
    # command line's high end; a range below the command line's ip_unprivileged_port_start is
    # refused): judged as the file's alone, 40000 was 40000-60999 where the entry boots 40000-40500.
    doubts: dict[str, list[str]] = {}
    for origin, cmdline in cmdlines:
        for key, why in order_dependent_writes([], cmdline_sysctls(cmdline), persistent).items():
            # (the replay names the running kernel's command line: here it is this entry's)
            doubts.setdefault(key, []).append(f"{origin}: {why.replace(f'({KERNEL_CMDLINE})', f'({origin})')}")
    gaps += [Gap(section="sysctl", path=("persistent", key), kind=GapKind.UNREADABLE,
                 reason=f"the image's kernel command line writes before its sysctl.d files ({'; '.join(whys)}), and "
                        "which boot entry it starts is not known offline, so the value of the key at boot is unknown")
             for key, whys in sorted(doubts.items())]
    if problems:
        reason = ("the image's boot loader configuration could not be read completely (" + "; ".join(problems)
                  + "): its kernel command line may set this key, which no sysctl.d file sets")
        named = {g.path[1] for g in gaps}
        gaps += [Gap(section="sysctl", path=("persistent", key), kind=GapKind.UNREADABLE, reason=reason)
                 for key in (*SYSCTL_KEYS, IO_URING_DISABLED) if key not in persistent and key not in named]
    return gaps


# A sysctl the kernel registers in the initial network namespace alone (net_core_table of
# net/core/sysctl_net_core.c holds globals, registered for init_net only), and that every kernel
# has: /proc/sys/net shows the namespace of the process reading it, whatever /proc is mounted, so
# it is there exactly when lbaudit runs in the initial namespace (checked on Linux 6.18 with
# unshare --net: net/core/netdev_max_backlog is missing, net/core/somaxconn is there).
INIT_NET_ONLY_SYSCTL = "net.core.netdev_max_backlog"
# The inode of the initial PID namespace (PROC_PID_INIT_INO, include/linux/proc_ns.h, fixed since
# Linux 3.8): a process whose /proc/self/ns/pid has it sees the host's own init as PID 1.
INITIAL_PID_NAMESPACE_INODE = 0xEFFFFFFC
# Where the boot's sysctls for the network namespace lbaudit runs in come from.
BOOT_NETNS_INITIAL = "initial"  # the kernel command line and the files (the host's own namespace)
BOOT_NETNS_INIT = "init"  # the files only: the namespace of the PID 1 that runs the boot's tool (a container)
BOOT_NETNS_OTHER = "other"  # neither (ip netns exec, unshare --net, nsenter -n): a new namespace's values


def boot_netns(ctx: CollectContext) -> tuple[str | None, str]:
    """Which of the boot's writes reach the network namespace lbaudit runs in (one of the
    ``BOOT_NETNS_*``; None when it cannot be told), and why.  The kernel writes its command line's
    sysctls before init, in the initial namespace; the boot's tool (systemd-sysctl, sysctl
    --system) writes the files in the namespace of the init that runs it.  A namespace created
    later starts from the kernel's defaults (tcp_sk_init, inet_init_net: the keys lbaudit reads
    are not copied from the initial namespace; only conf/all and conf/default may be, under
    net.core.devconf_inherit_init_net) and what its creator sets, none of which lbaudit sees."""
    proc = ctx.target.proc
    probe = sysctl_path(INIT_NET_ONLY_SYSCTL, f"{proc}/sys")
    if os.path.exists(probe):
        return BOOT_NETNS_INITIAL, ""
    if not os.path.isdir(f"{proc}/sys/net/core"):
        return None, (f"{proc}/sys/net/core: not readable, so whether lbaudit runs in the initial network "
                      "namespace, the one the boot configures, cannot be told")
    outside = (f"lbaudit runs in a network namespace other than the initial one ({probe}, which only the "
               "initial namespace shows, is missing): the kernel command line's sysctls were written in the "
               "initial namespace")
    try:
        own, init = os.stat(f"{proc}/self/ns/net"), os.stat(f"{proc}/1/ns/net")
        shared = (own.st_dev, own.st_ino) == (init.st_dev, init.st_ino)
    except OSError as exc:
        # PID 1 of the initial PID namespace is the init the kernel started, in the initial
        # network namespace, which this one is not
        try:
            shared = False if os.stat(f"{proc}/self/ns/pid").st_ino == INITIAL_PID_NAMESPACE_INODE else None
        except OSError:
            shared = None
        if shared is None:
            return None, (f"{outside}, and whether the sysctl.d files were applied here cannot be told: the network "
                          f"namespace of PID 1 (the init that applies them) is not readable ({exc.strerror or exc})")
    if shared:
        return BOOT_NETNS_INIT, (f"{outside}; the sysctl.d files are applied here by this namespace's own init "
                                 "(PID 1 shares it), so only they are its boot configuration")
    return BOOT_NETNS_OTHER, (f"{outside}, and the sysctl.d files by PID 1, in a namespace of its own: this "
                              "namespace started from the kernel defaults and what its creator (a container "
                              "runtime, ip netns exec, unshare) set, which lbaudit cannot see, so its net.* "
                              "values have no boot configuration to drift from")


def _per_netns(key: str) -> bool:
    """Whether a boot configuration entry (a key, a glob or an ``-key`` exclusion) names net.*
    sysctls, which the kernel keeps per network namespace."""
    return key.lstrip(EXCLUDE_PREFIX).startswith(PER_NETNS_PREFIX)


def read_boot_sysctls(ctx: CollectContext) -> tuple[dict[str, SysctlSetting] | None, list[Gap]]:
    """What the boot sets: the kernel command line's sysctls on a running host, then the sysctl
    configuration files as the boot's tool applies them.  Fails closed as
    :func:`read_persistent_sysctls` does: a part that cannot be read makes the whole unknown.
    Offline, a key an image's boot entries may set on the kernel command line is a gap
    (:func:`image_cmdline_gaps`).  In a network namespace other than the initial one, the net.*
    part is what reaches that namespace (:func:`boot_netns`): no command line sysctl, and the
    files only where its own init applies them; where neither reaches it, or that cannot be told,
    each net.* key lbaudit reads has a ``persistent/<key>`` gap saying so (not applicable,
    unreadable) and no boot value.  Read once a collection (the sysctl and audit sections both ask)."""
    settings, gaps = rootfs.read_once(("boot sysctls", os.fspath(ctx.root), ctx.target.runtime),
                                      lambda: _read_boot_sysctls(ctx))
    return (None if settings is None else dict(settings)), list(gaps)


def _read_boot_sysctls(ctx: CollectContext) -> tuple[dict[str, SysctlSetting] | None, list[Gap]]:
    cmdline, problems = running_cmdline_sysctls(ctx)
    scope, why = boot_netns(ctx) if ctx.target.runtime else (BOOT_NETNS_INITIAL, "")
    if scope != BOOT_NETNS_INITIAL:
        cmdline = [line for line in cmdline if not _per_netns(line.key)]
    persistent, gaps = read_persistent_sysctls(ctx.root, cmdline, running=ctx.target.runtime)
    if problems:
        reason = "the boot's sysctl configuration could not be read completely: " + "; ".join(problems)
        return None, [*gaps, Gap(section="sysctl", field="persistent", reason=reason, kind=GapKind.UNREADABLE)]
    if persistent is not None and not ctx.target.runtime:
        image_gaps = image_cmdline_gaps(ctx.root, persistent)
        gaps += image_gaps
        # a key the files set whose boot value an entry's command line makes unknown has no value
        unknown = {gap.path[1] for gap in image_gaps}
        persistent = {key: setting for key, setting in persistent.items() if key not in unknown}
    if persistent is not None and scope in (BOOT_NETNS_OTHER, None):
        persistent = {key: setting for key, setting in persistent.items() if not _per_netns(key)}
        kind = GapKind.NOT_APPLICABLE if scope == BOOT_NETNS_OTHER else GapKind.UNREADABLE
        gaps += [Gap(section="sysctl", path=("persistent", key), kind=kind, reason=why)
                 for key in SYSCTL_KEYS if _per_netns(key)]
    return persistent, gaps


def collect_sysctl(ctx: CollectContext) -> tuple[SysctlFacts | None, list[Gap]]:
    # What the boot sets (the kernel command line, then sysctl.d precedence), live and offline alike.
    persistent, persistent_gaps = read_boot_sysctls(ctx)
    if not ctx.target.runtime:
        gap = Gap(section="sysctl", field="runtime", kind=GapKind.NOT_APPLICABLE,
                  reason="running sysctl values are not visible in an offline root directory")
        return SysctlFacts(runtime=None, persistent=persistent, kernel_hz=collect_kernel_hz(ctx)), [gap, *persistent_gaps]
    runtime, gaps = read_runtime_sysctls(SYSCTL_KEYS, f"{ctx.target.proc}/sys")
    return SysctlFacts(runtime=runtime, persistent=persistent, kernel_hz=collect_kernel_hz(ctx)), gaps + persistent_gaps


def describe_sysctl(facts: SysctlFacts, ctx: CollectContext) -> str:
    """How the sysctls were collected, for the provenance."""
    parts = ["/proc/sys (running values)"] if facts.runtime is not None else []
    if facts.persistent is not None:
        applier = boot_applier(ctx.root, [])
        cmdline = f"the sysctl.* parameters of {KERNEL_CMDLINE}, then " if ctx.target.runtime else ""
        credential = (" and its sysctl.extra credential" if ctx.target.runtime and not BOOT_APPLIERS[applier] else "")
        note = directories_note(ctx.root, applier, ctx.target.runtime)
        scope, why = boot_netns(ctx) if ctx.target.runtime else (BOOT_NETNS_INITIAL, "")
        if scope == BOOT_NETNS_INIT:
            note = "; ".join(filter(None, [note, f"net.* from the files only: {why}"]))
        elif scope != BOOT_NETNS_INITIAL:
            note = "; ".join(filter(None, [note, f"no net.* boot value: {why}"]))
        parts.append(f"{cmdline}sysctl configuration files{credential} as {applier} applies them at boot "
                     f"(persistent values{'; ' + note if note else ''})")
    return "; ".join(parts) or "not collected (see gaps)"


def summarize_sysctl(facts: SysctlFacts) -> str:
    """The `lbaudit collect` summary of the section."""
    runtime, persistent = facts.runtime, facts.persistent
    return (f"sysctls {'-' if runtime is None else len(runtime)} running, "
            f"{'?' if persistent is None else len(persistent)} configured")
