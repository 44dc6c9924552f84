"""Scheduled scans: the systemd timer and service, or the /etc/cron.d job, that run ``lbaudit evaluate``.

A library, like :mod:`auditor.pipeline`: ``lbaudit schedule install|remove`` (auditor/commands/
schedule.py) only parses options and prints.  Everything is checked before anything is written
(the policy loads, the signing key is root's alone, no file of someone else's is in the way), and
every file lbaudit writes carries :data:`MARKER`, which is how ``remove`` knows what it may delete
and ``install`` what it may replace.

The scheduled command line is built in one place, :func:`scheduled_command`, for both backends.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from auditor.errors import InputError
from auditor.safeio import read_regular
from auditor.storage.outputs import make_directory, remove_directory_if_empty, remove_file, write_atomic, write_symlink
from auditor.text import ascii_decimal

MARKER = "# Written by `lbaudit schedule install`; `lbaudit schedule remove` removes it."
# The second line: the SHA-256 of the lines after it, so that install and remove know a file an
# administrator edited since (`systemctl edit --full`), and neither replace nor delete the edits.
DIGEST_PREFIX = "# sha256 of the lines below, to tell an edit: "
SERVICE = "lbaudit-scan.service"
TIMER = "lbaudit-scan.timer"
UNIT_DIR = PurePosixPath("/etc/systemd/system")
WANTS_DIR = UNIT_DIR / "timers.target.wants"
CRON_DIR = PurePosixPath("/etc/cron.d")
CRON_FILE = CRON_DIR / "lbaudit"  # cron.d ignores names with dots: no extension
STATE_DIR = PurePosixPath("/var/lib/lbaudit")  # the service's StateDirectory=lbaudit
# The cron job's lock: a file of /run, where only root makes files, made 0600 (CRON_UMASK), so that no
# other user can open it, which is all flock(2) needs.  In /run/lock (1777 on Debian), 0644, any user
# could make it first or open root's and hold a lock on it: every night's scan then ended in 75.
CRON_LOCK = PurePosixPath("/run/lbaudit-scan.lock")
# The cron line's umask, before flock makes the lock: the systemd unit's UMask=0077, so the scan's
# files have the same modes under both backends.
CRON_UMASK = "077"
CRON_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FLOCK_DIRS = ("/usr/bin", "/bin")  # util-linux
# flock's exit code when the previous scan still holds the lock: EX_TEMPFAIL, never one of
# evaluate's own codes (0, 1, 2, 3, 70), so a skipped night is not read as a verdict.
LOCK_BUSY_EXIT = 75
FILE_MODE = 0o644  # cron skips a group- or world-writable cron.d file; units are world-readable
MAX_MANAGED_FILE = 64 * 1024
BACKENDS = ("systemd", "cron")
TRIGGERS = {"systemd": "timer", "cron": "cron"}

# Capabilities collection needs, and nothing else (measured: `lbaudit collect` under
# `setpriv --bounding-set` gives the same facts and gaps as full root with exactly these;
# tests/schedule/test_capabilities.py repeats that measurement on every CI run):
#   CAP_DAC_READ_SEARCH  open /proc/PID/fd of other users' processes (mode 0500, their owner)
#   CAP_SYS_PTRACE       read the links in it (ptrace read access to the process)
#   CAP_AUDIT_CONTROL    AUDIT_GET and AUDIT_LIST_RULES (auditctl -s / -l and the netlink reader)
#   CAP_SYS_ADMIN        setns(2) into every other network namespace (containers, ip netns), done
#                        by a forked child only; without it those namespaces are gaps
#   CAP_SYS_CHROOT       setns(2) into a mount namespace no process is in (held by a bind mount), to
#                        find the network namespaces bound only there; setns needs it with CAP_SYS_ADMIN
#   CAP_NET_ADMIN        read the kernel's NAT rules (nft list ruleset, iptables-save): published
#   CAP_NET_RAW          ports with no host listener (iptables-save opens a raw socket);
#                        sock_diag itself dumps every socket without either
# Not needed: CAP_AUDIT_READ (that is the multicast log stream, which lbaudit does not read),
# CAP_DAC_OVERRIDE (reads only).
CAPABILITIES = ("CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE", "CAP_AUDIT_CONTROL", "CAP_SYS_ADMIN", "CAP_SYS_CHROOT",
                "CAP_NET_ADMIN", "CAP_NET_RAW")

# System calls collection makes by number, each of which the unit's SystemCallFilter= must let
# through (systemd's groups: `systemd-analyze syscall-filter`): bpf (BPF_LINK_GET_NEXT_ID, sk_lookup
# programs steering listeners: @privileged), pidfd_getfd (a copy of a vsock or tun descriptor to ask
# it: @debug), pidfd_open and setns (entering other namespaces: @process), kcmp (telling shared
# descriptors apart).  Refused with EPERM, each was a gap on every listener (bpf) or holder, every
# scheduled night: the scan ran incomplete under the unit and complete by hand.
COLLECTOR_SYSCALLS = ("bpf", "pidfd_getfd", "pidfd_open", "setns", "kcmp")

CRON_SHORTHANDS = {"hourly": "0 * * * *", "daily": "30 2 * * *", "weekly": "30 2 * * 1"}
_CRON_FIELD = re.compile(r"^[0-9*][0-9*,/-]*$")
# systemd.time(7)'s characters, with an IANA time zone's "_" and "+" (America/New_York, Etc/GMT+5);
# never "%" (the unit resolves specifiers in OnCalendar=), a quote, a backslash or a line break.
_CALENDAR = re.compile(r"^[A-Za-z0-9*:,./~_+ -]+$")
_TIMESPAN = re.compile(r"^[0-9]+ ?(us|ms|s|sec|m|min|h|hr|d|w)?$")
_SYSTEMD_PLAIN = re.compile(r"^[A-Za-z0-9_./:=,+@-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ScheduleConfig:
    """What the scheduled scan runs; every path absolute, as it is seen on the scheduled host."""

    executable: str
    policy: str
    out_dir: str = str(STATE_DIR)
    on_calendar: str = "daily"
    randomized_delay: str = "1h"
    sign_key: str | None = None
    store: str | None = None
    textfile_dir: str | None = None


def scheduled_command(config: ScheduleConfig, trigger: str, record: bool = True) -> list[str]:
    """The argv of the scheduled ``lbaudit evaluate`` (both backends run exactly this).

    ``record`` adds ``--record --trigger TRIGGER`` (and ``--store``): every scheduled run is kept in
    the history.  Only the tests build it without, to run the line on a CLI that predates them."""
    argv = [config.executable, "evaluate", "--policy", config.policy, "--quiet", "--out-dir", config.out_dir]
    if config.sign_key is not None:
        argv += ["--sign-key", config.sign_key]
    if config.textfile_dir is not None:
        argv += ["--textfile-dir", config.textfile_dir]
    if record:
        argv += ["--record", "--trigger", trigger]
        if config.store is not None:
            argv += ["--store", config.store]
    return argv


# ------------------------------------------------------------------ quoting

def plain_value(value: str, what: str) -> str:
    if _CONTROL.search(value):
        raise InputError(f"{what} {value!r}: a control character (line break, tab...) cannot go into a unit or cron line")
    return value


def systemd_word(value: str) -> str:
    """One argument of ``ExecStart=``, quoted so that systemd passes it through unchanged:
    ``%`` (specifiers) and ``$`` (environment) doubled, and double quotes around anything else."""
    plain_value(value, "argument")
    escaped = value.replace("%", "%%").replace("$", "$$")
    if _SYSTEMD_PLAIN.match(value):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


# systemd's string_is_safe(), which the program of ExecStart= must pass: no quote, no backslash
# (control characters are refused for every value by plain_value).
_SYSTEMD_UNSAFE_PROGRAM = re.compile(r"[\"'\\]")


def systemd_program(value: str) -> str:
    """The program of ``ExecStart=`` (its first word), written as systemd reads it there, which is
    not as it reads the arguments: ``%`` doubled (specifiers are resolved on the whole line), but
    ``$`` left alone, since systemd expands no variables in the program's path (``$$`` stayed two
    dollars: the unit named a file that does not exist, 203/EXEC every night).  A path with a quote
    or a backslash is refused: systemd refuses it ("Executable name contains special characters"),
    and the unit would never start."""
    plain_value(value, "--executable")
    if _SYSTEMD_UNSAFE_PROGRAM.search(value):
        raise InputError(f"--executable {value!r}: systemd cannot run a program whose path holds a quote or a "
                         "backslash (ExecStart= refuses it: the unit would never start); give a path without them "
                         "(a link to the executable), or use the cron backend")
    escaped = value.replace("%", "%%")
    return escaped if _SYSTEMD_PLAIN.match(value) else f'"{escaped}"'


def systemd_path(value: str) -> str:
    """One path of ``ReadWritePaths=``, quoted so that systemd reads it unchanged: ``%`` doubled
    (specifiers are resolved there), double quotes around anything else, and ``$`` left alone:
    only command lines expand variables, so ``$$`` in a path setting names another directory (the
    unit's namespace then fails to set up, and no scan runs)."""
    plain_value(value, "path")
    escaped = value.replace("%", "%%")
    if _SYSTEMD_PLAIN.match(value):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


# cron reads a backslash as the escape of the next character: ``\%`` is ``%``, and Debian's cron
# reads ``\\`` as one backslash where cronie keeps both (measured with Debian's 3.0pl1-162).  A
# backslash before another or before a ``%`` has no escaping both read alike; any other is kept.
_CRON_ESCAPED = re.compile(r"\\[\\%]")
# Debian's cron (3.0pl1-162) refuses a line whose command is longer than this (measured: 998 bytes
# run, 999 do not), and then ignores the whole cron.d file: no job in it runs, and only syslog says why.
CRON_MAX_COMMAND = 998


def cron_word(value: str) -> str:
    """One shell word of a cron command: quoted for /bin/sh, and ``%`` escaped (cron turns an
    unescaped ``%`` into a line break and feeds the rest to stdin)."""
    plain_value(value, "argument")
    if _CRON_ESCAPED.search(value):
        raise InputError(f"argument {value!r}: a backslash before a backslash or a '%' cannot go into a cron line "
                         "as it is: cron reads a backslash as an escape (Debian's cron reads '\\\\' as one "
                         "backslash, cronie as two; '\\%' is '%'); use the systemd backend, or a path without it")
    return shlex.quote(value).replace("%", "\\%")


_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")


def _cron_field(field: str, low: int, high: int) -> set[int] | str:
    """The values a cron time field selects, read as cron's parser reads it (get_list, get_range:
    ``*`` or ``N`` or ``N-M``, a ``/STEP`` only after ``*`` or a range, lists of those), or what is
    wrong with it.  Measured with Debian's cron: a step after a single number (``5/2``) is an
    error, and cron then ignores the whole file; ``5-1`` and ``1-2-3`` are taken, the first
    selecting nothing (it never runs) and the second read as ``1-2``; so all three are refused."""
    values: set[int] = set()
    for part in field.split(","):
        body, slash, step_text = part.partition("/")
        step = 1
        if slash:
            # ascii_decimal, not int(): a step of 5,000 digits was int()'s ValueError, exit 70
            found = ascii_decimal(step_text)
            if found is None or found < 1:
                return f"{part[:40]!r}: a step is a positive number"
            step = found
        if body == "*":
            first, last = low, high
        else:
            ends = [ascii_decimal(end) for end in body.split("-")]
            numbers = [number for number in ends if number is not None and low <= number <= high]
            if len(ends) > 2 or len(numbers) != len(ends):
                return f"{part[:40]!r}: not *, a number from {low} to {high} or a range of two"
            if slash and len(numbers) == 1:
                return f"{part[:40]!r}: a step follows * or a range, never a single number"
            first, last = numbers[0], numbers[-1]
            if first > last:
                return f"{part[:40]!r}: a range from high to low selects nothing (cron does not wrap it)"
        values.update(range(first, last + 1, step))
    return values


def _cron_runs(fields: list[str], selected: list[set[int]]) -> bool:
    """Whether the schedule ever fires: a day of month and a month that exist together, with cron's
    rule for the two day fields (when either starts with ``*`` both must match, else either).
    Every date of a 28-year cycle of the Gregorian calendar between 1901 and 2099 is tried."""
    import datetime

    _, _, days, months, weekdays = selected
    weekdays = {day % 7 for day in weekdays}  # 7 is Sunday too
    both = fields[2].startswith("*") or fields[4].startswith("*")
    date = datetime.date(2000, 1, 1)
    for _ in range(28 * 366):
        if date.month in months:
            on_day, on_weekday = date.day in days, date.isoweekday() % 7 in weekdays
            if (on_day and on_weekday) if both else (on_day or on_weekday):
                return True
        date += datetime.timedelta(days=1)
    return False


def cron_schedule(on_calendar: str) -> str:
    """The five time fields of the cron line: hourly, daily, weekly, or five fields given as is."""
    if on_calendar in CRON_SHORTHANDS:
        return CRON_SHORTHANDS[on_calendar]
    fields = on_calendar.split()
    takes = (f"--on-calendar {on_calendar[:80]!r}: the cron backend takes hourly, daily, weekly or five cron time "
             "fields (minute hour day-of-month month day-of-week, numbers, *, ranges, lists, steps)")
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise InputError(takes)
    selected: list[set[int]] = []
    for field, (low, high), name in zip(fields, _CRON_RANGES, _CRON_FIELD_NAMES):
        values = _cron_field(field, low, high)
        if isinstance(values, str):
            raise InputError(f"{takes}; the {name} field {values}")
        selected.append(values)
    if not _cron_runs(fields, selected):
        raise InputError(f"--on-calendar {on_calendar[:80]!r}: cron would never run it (no date has that day of the "
                         "month in those months, on those days of the week): the job would never start a scan")
    return " ".join(fields)


# ------------------------------------------------------------------ the files

def _header(lines: list[str]) -> list[str]:
    return [MARKER, *(f"# {line}" if line else "#" for line in lines), ""]


def writable_paths(config: ScheduleConfig, root: Path | None = None) -> list[str]:
    """Directories outside StateDirectory= the scan writes: ProtectSystem=strict makes all else
    read-only.  With ``root`` (the scheduled host's, or an image's), the store's directory is that of
    the file the scan opens (:func:`store_directory`)."""
    wanted = [config.out_dir]
    if config.textfile_dir is not None:
        wanted.append(config.textfile_dir)
    store_directory_ = store_directory(config, root)
    if store_directory_ is not None:
        wanted.append(store_directory_)  # SQLite writes its -journal, -wal and -shm beside the file
    state = str(STATE_DIR)
    found: list[str] = []
    for path in wanted:
        if path != state and not path.startswith(state + "/") and path not in found:
            found.append(path)
    return found


def store_directory(config: ScheduleConfig, root: Path | None) -> str | None:
    """The directory of the SQLite store file the scheduled scan opens (None for the default or a
    server), as the scheduled host sees it: when the store's own name is a symbolic link (on that
    host, or in the image ``root``), the directory of the file it leads to, which is the one the
    scan opens (the store's path is resolved, auditor.history.store) and beside which SQLite keeps
    its journal.  Named by the link's directory, ReadWritePaths= left the store's real directory
    read-only under ProtectSystem=strict: every run failed to write its store, after exit 0.  (A link
    among the directories is followed by systemd itself; only the file's own name is not a path of
    the unit's.)"""
    store = _store_file(config.store)
    if store is None:
        return None
    directory = str(PurePosixPath(store).parent)
    if root is None:
        return directory
    try:
        linked = os.path.islink(placed_under_root(root, PurePosixPath(store)))
    except InputError:  # a loop of links in the image: the checks of the directory say so
        linked = False
    if linked:
        directory = str(PurePosixPath(seen_on_scheduled_host(root, store)).parent)
    return directory


def _store_file(store: str | None) -> str | None:
    """The file of a SQLite store (a path or a sqlite URL), read as the scheduled scan reads it
    (``store_file``: SQLAlchemy's reading, %-escapes decoded, a host part allowed); None for the
    default or a server.  Read out of the URL's text by hand, ``sqlite:////srv/a%20b/h.db`` made
    ReadWritePaths= name /srv/a%20b, and ``sqlite://localhost//srv/h.db`` no directory at all: the
    scan then could not write its store, every night."""
    if store is None:
        return None
    if "://" not in store:
        return store
    from auditor.history.store import store_file

    found = store_file(store)
    return None if found is None else str(found)


def check_store_file(config: ScheduleConfig, root: Path) -> None:
    """An SQLite store that exists is a regular file, as every run will need it to be.  A directory
    (``--store /srv``) was installed with exit 0: every run then failed (not a regular file), and
    the systemd unit's ReadWritePaths= named its parent, ``/``, which undid ProtectSystem=strict."""
    store = _store_file(config.store)
    if store is None:
        return
    real = followed_under_root(root, store)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return  # the first run creates it (and its directories)
    except OSError as exc:
        raise InputError(f"{real}: cannot use as the history store: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"--store {store}: {real} is not a regular file; the history store is an SQLite file "
                         "(give the path of the file, e.g. DIR/history.db)")


# The configuration files the scheduled scan reads (root's, as PID 1 or cron runs it: HOME is not set
# for a system service, and the password database gives /root), lowest precedence first.
SCHEDULED_CONFIG_FILES = ("/etc/lbaudit/config.yaml", "/root/.config/lbaudit/config.yaml")


def check_configured_store(config: ScheduleConfig, root: Path) -> None:
    """With no store of its own (no --store, nor one in this installer's configuration), the
    scheduled command leaves the store to the configuration files the scan reads on the scheduled
    host: one that sets ``store:`` there (an image's own /etc/lbaudit/config.yaml) is refused, as is
    one that cannot be read.  Left to it, the scan recorded where nothing of this install looked:
    outside ReadWritePaths= (every nightly run failed to write its store, after exit 0), or a server
    the unit's IPAddressDeny= blocks.  Given with --store, the store is named on the command line,
    which the configuration does not override, and checked like any."""
    if config.store is not None:
        return
    from auditor.config import load_file

    for name in SCHEDULED_CONFIG_FILES:
        path = followed_under_root(root, name)
        if not os.path.lexists(path):
            continue
        try:
            values = load_file(path)
        except InputError as exc:
            raise InputError(f"{name} of the scheduled host cannot be read as every scheduled run would read it "
                             f"(each would exit 2): {exc}", exc.problems) from None
        if "store" in values:
            raise InputError(f"{values['store'].source}: the scheduled host's configuration sets store:, where the "
                             "scheduled scan would record unchecked by this install; name the store with --store "
                             "(the unit then passes it, and it is checked)")


def check_store_secret(store: str) -> None:
    """A --store URL that holds a password is refused: the unit and the cron file are world-readable
    (mode 0644, and `systemctl show` prints ExecStart= to every user), and so is the scan's command
    line in ps.  libpq reads the password from root's ~/.pgpass or PGPASSFILE instead (mode 0600), or
    the server authenticates root by its unix socket (peer)."""
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(store)
        parts.port  # noqa: B018  # a port that is no number from 0 to 65535 is urlsplit's ValueError only when read
        secret = parts.password is not None or any(key.lower() in ("password", "sslpassword")
                                                  for key in parse_qs(parts.query, keep_blank_values=True))
    except ValueError:  # an unparsable URL: evaluate refuses it at the first run; say so now
        raise InputError(f"--store {store!r}: not a URL lbaudit can read") from None
    if secret:
        raise InputError("--store: the URL holds a password, and the scheduled command line is world-readable (the "
                         "unit or cron file, systemctl show, ps): give the URL without it and put the password in "
                         "root's ~/.pgpass (mode 0600; or PGPASSFILE), or use peer authentication over the server's "
                         "unix socket")


def check_store_opens(store: str) -> None:
    """A store URL every scheduled run would refuse is refused now, by the reading the run makes
    (``make_engine``: the URL, its backend and driver, ``connect_timeout`` and the dialect's own
    arguments such as ``?port=``), without connecting: ``?port=x`` or ``connect_timeout=0`` was
    installed with exit 0, and then every nightly scan ended in exit 2 with nobody watching.  A
    SQLite URL is left to the run, which makes its file, unless that file is relative (the scan runs
    in / under systemd, in root's home under cron) or in memory (``sqlite://``: nothing is kept)."""
    from auditor.history.store import make_engine, refuse_in_memory, store_file

    refuse_in_memory(store)
    if not _network_store(store):  # read as the run reads it: a backend or driver no run opens is refused there
        database = store_file(store)
        if database is not None and not database.is_absolute():
            raise InputError(f"--store {store}: the store's file {database} is relative, and the scheduled scan runs in / "
                             "under systemd, in root's home under cron: give an absolute path (sqlite:////PATH)")
        return

    engine, _ = make_engine(store, create=False)
    engine.dispose()


def _network_store(store: str | None) -> bool:
    """Whether ``store`` is a database server's URL (the unit then keeps the network), read as the
    scan reads it (:func:`auditor.history.store.store_backend`, which refuses a URL no run opens)."""
    if store is None or "://" not in store:
        return False
    from auditor.history.store import store_backend

    return store_backend(store) != "sqlite"


def render_service(config: ScheduleConfig, root: Path | None = None) -> str:
    argv = scheduled_command(config, TRIGGERS["systemd"])
    lines = _header([
        "The scan runs as root because it reads every process's /proc/PID/fd, netlink sock_diag and",
        "the audit subsystem; everything else is taken away. What it cannot take, and why:",
        "  User=/DynamicUser=  a user with these capabilities as AmbientCapabilities= collects the same facts,",
        "                      but the evidence would record the scan as unprivileged (provenance: euid 0)",
        "  PrivateUsers=       capabilities in a user namespace do not reach the host's processes",
        "  PrivateNetwork=     the listeners to audit are the host's network namespace's",
        "  ProcSubset=pid      hides /proc/sys and /proc/net, the sysctls and sockets the checks read",
        "  RootDirectory=      the host's own files (sysctl.d, audit rules) are the evidence",
        "  (ProtectProc=invisible is set: with CAP_SYS_PTRACE every process stays visible to the scan)",
        "  CapabilityBoundingSet= keeps CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE (/proc/PID/fd),",
        "                      CAP_AUDIT_CONTROL (audit status and loaded rules), CAP_SYS_ADMIN (setns",
        "                      into other network namespaces), CAP_SYS_CHROOT (with CAP_SYS_ADMIN: setns into",
        "                      a mount namespace held with no process, where ip netns may bind one),",
        "                      CAP_NET_ADMIN and CAP_NET_RAW (NAT rules)",
        "  RestrictNamespaces=net mnt  entering network namespaces is how containers' sockets are seen;",
        "                      entering mount namespaces no process is in finds those bound only there",
        "  RestrictAddressFamilies= keeps AF_NETLINK (sock_diag, audit), AF_UNIX, and AF_INET/AF_INET6",
        "                      for a PostgreSQL history store (IPAddressDeny=any blocks them otherwise)",
        "",
        "Exit status: 0 compliant, 1 non-compliant, 2 usage error, 3 incomplete (see lbaudit --help);",
        f"{LOCK_BUSY_EXIT}: the history store was held by another writer past the wait: nothing kept, runs next time.",
    ])
    lines += [
        "[Unit]",
        "Description=lbaudit compliance scan",
        "After=auditd.service",
        "",
        "[Service]",
        "Type=oneshot",
        "ExecStart=" + " ".join([systemd_program(argv[0]), *(systemd_word(arg) for arg in argv[1:])]),
        "StateDirectory=lbaudit",
        "StateDirectoryMode=0700",
        "UMask=0077",
    ]
    lines += [f"ReadWritePaths={systemd_path(path)}" for path in writable_paths(config, root)]
    lines += [
        "CapabilityBoundingSet=" + " ".join(CAPABILITIES),
        "AmbientCapabilities=",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "PrivateMounts=yes",
        "ProtectProc=invisible",
        "DevicePolicy=closed",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "RestrictNamespaces=net mnt",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "MemoryDenyWriteExecute=yes",
        "RemoveIPC=yes",
        "KeyringMode=private",
        "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6",
    ]
    if not _network_store(config.store):
        lines.append("IPAddressDeny=any")
    lines += [
        "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged @resources",
        "# what collection calls from those sets, let through again (a later allow adds to the list)",
        "SystemCallFilter=" + " ".join(COLLECTOR_SYSCALLS),
        "SystemCallErrorNumber=EPERM",
        "Nice=10",
        "IOSchedulingClass=idle",
        "TimeoutStartSec=30min",
        "",
    ]
    return "\n".join(lines)


def render_timer(config: ScheduleConfig) -> str:
    lines = _header([f"Starts {SERVICE}; `systemctl list-timers {TIMER}` shows the next run."])
    lines += [
        "[Unit]",
        "Description=lbaudit compliance scan, scheduled",
        "",
        "[Timer]",
        f"OnCalendar={config.on_calendar}",
        "# Each host of a fleet starts at its own fixed offset within this delay, not all at once.",
        f"RandomizedDelaySec={config.randomized_delay}",
        "FixedRandomDelay=true",
        "# A scan missed while the host was off runs at the next boot.",
        "Persistent=true",
        "AccuracySec=1min",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ]
    return "\n".join(lines)


def render_cron(config: ScheduleConfig, flock: str, record: bool = True) -> str:
    """The /etc/cron.d file: PATH and SHELL set, one line per job, the command exactly
    :func:`scheduled_command` under ``flock`` (whose exit status is the command's, or
    :data:`LOCK_BUSY_EXIT` when the previous scan still runs), after ``umask`` :data:`CRON_UMASK`."""
    argv = [flock, "-n", "-E", str(LOCK_BUSY_EXIT), str(CRON_LOCK),
            *scheduled_command(config, TRIGGERS["cron"], record=record)]
    lines = _header([
        "One line per job; cron has no line continuation. The exit status of the line is the scan's",
        f"(0 compliant, 1 non-compliant, 2 usage error, 3 incomplete; {LOCK_BUSY_EXIT}: the previous scan still runs,",
        "or the history store was held by another writer past the wait: nothing kept).",
    ])
    command = f"umask {CRON_UMASK} && " + " ".join(cron_word(arg) for arg in argv)
    length = len(command.encode("utf-8"))
    if length > CRON_MAX_COMMAND:
        raise InputError(f"the cron job's command is {length} bytes, and cron reads at most {CRON_MAX_COMMAND} bytes of "
                         "a job's command (Debian's cron then ignores the whole file: no scan would ever run): "
                         "give shorter paths (--executable, --policy, --out-dir, --sign-key, --store, "
                         "--textfile-dir), or use the systemd backend")
    lines += [
        "SHELL=/bin/sh",
        f"PATH={CRON_PATH}",
        f"{cron_schedule(config.on_calendar)} root {command}",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ checks before writing

def is_this_host(root: Path) -> bool:
    """Whether ``--root`` is this host's root (else an image root, written under as the image sees
    its paths).  A root reached through a link of /proc (``/proc/PID/root`` of a container) whose
    text names another directory than the kernel opens is refused, exit 2: its real path is this
    host's root or some other directory of it (:func:`auditor.collect.rootfs.real_root`), and the
    policy, key and executable checks, which resolve paths, would read those of this host while
    the files went to the container's.  So is the root of a process whose real path names the same
    directory: this host sees it without the mounts of the process's namespace (a tmpfs on /etc),
    so the files written there need not be the ones the container reads."""
    from auditor.collect import rootfs

    real = os.path.realpath(root)
    try:
        reached = rootfs.real_root(root)
    except OSError:
        return real == os.sep  # not there, or not looked at: the writes say what is wrong
    if reached != real:
        try:
            same = os.path.samestat(os.stat(reached), os.stat(real))
        except OSError:
            same = False
        how = (f"the root of a process, whose real path ({real}) this host sees without the mounts of the "
               "process's mount namespace" if same else
               f"reached through a link of /proc to another directory than its real path ({real}) names")
        raise InputError(f"{root}: is {how}; give the image's own directory (a container's is under its engine's "
                         "data root)")
    return real == os.sep


def under_root(root: Path, path: str | PurePosixPath) -> Path:
    """``path`` (absolute, as the scheduled host sees it) inside the image root ``root``, as shown."""
    return Path(root) / str(path).lstrip("/")


def followed_under_root(root: Path, path: str | PurePosixPath) -> Path:
    """:func:`under_root` with the last name followed too, inside the image: the file a read of
    ``path`` on the scheduled host opens (the policy, the signing key, the executable).  Joined
    as it was, a policy in the image that is a link to ``/etc/shadow`` was this host's file."""
    given = Path(root) / str(path).lstrip("/")
    if os.path.realpath(root) == "/":
        return given
    return _resolved(root, "/" + str(path).lstrip("/"), given)


def _resolved(root: Path, path: str, given: Path) -> Path:
    from auditor.collect import rootfs

    try:
        return rootfs.resolve(Path(root), path)
    except OSError as exc:  # a loop of links in the image
        raise InputError(f"{given}: cannot be resolved inside the image root {root}: {exc.strerror or exc}") from None


def seen_on_scheduled_host(root: Path, path: str) -> str:
    """``path`` (absolute, as the scheduled host sees it) with its links followed as that host
    follows them: inside the image ``root``, or on this host when ``root`` is ``/``."""
    real_root = os.path.realpath(root)
    if real_root == "/":
        return os.path.realpath(path)
    relative = os.path.relpath(_resolved(root, "/" + path.lstrip("/"), under_root(root, path)), real_root)
    return "/" if relative == "." else "/" + relative


# PrivateTmp=yes: systemd mounts an empty directory of the unit's own on each, for every run.
PRIVATE_TMP_DIRS = ("/tmp", "/var/tmp")


def check_private_tmp(config: ScheduleConfig, root: Path, extended: tuple[str, ...] | list[str] = ()) -> None:
    """No path the systemd unit's scan reads or writes is under /tmp or /var/tmp (given so, or
    through a link): PrivateTmp=yes hides the host's there.  A ReadWritePaths= entry there does not
    exist in the unit's namespace, so every run failed before lbaudit started (226/NAMESPACE), and a
    policy (or a file it extends), key or executable there was not found (exit 2, or 203/EXEC),
    every night, unseen; so was an executable whose ``#!`` interpreter is there (a venv made in /tmp:
    the kernel found no interpreter, 203/EXEC).  ``extended``: the files the policy extends
    (:func:`check_policy`)."""
    paths = (("--executable", config.executable),
             (f"the interpreter of {config.executable} (its #! line)", executable_interpreter(root, config.executable)),
             ("--policy", config.policy), ("--sign-key", config.sign_key),
             ("--out-dir", config.out_dir), ("--textfile-dir", config.textfile_dir),
             ("--store", _store_file(config.store)), *(("--policy's extends", path) for path in extended))
    for option, path in paths:
        if path is None:
            continue
        for seen in dict.fromkeys((path, seen_on_scheduled_host(root, path))):
            hidden = next((d for d in PRIVATE_TMP_DIRS if seen == d or seen.startswith(d + "/")), None)
            if hidden is None:
                continue
            how = "" if seen == path else f" (a link to {seen})"
            raise InputError(f"{option}: {path}{how} is in {hidden}, which the systemd unit replaces with an empty "
                             "directory of its own (PrivateTmp=yes): the scheduled scan would not find it there or "
                             "could not write it, and no scan would run; choose a path outside /tmp and /var/tmp "
                             "(or the cron backend)")


def _has_acl(path: Path) -> bool:
    try:
        return "system.posix_acl_access" in os.listxattr(path)
    except OSError:  # no xattrs on this file system, or not allowed to list them
        return False


# The trees ProtectSystem=strict exists to keep read-only (with /usr's merged links): a
# ReadWritePaths= naming one of them, or /, hands it back to the scan whole.
PROTECTED_TREES = ("/", "/usr", "/etc", "/boot", "/efi", "/bin", "/sbin", "/lib", "/lib64")


def check_protected_trees(config: ScheduleConfig, root: Path) -> None:
    """No ReadWritePaths= of the systemd unit is ``/`` or a system tree (given so, or through a
    link).  ``--out-dir /``, ``--textfile-dir /usr`` or a store beside ``/h.db`` was installed with
    exit 0, and its ReadWritePaths= made that whole tree writable to the scan: ProtectSystem=strict,
    in the unit for all to read, was silently undone."""
    for path in writable_paths(config, root):
        for seen in dict.fromkeys((path, seen_on_scheduled_host(root, path))):
            if seen not in PROTECTED_TREES:
                continue
            how = "" if seen == path else f" (a link to {seen})"
            raise InputError(f"{path}{how}: the systemd unit's scan writes this directory, so its ReadWritePaths= "
                             f"would make all of {seen} writable and undo ProtectSystem=strict; choose a directory "
                             "of its own for --out-dir, --textfile-dir and the --store file (e.g. under /var/lib)")


def _permitted_to_root_without_dac_override(st: os.stat_result, bits: int) -> bool:
    """Whether uid 0 in group 0 with no CAP_DAC_OVERRIDE may do ``bits`` (given as owner bits:
    ``W_OK | X_OK`` is 0o300, execute 0o100) on a file of this stat: the kernel's own rule, owner
    bits for the owner, else group bits for the group, else the others' bits."""
    if st.st_uid == 0:
        return st.st_mode & bits == bits
    if st.st_gid == 0:
        return st.st_mode & (bits >> 3) == bits >> 3
    return st.st_mode & (bits >> 6) == bits >> 6


def check_writable_by_the_unit(config: ScheduleConfig, root: Path) -> None:
    """The directories the systemd unit's scan writes (its ReadWritePaths=) and an SQLite store
    file that exists are writable by root without CAP_DAC_OVERRIDE, which CapabilityBoundingSet=
    leaves out: without it root is held to the mode bits like any user, so a --textfile-dir
    owned by prometheus (0755), or an --out-dir of another user's, failed every run with EACCES.
    A directory with a POSIX ACL is not judged (its entries may grant root)."""
    store = _store_file(config.store)
    wanted = [(path, "directory", 0o300) for path in writable_paths(config, root)]
    if store is not None and not store.startswith(str(STATE_DIR) + "/"):
        wanted.append((store, "store file", 0o200))
    for path, what, bits in wanted:
        real = followed_under_root(root, path)
        try:
            st = os.stat(real)
        except FileNotFoundError:
            continue  # a store file the first run creates: its directory is checked
        except OSError as exc:
            raise InputError(f"{real}: cannot use as a {what} of the scheduled scan: {exc.strerror or exc}") from None
        if _permitted_to_root_without_dac_override(st, bits) or _has_acl(real):
            continue
        raise InputError(f"{real}: the systemd unit's scan could not write this {what} (owner uid {st.st_uid}, group "
                         f"gid {st.st_gid}, mode {stat.S_IMODE(st.st_mode):04o}): it runs as root without "
                         "CAP_DAC_OVERRIDE (CapabilityBoundingSet=), so the mode bits hold for root too, and every "
                         "run would fail; make it root's (or writable by group root), or choose another")


def _interpreter(path: Path) -> str | None:
    """The interpreter a ``#!`` line of the file names (an entry-point script's venv Python), else None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    words = head[2:].split(b"\n", 1)[0].split()
    return os.fsdecode(words[0]) if words and words[0].startswith(b"/") else None


def executable_interpreter(root: Path, executable: str) -> str | None:
    """The interpreter the ``#!`` line of ``executable`` (as the scheduled host names it) names, as
    that host names it; None for a binary, or an executable not there (yet)."""
    real = followed_under_root(root, executable)
    try:
        return _interpreter(real) if real.is_file() else None
    except OSError:  # a name too long under the image root
        return None


def check_executable_by_the_unit(root: Path, executable: str) -> None:
    """The executable the systemd unit runs, and the interpreter its ``#!`` line names, are
    executable by root by their mode bits: CapabilityBoundingSet= leaves CAP_DAC_OVERRIDE out, and
    without it root may execute only what its owner, group or other bits let it (CAP_DAC_READ_SEARCH
    bypasses reading and directory search, never execution).  An lbaudit owned by a deploy user with
    mode 0744 passed ``os.access`` (root with every capability) and was installed with exit 0; every
    run then failed before it started (203/EXEC).  In an image a file not there yet is not judged
    (it may be installed later); one with a POSIX ACL is not judged either."""
    checked = [("the lbaudit executable the schedule would run", executable)]
    interpreter = executable_interpreter(root, executable)
    if interpreter is not None:
        checked.append((f"the interpreter of {executable} (its #! line)", interpreter))
    for what, path in checked:
        real = followed_under_root(root, path)
        try:
            st = os.stat(real)
        except OSError:
            continue  # missing: check_executable says so on this host, an image may install it later
        if not stat.S_ISREG(st.st_mode) or _permitted_to_root_without_dac_override(st, 0o100) or _has_acl(real):
            continue
        raise InputError(f"{real}: {what} is not executable by the systemd unit's root (owner uid {st.st_uid}, "
                         f"group gid {st.st_gid}, mode {stat.S_IMODE(st.st_mode):04o}): the unit runs without "
                         "CAP_DAC_OVERRIDE (CapabilityBoundingSet=), so the mode bits hold for root too, and every "
                         "run would fail to start (203/EXEC); make it root's, or executable by its group root or "
                         "by others")


def placed_under_root(root: Path, path: PurePosixPath) -> Path:
    """Where the file ``path`` that schedule writes, links or removes is: its directory resolved
    inside ``root`` as the scheduled host sees it (an absolute link re-anchored at ``root``, ``..``
    not above it: auditor/collect/rootfs.py), its own name not followed (a link there is refused as
    not lbaudit's, or is the .wants link itself).  Before, the image's links were followed on this
    host: an image whose ``/etc/cron.d`` is a link to ``/etc/cron.d`` had ``schedule install --root
    IMAGE`` write the cron job into this host's /etc/cron.d, and ``remove`` delete this host's."""
    return _resolved(root, str(path.parent), under_root(root, path.parent)) / path.name


PATH_MAX = 4096  # Linux: a longer path cannot be opened, so every night would fail on it
NAME_MAX = 255


def absolute_path(value: str, what: str) -> str:
    plain_value(value, what)
    if not value.startswith("/"):
        value = os.path.abspath(value)
    value = os.path.normpath(value)
    encoded = os.fsencode(value)
    if len(encoded) >= PATH_MAX or any(len(part) > NAME_MAX for part in encoded.split(b"/")):
        raise InputError(f"{what} {value[:60]!r}...: longer than a path can be ({PATH_MAX} bytes, {NAME_MAX} a name)")
    return value


def find_executable(explicit: str | None) -> str:
    """The absolute path of the lbaudit executable the schedule runs: ``--executable``, else the
    one running now (``sys.argv[0]`` when it names a file), else the one beside this Python (a
    venv's bin/), else ``lbaudit`` on PATH.  cron's PATH has no venv, so never a bare name."""
    if explicit is not None:
        return absolute_path(explicit, "--executable")
    candidates = []
    if os.sep in sys.argv[0] and os.path.basename(sys.argv[0]) == "lbaudit":
        candidates.append(sys.argv[0])
    candidates.append(os.path.join(os.path.dirname(sys.executable), "lbaudit"))
    from shutil import which

    on_path = which("lbaudit")
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    raise InputError("cannot find the lbaudit executable (not beside this Python, not on PATH): give --executable")


def check_executable(root: Path, executable: str) -> None:
    path = followed_under_root(root, executable)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise InputError(f"{path}: the lbaudit executable the schedule would run is not an executable file "
                         "(give --executable)")


def check_executable_in_image(root: Path, executable: str) -> None:
    """In an image the executable may be installed later, so a path the image lacks is taken; but
    what the image has there is judged: ``--executable /usr/bin/`` (a directory) was installed with
    exit 0, and every run would have tried to execute a directory (203/EXEC, or the shell's
    "Permission denied"), no scan ever."""
    path = followed_under_root(root, executable)
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        raise InputError(f"{path}: cannot use as --executable: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        from auditor.safeio import kind_of

        raise InputError(f"{path}: --executable names {kind_of(st.st_mode)} in the image, not the lbaudit executable: every "
                         "scheduled run would fail to start; give the path of the lbaudit program itself")


def check_policy(root: Path, policy: str, plugins: bool) -> list[str]:
    """The policy loads, as the scheduled run will load it: a bad one is exit 2 now, not a failed
    night.  Returns the files it extends, as the scheduled host names them (for
    :func:`check_private_tmp`)."""
    from auditor.engine.registry import load_registry
    from auditor.policy.loader import load_policy, source_files

    this_host = os.path.realpath(root) == "/"
    path = followed_under_root(root, policy)
    loaded = load_policy(path, load_registry(plugins=plugins), image=None if this_host else root)
    real_root = os.path.realpath(root)
    extended = []
    for source in source_files(path, loaded)[1:]:
        relative = os.path.relpath(os.path.normpath(source), real_root)
        if relative != ".." and not relative.startswith("../"):  # always inside: extends resolve in the image
            extended.append("/" + relative)
    return extended


def check_sign_key(root: Path, key: str) -> None:
    """The signing key is root's, readable by root alone, and an Ed25519 private key."""
    from auditor.attest.signing import load_private_key

    path = followed_under_root(root, key)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot use the signing key: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: the signing key is not a regular file")
    if st.st_uid != 0:
        raise InputError(f"{path}: the signing key belongs to uid {st.st_uid}: a scheduled scan runs as root and "
                         f"its key must be root's alone (chown root: {path}; chmod 600 {path})")
    load_private_key(path)  # refuses group/other permission bits, and what is not an Ed25519 key


def find_flock(root: Path) -> str:
    for directory in FLOCK_DIRS:
        candidate = f"{directory}/flock"
        if os.access(followed_under_root(root, candidate), os.X_OK):
            return candidate
    raise InputError(f"flock not found in {' or '.join(FLOCK_DIRS)} (under {root}): install util-linux; "
                     "the cron job needs it so that two scans never overlap")


def check_calendar(on_calendar: str, randomized_delay: str) -> None:
    if not _CALENDAR.match(on_calendar):
        raise InputError(f"--on-calendar {on_calendar[:80]!r}: not a calendar expression (see systemd.time(7))")
    if not _TIMESPAN.match(randomized_delay):
        raise InputError(f"--randomized-delay {randomized_delay[:80]!r}: not a time span such as 1h or 30min")


SYSTEMD_ANALYZE_TIMEOUT_S = 10.0
SYSTEMD_SHORTHANDS = ("minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "quarterly",
                      "semiannually")
_TIMESPAN_PARTS = re.compile(r"^([0-9]+) ?([a-z]*)$")
_USEC = {"us": 1, "ms": 1000, "s": 10**6, "sec": 10**6, "m": 60 * 10**6, "min": 60 * 10**6, "h": 3600 * 10**6,
         "hr": 3600 * 10**6, "d": 86400 * 10**6, "w": 7 * 86400 * 10**6}


def check_with_systemd(on_calendar: str, randomized_delay: str, delay_given: bool = True) -> str:
    """``OnCalendar=`` and ``RandomizedDelaySec=`` as systemd itself parses them, when
    ``systemd-analyze`` is installed: the pattern of :func:`check_calendar` lets through values
    systemd rejects (``25:00``, ``Mon..Fri 99:00``) or accepts and never fires (``2026-02-30``,
    a date past): the timer then loads with no next run, or not at all, and no scan runs again,
    unseen.  Without systemd-analyze (an image built elsewhere) the pattern check alone stands.
    Returns the ``RandomizedDelaySec=`` to write: ``randomized_delay``, or, when it is the default
    (not ``delay_given``), at most the time between two runs (the default hour on a schedule every
    quarter of an hour is a quarter of an hour: refused, it made every frequent schedule need
    ``--randomized-delay``)."""
    number, unit = _TIMESPAN_PARTS.match(randomized_delay).groups()  # type: ignore[union-attr]  # check_calendar
    # systemd's usec_t: "Numerical result out of range".  2**64 has 20 digits, so a number of more
    # is out of range without int() (which refuses 5,000 digits: a ValueError, exit 70).
    # leading zeros are no length: systemd reads the number as strtoll does (010h is ten hours)
    count = ascii_decimal(number.lstrip("0") or "0", max_digits=20)
    delay_usec = None if count is None else count * _USEC[unit or "s"]
    if delay_usec is None or delay_usec >= 2**64 - 1:
        raise InputError(f"--randomized-delay {randomized_delay[:80]!r}: longer than systemd can hold")
    if on_calendar in SYSTEMD_SHORTHANDS:
        # systemd.time(7)'s own names: always valid, always elapse
        return _delay_within_period(randomized_delay, delay_usec, on_calendar, _SHORTHAND_PERIOD_S[on_calendar] * 10**6,
                                    delay_given)
    from auditor.collect.programs import find_executable as find_tool
    from auditor.collect.programs import run_command

    if find_tool("systemd-analyze") is None:
        return randomized_delay
    # TZ=UTC: every elapse is listed in UTC, so that the gaps between them can be read
    calendar = run_command(["systemd-analyze", "calendar", f"--iterations={PERIOD_ITERATIONS}", "--", on_calendar],
                           SYSTEMD_ANALYZE_TIMEOUT_S, extra_env={"TZ": "UTC"})
    if not calendar.ok:
        raise InputError(f"--on-calendar {on_calendar[:80]!r}: systemd rejects it ({calendar.reason}); see systemd.time(7)")
    if any(line.strip() == "Next elapse: never" for line in calendar.stdout.splitlines()):
        raise InputError(f"--on-calendar {on_calendar[:80]!r}: systemd says it never elapses (a date past or that does "
                         "not exist): the timer would never start a scan")
    period = _shortest_gap_usec(calendar.stdout)
    if period is None:
        return randomized_delay
    return _delay_within_period(randomized_delay, delay_usec, on_calendar, period, delay_given)


# The time between two elapses of each of systemd.time(7)'s names, in seconds, at the shortest
# (February, a quarter with it, a year not leap).  A change to summer time shortens one of them by
# an hour, which a delay of that length does no harm.
_DAY_S = 86400
_SHORTHAND_PERIOD_S = {"minutely": 60, "hourly": 3600, "daily": _DAY_S, "weekly": 7 * _DAY_S, "monthly": 28 * _DAY_S,
                       "quarterly": 90 * _DAY_S, "semiannually": 181 * _DAY_S, "yearly": 365 * _DAY_S,
                       "annually": 365 * _DAY_S}
PERIOD_ITERATIONS = 12
_ELAPSE_LINE = re.compile(r"^\s*(?:Next elapse|Iter\. #[0-9]+): \w+ ([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}) UTC$")


def _shortest_gap_usec(listing: str) -> int | None:
    """The shortest time between two of the elapses ``systemd-analyze calendar --iterations`` listed
    (in UTC), in microseconds; None when it listed fewer than two (a date that comes once)."""
    import datetime

    times = [datetime.datetime.fromisoformat(found.group(1))
             for found in map(_ELAPSE_LINE.match, listing.splitlines()) if found is not None]
    gaps = [int((later - earlier).total_seconds()) * 10**6 for earlier, later in zip(times, times[1:])]
    return min(gaps) if gaps else None


def _delay_within_period(randomized_delay: str, delay_usec: int, on_calendar: str, period_usec: int,
                         delay_given: bool) -> str:
    """systemd delays every elapse by the host's fixed offset, from 0 up to RandomizedDelaySec=, and
    counts the next elapse from the last trigger: a delay longer than the time between two runs
    made the scan run less often than --on-calendar said, and a delay of years practically never
    (``--randomized-delay 52w`` on the daily default was installed with exit 0).  A default delay is
    cut to the period; one given is refused."""
    if delay_usec <= period_usec:
        return randomized_delay
    if not delay_given:
        return f"{period_usec // 10**6}s"
    raise InputError(f"--randomized-delay {randomized_delay[:80]!r}: longer than the {period_usec // 10**6} seconds "
                     f"between two runs of --on-calendar {on_calendar[:80]!r} at the shortest; systemd delays every "
                     "run by up to that much, so the scan would run less often than asked (a delay of weeks or "
                     "years: practically never); give a delay no longer than that")


# ------------------------------------------------------------------ install and remove

@dataclass(frozen=True)
class ManagedFile:
    path: PurePosixPath  # as the scheduled host sees it
    content: str | None  # None: a symlink
    link_to: str | None = None


def stamped(text: str) -> str:
    """``text`` (starting with :data:`MARKER`) with the digest line of what follows it."""
    marker, _, body = text.partition("\n")
    return f"{marker}\n{DIGEST_PREFIX}{hashlib.sha256(body.encode('utf-8')).hexdigest()}\n{body}"


def _edited(head: bytes) -> bool:
    """Whether a file lbaudit wrote (``head``: its bytes, MARKER first) was changed since: its
    digest line no longer matches.  A file of a version before the digest line cannot tell: not edited."""
    _, _, rest = head.partition(b"\n")
    line, _, body = rest.partition(b"\n")
    prefix = DIGEST_PREFIX.encode()
    if not line.startswith(prefix):
        return False
    return line[len(prefix):] != hashlib.sha256(body).hexdigest().encode()


def planned_files(backend: str, config: ScheduleConfig, root: Path) -> list[ManagedFile]:
    if backend == "systemd":
        files = [ManagedFile(UNIT_DIR / SERVICE, stamped(render_service(config, root))),
                 ManagedFile(UNIT_DIR / TIMER, stamped(render_timer(config))),
                 # what `systemctl enable` makes of WantedBy=timers.target: the timer starts at boot
                 ManagedFile(WANTS_DIR / TIMER, None, str(UNIT_DIR / TIMER))]
    elif backend == "cron":
        files = [ManagedFile(CRON_FILE, stamped(render_cron(config, find_flock(root))))]
    else:
        raise InputError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
    for managed in files:
        # _is_ours reads at most MAX_MANAGED_FILE bytes: a longer file would be written and then
        # disowned by remove and by every later install.  A --store URL is no path, so no PATH_MAX
        # bounds the unit: a 70,000-character URL made a 72 KB unit that only a hand could delete.
        size = len(managed.content.encode("utf-8")) if managed.content is not None else 0
        if size > MAX_MANAGED_FILE:
            raise InputError(f"{managed.path}: would be {size} bytes, and lbaudit tells the files it wrote by reading "
                             f"at most {MAX_MANAGED_FILE}: schedule remove could not remove it; give shorter paths "
                             "and a shorter --store URL")
    return files


def all_managed_paths() -> list[PurePosixPath]:
    return [UNIT_DIR / SERVICE, UNIT_DIR / TIMER, WANTS_DIR / TIMER, CRON_FILE]


def _is_ours(root: Path, path: PurePosixPath) -> bool | None:
    """Whether the file at ``path`` was written by lbaudit (None: nothing there).  One written by
    lbaudit and edited since is refused here (InputError): it is the administrator's now."""
    real = placed_under_root(root, path)
    try:
        st = os.lstat(real)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{real}: {exc.strerror or exc}") from exc
    if stat.S_ISLNK(st.st_mode):
        # only the .wants link is ours, and only when it points at our timer
        return path.parent == WANTS_DIR and os.readlink(real) == str(UNIT_DIR / path.name)
    if not stat.S_ISREG(st.st_mode):
        return False
    try:
        head = read_regular(real, MAX_MANAGED_FILE, follow_symlinks=False)
    except OSError:
        return False  # too large or unreadable: not something lbaudit wrote
    if head.split(b"\n", 1)[0] != MARKER.encode():
        return False
    if _edited(head):
        raise InputError(f"{real}: written by lbaudit schedule install and edited since; refusing to replace or "
                         "remove the edits (move it away or restore it; a unit's own changes belong in a drop-in: "
                         "systemctl edit)")
    return True


def _refuse_foreign(root: Path, paths: list[PurePosixPath]) -> None:
    for path in paths:
        if _is_ours(root, path) is False:
            raise InputError(f"{under_root(root, path)}: exists and was not written by lbaudit schedule install; "
                             "refusing to replace or remove it (move it away first)")


def _refuse_other_backend(root: Path, backend: str, own: list[PurePosixPath]) -> None:
    """Refuse to install ``backend`` beside the other backend's scheduled scan: two scans would run
    every night, each writing the same out-dir files and recording in the history (the cron job's
    flock excludes only itself), and nothing said the first schedule was still there."""
    for path in all_managed_paths():
        if path not in own and _is_ours(root, path):
            other = "cron" if path == CRON_FILE else "systemd"
            raise InputError(f"{under_root(root, path)}: the {other} backend's scheduled scan is installed; with the "
                             f"{backend} one beside it two scans would run, each writing the same files and recording "
                             "in the history: run lbaudit schedule remove first")


# systemd's unit search path for the system manager, highest priority first (src/basic/path-lookup.c,
# lookup_paths_init; /lib/systemd/system on hosts whose /usr is not merged).  A unit file of the
# same name found before UNIT_DIR is the one that runs; drop-ins of every directory apply.
SYSTEM_UNIT_PATH = tuple(PurePosixPath(d) for d in (
    "/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
    "/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached", "/run/systemd/system",
    "/run/systemd/system.attached", "/run/systemd/generator", "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system", "/lib/systemd/system", "/run/systemd/generator.late"))


def _drop_in_dirs(unit: str) -> list[str]:
    """The drop-in directory names systemd reads for ``unit`` (systemd.unit(5), "drop-in"): its
    own, each dash-prefix of its name (``lbaudit-.service.d``), and its type's (``service.d``)."""
    name, _, kind = unit.rpartition(".")
    parts = name.split("-")
    prefixes = ["-".join(parts[:i]) + "-." + kind for i in range(len(parts) - 1, 0, -1)]
    return [f"{unit}.d", *(f"{prefix}.d" for prefix in prefixes), f"{kind}.d"]


def _masks(real: Path) -> bool:
    try:
        return os.path.islink(real) and os.readlink(real) == "/dev/null"
    except OSError:
        return False


def overriding_files(root: Path) -> list[str]:
    """What would change the installed systemd schedule as it runs, each as "path: what it does":
    a drop-in (``*.conf``) of the service or timer in any directory of systemd's search path (one
    that sets ExecStart= or OnCalendar= replaces the installed one), and a unit file of the same
    name, or a mask (a link to /dev/null), in a directory that comes before UNIT_DIR.  Before, a
    reinstall wrote its files with exit 0 and a drop-in left by an earlier edit still decided what ran."""
    found: list[str] = []
    before_ours = SYSTEM_UNIT_PATH[:SYSTEM_UNIT_PATH.index(UNIT_DIR)]
    for unit in (SERVICE, TIMER):
        for directory in SYSTEM_UNIT_PATH:
            if directory in before_ours:
                real = placed_under_root(root, directory / unit)
                if _masks(real):
                    found.append(f"{under_root(root, directory / unit)}: masks {unit} (a link to /dev/null)")
                elif os.path.lexists(real):
                    found.append(f"{under_root(root, directory / unit)}: a unit file of the same name that systemd "
                                 f"reads instead of {UNIT_DIR / unit}")
            for drop_in in _drop_in_dirs(unit):
                real_dir = placed_under_root(root, directory / drop_in / "x").parent
                try:
                    names = sorted(os.listdir(real_dir))
                except OSError:
                    continue  # no such directory (the usual case)
                for name in names:
                    if name.endswith(".conf") and not _masks(real_dir / name):
                        found.append(f"{under_root(root, directory / drop_in / name)}: a drop-in of {unit}")
    return found


def install(backend: str, config: ScheduleConfig, root: Path, dry_run: bool = False,
            allow_overrides: bool = False) -> tuple[list[ManagedFile], list[str]]:
    """Write the schedule's files under ``root`` (``/`` for this host); return them, with the
    files that change the systemd schedule as it runs (:func:`overriding_files`), refused unless
    ``allow_overrides``.

    Checks first, writes after: a refusal leaves nothing written."""
    files = planned_files(backend, config, root)
    needed_dir = UNIT_DIR if backend == "systemd" else CRON_DIR
    if not placed_under_root(root, needed_dir / SERVICE).parent.is_dir():
        raise InputError(f"{under_root(root, needed_dir)}: directory does not exist (is {backend} installed there?); "
                         "lbaudit does not create it")
    for managed in files:
        if _masks(placed_under_root(root, managed.path)):
            raise InputError(f"{under_root(root, managed.path)}: is a link to /dev/null (the unit is masked: "
                             f"systemctl unmask {managed.path.name} first, if the scan should run)")
    _refuse_foreign(root, [f.path for f in files])
    overrides = overriding_files(root) if backend == "systemd" else []
    if overrides and not allow_overrides:
        raise InputError("the installed schedule would not be what runs: " + "; ".join(overrides)
                         + " (remove them, or give --allow-overrides to install anyway)")
    _refuse_other_backend(root, backend, [f.path for f in files])
    if dry_run:
        return files, overrides
    for managed in files:
        target = placed_under_root(root, managed.path)
        if managed.content is not None:
            write_atomic(target, managed.content.encode("utf-8"), mode=FILE_MODE)
            continue
        make_directory(target.parent, 0o755)
        write_symlink(target, managed.link_to or "")
    return files, overrides


def remove(root: Path, dry_run: bool = False) -> list[PurePosixPath]:
    """Remove every file ``install`` wrote (either backend) under ``root``; return those removed.

    A file in one of those places that lbaudit did not write is refused (exit 2) before anything is
    removed.  The evidence, the history and the textfile metrics are data, and stay."""
    paths = all_managed_paths()
    _refuse_foreign(root, paths)
    found = [path for path in paths if _is_ours(root, path)]
    if dry_run:
        return found
    for path in found:
        remove_file(placed_under_root(root, path), "scheduled scan's file")
    wants = placed_under_root(root, WANTS_DIR / TIMER).parent
    if any(path.parent == WANTS_DIR for path in found):
        remove_directory_if_empty(wants)  # install creates it when a host has no timer enabled yet
    return found
