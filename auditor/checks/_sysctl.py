"""Sysctl values for the network checks: pure parsers and the ephemeral port pool.

Running values arrive with the kernel's separators collapsed to one space; configured values as the
boot tool writes them (``SysctlFacts``).  A malformed value raises
:class:`SysctlValueError` with the key and the text; the checks turn it into a ``not_reviewed``
outcome, because a value we cannot read is evidence we could not use, never a pass.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Iterable
from functools import cached_property

from auditor.domain.sysctl import (
    KERNEL_SEPARATORS,
    KERNEL_SKIPS,
    PRINTED_SEPARATORS,
    configured_key,
    configured_setting,
    origin_order,
)
from auditor.model.base import json_pointer
from auditor.model.facts import GapKind, HostSnapshot, Listener, SysctlSetting
from auditor.model.records import record
from auditor.patterns import first_use

PORT_RANGE = "net.ipv4.ip_local_port_range"
RESERVED_PORTS = "net.ipv4.ip_local_reserved_ports"
# The kernel's own value of ip_local_reserved_ports, the same on every kernel since the key exists
# (Documentation/networking/ip-sysctl.rst: "Default: Empty"): an image that sets it nowhere boots with
# no reserved port, which is judged rather than left unknown.
RESERVED_PORTS_KERNEL_DEFAULT = ""
UNPRIVILEGED_PORT_START = "net.ipv4.ip_unprivileged_port_start"
# Documentation/networking/ip-sysctl.rst: "Default: 1024" (the key exists since Linux 4.11).
UNPRIVILEGED_PORT_START_KERNEL_DEFAULT = 1024
# The kernel's default ip_local_port_range on every kernel that has ip_unprivileged_port_start
# (inet_init_net: 32768-60999 since Linux 4.6).
DEFAULT_RANGE_LOW = 32768
DEFAULT_RANGE_HIGH = 60999
# The lowest port either end of ip_local_port_range takes (ipv4_local_port_range: its minimum is
# {1, 1}; "0 65535" is EINVAL even with ip_unprivileged_port_start at 0).  Windows (1025) and macOS
# (1024) start higher, so no range of any platform holds port 0.
LOWEST_RANGE_PORT = 1
TW_REUSE = "net.ipv4.tcp_tw_reuse"
MAX_TW_BUCKETS = "net.ipv4.tcp_max_tw_buckets"
FIN_TIMEOUT = "net.ipv4.tcp_fin_timeout"
TIMESTAMPS = "net.ipv4.tcp_timestamps"
BINDV6ONLY = "net.ipv6.bindv6only"
FASTOPEN = "net.ipv4.tcp_fastopen"

_INT_MAX = 2**31 - 1
# The values the handler of each integer sysctl lbaudit judges takes (Linux 6.x,
# net/ipv4/sysctl_net_ipv4.c, net/ipv6/sysctl_net_ipv6.c; checked on 6.18 in a network namespace):
# anything else is refused with EINVAL and the value in force stays.  tcp_tw_reuse, tcp_timestamps,
# bindv6only: proc_dou8vec_minmax, which also refuses a sign ("-0" too); tcp_max_tw_buckets:
# proc_dointvec, a C int, and so is tcp_fastopen (a bit mask: any int is taken); tcp_fin_timeout:
# proc_dointvec_jiffies, seconds x HZ must fit an int, so up to INT_MAX / 1000 is taken on every HZ
# (100-1000) and above INT_MAX / 100 on none.
KERNEL_TAKES: dict[str, tuple[int, int, int]] = {  # key -> (lowest, highest on every HZ, highest on some HZ)
    TW_REUSE: (0, 2, 2),
    TIMESTAMPS: (0, 255, 255),
    BINDV6ONLY: (0, 255, 255),
    MAX_TW_BUCKETS: (-_INT_MAX - 1, _INT_MAX, _INT_MAX),
    FIN_TIMEOUT: (-(_INT_MAX // 1000), _INT_MAX // 1000, _INT_MAX // 100),
    UNPRIVILEGED_PORT_START: (0, 65535, 65535),
    FASTOPEN: (-_INT_MAX - 1, _INT_MAX, _INT_MAX),
}
UNSIGNED_KEYS = frozenset({TW_REUSE, TIMESTAMPS, BINDV6ONLY})  # u8 handlers: no sign at all


# The most characters of a value (or of a part of it) a message quotes: a sysctl.d line may be
# megabytes long (procps reads a line of any length), and each finding that names it would carry it.
_QUOTED_CHARACTERS = 200


def quoted(text: str) -> str:
    """``text`` as a message quotes it: repr, cut to its first :data:`_QUOTED_CHARACTERS` characters."""
    if len(text) <= _QUOTED_CHARACTERS:
        return repr(text)
    return f"{text[:_QUOTED_CHARACTERS]!r}... ({len(text):,} characters)"


class SysctlValueError(ValueError):
    def __init__(self, key: str, value: str, problem: str) -> None:
        super().__init__(f"{key} = {quoted(value)}: {problem}")
        self.key = key
        self.value = value


# A number as the kernel reads a /proc/sys write (proc_get_long: simple_strtoul with base 0): "0x"
# and hex digits, a leading 0 and octal digits, else decimal.  systemd-sysctl and sysctl(8) write a
# configured value as it is written, so ``010000`` in an image's sysctl.d is 4096 on the booted host
# (checked on Linux 6.18: "010000 060000" reads back 4096 24576, "0x2710" 10000, "08080" is EINVAL).
# Running values are what the kernel prints, in decimal: another form there was not printed by it
# (a corrupt or edited snapshot) and is refused.  Bounded: int() of 5000 digits raises.
_KERNEL_NUMBER = first_use(r"0[xX][0-9a-fA-F]{1,16}|0[0-7]{0,22}|[1-9][0-9]{0,19}")
_PRINTED_NUMBER = re.compile(r"[0-9]{1,20}")


def kernel_number(key: str, value: str, token: str, what: str = "a number", configured: bool = True) -> int:
    """``token`` as the kernel reads a write of it (``configured``), or as it prints a running value
    (decimal); SysctlValueError where the kernel answers EINVAL, or would never print it."""
    if not configured:
        if not _PRINTED_NUMBER.fullmatch(token):
            raise SysctlValueError(key, value, f"{quoted(token)} is not {what} (a running value is printed in decimal)")
        return int(token)
    if len(token) > 20 or not _KERNEL_NUMBER().fullmatch(token):  # proc_get_long: 21 characters are EINVAL
        raise SysctlValueError(key, value, f"{quoted(token)} is not {what} the kernel reads (decimal, 0x hex or "
                                           f"0-prefixed octal)")
    if token[:2] in ("0x", "0X"):
        return int(token[2:], 16)
    return int(token, 8) if token.startswith("0") else int(token)


def _port(key: str, value: str, token: str, configured: bool) -> int:
    port = kernel_number(key, value, token, "a port number", configured)
    if port > 65535:
        raise SysctlValueError(key, value, f"{port} is not a port number (0-65535)")
    return port


def parse_int(key: str, value: str) -> int:
    """A decimal integer, as Windows and macOS tools print them (Linux: :func:`parse_kernel_int`)."""
    text = value.strip()
    if not re.fullmatch(r"-?[0-9]{1,20}", text):  # a kernel int is at most 64 bits
        raise SysctlValueError(key, value, "expected an integer")
    return int(text)




def printed_numbers(value: str) -> list[str]:
    """The numbers of a running value, split only where the kernel prints a separator."""
    text = value.strip(KERNEL_SEPARATORS)
    return PRINTED_SEPARATORS.split(text) if text else []


# What a write's number reader skips (KERNEL_SKIPS), then the next number (up to the next of them).
_WRITTEN_TOKEN = re.compile(f"[{re.escape(KERNEL_SKIPS)}]*([^{re.escape(KERNEL_SKIPS)}]*)")
# str.isspace() (the same test: \x1c-\x1f, U+0085, U+00A0, U+2028 are white space to both)
_WHITE_SPACE = re.compile(r"\s")


def written_numbers(key: str, value: str, count: int) -> list[str]:
    """The numbers a /proc/sys write of ``value`` gives a key that holds ``count`` of them.  The
    kernel's vector handlers (proc_dointvec_minmax, proc_dou8vec_minmax) read at most ``count``
    numbers, separated by white space, and leave the rest of the write unread: ``30 60`` sets 30,
    ``32768 60999 5`` sets 32768-60999 (kernel.sysctl_writes_strict=1, the default since Linux 4.5,
    ignores the rest when the writer sends it again); fewer numbers leave the others as they were.
    No number at all is EINVAL, and so is a number followed by anything but a space, a tab or a
    newline (:data:`KERNEL_SKIPS`, :data:`KERNEL_SEPARATORS`)."""
    tokens = _numbers_of_a_write(key, value, count)
    if len(value) > SURELY_READ_BYTES // 4 or len(value.encode("utf-8", "surrogatepass")) > SURELY_READ_BYTES:
        # The kernel reads at most PAGE_SIZE - 1 bytes of one write (__do_proc_dointvec,
        # __do_proc_douintvec: 4,095 with 4 KiB pages, more with 16 or 64 KiB) and takes the rest as
        # read; a boot tool that writes through a stdio buffer may send a long value in pieces, the
        # later ones ignored (kernel.sysctl_writes_strict).  Read whole, "1024", 5,000 spaces and
        # "65535" was the range 1024-65535, where the kernel takes 1024 alone and keeps the high end.
        head = value.encode("utf-8", "surrogatepass")[:SURELY_READ_BYTES].decode("utf-8", "ignore")
        try:
            cut = _numbers_of_a_write(key, head, count)
        except SysctlValueError:
            cut = None
        if cut != tokens:
            raise SysctlValueError(key, value, f"the value is {len(value.encode('utf-8', 'surrogatepass')):,} bytes "
                                               "long, and the kernel reads only the first PAGE_SIZE - 1 bytes of a write "
                                               "(4,095 with 4 KiB pages; a boot tool may write it in smaller pieces, of "
                                               "which it reads only the first): what it takes depends on where the "
                                               "write is cut")
    return tokens


# The first bytes of a write every kernel reads whatever its page size, and that reach it in the first
# write(2) of any boot tool (stdio buffers hold 1 KiB at the least): what lies within them is read.
SURELY_READ_BYTES = 1023


def _numbers_of_a_write(key: str, value: str, count: int) -> list[str]:
    """:func:`written_numbers` of the whole of ``value``."""
    tokens: list[str] = []
    position = 0
    while len(tokens) < count:
        # by the regular expression engine: a character at a time in Python, a line of megabytes of
        # white space took seconds for each check that read it
        found = _WRITTEN_TOKEN.match(value, position)
        assert found is not None  # both parts may be empty: it always matches
        token, end = found.group(1), found.end()
        if not token:
            break  # only white space was left
        if end < len(value) and value[end] not in KERNEL_SEPARATORS:
            raise SysctlValueError(key, value, f"{quoted(token)} is followed by {value[end]!r}: after a "
                                               "number the kernel takes only a space, a tab or a newline (EINVAL)")
        tokens.append(token)
        position = end
    if not tokens:
        raise SysctlValueError(key, value, "no number to write (EINVAL)")
    return tokens


def parse_kernel_int(key: str, value: str, configured: bool = True) -> int:
    """A Linux integer sysctl as the kernel reads it (proc_get_long): an optional ``-``, then a
    :func:`kernel_number`; ``0100000`` is 32768, not 100000.  A write (``configured``) is read as
    far as the kernel reads it (:func:`written_numbers`); a running value is one number."""
    text = written_numbers(key, value, 1)[0] if configured else value.strip(KERNEL_SEPARATORS)
    negative = text.startswith("-")
    if negative and key in UNSIGNED_KEYS:
        # proc_dou8vec_minmax refuses any sign, "-0" too (EINVAL), and never prints one: read as a
        # signed int, an image's "tcp_tw_reuse = -0" passed as 0 where the boot keeps the default 2
        raise SysctlValueError(key, value, "a sign, which the kernel refuses for this unsigned sysctl (EINVAL) "
                                           "and never prints")
    try:
        number = kernel_number(key, value, text[1:] if negative else text, configured=configured)
    except SysctlValueError:
        raise SysctlValueError(key, value, "expected an integer (decimal, 0x hex or 0-prefixed octal)") from None
    return -number if negative else number


def parse_port_range(value: str, key: str = PORT_RANGE, configured: bool = False) -> tuple[int, int]:
    """``"32768 60999"`` (the kernel separates them with a tab) -> ``(32768, 60999)``; a run of the
    kernel's separators separates them (:func:`written_numbers`, :func:`printed_numbers`: ``\v`` or
    U+00A0 does not), and each is read as the kernel reads it (``010000`` is 4096).  A
    write at boot (``configured``) is read as far as the kernel reads it (:func:`written_numbers`):
    ``40000`` alone moves the low end and leaves the high end in force, the kernel default 60999,
    since the boot writes the key once."""
    if configured:
        tokens = written_numbers(key, value, 2)
        high = _port(key, value, tokens[1], configured) if len(tokens) == 2 else DEFAULT_RANGE_HIGH
        return _port(key, value, tokens[0], configured), high
    tokens = printed_numbers(value)
    if len(tokens) != 2:
        raise SysctlValueError(key, value, "expected two port numbers, low and high")
    return _port(key, value, tokens[0], configured), _port(key, value, tokens[1], configured)


def parse_port_list(value: str, key: str = RESERVED_PORTS, configured: bool = False) -> tuple[tuple[int, int], ...]:
    """``"8080,9000-9010"`` -> ``((8080, 8080), (9000, 9010))``; empty means no reserved port.

    Read as the kernel reads it (proc_do_large_bitmap): numbers as :func:`kernel_number`, one
    trailing comma taken, and no white space inside the list (``8080, 9000`` is EINVAL, so an image
    that writes it boots with no port reserved).  Ranges are returned sorted and merged, so
    overlapping entries are not counted twice.
    """
    # proc_do_large_bitmap skips only newlines around the list (a space or \v before or after it is
    # EINVAL, checked on Linux 6.18); a running value is what the kernel prints, with its newline
    text = value.strip("\n") if configured else value.strip(KERNEL_SEPARATORS)
    if not text:
        return ()
    if _WHITE_SPACE.search(text):  # str.isspace: \x1c-\x1f, U+0085, U+00A0, U+2028 too
        raise SysctlValueError(key, value, "the kernel refuses white space in or around the list (EINVAL)")
    spans: list[tuple[int, int]] = []
    items = text.split(",")
    if len(items) > 1 and items[-1] == "":
        items.pop()  # "8080,9000," is taken as "8080,9000"
    # each distinct item read once: a list may repeat one millions of times (a line of megabytes),
    # and reading each anew took half a minute for every check that asked
    for item in dict.fromkeys(items):
        if not item:
            raise SysctlValueError(key, value, "empty item in the comma-separated list")
        low_text, dash, high_text = item.partition("-")
        low = _port(key, value, low_text, configured)
        high = _port(key, value, high_text, configured) if dash else low
        if low > high:
            raise SysctlValueError(key, value, f"range {quoted(item)} runs backwards")
        spans.append((low, high))
    return merged_spans(spans)


def surely_written_list(value: str, key: str = RESERVED_PORTS) -> tuple[tuple[int, int], ...] | None:
    """The spans of a configured reserved-port list that every boot writes, where the list is longer
    than the first :data:`SURELY_READ_BYTES` bytes; None when it is not (all of it is written).
    proc_do_large_bitmap takes a long list a page at a time, and systemd-sysctl's one write reaches it
    whole, but procps' ``sysctl --system`` writes through a stdio buffer and only its first piece is
    taken (a 4,199-byte list was reserved up to its 4,091st byte, checked on Linux 6.18): the items
    wholly within the first bytes are reserved whichever tool boots the image.  ``value`` parses
    (:func:`parse_port_list`)."""
    text = value.strip("\n")
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= SURELY_READ_BYTES:
        return None
    head = data[:SURELY_READ_BYTES + 1].decode("utf-8", "ignore")
    # the items before the last comma within the bytes (the one after it may be cut)
    whole = head[:head.rfind(",")] if "," in head else ""
    return parse_port_list(whole, key, configured=True) if whole else ()


def merged_spans(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """``spans`` sorted, with overlapping and adjacent ones joined: a port in two of them (two
    exclusions Windows lists over one another, one block listed twice) is counted once."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def format_ports(spans: tuple[tuple[int, int], ...]) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in spans) or "none"


@record
class Lookup:
    """One sysctl as a check sees it: the setting and its evidence pointer, or why it is missing."""

    key: str
    setting: SysctlSetting | None
    pointer: str | None
    missing_reason: str | None


def lookup(snapshot: HostSnapshot, key: str) -> Lookup:
    """The effective value of ``key`` (running, else configured) with its JSON pointer.

    When the value is missing, the reason comes from the collector's gaps for the key or its
    section; failing that, from what kind of source this is.
    """
    facts = snapshot.facts.sysctl
    if facts is not None and facts.runtime is not None:
        setting = facts.runtime.get(key)
        if setting is not None:
            return Lookup(key, setting, json_pointer("facts", "sysctl", "runtime", key), None)
    elif facts is not None and facts.persistent is not None and offline(snapshot):
        # what the boot writes: a glob (net.ipv4.tcp_tw_*) sets the key as surely as its name does
        setting = configured_setting(facts.persistent, key)
        if setting is not None:
            written = configured_key(facts.persistent, setting)
            return Lookup(key, setting, json_pointer("facts", "sysctl", "persistent", written), None)
    related = {(), (key,), ("runtime",), ("persistent",), ("runtime", key), ("persistent", key)}
    reasons = sorted({g.reason for g in snapshot.gaps if g.section == "sysctl" and g.path in related})
    own = sorted({g.reason for g in snapshot.gaps if g.section == "sysctl" and g.path == ("persistent", key)})
    if facts is not None and facts.runtime is None and facts.persistent is not None and not offline(snapshot):
        # a running host whose running values are not in the snapshot: its boot configuration is not
        # what the kernel holds now (sysctl -w, a container runtime or a tuning daemon may have changed it)
        why = "; ".join(reasons) or "the snapshot holds no running sysctl values"
        reason = (f"the running value of {key} is not known ({why}); the boot configuration does not tell what a "
                  "running host holds")
    elif facts is not None and facts.runtime is None and facts.persistent is not None and own:
        reason = "; ".join(own)  # the configuration was read, and says why this key's boot value is unknown
    elif facts is not None and facts.runtime is None and facts.persistent is not None:
        # Offline: the key is in no configuration file, so the kernel default will apply; lbaudit
        # does not assume what that default is on the image's kernel.
        why = "; ".join(reasons) or "the running value could not be read"
        reason = f"{key} is not set in any sysctl configuration file, and {why}"
    elif reasons:
        reason = "; ".join(reasons)
    else:
        reason = f"{key} was not collected (no reason recorded)"
    return Lookup(key, None, None, reason)


def offline(snapshot: HostSnapshot) -> bool:
    """Whether the facts are an offline image's, which has no running values: collected from a root
    directory (by this run, or into a snapshot file loaded now), or, in a file that does not say where
    it was collected, with the running sysctls not applicable.  Only there do configured values stand
    for running ones: a running host whose running values are missing was judged on its boot
    configuration, which the kernel need not hold any more."""
    provenance = snapshot.provenance
    origin = provenance.collected_from if provenance.source == "snapshot" else provenance.source
    return origin == "root" or any(g.section == "sysctl" and g.path == ("runtime",) and g.kind == GapKind.NOT_APPLICABLE
                                   for g in snapshot.gaps)


def is_configured(found: Lookup) -> bool:
    """Whether the value is a configured one (written to /proc/sys at boot), not a running one."""
    return (found.pointer or "").startswith("/facts/sysctl/persistent")


def searched_windows(low: int, high: int) -> tuple[tuple[int, int], ...]:
    """The ports one Linux connect() (or bind to port 0) searches in ip_local_port_range low-high.

    __inet_hash_connect() and inet_csk_find_open_port() (net/ipv4/inet_hashtables.c,
    inet_connection_sock.c, since Linux 4.6) walk ``remaining = high - low + 1`` ports rounded down
    to an even number, two parities from an even (connect) or odd (bind) offset, wrapping back by
    ``remaining``: a range of an even number of ports is searched whole, but an odd one (above a
    single port) loses one port to every search: low to high - 1 from offset 0, low + 1 to high from
    any other (which needs ``remaining`` of 4 or more).  Checked on Linux 6.18 in a new namespace:
    with 40000-40002 the third connect() fails with EADDRNOTAVAIL, and 40002 is never handed out."""
    span = high - low + 1
    if span <= 1 or span % 2 == 0:
        return ((low, high),)
    return ((low, high - 1), *(((low + 1, high),) if span >= 5 else ()))


_PAST_EVERY_PORT = 65536  # above every port: (port, this) sorts after every span starting at port


@record
class EphemeralPool:
    """The ports the kernel picks from for outgoing connections and unbound sockets.

    ``parity_search``: the pool is Linux's, whose connect() searches only an even number of its
    ports (:func:`searched_windows`); Windows and macOS pools search every port of their range."""

    low: int
    high: int
    reserved: tuple[tuple[int, int], ...]  # ip_local_reserved_ports, or Windows' excluded ranges: merged
    evidence: tuple[str, ...]
    parity_search: bool = False
    # Linux: the unreserved ports of the range TCP listeners hold (connect() never takes them,
    # :func:`listener_held_ports`), and whether every listener was read (else more may be held).
    held: tuple[int, ...] = ()
    held_complete: bool = True
    # Linux, a configured reserved list longer than a boot tool surely writes at once: the spans of
    # ``reserved`` that every boot reserves (:func:`surely_written_list`); None: all of them.
    surely_reserved: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self) -> None:
        # Counted span by span, a port in two of them left the pool twice (and two identical
        # Windows exclusions of the whole range made a negative pool): merged here, where every
        # platform's pool is built.
        object.__setattr__(self, "reserved", merged_spans(self.reserved))

    @property
    def span(self) -> int:
        return max(0, self.high - self.low + 1)

    def _reserved_between(self, low: int, high: int) -> int:
        return sum(max(0, min(hi, high) - max(lo, low) + 1) for lo, hi in self.reserved)

    def _taken_between(self, low: int, high: int) -> int:
        """Ports of ``low``-``high`` no search hands out: reserved, or held by a listener."""
        held = self._held_sorted
        return self._reserved_between(low, high) + bisect.bisect_right(held, high) - bisect.bisect_left(held, low)

    @cached_property
    def _held_sorted(self) -> list[int]:
        # Counted by bisection: the size and each searched window's walked every held port, twenty
        # walks of 5,000 ports for a host of 5,000 listeners (issue 16).
        return sorted(self.held)

    @property
    def reserved_in_range(self) -> int:
        return self._reserved_between(self.low, self.high)

    @property
    def size(self) -> int:
        return self.span - self._taken_between(self.low, self.high)

    @property
    def searched_size(self) -> int:
        """The fewest free ports one connect() searches: :attr:`size`, less the port an odd Linux
        range leaves out of each search when that port is not otherwise taken.  This, not
        :attr:`size`, is how many connections can hold a port at once before the next one fails."""
        if not self.parity_search or self.span <= 0:
            return self.size
        return min(max(0, high - low + 1) - self._taken_between(low, high)
                   for low, high in searched_windows(self.low, self.high))

    def in_range(self, port: int) -> bool:
        return self.low <= port <= self.high

    def is_reserved(self, port: int) -> bool:
        # A binary search of the merged spans (sorted, disjoint): asked once per listener, a scan of
        # every span took hours for a capture of 100,000 listeners and 32,000 excluded spans.
        index = bisect.bisect_right(self.reserved, (port, _PAST_EVERY_PORT)) - 1
        return index >= 0 and self.reserved[index][0] <= port <= self.reserved[index][1]

    def is_surely_reserved(self, port: int) -> bool:
        """Whether every boot reserves ``port`` (:attr:`surely_reserved`), not only the one that
        writes the whole configured list."""
        if self.surely_reserved is None:
            return self.is_reserved(port)
        return any(low <= port <= high for low, high in self.surely_reserved)

    def describe(self) -> str:
        return f"{self.low}-{self.high}, reserved {format_ports(self.reserved)}"


@record
class PoolLookup:
    """The pool, or why it cannot be known.  ``low``/``high`` are set whenever the range was read,
    even if the reserved ports were not (an upper bound on the pool is still worth something)."""

    pool: EphemeralPool | None
    low: int | None
    high: int | None
    range_pointer: str | None
    reason: str | None


def ephemeral_pool(snapshot: HostSnapshot) -> PoolLookup:
    port_range = lookup(snapshot, PORT_RANGE)
    if port_range.setting is None:
        return PoolLookup(None, None, None, None, port_range.missing_reason)
    try:
        low, high = parse_port_range(port_range.setting.value, configured=is_configured(port_range))
    except SysctlValueError as exc:
        return PoolLookup(None, None, None, port_range.pointer, f"malformed value: {exc}")
    configured = is_configured(port_range)
    if not configured and low < LOWEST_RANGE_PORT:
        # No kernel holds it (a write of it is EINVAL), so no kernel printed it.  Judged as read, port
        # 0 (which means "any" and is never handed out) counted in the pool: "0 65535" passed a
        # minimum no kernel's pool meets, and bounds of min_low 0.
        return PoolLookup(None, None, None, port_range.pointer,
                          f"{PORT_RANGE} = {port_range.setting.value} is not a value the kernel holds: the range "
                          f"starts at port {LOWEST_RANGE_PORT} at least (the kernel refuses 0), so this running value "
                          "was not printed by a kernel (an edited or damaged snapshot?)")
    if low > high:
        # ipv4_local_port_range() refuses it (EINVAL) and the range in force stays: no kernel holds
        # it, and the ports it hands out are not known.  Built as a pool, it had 0 ports, and the
        # headroom failed "the ephemeral pool is empty" on an image that boots with the kernel's
        # own range.  low and high stay: the bounds finding names what the configuration says.
        written = f"{PORT_RANGE} = {port_range.setting.value}"
        backwards = f"runs backwards (the low end {low} above the high end {high})"
        why = (f"{written} ({port_range.setting.origin}) {backwards} and is refused by the kernel when the boot "
               "applies it (EINVAL), so the kernel keeps its own range, which lbaudit does not assume"
               if configured else
               f"{written} {backwards}: not a value the kernel holds (it refuses to set one), so this running value "
               "was not printed by a kernel (an edited or damaged snapshot?) and the range in use is not known")
        return PoolLookup(None, low, high, port_range.pointer, why)
    refused = _refused_at_boot(snapshot, port_range.setting, low, high)
    if refused is not None:
        return PoolLookup(None, None, None, port_range.pointer, refused)
    reserved = lookup(snapshot, RESERVED_PORTS)
    if reserved.setting is None:
        reserved = _offline_reserved_ports(snapshot) or reserved
    if reserved.setting is None:
        return PoolLookup(None, low, high, port_range.pointer, reserved.missing_reason)
    try:
        spans = parse_port_list(reserved.setting.value, configured=is_configured(reserved))
    except SysctlValueError as exc:
        return PoolLookup(None, low, high, port_range.pointer, f"malformed value: {exc}")
    evidence = tuple(p for p in (port_range.pointer, reserved.pointer) if p)
    surely = surely_written_list(reserved.setting.value) if is_configured(reserved) else None
    pool = with_held_ports(snapshot, EphemeralPool(low, high, spans, evidence, parity_search=True,
                                                   surely_reserved=surely))
    return PoolLookup(pool, low, high, port_range.pointer, None)


def describe_held(pool: EphemeralPool, say_incomplete: bool = True) -> str:
    """What the listeners take from ``pool``, to follow its reserved ports in a message: ", 2 held
    by TCP listeners: 40001,40003", and why more may be taken where the list is not whole (unless
    ``say_incomplete`` is false: the message says why on its own)."""
    shown = ",".join(map(str, pool.held[:8])) + (",..." if len(pool.held) > 8 else "")
    text = f", {len(pool.held):,} held by TCP listeners: {shown}" if pool.held else ""
    if not pool.held_complete and say_incomplete:
        which = "other " if pool.held else ""
        text += (f"; the listeners are not {'all ' if pool.held else ''}known (not read, or only those an image's "
                 f"socket units declare), so ports {which}TCP listeners hold inside the range, which connect() never "
                 "takes, are not subtracted")
    return text


# The transports whose listeners sit in TCP's bind table: TCP's own, and MPTCP's, which listens
# through a TCP subflow socket on the same port.  UDP, UDP-Lite, SCTP and DCCP keep ports of their own.
TCP_BIND_TABLE = ("tcp", "mptcp")


def port_families(listener: Listener) -> tuple[str, ...]:
    """The IP families whose ports a listener holds: an IPv6 socket that also takes IPv4 (the
    wildcard ``::`` unless IPV6_V6ONLY is known set, which netstat and lsof do not show, or an
    IPv4-mapped address) holds the port in IPv4 as well, so it collides with the IPv4 range too."""
    if listener.family != "ipv6":
        return (listener.family,)
    host = listener.address.partition("%")[0]
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return ("ipv6",)
    if address.ipv4_mapped is not None or (address == ipaddress.IPv6Address("::") and listener.v6only is not True):
        return ("ipv6", "ipv4")
    return ("ipv6",)


def listener_held_ports(snapshot: HostSnapshot, pool: EphemeralPool,
                        families: tuple[str, ...] | None = None) -> tuple[tuple[int, ...], bool]:
    """The unreserved (not excluded) ports of ``pool``'s range that TCP listeners hold, and whether
    the listener list is whole.  Not whole: the list was not read, some of it could not be, or it
    holds only what an image's socket units declare; the ports found are still held, more may be.

    ``families`` None (Linux): every listener's port, whatever its family: __inet_hash_connect()
    skips every port whose bind bucket a bind() made (``tb->fastreuse >= 0 || tb->fastreuseport >=
    0``), and one bind table serves IPv4 and IPv6: with 40000-40003 and a listener on
    127.0.0.2:40001, connect() hands out three ports (checked on Linux 6.18).  Otherwise (Windows,
    macOS) the pool of one connection of any of ``families``: Windows' implicit bind and BSD's
    in_pcbbind (INPLOOKUP_WILDCARD: a listener on any address) skip a port a socket of the same
    family holds (:func:`port_families`: a dual-stack ``::`` listener holds it in IPv4 too), so with
    several families the fewest free ports are those of the family whose listeners hold the most."""
    sockets = snapshot.facts.sockets
    if sockets is None or sockets.listeners is None:
        return (), False
    listeners = sockets.listeners

    def held_by(family: str | None) -> list[int]:
        return sorted({listener.port for listener in listeners if listener.protocol in TCP_BIND_TABLE
                       and pool.low <= listener.port <= pool.high and not pool.is_reserved(listener.port)
                       and (family is None or family in port_families(listener))})

    held = held_by(None) if families is None else max((held_by(f) for f in families), key=len, default=[])
    whole_list = [g for g in snapshot.gaps_for("sockets", "listeners")
                  if g.path[:1] in ((), ("listeners",)) and not (len(g.path) > 1 and isinstance(g.path[1], int))
                  and not (len(g.path) > 1 and g.kind == GapKind.NOT_APPLICABLE)]
    return tuple(held), not whole_list


def with_held_ports(snapshot: HostSnapshot, pool: EphemeralPool,
                    families: tuple[str, ...] | None = None) -> EphemeralPool:
    """``pool`` less the ports TCP listeners hold in it (:func:`listener_held_ports`): the one place
    every platform's pool takes them out, so that none counts a port connect() never hands out."""
    held, complete = listener_held_ports(snapshot, pool, families)
    evidence = pool.evidence + (("/facts/sockets/listeners",) if held else ())
    return EphemeralPool(pool.low, pool.high, pool.reserved, evidence, parity_search=pool.parity_search, held=held,
                         held_complete=complete, surely_reserved=pool.surely_reserved)


def _refused_at_boot(snapshot: HostSnapshot, setting: SysctlSetting, low: int, high: int) -> str | None:
    """Why the kernel would refuse a *configured* ip_local_port_range when the boot writes it (and
    keep its own default range, which lbaudit does not assume); None when it takes it, or when the
    value is a running one (which the kernel took).  ipv4_local_port_range() answers EINVAL below
    its minimum 1, and below ip_unprivileged_port_start at that moment (:func:`refused_by_order`).
    A backwards range is :func:`ephemeral_pool`'s own case (its bounds are still judged)."""
    facts = snapshot.facts.sysctl
    if facts is None or facts.runtime is not None or facts.persistent is None or low > high:
        return None
    head = f"{PORT_RANGE} = {setting.value} ({setting.origin}) is refused by the kernel when the boot applies it"
    tail = "so the kernel keeps its own default range, which lbaudit does not assume"
    if low < 1:
        return f"{head} (EINVAL): the low end {low} is below 1; {tail}"
    refused = refused_by_order(facts.persistent, PORT_RANGE)
    if refused is not None:
        return f"{head}: {refused.problem}; {tail}"
    unknown = _boot_value_unknown(snapshot, UNPRIVILEGED_PORT_START)
    if unknown is not None:
        # The replay above took the kernel default 1024 for it: with a start of 2000 from the
        # kernel command line, "1024 65535" is refused and the kernel keeps 32768-60999.
        return (f"whether the kernel takes {PORT_RANGE} = {setting.value} ({setting.origin}) when the boot applies it "
                f"is not known: since Linux 4.11 it refuses (EINVAL) a low end below {UNPRIVILEGED_PORT_START} in "
                f"force at that moment and keeps the range it had, and that key's boot value is not known: {unknown}")
    return None


def _boot_value_unknown(snapshot: HostSnapshot, key: str) -> str | None:
    """Why ``key``'s boot value is not known (the collector's gaps for it: the image's kernel command
    line may set it, its boot loader files could not all be read), where no configuration file sets
    it; None where it is known (a file sets it, or the kernel default applies)."""
    facts = snapshot.facts.sysctl
    if facts is None or facts.persistent is None or configured_setting(facts.persistent, key) is not None:
        return None
    reasons = sorted({g.reason for g in snapshot.gaps if g.section == "sysctl" and g.path == ("persistent", key)})
    return "; ".join(reasons) or None


class RefusedAtBoot(SysctlValueError):
    """The kernel refuses the boot's write of a value it takes on its own, because of the value
    another key has at that moment; ``because``: that key's setting when a file sets it."""

    def __init__(self, key: str, value: str, problem: str, because: SysctlSetting | None) -> None:
        super().__init__(key, value, problem)
        self.problem = problem
        self.because = because


def refused_by_order(persistent: dict[str, SysctlSetting], key: str) -> RefusedAtBoot | None:
    """Whether the kernel refuses the boot's write of ``key`` (ip_local_port_range or
    ip_unprivileged_port_start; None for any other key, and for a write it takes) because of the
    other one.  Since Linux 4.11 ipv4_local_port_range() answers EINVAL for a low end below
    ip_unprivileged_port_start, and ipv4_privileged_ports() for a start above the low end of the
    range, each as it is at the moment of the write (net/ipv4/sysctl_net_ipv4.c); the value in force
    stays.  The boot writes each configured key once, in the order its setting applies (file name,
    then line: :func:`origin_order`), starting from the kernel defaults (1024, 32768-60999), so the
    two writes are replayed in that order.  A write refused for its own value (EINVAL syntax, out of
    range) changes nothing here; the checks name that refusal themselves."""
    if key not in (PORT_RANGE, UNPRIVILEGED_PORT_START):
        return None
    settings = {k: s for k in (PORT_RANGE, UNPRIVILEGED_PORT_START) if (s := configured_setting(persistent, k))}
    low, start = DEFAULT_RANGE_LOW, UNPRIVILEGED_PORT_START_KERNEL_DEFAULT
    low_from = start_from = "the kernel default"
    for name, setting in sorted(settings.items(), key=lambda item: origin_order(item[1].origin)):
        other_name = UNPRIVILEGED_PORT_START if name == PORT_RANGE else PORT_RANGE
        other = settings.get(other_name)
        problem = None
        try:
            if name == PORT_RANGE:
                new_low, new_high = parse_port_range(setting.value, configured=True)
                if not 1 <= new_low <= new_high:
                    continue
                if new_low < start:
                    problem = f"the low end {new_low} is below {UNPRIVILEGED_PORT_START} {start} in force then, {start_from}"
                else:
                    low, low_from = new_low, f"set before it at {setting.origin}"
            else:
                value = parse_kernel_int(name, setting.value)
                if not 0 <= value <= 65535:
                    continue
                if low < value:
                    problem = f"{value} is above the low end {low} of {PORT_RANGE} in force then, {low_from}"
                else:
                    start, start_from = value, f"set before it at {setting.origin}"
        except SysctlValueError:
            continue
        if problem is None:
            continue
        if other is not None and origin_order(other.origin) > origin_order(setting.origin):
            problem += f": {other.origin} sets it to {other.value} only afterwards"
        if name == key:
            return RefusedAtBoot(key, setting.value, f"{problem} (EINVAL, Linux 4.11 and later)", other)
        # refused: the key keeps its kernel default, which the other key's write then meets
        refused = f"the kernel default (the kernel refuses {setting.value} at {setting.origin})"
        if name == PORT_RANGE:
            low_from = refused
        else:
            start_from = refused
    return None


def _offline_reserved_ports(snapshot: HostSnapshot) -> Lookup | None:
    """Offline, where no running value exists: what the configuration sets ip_local_reserved_ports
    to (a glob key such as ``net.ipv4.ip_local_reserved_*`` included), else the kernel default, an
    empty list.  None when that cannot be claimed: the configuration was not read completely, or
    this is not an offline source."""
    facts = snapshot.facts.sysctl
    if facts is None or facts.runtime is not None or facts.persistent is None or not offline(snapshot):
        return None
    paths = {(), ("persistent",), ("persistent", RESERVED_PORTS)}
    if any(g.section == "sysctl" and g.kind == GapKind.UNREADABLE and g.path in paths for g in snapshot.gaps):
        return None
    setting = configured_setting(facts.persistent, RESERVED_PORTS)
    if setting is not None:
        return Lookup(RESERVED_PORTS, setting,
                      json_pointer("facts", "sysctl", "persistent", configured_key(facts.persistent, setting)), None)
    default = SysctlSetting(
        value=RESERVED_PORTS_KERNEL_DEFAULT,
        origin="kernel default: not set in any sysctl configuration file of the image",
    )
    return Lookup(RESERVED_PORTS, default, "/facts/sysctl/persistent", None)
