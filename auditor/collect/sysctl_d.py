"""Which sysctl configuration files take effect under a root, and what they set (sysctl.d(5)).

The meaning of the lines and the order they apply in is :mod:`auditor.domain.sysctl`; this module
only lists the directories, resolves masks, tells which tool applies them at boot and reads the
files, failing closed.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import Callable

from auditor.collect import rootfs
from auditor.domain.sysctl import (
    BOOT_APPLIERS,
    IO_URING_DISABLED,
    LIB_SYSCTL_DIR,
    RUN_SYSCTL_DIR,
    RUNTIME_KEYS_BY_SNAPSHOT_VERSION,
    SYSCTL_CONF,
    SYSCTL_CREDENTIAL_DIRS,
    SYSCTL_CREDENTIALS,
    SYSCTL_DIRS,
    SYSTEMD_SYSCTL_PATHS,
    SYSTEMD_WITHOUT_LIB_SYSCTL_D,
    SysctlLine,
    boot_sysctl_dirs,
    configured_setting,
    glob_matches,
    is_glob,
    merge_settings,
    order_dependent_writes,
    parse_sysctl_conf,
    procps_dot_dot_target,
    systemd_readable,
)
from auditor.model.facts import Gap, GapKind, SysctlSetting
from auditor.model.records import record
from auditor.patterns import first_use

# ---------------------------------------------------------------- selecting and reading files

@record
class ConfigFile:
    name: str
    path: str  # as seen inside the root: "/etc/sysctl.d/99-x.conf"
    # a symlink to /dev/null (or, for sysctl --system, a directory): the entry sets nothing and hides
    # later files of its name
    masked: bool
    # The directory entry is a symbolic link (or its kind is unknown): its name need not be the
    # name of the file it leads to.  A plain entry is the file itself, nothing to resolve.
    link: bool = True


def _is_masked(root: Path, path: str) -> bool:
    return _Masks(root).masked(path)


class _Masks:
    """Tells which links of a listing mask their name (lead to /dev/null), resolving each directory
    and /dev/null once, not again for each link: four walks from the root per link made a unit
    directory of 100,000 links take minutes."""

    def __init__(self, root: Path):
        self.root = root
        self._directories: dict[str, Path | None] = {}
        self._dev_null: Path | None = None

    def masked(self, path: str) -> bool:
        directory, _, name = path.rpartition("/")
        if directory not in self._directories:
            try:
                self._directories[directory] = rootfs.resolve(self.root, directory or "/")
            except OSError:
                self._directories[directory] = None
        real_directory = self._directories[directory]
        if real_directory is not None:
            link = real_directory / name
            try:
                if link.is_symlink() and os.readlink(link) == "/dev/null":  # systemctl mask's own link
                    return True
            except OSError:
                pass
        try:
            if self._dev_null is None:
                self._dev_null = rootfs.resolve(self.root, "/dev/null")
            return rootfs.resolve(self.root, path) == self._dev_null
        except OSError:
            return False


def _too_many_files(directories: tuple[str, ...], reached: str) -> str:
    """The problem of a listing that went past MAX_CONFIG_FILES in ``reached``: the directories read so far."""
    return (f"{', '.join(directories[:directories.index(reached) + 1])}: more than {rootfs.MAX_CONFIG_FILES} "
            "files, more than lbaudit reads (none was read)")


def select_files(root: Path, directories: tuple[str, ...] = SYSCTL_DIRS, suffix: str = ".conf",
                 applier: str | None = None) -> tuple[list[ConfigFile], list[str]]:
    """The files that take effect, in the order they are applied, and the problems met listing
    the directories.  Other suffixes are skipped; so are hidden files and directories, as systemd
    lists configuration files.  For sysctl.d (``applier``, the tool that applies it at boot), a
    symbolic link to a directory is listed by either tool (systemd-sysctl 252 takes every link):
    it sets nothing but hides the later files of its name; procps' ``sysctl --system`` also takes
    every name that ends in the suffix (PreloadSystem: a hidden ``.tuning.conf`` is applied), a
    directory too, which hides its name the same way (both checked with systemd-sysctl 252 and
    procps-ng 4.0.2)."""
    chosen: dict[str, ConfigFile] = {}
    problems: list[str] = []
    every_name = applier == "sysctl --system"
    masks = _Masks(root)
    for directory in directories:
        for name, kind in rootfs.list_config_dir_kinds(root, directory, problems):
            if len(chosen) > rootfs.MAX_CONFIG_FILES:  # as soon as it is past: a directory holds 100,000
                return [], problems + [_too_many_files(directories, directory)]
            if name in chosen or (name.startswith(".") and not every_name) or not name.endswith(suffix):
                continue
            path = f"{directory}/{name}"
            if kind == rootfs.DIRECTORY:
                if every_name:
                    chosen[name] = ConfigFile(name, path, masked=True, link=False)
                continue
            if kind != rootfs.LINK:
                # A plain entry is what it is: no walk from the root to tell a mask or a directory
                # (three walks per name made a directory of 100,000 names take minutes).
                chosen[name] = ConfigFile(name, path, masked=False, link=False)
                continue
            masked = masks.masked(path)
            if not masked:
                try:
                    if stat.S_ISDIR(rootfs.file_mode(root, path)):
                        if applier is not None:
                            chosen[name] = ConfigFile(name, path, masked=True)
                        continue
                except OSError:
                    pass  # dangling or unreadable: reading it below tells
            chosen[name] = ConfigFile(name, path, masked)
        if len(chosen) > rootfs.MAX_CONFIG_FILES:
            return [], problems + [_too_many_files(directories, directory)]
    return [chosen[name] for name in sorted(chosen, key=rootfs.name_bytes)], problems  # as the boot sorts


def boot_applier(root: Path, problems: list[str]) -> str:
    """The tool that applies sysctl.d when the host under ``root`` boots (a key of
    :data:`BOOT_APPLIERS`): systemd-sysctl where it is installed, else procps' ``sysctl --system``
    (sysvinit's /etc/init.d/procps).  A path that cannot be looked at is added to ``problems``."""
    what = "whether systemd-sysctl applies the configuration at boot, and so whether /etc/sysctl.conf is read"
    for path in SYSTEMD_SYSCTL_PATHS:  # one at a time: the first found decides, the paths after it are not looked at
        if _regular_files(root, (path,), problems, what):
            return "systemd-sysctl"
    return "sysctl --system"


# OpenRC's sysctl service (init.d/sysctl.in of OpenRC, Alpine's boot runlevel) runs procps'
# ``sysctl --system`` only where ``sysctl -V`` succeeds (procps-ng).  With busybox's sysctl it runs
# its BSD_sysctl loop instead, which lbaudit does not replay: nothing unless /etc/sysctl.conf exists,
# then /etc/sysctl.conf first and /etc/sysctl.d/*.conf only (not /run, /usr/local/lib, /usr/lib or
# /lib), each line through ``sed 's/ = /=/' | while read var comments`` into ``sysctl -w "$var"``, so
# a value is written only up to its first white space (``ip_local_port_range = 1024 65535`` sets the
# low end alone: 1024-60999 on the booted host, checked with busybox 1.35's sysctl on Linux 6.18).
OPENRC_SYSCTL_SERVICE = "/etc/init.d/sysctl"
# Where OpenRC's PATH finds a sysctl program (the service runs whichever comes first).
SYSCTL_PROGRAMS = tuple(f"{directory}/sysctl" for directory in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                                                "/usr/bin", "/sbin", "/bin"))


def openrc_busybox_sysctl(root: Path, problems: list[str]) -> str | None:
    """Why the boot under ``root`` does not apply its sysctl configuration as ``sysctl --system``
    reads it: OpenRC's sysctl service with a sysctl that is not procps' (busybox's, or none found),
    which runs the service's own loop; None where no OpenRC sysctl service is installed, or every
    sysctl program there is procps'.  Problems met looking are added to ``problems``."""
    try:
        head = rootfs.read_head(root, OPENRC_SYSCTL_SERVICE, 256)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        problems.append(f"{OPENRC_SYSCTL_SERVICE}: {rootfs.describe_os_error(exc)} (whether OpenRC's sysctl service "
                        "applies the configuration, and with which sysctl, cannot be told)")
        return None
    if b"openrc-run" not in head.partition(b"\n")[0]:
        return None
    found: list[str] = []
    busybox: list[str] = []
    for path in SYSCTL_PROGRAMS:
        try:
            real = rootfs.resolve(root, path)
        except OSError as exc:
            problems.append(f"{path}: {rootfs.describe_os_error(exc)} (whether the sysctl OpenRC's sysctl service "
                            "runs is procps' cannot be told)")
            continue
        if not real.is_file():
            continue
        inside = rootfs.inside_root(root, real)
        found.append(path)
        if real.name.startswith("busybox"):
            busybox.append(f"{path} -> {inside}" if inside != path else path)
    if found and not busybox:
        return None  # procps-ng: the service runs sysctl --system
    which = (f"the sysctl it runs is busybox's ({', '.join(busybox)})" if busybox
             else f"no sysctl program was found ({', '.join(SYSCTL_PROGRAMS)})")
    return (f"OpenRC's sysctl service ({OPENRC_SYSCTL_SERVICE}) applies the boot's sysctl configuration, and {which}: "
            "where `sysctl -V` fails the service runs its own loop rather than `sysctl --system`, which applies "
            f"nothing unless {SYSCTL_CONF} exists, then {SYSCTL_CONF} first and /etc/sysctl.d/*.conf only, and "
            "writes each value only up to its first white space (ip_local_port_range = 1024 65535 sets the low end "
            "alone); lbaudit does not replay that loop, so the values the boot sets are unknown")


# What applies sysctl.d at an image's boot where no systemd-sysctl is installed: procps' ``sysctl
# --system``, run by an init script of the boot (Debian's sysvinit /etc/init.d/procps, procps-ng's
# own; OpenRC's /etc/init.d/sysctl, Alpine's boot runlevel) that an init program starts.  A container
# image has none of the three (nor a kernel or /boot): the runtime starts its process in a network
# namespace it creates, which holds the kernel's defaults and what the runtime sets, and nothing in
# the image writes /proc/sys.  busybox's sysctl has no --system (OpenRC's loop with it is
# :func:`openrc_busybox_sysctl`'s), and RHEL 6's rc.sysinit runs ``sysctl -p`` on each file of
# /etc/sysctl.d (/etc/sysctl.conf first, any name), a reading lbaudit does not replay: neither counts.
SYSCTL_INIT_SCRIPTS = ("/etc/init.d/procps", OPENRC_SYSCTL_SERVICE)
INIT_PROGRAMS = ("/sbin/init", "/usr/sbin/init", "/sbin/openrc-init", "/usr/sbin/openrc-init")


def _regular_files(root: Path, paths: tuple[str, ...], problems: list[str], what: str) -> list[Path]:
    """The real paths under ``root`` of those of ``paths`` that lead to a regular file; a path that
    cannot be looked at, or a link on its way to nothing, is added to ``problems`` (``what`` says
    what it would have told)."""
    found: list[Path] = []
    for path in paths:
        try:
            real = rootfs.resolve(root, path)
            mode = rootfs.file_mode(root, path)
        except (FileNotFoundError, NotADirectoryError):
            problem = rootfs.absence_problem(root, path)
            if problem is not None:
                problems.append(f"{problem} ({what} cannot be told)")
            continue
        except OSError as exc:
            problems.append(f"{path}: {rootfs.describe_os_error(exc)} ({what} cannot be told)")
            continue
        if stat.S_ISREG(mode):
            found.append(real)
    return found


def image_without_applier(root: Path, problems: list[str]) -> str | None:
    """Why nothing applies sysctl.d when the image under ``root``, which has no systemd-sysctl,
    boots (or is started as a container), so that the values its files set are not what its kernel
    holds; None where an init program starts an init script that runs procps' ``sysctl --system``
    (:data:`SYSCTL_INIT_SCRIPTS`).  Problems met looking are added to ``problems``."""
    what = "whether anything applies the sysctl configuration at boot"
    scripts = _regular_files(root, SYSCTL_INIT_SCRIPTS, problems, what)
    programs = [real for real in _regular_files(root, SYSCTL_PROGRAMS, problems, what)
                if not real.name.startswith("busybox")]
    inits = _regular_files(root, INIT_PROGRAMS, problems, what)
    if scripts and programs and inits:
        return None
    missing = [text for found, text in (
        (scripts, f"no init script that runs it ({', '.join(SYSCTL_INIT_SCRIPTS)})"),
        (programs, f"no procps sysctl program ({', '.join(SYSCTL_PROGRAMS)}; busybox's has no --system)"),
        (inits, f"no init program to run a boot's scripts ({', '.join(INIT_PROGRAMS)})")) if not found]
    return (f"nothing in this image applies its sysctl configuration: no systemd-sysctl "
            f"({', '.join(SYSTEMD_SYSCTL_PATHS)}), and for procps' `sysctl --system` {'; '.join(missing)}.  "
            "Started as a container, it runs in a network namespace its runtime creates, which holds the kernel's "
            "defaults and whatever the runtime sets (neither of which the image says), so the values the boot sets "
            "are unknown")


# Where systemd installs libsystemd-shared-<version>.so, named by its version (meson's shared-lib-tag:
# "252" on Debian, "255.4-1.fc40" on Fedora): split and merged /usr, Fedora's lib64, and Debian's
# multiarch directory (systemd 256 and later there: /usr/lib/x86_64-linux-gnu/systemd).
SYSTEMD_LIBRARY_DIRS = ("/usr/lib/systemd", "/lib/systemd", "/usr/lib64/systemd")
_SHARED_LIBRARY = re.compile(r"libsystemd-shared-([0-9]{1,5})(?![0-9])")
# The most multiarch directories (/usr/lib/*-linux*) looked in: an image has one or two.  Each is
# listed whole, so past this many (thousands of links to one directory of thousands of names held a
# collection for hours) the version is not known.
MAX_MULTIARCH_DIRS = 16


def systemd_version(root: Path) -> int | None:
    """The major version of the systemd installed under ``root``, from the name of its
    libsystemd-shared library; None when there is none, it cannot be listed, or two installed
    versions disagree (an upgrade half done), since then which one runs at boot is not known, or
    /usr/lib holds more than :data:`MAX_MULTIARCH_DIRS` multiarch names.  Read once a collection
    (the persistent settings and the provenance's note both ask)."""
    return rootfs.read_once(("systemd version", str(root)), lambda: _systemd_version(root))


def _systemd_version(root: Path) -> int | None:
    return _library_version(root, SYSTEMD_LIBRARY_DIRS, ("/usr/lib",), "/systemd", _SHARED_LIBRARY,
                            lambda match: int(match[1]))


def _library_version(root: Path, directories: tuple[str, ...], multiarch_bases: tuple[str, ...], below: str,
                     library: re.Pattern[str], version_of: Callable[[re.Match[str]], int]) -> int | None:
    """The one version the libraries named like ``library`` in ``directories`` and in the multiarch
    directories of ``multiarch_bases`` (``BASE/*-linux*`` + ``below``) give; None when there is none,
    two disagree, a directory that exists cannot be listed, or a base holds more than
    :data:`MAX_MULTIARCH_DIRS` multiarch names."""
    looked_in = list(directories)
    for base in multiarch_bases:
        try:
            multiarch = [name for name in rootfs.list_dir(root, base) if "-linux" in name]
        except FileNotFoundError:
            multiarch = []
        except OSError:
            return None  # unlistable (EACCES, not a directory, too many names): a library may be in it
        if len(multiarch) > MAX_MULTIARCH_DIRS:
            return None
        looked_in += [f"{base}/{name}{below}" for name in multiarch]
    found: set[int] = set()
    for directory in looked_in:
        try:
            names = rootfs.list_dir(root, directory)
        except FileNotFoundError:
            continue
        except OSError:
            return None  # as above: what it holds may disagree with what the others say
        found.update(version_of(match) for name in names if (match := library.match(name)))
    return found.pop() if len(found) == 1 else None


def directories_note(root: Path, applier: str, running: bool) -> str:
    """Which of the sysctl.d directories are read and why, for the provenance."""
    notes = [] if running else [f"{RUN_SYSCTL_DIR} not read (a tmpfs is mounted on /run at boot)"]
    if applier == "systemd-sysctl":
        version = systemd_version(root)
        if version is None:
            notes.append(f"{LIB_SYSCTL_DIR} read, although systemd {SYSTEMD_WITHOUT_LIB_SYSCTL_D} and later do not "
                         "read it: the installed systemd's version is not known")
        elif version >= SYSTEMD_WITHOUT_LIB_SYSCTL_D:
            notes.append(f"{LIB_SYSCTL_DIR} not read (systemd {version})")
    return "; ".join(notes)


def _credential(root: Path, problems: list[str]) -> str | None:
    """The sysctl.extra credential systemd-sysctl reads after the files on a running host: the copy
    its service was given, else (its credentials not set up now) the system's, which the next start
    gets; None when there is none."""
    for directory, path in zip(SYSCTL_CREDENTIAL_DIRS, SYSCTL_CREDENTIALS):
        try:
            mode = rootfs.file_mode(root, directory)
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append(f"{directory}: {rootfs.describe_os_error(exc)} (its sysctl.extra would be applied last)")
            return None
        return path if stat.S_ISDIR(mode) else None
    return None


SYSTEMD_SYSCTL_SERVICE = "systemd-sysctl.service"


def _service_masked(root: Path, problems: list[str], running: bool) -> bool:
    """Whether systemd-sysctl.service is masked under ``root`` (``systemctl mask``: a link to
    /dev/null or an empty unit file), so that the boot applies no sysctl.d file.  A unit that
    cannot be read is a problem: it may be masked.  So is every problem met looking for it, whatever
    the answer: a unit directory not read (not listable, or more entries than lbaudit reads) may
    hold the mask (or a unit file that overrides one), and "absent" or "enabled" said without it
    let the sysctl.d files be judged as applied when the boot applies none."""
    from auditor.collect.systemd_sockets import unit_boot_state  # it reads sysctl.d through this module

    state, found = unit_boot_state(root, SYSTEMD_SYSCTL_SERVICE, running)
    problems.extend(f"{problem} (whether {SYSTEMD_SYSCTL_SERVICE} runs at boot cannot be told)" for problem in found)
    return state == "masked"


# What older systemd-sysctl builds read differently, and which the installed systemd's version tells:
# * "-key = value" (ignore a failure to write) arrived in systemd 243 (PR 13191): before, the key
#   "-net.ipv4.x" names no /proc/sys file and the line sets nothing;
# * glob keys and "-key" exclusions arrived in 245 (PR 14589): before, a glob is written as a path
#   (no such file) and "-key" is "not an assignment", so neither sets or takes back anything;
# * systemd-sysctl read /etc/sysctl.conf itself before 207, and RHEL 7's 219 (CentOS 7, Amazon
#   Linux 2) still reads it, last, over every sysctl.d file (its patch "sysctl: bring back
#   /etc/sysctl.conf": parse_file(sysctl_options, "/etc/sysctl.conf", true) after the list).
# Neither 219 nor 206 installs libsystemd-shared (231 and later do): where the version cannot be
# told, all three are possible.  A distribution may have backported the newer syntax, so a key the two
# readings disagree on is unknown, never judged on the older reading.
SYSTEMD_SYSCTL_IGNORE_FAILURE = 243
SYSTEMD_SYSCTL_GLOBS = 245
# The keys the checks judge at boot: every running key a snapshot collects, and io_uring_disabled.
JUDGED_BOOT_KEYS = tuple(sorted({key for keys in RUNTIME_KEYS_BY_SNAPSHOT_VERSION.values() for key in keys}
                                | {IO_URING_DISABLED}))


def _older_systemd(version: int | None) -> str:
    if version is None:
        return ("the installed systemd's version is not known (no libsystemd-shared library, which systemd 231 "
                "and later install), and systemd-sysctl before 243 writes no '-key = value' line, before 245 "
                "expands no glob and takes no '-key' exclusion, and RHEL 7's 219 (like any before 207) applies "
                f"{SYSCTL_CONF} after every sysctl.d file")
    what = "writes no '-key = value' line and " if version < SYSTEMD_SYSCTL_IGNORE_FAILURE else ""
    return (f"systemd-sysctl {version} {what}expands no glob and takes no '-key' exclusion (systemd "
            f"{SYSTEMD_SYSCTL_GLOBS} and later do), unless its distribution backported them")


def _as_older_systemd(lines: list[SysctlLine], version: int | None) -> list[SysctlLine]:
    """The lines an older systemd-sysctl (:data:`SYSTEMD_SYSCTL_GLOBS`) takes from a file."""
    return [line for line in lines
            if line.value is not None and not is_glob(line.key)
            and not (line.ignore_failure and (version is None or version < SYSTEMD_SYSCTL_IGNORE_FAILURE))]


def _older_systemd_doubts(root: Path, parsed: list[tuple[str, list[SysctlLine]]], cmdline: list[SysctlLine] | tuple,
                          settings: dict[str, SysctlSetting], version: int | None,
                          running: bool = True) -> dict[str, str] | None:
    """The judged keys (:data:`JUDGED_BOOT_KEYS`) whose boot value an older systemd-sysctl (before
    :data:`SYSTEMD_SYSCTL_GLOBS`, or of unknown version) would set otherwise than ``settings`` says,
    each with why; None when no key can be vouched for: a glob decides such a key (removing the key
    would leave the glob to decide it again), or /etc/sysctl.conf, which an unknown version may
    read, cannot be read (in an image, ``running`` False, a link to nothing there too: perhaps a
    mount the image does not carry)."""
    if version is not None and version >= SYSTEMD_SYSCTL_GLOBS:
        return {}
    older = [(path, _as_older_systemd(lines, version)) for path, lines in parsed]
    if version is None and not _is_masked(root, SYSCTL_CONF):
        try:
            older.append((SYSCTL_CONF, _as_older_systemd(parse_sysctl_conf(rootfs.read_text(root, SYSCTL_CONF)),
                                                         version)))
        except FileNotFoundError:
            if not running and rootfs.absence_problem(root, SYSCTL_CONF) is not None:
                return None
        except OSError:
            return None
    then_settings = merge_settings(older, cmdline)
    why = _older_systemd(version)
    doubts: dict[str, str] = {}
    for key in JUDGED_BOOT_KEYS:
        now, then = configured_setting(settings, key), configured_setting(then_settings, key)
        if (now.value if now else None) == (then.value if then else None):
            continue
        if any(is_glob(pattern) and not pattern.startswith("-") and glob_matches(pattern, key) for pattern in settings):
            return None
        now_text = "nothing" if now is None else f"{now.value!r} ({now.origin})"
        then_text = "nothing" if then is None else f"{then.value!r} ({then.origin})"
        doubts[key] = (f"the boot's sysctl configuration sets {key} to {now_text} as systemd-sysctl 245 and later "
                       f"read it, but to {then_text} as an older one reads it: {why}; so which value the boot "
                       "sets cannot be told")
    return doubts


# procps before 4.0 (3.3: Devuan 4, Slackware 15) reads sysctl.d otherwise than the procps-ng 4.0
# lbaudit replays (src/sysctl.c Preload() of 3.3): it fgets()s each line into a buffer of 256 bytes,
# so what follows the 255th byte of a line is read as a line of its own ("#" and 254 bytes, then
# "net.x = 1", writes net.x), strips no "-" (the key "-net.x" names no /proc/sys file) and expands no
# glob (the pattern is opened as a path).  procps 4.0 installs libproc2.so.0, 3.3 libprocps.so.N.
PROCPS_LIBRARY_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")
_PROCPS_LIBRARY = first_use(r"lib(proc2|procps)\.so(?![^.])")
PROCPS_3_LINE_BYTES = 255


def procps_version(root: Path) -> int | None:
    """The major version of the procps installed under ``root`` (3 or 4), from the name of its
    library; None when there is none, it cannot be listed, both are installed, or /lib or /usr/lib
    holds more than :data:`MAX_MULTIARCH_DIRS` multiarch names (each is listed whole: as for
    systemd's version, thousands of links to one directory held a collection for hours).  Read once
    a collection."""
    return rootfs.read_once(("procps version", str(root)), lambda: _library_version(
        root, PROCPS_LIBRARY_DIRS, ("/lib", "/usr/lib"), "", _PROCPS_LIBRARY(),
        lambda match: 4 if match[1] == "proc2" else 3))


def _procps_3_reading(read: list[tuple[str, bytes]], version: int | None) -> str | None:
    """Why the files ``read`` may set other values under procps before 4.0 than procps 4.0 reads
    (the first line found that it reads otherwise); None when none does."""
    installed = ("procps 3.3 is installed (libprocps)" if version == 3 else
                 "the installed procps' version is not known (no single one of libproc2.so, which procps 4.0 "
                 "installs, and libprocps.so, which 3.3 does)")
    for path, data in read:
        for number, raw in enumerate(data.split(b"\n"), start=1):
            what = None
            if len(raw.partition(b"\0")[0]) > PROCPS_3_LINE_BYTES:
                what = f"a line of more than {PROCPS_3_LINE_BYTES} bytes, whose rest procps before 4.0 reads as a line of its own"
            else:
                for line in parse_sysctl_conf(raw.decode("utf-8", errors="replace"), "sysctl --system"):
                    if line.ignore_failure:
                        what = "a '-key' line, whose '-' procps before 4.0 keeps in the key (it writes and excludes nothing)"
                    elif is_glob(line.key):
                        what = "a glob key, which procps before 4.0 opens as a path (it writes nothing)"
            if what is not None:
                return (f"{path}:{number} is {what}: sysctl --system applies the files at boot and {installed}, "
                        "and lbaudit reads them as procps 4.0 does only, so the values the boot sets are not known")
    return None


# What glob(3) reads as a pattern in a path (GLOB_BRACE adds the braces; a backslash escapes).
PROCPS_FILE_GLOB_CHARS = "*?[{\\"


def _procps_file_globs(files: list[ConfigFile]) -> list[str]:
    """Why procps' ``sysctl --system`` would not read some of ``files`` as named: Preload() opens each
    path through glob(3) (GLOB_NOCHECK | GLOB_BRACE, procps-ng 4.0), so ``20-[x].conf`` reads
    ``20-x.conf`` where that exists, and every file ``*.conf`` matches, instead of its own lines (a
    mask named so masks nothing).  lbaudit does not replay that expansion."""
    return [f"{f.path}: procps' sysctl --system opens this file's path as a glob(3) pattern ({f.name!r}: "
            "braces, brackets, '*', '?' or '\\'), so it reads whatever files that pattern matches, where any "
            "exists, rather than this one; lbaudit does not replay that expansion"
            for f in files if any(ch in f.name for ch in PROCPS_FILE_GLOB_CHARS)]


def _procps_dot_dot_writes(parsed: list[tuple[str, list[SysctlLine]]]) -> dict[str, str]:
    """The judged keys (:data:`JUDGED_BOOT_KEYS`) a procps ``sysctl --system`` line may write through
    a ``..`` component of its key (:func:`procps_dot_dot_target`), each with why its boot value is
    not known: whether the kernel's walk reaches the key depends on the components before ``..``
    existing on the booted kernel (an interface's directory, a module's), which lbaudit does not know."""
    unknown: dict[str, str] = {}
    for path, lines in parsed:
        for line in lines:
            # "//" is how a dotted key holds a ".." component: the cheap test first, as files hold 400,000 lines
            target = procps_dot_dot_target(line.key) if line.value is not None and "//" in line.key else None
            if target is None:
                continue
            written = line.key.translate(str.maketrans("./", "/."))
            for key in JUDGED_BOOT_KEYS:
                if key == target or (is_glob(target) and glob_matches(target, key)):
                    unknown.setdefault(key, f"{path}:{line.line} writes {written} = {line.value!r}: procps' sysctl "
                                            f"--system writes the key the kernel's walk through '..' reaches ({target}) "
                                            "when every component before '..' exists on the booted kernel, which lbaudit "
                                            f"does not know, so the value of {key} at boot is not known")
    return unknown


def read_persistent_sysctls(root: Path, cmdline: list[SysctlLine] | None = None,
                            running: bool = False) -> tuple[dict[str, SysctlSetting] | None, list[Gap]]:
    """The sysctls the configuration under ``root`` sets at boot, with ``path:line`` origins, as
    the tool that applies it at boot reads it (:func:`boot_applier`): systemd-sysctl never reads
    /etc/sysctl.conf itself, ``sysctl --system`` reads it last.  ``cmdline``: the sysctls the
    kernel's command line sets (written by the kernel before that tool runs; origin /proc/cmdline).
    ``running``: ``root`` is a running host's, where systemd-sysctl (252 and later) also reads the
    ``sysctl.extra`` credential after every file (``LoadCredential=sysctl.extra``, passed by
    ``systemd.set_credential=`` on the kernel command line, SMBIOS or a container manager), and
    /run/sysctl.d is read; in an image it is not (a tmpfs covers /run at boot).  /lib/sysctl.d is
    not read where systemd 255 or later applies the files (:func:`boot_sysctl_dirs`).

    Fails closed: if any directory or chosen file cannot be read, the result is ``None`` with an
    ``unreadable`` gap, because a file we cannot see may override any key.
    """
    problems: list[str] = []
    applier = boot_applier(root, problems)
    if applier == "sysctl --system" and (other := openrc_busybox_sysctl(root, problems)) is not None:
        return None, [Gap(section="sysctl", field="persistent", reason="; ".join([other, *problems]),
                          kind=GapKind.UNREADABLE)]
    if applier == "sysctl --system" and not running and (none := image_without_applier(root, problems)) is not None:
        return None, [Gap(section="sysctl", field="persistent", reason="; ".join([none, *problems]),
                          kind=GapKind.UNREADABLE)]
    version = systemd_version(root) if applier == "systemd-sysctl" else None
    directories = boot_sysctl_dirs(applier, version, running)
    files, listing_problems = select_files(root, directories, applier=applier)
    problems += listing_problems
    if applier == "sysctl --system":
        problems += _procps_file_globs(files)
    parsed: list[tuple[str, list[SysctlLine]]] = []
    sources = [f for f in files if not f.masked]
    service_masked = applier == "systemd-sysctl" and _service_masked(root, problems, running)
    if service_masked:
        sources = []  # the boot runs no systemd-sysctl: no file is applied (the kernel's command line still is)
    if BOOT_APPLIERS[applier]:
        sources.append(ConfigFile(PurePosixPath(SYSCTL_CONF).name, SYSCTL_CONF, masked=False))
    elif running and (credential := _credential(root, problems)) is not None:
        sources.append(ConfigFile(PurePosixPath(credential).name, credential, masked=False, link=False))
    # The files together are read up to what one file may hold: up to 10,000 files of 4 MiB each (links
    # to one file cost nothing on disk) were 40 GiB to read and parse, days of work and memory.
    budget = rootfs.MAX_CONFIG_BYTES
    read: list[tuple[str, bytes]] = []
    for source in sources:
        if source.path == SYSCTL_CONF and _is_masked(root, SYSCTL_CONF):
            continue
        try:
            data = rootfs.read_bytes(root, source.path)
        except FileNotFoundError:
            # No /etc/sysctl.conf or no credential sets nothing, nor, on a running host, a link to
            # nothing (systemd-sysctl skips it).  In an image such a link may lead into a mount it
            # does not carry (/srv, a volume), whose file the booted host applies: not known.
            problem = None if running else rootfs.absence_problem(root, source.path)
            if problem is not None:
                problems.append(problem)
            continue
        except OSError as exc:
            problems.append(f"{source.path}: {rootfs.describe_os_error(exc)}")
            continue
        if len(data) > budget:
            problems.append(f"{source.path}: with the files before it, the sysctl configuration holds more than "
                            f"{rootfs.MAX_CONFIG_BYTES} bytes in all, more than lbaudit reads (no later file was read)")
            break
        budget -= len(data)
        read.append((source.path, data))
    if problems:
        reason = "sysctl configuration could not be read completely: " + "; ".join(problems)
        return None, [Gap(section="sysctl", field="persistent", reason=reason, kind=GapKind.UNREADABLE)]
    if applier == "sysctl --system" and (procps := procps_version(root)) != 4:
        if (older := _procps_3_reading(read, procps)) is not None:
            return None, [Gap(section="sysctl", field="persistent", reason=older, kind=GapKind.UNREADABLE)]
    for path, data in read:  # parsed once all are read: a configuration not read whole is not parsed at all
        if applier == "systemd-sysctl":
            data = systemd_readable(data)  # nothing after a line of a mebibyte or more is read
        parsed.append((path, parse_sysctl_conf(data.decode("utf-8", errors="replace"), applier)))
    settings = merge_settings(parsed, cmdline or (), applier)
    # a key whose value at boot depends on a write before its last one (a one-number range over a
    # two-number one; the range and the unprivileged port start written in between): not the last write's
    unknown = order_dependent_writes(parsed, cmdline or (), settings, applier)
    if applier == "sysctl --system":
        for key, reason in _procps_dot_dot_writes(parsed).items():
            unknown.setdefault(key, reason)
    if applier == "systemd-sysctl" and not service_masked:
        found = _older_systemd_doubts(root, parsed, cmdline or (), settings, version, running)
        if found is None:
            reason = ("sysctl configuration could not be read as the boot reads it: "
                      f"{_older_systemd(version)}, and a glob, or {SYSCTL_CONF} that cannot be read, decides a key "
                      "lbaudit judges")
            return None, [Gap(section="sysctl", field="persistent", reason=reason, kind=GapKind.UNREADABLE)]
        for key, reason in found.items():
            unknown.setdefault(key, reason)
    return ({key: setting for key, setting in settings.items() if key not in unknown},
            [Gap(section="sysctl", path=("persistent", key), kind=GapKind.UNREADABLE, reason=reason)
             for key, reason in unknown.items()])
