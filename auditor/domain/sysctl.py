"""What sysctl.d(5) means: key forms, globs, exclusions and the order settings apply in (pure).

At boot systemd-sysctl (and procps' ``sysctl --system``) apply ``*.conf`` files from these
directories, highest priority first::

    /etc/sysctl.d  /run/sysctl.d  /usr/local/lib/sysctl.d  /usr/lib/sysctl.d  /lib/sysctl.d

A file masks every file of the same name in a later directory; a symlink to ``/dev/null`` disables
it.  The winners are applied in lexicographic order of file name whatever their directory, and a
later assignment to a key replaces an earlier one.  The two tools differ on ``/etc/sysctl.conf``:
``sysctl --system`` applies it once more, last; systemd-sysctl does not read it at all (not since
systemd 207, whose NEWS says to link it as ``/etc/sysctl.d/99-sysctl.conf``, as Debian 12 and RHEL
ship it; it is then applied in that file's place, and a later ``99-tuning.conf`` wins over it).
RHEL 7's systemd 219 still reads it, last, and systemd before 245 (243 for ``-key = value``) knows
no globs or exclusions: where the version says so or cannot be told, the collector leaves the judged
keys those readings set otherwise unknown (:mod:`auditor.collect.sysctl_d`).
What the boot applies is therefore the systemd-sysctl reading wherever systemd-sysctl is installed
(Debian's ``procps.service`` is a link to ``systemd-sysctl.service``), and the procps reading
elsewhere (:data:`BOOT_APPLIERS`), where an init runs procps' sysctl: an image with neither applies
nothing, and its configured values are unknown (a container image).  Choosing and reading those files under a root is the collector's
part (:mod:`auditor.collect.sysctl_d`); what the lines mean and how the result is read back is here,
for collectors and checks alike.

Lines follow systemd's parser: ``#`` and ``;`` start comments, ``key = value`` with the white space
the boot tool strips removed from both ends and nothing else changed (:data:`STRIPPED_BY`: the kernel
refuses ``30\v60`` or ``30\f``, so a value is kept as it is written to /proc/sys, never with its
white space collapsed), ``-key = value`` ignores errors when setting, ``-key`` without ``=`` excludes that key from
glob patterns, and keys may be written ``a.b.c`` or ``a/b/c``.  Keys are stored in the dotted form
sysctl(8) prints, where a dot inside one component (a VLAN interface ``eth0.200``) becomes ``/``,
of the path the tool writes (:func:`written_key`: ``/net/ipv4/x`` and ``net..ipv4.x`` are ``net.ipv4.x``).

Before any of them, Linux 5.8 and later write the ``sysctl.<name>=<value>`` parameters of the
kernel command line (:func:`cmdline_sysctls`); the files' tool does not know them, so a file's
assignment, or its glob where the key is not excluded, overrides them.

The result maps each key to ``SysctlSetting(value, origin="path:line")`` (``/proc/cmdline`` for
the kernel command line's).  Glob keys
(``net.ipv4.conf.*.rp_filter``) are kept as written; an exclusion is stored under its key with the
leading ``-`` and an empty value, so that :func:`configured_setting` can expand globs against the
running keys exactly as systemd-sysctl does.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from auditor.domain.kernel_cmdline import KERNEL_CMDLINE, kernel_parameters
from auditor.model.facts import SysctlSetting
from auditor.model.records import record
from auditor.patterns import first_use
from auditor.spelling import closest
from auditor.text import ascii_decimal

SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")
RUN_SYSCTL_DIR = "/run/sysctl.d"
LIB_SYSCTL_DIR = "/lib/sysctl.d"
# systemd 255 removed split-usr builds (NEWS: "Support for split-usr ... and unmerged-usr ... has been
# removed"): CONF_PATHS("sysctl.d") is /etc, /run, /usr/local/lib and /usr/lib only.  Up to 254 a
# build with -Dsplit-usr=true (Debian's; "auto" where /bin was no link when it was built) appends
# /lib/sysctl.d (_CONF_PATHS_SPLIT_USR, src/basic/def.h; systemd-sysctl 252 of Debian 12 lists
# /lib/sysctl.d/*.conf in --cat-config).  procps' sysctl --system always reads it (PreloadSystem).
SYSTEMD_WITHOUT_LIB_SYSCTL_D = 255
SYSCTL_CONF = "/etc/sysctl.conf"
# systemd-sysctl (252 and later) applies the sysctl.extra credential after every file: the copy in
# its service's credentials directory, or the system's (kernel command line, SMBIOS, container).
SYSCTL_CREDENTIAL_DIRS = ("/run/credentials/systemd-sysctl.service", "/run/credentials/@system")
SYSCTL_CREDENTIALS = tuple(f"{directory}/sysctl.extra" for directory in SYSCTL_CREDENTIAL_DIRS)
# Where systemd installs the tool that applies sysctl.d at boot (merged and split /usr).
SYSTEMD_SYSCTL_PATHS = ("/usr/lib/systemd/systemd-sysctl", "/lib/systemd/systemd-sysctl")
# The tool that applies the configuration at boot -> whether it reads /etc/sysctl.conf (last).
BOOT_APPLIERS = {"systemd-sysctl": False, "sysctl --system": True}
EXCLUDE_PREFIX = "-"
# The boot value of io_uring_disabled is read with the sysctls, for the audit section (no running
# value of it is one of the sysctl section's keys).
IO_URING_DISABLED = "kernel.io_uring_disabled"
# A kernel command line parameter that sets a sysctl: sysctl.net.ipv4.tcp_fin_timeout=30
CMDLINE_SYSCTL_PREFIX = "sysctl"
GLOB_CHARS = "*?["
_WHITESPACE = " \t\r\n\f\v"

# How the kernel reads the numbers of a write (kernel/sysctl.c): before a number proc_skip_spaces()
# skips isspace() (lib/ctype.c: space, \t, \n, \v, \f, \r over the bytes written); after one,
# proc_get_long() takes only proc_wspace_sep (space, \t, \n) or the end of the write, anything
# else is EINVAL.  So ``30\v60``, ``30\f``, ``30\r`` and ``32768\v60999`` are refused, while
# ``\v30`` and ``30 \v60`` set 30; no other character (U+00A0, U+0085, U+2028, \x1c: bytes that
# are not isspace()) separates numbers at all.  Checked on Linux 6.18 in a network namespace.
KERNEL_SKIPS = " \t\n\v\f\r"
KERNEL_SEPARATORS = " \t\n"
# What the kernel prints between and after the numbers of a running value (proc_put_char "\t",
# "\n"): the collector keeps one space for each run, and the checks split there.
PRINTED_SEPARATORS = re.compile("[ \t\n]+")

# The white space each boot tool strips from the ends of a line, a key and a value, and nothing
# inside: systemd-sysctl strstrip()s with WHITESPACE (" \t\n\r", src/basic/string-util.h), so
# ``30\v`` is written as it stands and the kernel refuses it; procps' ``sysctl --system`` strips the
# line with isspace() (also \v and \f) and writes the value as it stands.  Checked with
# systemd-sysctl 252 and procps-ng 4.0.2 on Linux 6.18.
STRIPPED_BY = {"systemd-sysctl": " \t\n\r", "sysctl --system": _WHITESPACE}


def boot_sysctl_dirs(applier: str, systemd_version: int | None, running: bool) -> tuple[str, ...]:
    """The sysctl.d directories the boot's ``applier`` (a key of :data:`BOOT_APPLIERS`) reads, in
    their order of precedence.  ``systemd_version``: the major version of the systemd installed
    (None: not known, then /lib/sysctl.d is read, as every version before 255 may read it).
    ``running``: a running host, whose /run/sysctl.d holds what was put there since it booted (and
    is read again when systemd-sysctl restarts); in an image /run is the directory a tmpfs is
    mounted over at boot, so its files are never read by the booted host."""
    skipped = set()
    if not running:
        skipped.add(RUN_SYSCTL_DIR)
    if applier == "systemd-sysctl" and systemd_version is not None and systemd_version >= SYSTEMD_WITHOUT_LIB_SYSCTL_D:
        skipped.add(LIB_SYSCTL_DIR)
    return tuple(directory for directory in SYSCTL_DIRS if directory not in skipped)


# ---------------------------------------------------------------- what a snapshot collected

# The running sysctl keys a snapshot of each format version holds: every one is either in
# ``facts.sysctl.runtime`` or named by a gap at ``runtime/<key>``.  The collector reads the keys of
# the version it writes; a check asks the snapshot's own version, so an old snapshot is judged by
# what it holds, never by the keys today's collector would read.  Reading another key is a new
# snapshot version (and a new entry here).
RUNTIME_KEYS_BY_SNAPSHOT_VERSION: dict[str, tuple[str, ...]] = {
    "1.0": (
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_max_tw_buckets",
        "net.ipv4.tcp_timestamps",
        "net.ipv4.tcp_tw_reuse",
        "net.ipv6.bindv6only",
    ),
}
# 1.1 added platforms; a Linux snapshot collects the same keys as 1.0.
RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.1"] = RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.0"]
# 1.2 added transparency known clear and TPROXY rules; the same keys.
RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.2"] = RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.0"]
# 1.3 added the loopback drops of the NAT rules; the same keys.
RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.3"] = RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.0"]
# 1.4 added net.ipv4.tcp_fastopen (audit.socket_logging: its client bit lets sendto, sendmsg and
# sendmmsg with MSG_FASTOPEN open a TCP connection without connect(2)).
RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.4"] = tuple(sorted((*RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.3"],
                                                        "net.ipv4.tcp_fastopen")))
# 1.5 added whether each interface forwards (NetInterface.forwarding); the same keys.
RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.5"] = RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.4"]
# 1.6 added the io_uring holders of the audit section; the same keys.
RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.6"] = RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.5"]
# 1.7 added whether the x32 ABI is usable (AuditFacts.x32); the same keys.
RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.7"] = RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.6"]
# 1.8 added each namespace's local routes and veth peers paired by namespace id; the same keys.
RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.8"] = RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.7"]
# 1.9 added the audit daemon's stopped state and arguments and its boot command; the same keys.
RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.9"] = RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.8"]
# 1.10 added each link's ingress hooks; the same keys.
RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.10"] = RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.9"]
RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.11"] = RUNTIME_KEYS_BY_SNAPSHOT_VERSION["1.10"]


def collected_runtime_keys(schema_version: str) -> tuple[str, ...]:
    """The running keys a snapshot of ``schema_version`` collected (each a value or a gap)."""
    return RUNTIME_KEYS_BY_SNAPSHOT_VERSION[schema_version]


# ---------------------------------------------------------------- keys

def dotted_key(key: str) -> str:
    """The sysctl(8) form of a key written either way.

    sysctl.d(5): if the first separator is a slash, the name is a /proc/sys path and dots are part
    of a component; if it is a dot, dots and slashes are interchanged.  The dotted form is the
    path with the two swapped, so ``net/ipv4/conf/eth0.200/rp_filter`` and
    ``net.ipv4.conf.eth0/200.rp_filter`` both give the latter.
    """
    first = re.search(r"[./]", key)
    if first is None or first.group() == ".":
        return key
    return key.translate(str.maketrans("./", "/."))


# The directories of /proc/sys: every sysctl name starts with one of them.
SYSCTL_ROOTS = ("abi", "crypto", "debug", "dev", "fs", "kernel", "net", "sunrpc", "user", "vm")


def sysctl_name_problem(key: str) -> str | None:
    """Why ``key`` cannot be a sysctl name (``None`` when it can be one): white space, an empty
    component, a single component, or a first component that is no directory of /proc/sys.  Names
    under those directories vary by kernel and interface, so they are not looked up further."""
    if not key or any(ch in _WHITESPACE for ch in key):
        return f"{key!r} is not a sysctl name: a name holds no white space (e.g. net.ipv4.tcp_fin_timeout)"
    parts = dotted_key(key).split(".")
    if len(parts) < 2 or any(part == "" for part in parts):
        return f"{key!r} is not a sysctl name: expected components separated by dots, e.g. net.ipv4.tcp_fin_timeout"
    if any(part in ("/", "//") for part in parts):
        # "." and ".." of the /proc/sys path form (dotted, they are "/" and "//"): no sysctl is named so
        # (no interface either: the kernel refuses both as names), and net/../../../etc/passwd passed
        # as a key the rule was to compare, which it then said no configuration file sets.
        return (f"{key!r} is not a sysctl name: '.' and '..' are no components of one (write the key the "
                "path names, e.g. net.ipv4.tcp_fin_timeout)")
    if parts[0] not in SYSCTL_ROOTS:
        near = closest(parts[0], SYSCTL_ROOTS)
        hint = f"; did you mean {'.'.join([near, *parts[1:]])!r}?" if near is not None else ""
        return (f"{key!r} is not a sysctl name: it must start with one of {', '.join(SYSCTL_ROOTS)} "
                f"(the directories of /proc/sys){hint}")
    return None


def _path_form(key: str) -> str:
    return key.translate(str.maketrans("./", "/."))


def written_key(key: str, applier: str = "systemd-sysctl") -> str:
    """The dotted key a line of ``applier`` (a key of :data:`BOOT_APPLIERS`) writes: the /proc/sys
    path it opens, simplified as that path is.  systemd-sysctl's sysctl_normalize() turns the key into
    a path and path_simplify()s it: empty components (``net..ipv4``, ``net/ipv4//x``), ``.``
    components and a leading or trailing separator go, so ``/net/ipv4/tcp_tw_reuse`` and
    ``net.ipv4.tcp_tw_reuse.`` set tcp_tw_reuse (checked with systemd-sysctl 252).  procps' sysctl
    opens the path as it stands, which the kernel resolves the same way except for a trailing
    separator: opening ``net/ipv4/tcp_tw_reuse/`` fails (ENOTDIR), so that key is kept as written
    and matches nothing.  ``..`` is kept: systemd-sysctl writes nothing through it."""
    first = re.search(r"[./]", key)
    path = key if first is None or first.group() == "/" else _path_form(key)
    if applier != "systemd-sysctl" and path.endswith("/") and path.strip("/"):
        return dotted_key(key)
    simplified = "/".join(part for part in path.split("/") if part not in ("", "."))
    return _path_form(simplified) if simplified else dotted_key(key)


def procps_dot_dot_target(key: str) -> str | None:
    """The dotted key a procps ``sysctl --system`` line of ``key`` (dotted, as :func:`written_key`
    keeps it) with a ``..`` component reaches, as the kernel walks /proc/sys/<path>: procps stat()s
    the path and writes it when its realpath() is under /proc/sys (WriteSetting(), procps-ng 4.0),
    so ``net/ipv4/../ipv4/tcp_tw_reuse`` writes tcp_tw_reuse, where every component before a ``..``
    exists on the booted kernel.  None: the key has no ``..`` component, or leads out of /proc/sys
    (nothing is written)."""
    parts = _path_form(key).split("/")
    if ".." not in parts:
        return None
    resolved = ["proc", "sys"]
    for part in parts:
        if part == "..":
            if resolved:
                resolved.pop()
        elif part not in ("", "."):
            resolved.append(part)
    if resolved[:2] != ["proc", "sys"] or len(resolved) < 3:
        return None
    return _path_form("/".join(resolved[2:]))


def is_glob(key: str) -> bool:
    return any(ch in key for ch in GLOB_CHARS)


@record
class _CharClass:
    """``[abc]``, ``[a-z]``, ``[!abc]`` (or ``[^abc]``): one character of a component."""

    negated: bool
    chars: frozenset[str]
    ranges: tuple[tuple[str, str], ...]

    def matches(self, ch: str) -> bool:
        if ch == "/":  # glob(3) matches component by component: nothing but "/" itself matches "/"
            return False
        inside = ch in self.chars or any(low <= ch <= high for low, high in self.ranges)
        return inside != self.negated


# One step of a glob: "*" (any run within one component), "?" (one character of a component), a
# character class, or a literal character (a str of length one).
_STAR = "*"
_ANY = "?"


def _char_class(body: str, negated: bool) -> _CharClass:
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            ranges.append((body[k], body[k + 2]))
            k += 3
        else:
            chars.add(body[k])
            k += 1
    return _CharClass(negated, frozenset(chars), tuple(ranges))


def _glob_tokens(pattern: str) -> list[str | _CharClass]:
    """glob(7) over a /proc/sys path: ``*`` and ``?`` never cross a ``/``.  A run of ``*`` is one
    ``*`` (the same language), so that the matcher below never holds two stars in a row."""
    out: list[str | _CharClass] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if not out or out[-1] != _STAR:
                out.append(_STAR)
        elif ch == "?":
            out.append(_ANY)
        elif ch == "[":
            first = i + 1
            negated = pattern[first : first + 1] in ("!", "^")
            first += negated
            # a "]" right after "[" or "[!" is a member of the class, not its end
            end = pattern.find("]", first + 1 if pattern[first : first + 1] == "]" else first)
            if end < 0:
                out.append(ch)
            else:
                out.append(_char_class(pattern[first:end], negated))
                i = end
        else:
            out.append(ch)
        i += 1
    return out


def _step(token: str | _CharClass, ch: str) -> bool:
    if isinstance(token, _CharClass):
        return token.matches(ch)
    return ch != "/" if token == _ANY else ch == token


def _glob_fullmatch(tokens: list[str | _CharClass], text: str) -> bool:
    """Whether ``tokens`` match all of ``text``, by walking the set of positions reached so far.

    Not a backtracking regex: ``net.ipv4.****************x``, or ``*i*i*i*i*i*i*i*i*i*i*x``, in a
    host's sysctl.d made ``re`` try every way of splitting a key among the stars (seconds per key
    at 16 stars, hours at 20).  Here each step costs at most one pass over the key, and every step
    but ``*`` consumes a character, so a match costs O(len(key)**2) whatever the pattern."""
    reached = {0}
    for token in tokens:
        if token == _STAR:
            grown: set[int] = set()
            for start in sorted(reached):
                position = start
                while position not in grown:
                    grown.add(position)
                    if position >= len(text) or text[position] == "/":
                        break
                    position += 1
            reached = grown
        else:
            reached = {position + 1 for position in reached if position < len(text) and _step(token, text[position])}
        if not reached:
            return False
    return len(text) in reached


def glob_matches(pattern: str, key: str) -> bool:
    """Whether a glob key (dotted form) covers a concrete key (dotted form)."""
    return _glob_fullmatch(_glob_tokens(_path_form(pattern)), _path_form(key))


# ---------------------------------------------------------------- parsing (pure)

@record
class SysctlLine:
    key: str  # dotted form, without the "-" prefix
    value: str | None  # None: "-key" without "=", an exclusion from glob patterns
    ignore_failure: bool
    line: int


# systemd reads its configuration (sysctl.d, unit files and their drop-ins) with read_line(), for
# which "\n", "\r", "\r\n" and NUL each end a line: "# note\rnet.x = 1" sets net.x (checked
# against systemd-sysctl 252 and systemd-analyze verify).
_SYSTEMD_LINE_END = re.compile("\r\n|[\r\n\0]")


def systemd_lines(text: str) -> list[str]:
    """The lines of a configuration file as systemd's read_line() splits them."""
    return _SYSTEMD_LINE_END.split(text)


# systemd reads each line with a limit (read_line(f, LONG_LINE_MAX, ...) in systemd-sysctl 252's
# parse_file(), read_stripped_line() in conf_file_read() later): a line of LONG_LINE_MAX bytes or more,
# line end not counted, is -ENOBUFS and the file is "Failed to read ..., ignoring": no line after it
# is parsed, while those before it are applied (checked with systemd-sysctl 252).
SYSTEMD_LONG_LINE_MAX = 1024 * 1024
_SYSTEMD_LINE_END_BYTES = re.compile(b"\r\n|[\r\n\0]")


def systemd_readable(data: bytes) -> bytes:
    """The part of a configuration file systemd parses: everything before its first line of
    :data:`SYSTEMD_LONG_LINE_MAX` bytes or more (the whole file when it has none).  Bytes, not
    characters: a line of 349,526 "\u20ac" is 1,048,578 bytes."""
    start = 0
    for end in _SYSTEMD_LINE_END_BYTES.finditer(data):
        if end.start() - start >= SYSTEMD_LONG_LINE_MAX:
            return data[:start]
        start = end.end()
    return data[:start] if len(data) - start >= SYSTEMD_LONG_LINE_MAX else data


def procps_lines(text: str) -> list[str]:
    """The lines of a configuration file as procps' ``sysctl --system`` reads them (fgets): only
    "\n" ends a line, and a NUL ends what is read of it (the rest of that line is never seen)."""
    return [line.partition("\0")[0] for line in text.split("\n")]


def parse_sysctl_conf(text: str, applier: str = "systemd-sysctl") -> list[SysctlLine]:
    """Parse one sysctl.d / sysctl.conf file as ``applier`` (a key of :data:`BOOT_APPLIERS`) reads
    it.  Lines that are not assignments are skipped, as systemd-sysctl skips them (it logs them and
    sets nothing)."""
    entries: list[SysctlLine] = []
    lines = systemd_lines(text) if applier == "systemd-sysctl" else procps_lines(text)
    stripped = STRIPPED_BY[applier]
    for number, raw in enumerate(lines, start=1):
        line = raw.strip(stripped)
        if not line or line[0] in "#;":
            continue
        key, equals, value = line.partition("=")
        ignore_failure = key.startswith(EXCLUDE_PREFIX)
        if ignore_failure:
            key = key[1:]
            if applier != "systemd-sysctl":
                # procps builds the path without one more leading "-" (setting_new(): "--net.x = 1" writes
                # net.x) and strips nothing after the dashes: "- net.x = 1" names " net/x", no /proc/sys
                # path, so it writes and excludes nothing (systemd-sysctl strips the key, keeps a "-")
                key = key.removeprefix(EXCLUDE_PREFIX)
                if key[:1] in stripped:
                    continue
        key = key.strip(stripped)
        if not key:
            continue
        if not equals:
            if ignore_failure:
                entries.append(SysctlLine(written_key(key, applier), None, True, number))
            continue
        # the value as the tool writes it: white space inside it is the kernel's to take or refuse
        entries.append(SysctlLine(written_key(key, applier), value.strip(stripped), ignore_failure, number))
    return entries


def cmdline_sysctls(cmdline: str) -> list[SysctlLine]:
    """The ``sysctl.*`` parameters of a kernel command line (Linux 5.8 and later), as the kernel
    writes them to /proc/sys before it starts init (process_sysctl_arg(), fs/proc/proc_sysctl.c):
    ``sysctl.`` or ``sysctl/``, then the name, every ``.`` in it turned into ``/`` (so a component with
    a dot, ``eth0.200``, cannot be named there); a parameter without a value, or with an empty one,
    writes nothing.  The value is written as it stands, quotes removed.  ``line`` numbers the
    parameter among the command line's words."""
    entries: list[SysctlLine] = []
    for number, (param, value) in enumerate(kernel_parameters(cmdline), start=1):
        if not param.startswith(CMDLINE_SYSCTL_PREFIX) or param[len(CMDLINE_SYSCTL_PREFIX):][:1] not in ("/", "."):
            continue
        name = param[len(CMDLINE_SYSCTL_PREFIX) + 1:]
        if not name or not value:
            continue
        entries.append(SysctlLine(name.replace("/", "."), value, False, number))
    return entries


def merge_settings(files: list[tuple[str, list[SysctlLine]]],
                   cmdline: list[SysctlLine] | tuple[SysctlLine, ...] = (),
                   applier: str = "systemd-sysctl") -> dict[str, SysctlSetting]:
    """Apply the kernel command line's sysctls (``cmdline``, written before init starts), then the
    parsed files in order, as ``applier`` (a key of :data:`BOOT_APPLIERS`) applies them.

    systemd-sysctl keeps one entry per key (src/sysctl/sysctl.c, an ordered hashmap): a later
    assignment replaces an earlier one, and repeating the same value keeps the first origin and
    position; an exclusion ``-key`` is an entry of the same key, so it takes back an earlier
    assignment (the key is then not written at all) and is taken back by a later one; an
    exclusion with a glob (``-net.ipv4.conf.*.x``) excludes nothing, so only its taking back of the
    same glob's assignment is kept.  procps' ``sysctl --system`` (4.0, src/sysctl.c) keeps every
    line in a list and writes them in order: every assignment of a key is written, so the last
    one holds and its position is the last; an exclusion only keeps globs away from its key and
    takes no assignment back, and a glob exclusion does nothing (checked with procps-ng 4.0.2;
    later versions match it against the globs' keys, which is not modelled).

    The files' tool knows nothing of the command line: an assignment in a file replaces the
    kernel's value (a file repeating it makes the key the file's, which globs then leave alone), and
    an exclusion ``-key`` stops only the files' globs, so the kernel's value stays under it (also
    where a file had assigned the key before the exclusion: the tool then writes nothing).  An
    entry whose origin is :data:`KERNEL_CMDLINE` is therefore set by the kernel alone, which any
    file glob matching it overrides unless it is excluded (:func:`configured_setting`)."""
    kernel: dict[str, SysctlSetting] = {}
    for entry in cmdline:
        if entry.value is not None:
            kernel[entry.key] = SysctlSetting(value=entry.value, origin=KERNEL_CMDLINE)
    settings: dict[str, SysctlSetting] = dict(kernel)
    in_order = applier != "systemd-sysctl"
    for path, lines in files:
        for entry in lines:
            name = entry.key if entry.value is not None else EXCLUDE_PREFIX + entry.key
            other = EXCLUDE_PREFIX + entry.key if entry.value is not None else entry.key
            value = entry.value if entry.value is not None else ""
            setting = SysctlSetting(value=value, origin=f"{path}:{entry.line}")
            if in_order:
                if entry.value is not None or (name not in settings and not is_glob(entry.key)):
                    settings[name] = setting  # written again here: the last write and its place
                continue
            existing = settings.get(name)
            if existing is not None and existing.value == value and existing.origin != KERNEL_CMDLINE:
                continue
            settings.pop(other, None)  # an assignment ends an exclusion of the same key, and back
            if entry.value is None and is_glob(entry.key):
                continue  # a glob exclusion only took back the same glob's assignment
            if entry.value is None and entry.key in kernel:
                settings[entry.key] = kernel[entry.key]  # the files no longer write it: the kernel's value stays
            settings[name] = setting
    return dict(sorted(settings.items()))


# Keys whose value is a vector of numbers the kernel writes in part (proc_dointvec_minmax over a
# table of that many ints): a write of fewer numbers leaves the others as they are, so what it sets
# depends on the writes of the key before it.  Only those lbaudit reads.
VECTOR_LENGTHS = {"net.ipv4.ip_local_port_range": 2}
_WRITTEN_NUMBERS = first_use(f"[{re.escape(KERNEL_SKIPS)}]+")


def _numbers_written(key: str, value: str) -> int:
    text = value.strip(KERNEL_SKIPS)
    return min(VECTOR_LENGTHS[key], len(_WRITTEN_NUMBERS().split(text)) if text else 0)


# ip_local_port_range and ip_unprivileged_port_start: since Linux 4.11 the kernel refuses a write of
# either that the other's value at that moment contradicts (a low end below the start, a start above
# the low end), so whether each write is taken depends on the order of every write of both.
ORDER_DEPENDENT_PAIR = ("net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start")


def _earlier_writes(key: str, final: SysctlSetting, files: list[tuple[str, list[SysctlLine]]],
                    cmdline: list[SysctlLine] | tuple[SysctlLine, ...], applier: str) -> list[tuple[str, str]]:
    """(value, origin) of the writes of ``key`` at boot before its last one, ``final``: the kernel
    command line's, then, for procps' ``sysctl --system``, which writes every assignment in order,
    the files' other ones (systemd-sysctl writes each key once: :func:`merge_settings`)."""
    if final.origin == KERNEL_CMDLINE:
        return []
    earlier = [(line.value, KERNEL_CMDLINE) for line in cmdline if line.key == key and line.value is not None]
    if applier != "systemd-sysctl":
        earlier += [(line.value, f"{path}:{line.line}") for path, lines in files for line in lines
                    if line.key == key and line.value is not None and f"{path}:{line.line}" != final.origin]
    return earlier


def _same_write(left: str, right: str) -> bool:
    return _WRITTEN_NUMBERS().split(left.strip(KERNEL_SKIPS)) == _WRITTEN_NUMBERS().split(right.strip(KERNEL_SKIPS))


def order_dependent_writes(files: list[tuple[str, list[SysctlLine]]],
                           cmdline: list[SysctlLine] | tuple[SysctlLine, ...],
                           settings: dict[str, SysctlSetting], applier: str = "systemd-sysctl") -> dict[str, str]:
    """The keys whose boot value depends on a write before their last one, which ``settings`` (the
    last write of each key) does not hold, each with why it is not known:

    * a vector key (:data:`VECTOR_LENGTHS`) whose last write gives fewer numbers than an earlier
      one: the kernel keeps the numbers a write leaves out as they are (``1500`` over ``1024 2000``
      sets 1500-2000), not at its defaults;
    * both keys of :data:`ORDER_DEPENDENT_PAIR`, when the boot writes both and one of them is
      written before its last write with another value: whether the kernel takes each write depends
      on the other's value at that moment, which the last writes alone do not tell.

    Writes before the last: the kernel command line's (``cmdline``), and for procps' ``sysctl
    --system`` the files' earlier assignments (:func:`_earlier_writes`)."""
    unknown: dict[str, str] = {}
    for key in VECTOR_LENGTHS:
        final = settings.get(key)
        if final is None:
            continue
        fewer = _numbers_written(key, final.value)
        wider = [(value, origin) for value, origin in _earlier_writes(key, final, files, cmdline, applier)
                 if _numbers_written(key, value) > fewer]
        if wider:
            value, origin = wider[-1]
            unknown[key] = (f"{key} = {final.value!r} ({final.origin}) writes fewer numbers than {value!r} ({origin}) "
                            "written before it at boot: the kernel keeps the numbers a write leaves out as they are, "
                            "so the value in force depends on whether it took that earlier write")
    finals = {key: settings.get(key) for key in ORDER_DEPENDENT_PAIR}
    if all(finals.values()):
        for key, final in finals.items():
            assert final is not None
            other = [(value, origin) for value, origin in _earlier_writes(key, final, files, cmdline, applier)
                     if not _same_write(value, final.value)]
            if not other:
                continue
            value, origin = other[-1]
            why = (f"{key} is written {value!r} ({origin}) before {final.value!r} ({final.origin}) at boot, and "
                   f"the kernel takes a write of {' or '.join(ORDER_DEPENDENT_PAIR)} only when the other's value "
                   "at that moment allows it (Linux 4.11 and later): which writes it took depends on every write "
                   "of both, in order, so the value in force is not known")
            for each in ORDER_DEPENDENT_PAIR:
                unknown.setdefault(each, why)
            break
    return unknown


def origin_order(origin: str) -> tuple[int, str, int]:
    """The order in which an origin ``path:line`` was applied: the kernel command line first (the
    kernel writes it before init starts), then file name, then line; /etc/sysctl.conf (procps) and
    the sysctl.extra credential (systemd-sysctl) last."""
    if origin == KERNEL_CMDLINE:
        return (-1, "", 0)
    path, _, line = origin.rpartition(":")
    last = path == SYSCTL_CONF or path in SYSCTL_CREDENTIALS
    return (1 if last else 0, PurePosixPath(path).name, ascii_decimal(line) or 0)


def configured_setting(persistent: dict[str, SysctlSetting], key: str) -> SysctlSetting | None:
    """What the boot configuration sets ``key`` (dotted, concrete) to, expanding glob keys.

    An explicit assignment or exclusion of the key in a file beats every glob; among globs the one
    applied last wins (systemd-sysctl writes each glob's matches in the order the globs were read).
    A value only the kernel command line sets is overridden by a file glob that matches the key
    and is not excluded (systemd-sysctl writes after the kernel).
    """
    explicit = persistent.get(key)
    if explicit is not None and explicit.origin != KERNEL_CMDLINE:
        return explicit
    if EXCLUDE_PREFIX + key in persistent:
        return explicit
    matching = [
        setting
        for pattern, setting in persistent.items()
        if not pattern.startswith(EXCLUDE_PREFIX) and is_glob(pattern) and glob_matches(pattern, key)
    ]
    return max(matching, key=lambda s: origin_order(s.origin)) if matching else explicit


def configured_key(persistent: dict[str, SysctlSetting], setting: SysctlSetting) -> str:
    """The key ``setting`` is held under in ``persistent``: the glob, when a glob set it."""
    return next((k for k, s in persistent.items() if s is setting), "")


def configured_keys(persistent: dict[str, SysctlSetting]) -> list[str]:
    """Concrete keys assigned explicitly (no globs, no exclusions)."""
    return sorted(k for k in persistent if not k.startswith(EXCLUDE_PREFIX) and not is_glob(k))
