"""``net.bind_addresses``: every listening socket binds only to addresses the policy allows.

Deny by default, allow by exception: the default ``allow`` list says where any listener may bind;
ordered ``exceptions`` give other lists to listeners they match (first match decides).  What a
listener accepts is computed by :mod:`auditor.domain.netaddr` (``::`` with v6only unknown is dual-stack).

A listener whose owner could not be identified is never silently allowed: each exception that might
match it is considered both ways (tri-state matching, in first-match order); when every rule that
could apply gives the same verdict, that is the verdict, otherwise the listener is ``not_reviewed``.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import itertools
import re
from collections.abc import Mapping
from dataclasses import field
from fnmatch import fnmatchcase
from functools import cached_property, lru_cache
from typing import Annotated, Any, Callable, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from auditor.checks import _listeners, _namespaces, _published, _transparency
from auditor.domain import netaddr
from auditor.model.base import StrictModel, Written, copy_with, empty_list
from auditor.model.check import (
    CheckParams,
    Outcome,
    as_written,
    check,
    failed,
    missing_fact,
    not_applicable,
    not_reviewed,
    passed,
    shared_json,
)
from auditor.model.facts import (
    COMM_LENGTH,
    PROTOCOLS,
    STEERED,
    TRANSPARENT_WHEN_SET_VERSIONS,
    Gap,
    HostSnapshot,
    Listener,
    NetNamespace,
    ProcessInfo,
    Protocol,
    Workload,
)
from auditor.model.facts import name_origin as name_origin  # the name's proof: shared with the subjects (facts.py)
from auditor.model.facts import own_name as own_name
from auditor.model.records import record
from auditor.model.result import Severity, Status
from auditor.patterns import first_use

TPROXY_PROTOCOLS = netaddr.TPROXY_PROTOCOLS  # the transports a transparent listener is widened for
_PORT_RANGE = first_use(r"^\s*([0-9]{1,5})\s*-\s*([0-9]{1,5})\s*$")
# At most 9 digits: a list index, and int() of a 5000-digit one would raise.


def _valid_entry(entry: str) -> str:
    netaddr.parse_entry(entry)  # raises ValueError naming the entry
    return entry


AddressEntry = Annotated[str, AfterValidator(_valid_entry)]


@lru_cache(maxsize=1024, typed=True)  # typed: True is refused, 1 is a port
def _port_span(spec: int | str) -> tuple[int, int]:
    if isinstance(spec, bool):
        raise ValueError(f"{spec!r} is not a port")
    if isinstance(spec, int):
        low = high = spec
    else:
        text = spec.strip()
        match = _PORT_RANGE().match(text)
        if match:
            low, high = int(match.group(1)), int(match.group(2))
        elif text.isascii() and text.isdigit() and len(text) <= 5:
            low = high = int(text)
        else:
            raise ValueError(f"{spec!r} is not a port or a range such as \"8000-8099\"")
    if not (0 <= low <= 65535 and 0 <= high <= 65535):
        raise ValueError(f"{spec!r}: ports run from 0 to 65535")
    if low > high:
        raise ValueError(f"{spec!r}: the range runs backwards")
    return low, high


# How an exe glob that can match an absolute path starts: "/", a wildcard ("*/sshd", "[/]..."), or a
# Windows drive or share ("C:\\", "\\\\server").
_ABSOLUTE_OR_WILDCARD = first_use(r"[/*?\[\\]|[A-Za-z]:[\\/]")

# The longest selector glob: PATH_MAX, the longest executable path (comm, user and namespace names
# are far shorter).
MAX_SELECTOR_GLOB = 4096

_MATCH_FIELDS = ("process", "exe", "user", "ports", "protocol", "namespace", "container", "image", "pod",
                 "k8s_namespace")


class ListenerMatch(StrictModel):
    """Which listeners an exception is about.  Every field is optional; at least one is required,
    and a listener matches when all the given fields match."""

    process: str | None = Field(None, description="Process name (comm), shell-style glob, matched against the whole name and, for one longer than 15 characters, its first 15 as well (the comm, which ss and ps show); a socket several processes hold is judged for each of them (pid 1 aside). A name that is neither the executable's nor argv[0]'s (set with prctl PR_SET_NAME) proves nothing: such a process matches neither way. A name only argv[0] proves (run through a link of that name, which any user can make) matches, and its finding names the executable; match on exe where the program must be proven.")
    exe: str | None = Field(None, description="Absolute path of the executable, shell-style glob; a socket several processes hold is judged for each of them (pid 1 aside). A path is taken only when it names, where lbaudit runs, the file the process runs: one seen through another mount namespace (a container's, a private mount's, or one any user can make with unshare and bind-mount a file of theirs over a root-owned path in) or a deleted file is not known, nor is any path of a process whose mount namespace belongs to a user namespace other than the host's; such a process matches neither way.")
    user: str | None = Field(
        None,
        description="Socket owner as the kernel reports it (user name or numeric uid), shell-style glob; "
        "when the kernel owner is unknown, the users of the processes holding the socket.",
    )
    ports: list[int | str] | None = Field(None, description='Ports and ranges, e.g. [443, "8000-8099"]; a raw '
                                          'socket\'s port is the IP protocol it receives (112: VRRP).')
    protocol: Protocol | None = Field(None, description="tcp, udp, udplite, sctp, dccp, mptcp or raw.")
    namespace: str | None = Field(
        None, description="Network namespace, shell-style glob: its ip netns name, its inode (\"4026532281\" or "
        "\"net:[4026532281]\"), or \"host\" for the collector's own namespace, which a glob matches by its names "
        "only (host, an ip netns name) and its inode only when written out whole: \"net:*\" selects the other "
        "namespaces.")
    container: str | None = Field(None, description="Name of the container holding the listener, shell-style glob; when its holders are not known, every container of its namespace must match (of the host's, none does).")
    image: str | None = Field(None, description="Image of the container holding the listener, shell-style glob; when its holders are not known, every container of its namespace must match (of the host's, none does).")
    pod: str | None = Field(None, description="Kubernetes pod name (io.kubernetes.pod.name label), shell-style glob.")
    k8s_namespace: str | None = Field(
        None, description="Kubernetes namespace (io.kubernetes.pod.namespace label), shell-style glob.")

    @field_validator("process", "exe", "user", "namespace", "container", "image", "pod", "k8s_namespace")
    @classmethod
    def _a_name_could_match(cls, pattern: str | None, info: ValidationInfo) -> str | None:
        # Longer than any name (an executable's path is at most PATH_MAX, 4096 bytes): a glob of a
        # 300,000-character class took minutes to be told from one that selects every listener.
        if pattern is not None and len(pattern) > MAX_SELECTOR_GLOB:
            raise ValueError(f"a glob of {len(pattern):,} characters; at most {MAX_SELECTOR_GLOB:,} (no name it is "
                             "matched against is longer)")
        # Globs no name can meet (a template's empty variable; exe: sshd) loaded, and the exception a
        # reviewer reads as in force allowed nothing, as ``ports: []`` (refused) would.
        name = info.field_name
        if pattern is not None and not pattern.strip():
            raise ValueError(f"{name} {pattern!r} is blank, and no listener's {name} is, so this exception matches "
                             f"no listener; write the {name} it is about, or leave the key out")
        if name == "exe" and pattern is not None and not _ABSOLUTE_OR_WILDCARD().match(pattern):
            raise ValueError(f"exe {pattern!r} is not an absolute path and starts with no wildcard, so it "
                             "matches no executable (exe is matched against the executable's absolute path, such as "
                             "/usr/sbin/sshd); write the whole path, or start it with * (*/sshd)")
        return pattern

    @field_validator("ports")
    @classmethod
    def _ports_valid(cls, ports: list[int | str] | None) -> list[int | str] | None:
        if ports is not None:
            if not ports:
                raise ValueError("ports is empty; leave it out to match every port")
            for spec in ports:
                _port_span(spec)
        return ports

    @model_validator(mode="after")
    def _no_null_selector(self, info: ValidationInfo) -> "ListenerMatch":
        # A selector left out holds for every listener; one written as null (``process: ~``, a
        # template's empty variable) was read the same, where the reader takes it as naming one.
        if as_written(info.context):
            for name in _MATCH_FIELDS:
                if name in self.model_fields_set and getattr(self, name) is None:
                    raise ValueError(f"{name} is null, which would match every listener as leaving it out does; "
                                     f"write the {name} this exception is about, or leave the key out")
        return self

    @model_validator(mode="after")
    def _not_empty(self) -> "ListenerMatch":
        if all(getattr(self, name) is None for name in _MATCH_FIELDS):
            raise ValueError(f"an exception must match on at least one of {', '.join(_MATCH_FIELDS)}")
        return self

    def every_listener(self) -> str | None:
        """How this match selects every listener (``process '*'``), or None when some listener can
        fall outside it.  Only selectors every listener has count: process, exe, user and namespace
        (each listener has a name there) and ports; a protocol, or a container, image or pod (a
        listener outside any has none), narrows it."""
        if self.protocol is not None or not self.names_every_listener():
            return None
        if self.ports is not None and _uncovered_port(list(map(_port_span, self.ports))) is not None:
            return None
        said = [f"{name} {getattr(self, name)!r}" for name in ("process", "exe", "user", "namespace")
                if getattr(self, name) is not None]
        if self.ports is not None:
            said.append(f"ports {', '.join(map(str, self.ports))}")
        return ", ".join(said)

    def covers(self, other: "ListenerMatch") -> bool:
        """Whether this match holds for every listener ``other`` holds for, told for certain only:
        each selector this one gives, ``other`` gives too and no wider (a protocol the same, ports
        inside these, a name this glob matches written without wildcards).  Two globs are not
        compared ("ssh*" and "sshd*"): such a pair is taken as each deciding for some listener."""
        if self.protocol is not None and self.protocol != other.protocol:
            return False
        if self.ports is not None:
            if other.ports is None:
                return False
            spans = sorted(map(_port_span, self.ports))
            if not all(_within(span, spans) for span in map(_port_span, other.ports)):
                return False
        for name in _NAMED_FIELDS:
            pattern = getattr(self, name)
            if pattern is None:
                continue
            theirs = getattr(other, name)
            if theirs is None or (theirs != pattern and (_GLOB_CHARACTERS & set(theirs)
                                                         or not fnmatchcase(theirs, pattern))):
                return False
        return True

    def names_every_listener(self) -> bool:
        """Whether the selectors other than protocol and ports hold for every listener."""
        if any(getattr(self, name) is not None for name in ("container", "image", "pod", "k8s_namespace")):
            return False
        for name in ("process", "exe", "user", "namespace"):
            pattern = getattr(self, name)
            if pattern is not None and not _matches_every_name(name, pattern):
                return False
        return True


# The selectors a match names a listener by (a shell-style glob each), and what makes a glob of one.
_NAMED_FIELDS = ("process", "exe", "user", "namespace", "container", "image", "pod", "k8s_namespace")
_GLOB_CHARACTERS = frozenset("*?[")


def _selectors(match: ListenerMatch) -> tuple[tuple[str, str], ...]:
    """The protocol and named selectors ``match`` gives, in one order."""
    return tuple((name, value) for name in ("protocol", *_NAMED_FIELDS) if (value := getattr(match, name)) is not None)


def _first_covered(matches: list[ListenerMatch]) -> tuple[int, int] | None:
    """The first (earlier, later) pair of ``matches`` where the earlier covers the later
    (:meth:`ListenerMatch.covers`), or None.  A match covers another only if each selector it gives
    without wildcards the other gives alike, and only if its ports (when it has any) hold the other's
    lowest: each is tried only on the earlier ones so indexed, so that a policy of thousands of
    exceptions (lbaudit init on a busy host) is not read pair by pair."""
    # the earlier matches by their selectors without wildcards, then by their ports (_port_keys)
    earlier: dict[tuple[tuple[str, str], ...], dict[int, list[int]]] = {}
    for later, match in enumerate(matches):
        given = _selectors(match)
        spans = [_port_span(spec) for spec in match.ports] if match.ports is not None else []
        lowest = min(spans)[0] if spans else None
        for size in range(len(given) + 1):
            for literal in itertools.combinations(given, size):
                blocks = earlier.get(literal)
                if blocks is None:
                    continue
                tried = [*blocks.get(_PORTLESS, ())]
                if lowest is not None:  # a single port, or a range touching its block of 256
                    tried += [*blocks.get(lowest, ()), *blocks.get(-2 - (lowest >> 8), ())]
                for index in sorted(set(tried)):
                    if matches[index].covers(match):
                        return index, later
        blocks = earlier.setdefault(tuple(item for item in given if not _GLOB_CHARACTERS & set(item[1])), {})
        for key in _port_keys(spans):
            blocks.setdefault(key, []).append(later)
    return None


_PORTLESS = -1


def _port_keys(spans: list[tuple[int, int]]) -> set[int]:
    """Where _first_covered files a match by its port spans: a single port under itself, a range
    under each block of 256 ports it touches (as -2 - block), no ports at all under _PORTLESS."""
    if not spans:
        return {_PORTLESS}
    return {low if low == high else -2 - block for low, high in spans
            for block in ([0] if low == high else range(low >> 8, (high >> 8) + 1))}


def _within(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    """Whether every port of ``span`` is in one of ``spans`` (sorted)."""
    low, high = span
    reached = low  # the first port of span not yet covered
    for start, end in spans:
        if start > reached:
            break
        reached = max(reached, end + 1)
    return reached > high


def _uncovered_port(spans: list[tuple[int, int]]) -> int | None:
    """The first port of 1-65535 no span covers (listeners bind 1-65535: port 0 asks bind() for
    any port), or None."""
    covered = 1
    for low, high in sorted(spans):
        if low > covered:
            return covered
        covered = max(covered, high + 1)
    return covered if covered <= 65535 else None


class _Names:
    """What a selector's glob is matched against, as a small automaton over characters: its start
    state, its accepting states, ``step(state, character)`` (None: no such name goes on so) and the
    length of its shortest name."""

    def __init__(self, step: Callable[[int, str], int | None], accepting: frozenset[int], shortest: int):
        self.step, self.accepting, self.shortest = step, accepting, shortest


# A process name (comm), a user name or a namespace name: any text but empty (never a NUL).
_ANY_NAME = _Names(lambda state, c: None if c == "\0" else 1, frozenset({1}), 1)
# An executable: an absolute path, "/" and at least one character.
_ABSOLUTE_PATH = _Names(lambda state, c: (1 if c == "/" else None) if state == 0 else (None if c == "\0" else 2),
                        frozenset({2}), 2)
# A uid or a namespace's inode, in decimal digits.
_DECIMAL = _Names(lambda state, c: 1 if "0" <= c <= "9" else None, frozenset({1}), 1)
# The characters every kind of name above parts at: with those of a glob (and each one after them),
# one character of every run that every test treats alike.
_NAMES_PART_AT = "\x01/0:"


def _glob_tokens(pattern: str) -> list[str | None]:
    """A shell-style glob as fnmatch reads it: None for each ``*``, ``?``, a class such as ``[!x]`` or
    ``[0-9]`` (the only tokens longer than one character), or a character as itself; a ``[`` that
    closes no class is the character itself."""
    tokens: list[str | None] = []
    i, n = 0, len(pattern)
    while i < n:
        character = pattern[i]
        i += 1
        if character == "*":
            if not tokens or tokens[-1] is not None:  # a run of stars is one star
                tokens.append(None)
        elif character == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                tokens.append("[")
            else:
                tokens.append(pattern[i - 1:j + 1])
                i = j + 1
        else:
            tokens.append(character)
    return tokens


def _glob_matches_all(pattern: str, names: _Names) -> bool:
    """Whether the shell-style glob ``pattern`` (fnmatch's, character classes included) matches every
    name of ``names``, told exactly: the glob's positions are followed over one character of each run
    of characters that every class, character and state of ``names`` treats alike.  "[0-9]*" matches
    every uid as "*" does, and "[!x]*" every absolute path; a test of "*" and "?" alone passed both."""
    tokens = _glob_tokens(pattern)
    if None not in tokens or len(tokens) - tokens.count(None) > names.shortest:
        return False  # a longer name, or one as short as names has, falls outside it
    end = len(tokens)

    def closure(positions: set[int]) -> frozenset[int]:
        found = set(positions)
        for position in sorted(positions):
            while position < end and tokens[position] is None:  # a star may match nothing
                position += 1
                found.add(position)
        return frozenset(found)

    def advance(positions: frozenset[int], character: str) -> frozenset[int]:
        after: set[int] = set()
        for position in positions:
            if position < end:
                token = tokens[position]
                if token is None:
                    after.add(position)
                elif token == "?" or token == character or (len(token) > 1 and fnmatchcase(character, token)):
                    after.add(position + 1)
        return closure(after)

    alphabet = set(_NAMES_PART_AT)
    for character in set(pattern):
        alphabet.add(character)
        if ord(character) + 1 < 0x110000:
            alphabet.add(chr(ord(character) + 1))
    # One character of each kind every test here treats alike (at most a few dozen kinds, however
    # long a class is: a class of 300,000 characters made as many to follow, for minutes).
    tests = [re.compile(fnmatch.translate(token)).match if len(token) > 1 else token.__eq__
             for token in {token for token in tokens if token is not None and token != "?"}]
    kinds: dict[tuple[bool, ...], str] = {}
    for character in alphabet:
        kinds.setdefault((character == "\0", character == "/", "0" <= character <= "9",
                          *(bool(test(character)) for test in tests)), character)
    start = (0, closure({0}))
    seen, todo = {start}, [start]
    while todo:
        state, positions = todo.pop()
        if state in names.accepting and end not in positions:
            return False
        for character in sorted(kinds.values()):
            following = names.step(state, character)
            if following is None:
                continue
            item = (following, advance(positions, character))
            if item not in seen:
                seen.add(item)
                todo.append(item)
    return True


def _matches_every_name(selector: str, pattern: str) -> bool:
    """Whether the glob of ``selector`` (process, exe, user, namespace) selects every listener (an
    identified owner's): one matching every name it is matched against.  A user is matched by its
    name or its uid, so a glob of every uid does; a namespace by "host" for the collector's own and
    by its inode for every other."""
    if selector == "exe":
        return _glob_matches_all(pattern, _ABSOLUTE_PATH)
    if selector == "user":
        return _glob_matches_all(pattern, _DECIMAL)
    if selector == "namespace":
        return fnmatchcase("host", pattern) and _glob_matches_all(pattern, _DECIMAL)
    return _glob_matches_all(pattern, _ANY_NAME)


class BindException(StrictModel):
    match: ListenerMatch = Field(description="Which listeners this exception is about.")
    allow: list[AddressEntry] = Field(
        description="Where matching listeners may bind: loopback, private, link-local, any, addresses or CIDRs. "
        "An empty list means a matching listener is never allowed."
    )
    reason: Written = Field(description="Why the exception exists (shown in findings).")


class BindAddressParams(CheckParams):
    laxer_when = {"protocols": "fewer"}  # allow, exceptions and scope: laxer_than below

    allow: list[AddressEntry] = Field(
        default_factory=lambda: ["loopback"],
        description="Where any listener may bind unless an exception matches: loopback (127.0.0.0/8, ::1), "
        "private (RFC 1918, fc00::/7), link-local (169.254.0.0/16, fe80::/10), any (0.0.0.0/0, ::/0), "
        "addresses or CIDRs.  A listener passes only if every address it accepts is inside.",
    )
    exceptions: list[BindException] = Field(
        default_factory=empty_list,
        description="Ordered exceptions; the first whose match fits a listener decides instead of allow.",
    )
    protocols: list[Protocol] = Field(
        default_factory=lambda: list(PROTOCOLS),
        min_length=1,
        description="Which listeners to judge: tcp, sctp, dccp, mptcp (listening sockets), udp, udplite, raw (bound, "
        "unconnected sockets).  Every one by default; listeners of a protocol left out are listed in one "
        "not_applicable finding, never dropped silently.",
    )
    scope: Literal["effective", "every_namespace"] = Field(
        "effective",
        description="effective: a listener in another network namespace is judged at the addresses it can be "
        "reached at from beyond the host (its namespace's macvlan, ipvlan or physical interfaces), and passes "
        "when it is reachable only inside its namespace; every_namespace: every namespace's listeners are "
        "judged as if they were on the host.",
    )

    @field_validator("exceptions")
    @classmethod
    def _none_shadows_the_rest(cls, exceptions: list[BindException], info: ValidationInfo) -> list[BindException]:
        # The first exception that matches a listener decides: one that matches every listener (an
        # identified owner's, at least) makes the default allow and every exception after it dead
        # text, which a reader takes as the rule (allow: [loopback] read as strict while any passes).
        for index, exception in enumerate(exceptions):
            how = exception.match.every_listener()
            if how is None:
                continue
            after = len(exceptions) - index - 1
            unused = "the default allow" + (f" and the {after} exception(s) after it are" if after else " is")
            default = info.data.get("allow")
            shown = f" ({', '.join(default) or 'nothing'})" if default is not None else ""
            raise ValueError(
                f"exceptions[{index}] matches every listener ({how}), so it decides for all of them and "
                f"{unused.replace('the default allow', 'the default allow' + shown, 1)} never used; give it a "
                "narrower match, or write its addresses in allow and drop the exception")
        # An exception an earlier one covers never decides for a listener whose owner is known: the
        # earlier one matches it first.  Its allow, which a reader takes as the rule for those
        # listeners ({process: sshd} kept on loopback after {process: "ssh*"} allowing any), is dead.
        covered = _first_covered([exception.match for exception in exceptions])
        if covered is not None:
            earlier, later = covered
            raise ValueError(
                f"exceptions[{later}] never decides for a listener: exceptions[{earlier}] comes before it "
                f"and matches every listener it matches (the first match decides); put exceptions[{later}] "
                "first or drop it")
        return exceptions

    @model_validator(mode="after")
    def _default_reachable(self) -> "BindAddressParams":
        # Exceptions that each leave some listener out may together match every one the rule judges
        # ({protocol: tcp} and {protocol: udp} with protocols [tcp, udp]; ports 1-32767 and 32768-65535):
        # the default allow is then never used, and with exceptions allowing any nothing can fail.
        spans: dict[str, list[tuple[int, int]]] = {protocol: [] for protocol in self.protocols}
        used: set[int] = set()
        for index, exception in enumerate(self.exceptions):
            match = exception.match
            if match.protocol is not None and match.protocol not in spans:
                # never applies: with allow [any] and this exception allowing loopback, the rule
                # read as strict for it and could never fail
                raise ValueError(f"exceptions[{index}] is about {match.protocol} listeners, which protocols "
                                 f"({', '.join(self.protocols)}) leaves out, so it never applies; add "
                                 f"{match.protocol} to protocols or drop the exception")
            if not match.names_every_listener():
                continue
            for protocol in spans if match.protocol is None else [match.protocol]:
                if protocol in spans:
                    spans[protocol] += map(_port_span, match.ports) if match.ports is not None else [(0, 65535)]
                    used.add(index)
        if used and all(_uncovered_port(covered) is None for covered in spans.values()):
            which = ", ".join(f"exceptions[{index}]" for index in sorted(used))
            which += " together match" if len(used) > 1 else " matches"
            raise ValueError(
                f"{which} every listener of the protocols judged ({', '.join(self.protocols)}), so "
                f"the default allow ({', '.join(self.allow) or 'nothing'}) is never used; narrow their matches, or write the "
                "addresses most listeners may bind to in allow")
        return self

    def laxer_than(self, inherited: CheckParams, parent: str) -> dict[str, str]:
        # Named neither min_ nor max_, these loosen too: an address the child's allow adds, an
        # exception that lets the listeners it matches bind where the parent's rule fails them, one
        # of the parent's dropped that kept its listeners narrower, and the effective scope.
        found = super().laxer_than(inherited, parent)
        if not isinstance(inherited, BindAddressParams):
            return found
        wider = _beyond_addresses(self.allow, [inherited.allow])
        if wider:
            found["allow"] = f"allows {wider}, outside {parent}'s {', '.join(inherited.allow) or 'nothing'}"
        theirs = [exception.model_dump(mode="json") for exception in inherited.exceptions]
        mine = [exception.model_dump(mode="json") for exception in self.exceptions]
        said = []
        for index, exception in enumerate(self.exceptions):
            if mine[index] not in theirs:
                wider = _beyond_addresses(exception.allow, _deciding(exception.match, inherited))
                if wider:
                    said.append(f"exceptions[{index}] is not {parent}'s and allows the listeners it matches {wider}, "
                                f"which {parent}'s rule does not")
        for index, exception in enumerate(inherited.exceptions):
            if theirs[index] not in mine:
                wider = _beyond_addresses(self.allow, [exception.allow], each=_deciding(exception.match, self))
                if wider:
                    allowed = f"allowed only {', '.join(exception.allow)}" if exception.allow else "allowed no address"
                    said.append(f"drops {parent}'s exceptions[{index}] ({_described(exception.match)}), which "
                                f"{allowed}: its listeners may now bind at {wider}")
        if said:
            found["exceptions"] = "; ".join(said)
        if self.scope == "effective" and inherited.scope == "every_namespace":
            found["scope"] = (f"effective where {parent} sets every_namespace (a listener in another network "
                              "namespace passes when it is reachable only inside its namespace)")
        return found

    def param_warnings(self) -> dict[str, str]:
        # Both families covered is refused (_can_fail); one alone may be meant (IPv6 alone restricted),
        # but passes every listener of that family that no exception matches, whatever it binds.
        allowed = netaddr.address_set(self.allow)
        covered = [(whole, family) for whole, family in (("0.0.0.0/0", "IPv4"), ("::/0", "IPv6"))
                   if allowed.covers(netaddr.parse_entry(whole)[0])]
        if not covered:
            return {}
        family = " and ".join(family for _, family in covered)
        return {"allow": f"covers every {family} address ({', '.join(whole for whole, _ in covered)}), so no "
                         f"{'' if len(covered) > 1 else family + ' '}listener that no exception matches can fail this "
                         f"rule, whatever address it binds; name the {family} networks listeners may bind to (e.g. "
                         "loopback, private)"}

    @model_validator(mode="after")
    def _can_fail(self) -> "BindAddressParams":
        # Every listener accepts addresses inside 0.0.0.0/0 or ::/0: when the default list and every
        # exception allow both, no listener can fail and the rule passes everywhere, saying nothing.
        everything = (netaddr.parse_entry("0.0.0.0/0")[0], netaddr.parse_entry("::/0")[0])
        lists = [self.allow, *(exception.allow for exception in self.exceptions)]
        if all(all(netaddr.address_set(entries).covers(n) for n in everything) for entries in lists):
            raise ValueError("allow covers every IPv4 and IPv6 address and no exception allows less, so no "
                             "listener can fail this rule; name where listeners may bind (e.g. allow: [loopback]) "
                             "or disable the rule")
        return self


def _deciding(match: ListenerMatch, params: BindAddressParams) -> list[list[str]]:
    """The allow lists of ``params`` that may decide for some listener ``match`` matches: each
    exception that may match one of them (not told apart by protocol or ports), up to the first
    that matches all of them (:meth:`ListenerMatch.covers`), else the default allow too."""
    deciding = []
    for exception in params.exceptions:
        theirs = exception.match
        if _apart(match, theirs):
            continue  # no listener is matched by both
        deciding.append(exception.allow)
        if theirs.covers(match):
            return deciding
    return [*deciding, params.allow]


def _apart(one: ListenerMatch, other: ListenerMatch) -> bool:
    """Whether no listener is matched by both, told for certain only: another protocol, no port in
    common, or a process, exe, container, image or pod written out that the other's glob does not
    match (a process shorter than its comm: a name of 15 characters is every longer one's comm; not
    a user, matched by name or uid, nor a namespace, by name or inode: two texts may name one)."""
    if one.protocol is not None and other.protocol is not None and one.protocol != other.protocol:
        return True
    if one.ports is not None and other.ports is not None and not any(
            low <= other_high and other_low <= high for low, high in map(_port_span, one.ports)
            for other_low, other_high in map(_port_span, other.ports)):
        return True
    for name in ("process", "exe", "container", "image", "pod", "k8s_namespace"):
        mine, theirs = getattr(one, name), getattr(other, name)
        if mine is None or theirs is None:
            continue
        for written, glob in ((mine, theirs), (theirs, mine)):
            # (a process name of 15 characters is also matched by every longer name's comm)
            if (not _GLOB_CHARACTERS & set(written) and not fnmatchcase(written, glob)
                    and not (name == "process" and len(written) >= COMM_LENGTH)):
                return True
    return False


def _beyond_addresses(allow: list[str], others: list[list[str]], each: list[list[str]] | None = None) -> str:
    """The networks of ``allow`` (or of any of ``each``) that some list of ``others`` leaves out, as
    text ("" when none)."""
    wider: list[str] = []
    for entries in each if each is not None else [allow]:
        for network in netaddr.address_set(entries).networks:
            if any(not netaddr.address_set(other).covers(network) for other in others) and str(network) not in wider:
                wider.append(str(network))
    return ", ".join(wider)


def _described(match: ListenerMatch) -> str:
    """A match in words: ``process 'telnetd', ports 22``."""
    return ", ".join(f"ports {', '.join(map(str, value))}" if name == "ports" else f"{name} {value!r}"
                     for name in _MATCH_FIELDS if (value := getattr(match, name)) is not None)


# ------------------------------------------------------------------ matching

Tri = bool | None  # True, False, or None = cannot tell (owner unknown)


def _any_of(pattern: str, values: list[str | None], complete: bool = True) -> Tri:
    """True if a known value matches; False if every value is known and none does; else unknown.
    ``complete`` is False when more values than those seen may exist."""
    if any(v is not None and fnmatchcase(v, pattern) for v in values):
        return True
    if complete and values and all(v is not None for v in values):
        return False
    return None


SERVICE_MANAGER_PID = 1  # init (systemd): holds the sockets of socket units it passes to services


def judged_holders(processes: list[ProcessInfo]) -> list[ProcessInfo]:
    """The holders an exception must match: every one, but the service manager (pid 1) when the
    socket is also held by another process (the service it activated)."""
    others = [p for p in processes if p.pid != SERVICE_MANAGER_PID]
    return others or processes


def _as_comm(name: str) -> str | None:
    """The comm a process name longer than the kernel keeps is shown as (ss, ps): its first 15
    bytes.  psutil gives the whole name (from argv[0]) for a comm of 15, and an exception copied
    from ss (``process: systemd-resolve``) matched nothing; None for a name the kernel keeps whole."""
    return name[:COMM_LENGTH] if len(name) > COMM_LENGTH else None


def _holders_match(pattern: str, values: list[str | None], complete: bool,
                   also: Callable[[str], str | None] | None = None) -> Tri:
    """Whether the holders of a socket match (each holder's value; None: unknown).

    Every holder can accept on the socket, so an exception is about it only when it is about
    each holder seen: True when all of them match; False when every holder was seen and none
    does; unknown for a socket held by some that match and some that do not (an allowed program
    that inherited another's socket, a renamed process) or whose holders could not all be named.
    Holders not seen at all (``complete`` False) are what the seen ones say, as for one holder.
    ``also``: another form of a value that matches as the value does (a name's comm)."""
    verdicts = {None if v is None else fnmatchcase(v, pattern)
                or (also is not None and (other := also(v)) is not None and fnmatchcase(other, pattern))
                for v in values}
    if verdicts == {True}:
        return True
    if verdicts == {False} and complete:
        return False
    return None


def _user_matches(pattern: str, listener: Listener, complete: bool) -> Tri:
    if listener.user is not None:
        return fnmatchcase(listener.user, pattern) or (listener.uid is not None and fnmatchcase(str(listener.uid), pattern))
    if listener.uid is not None:
        if fnmatchcase(str(listener.uid), pattern):
            return True
        return False if pattern.isdigit() else None  # a name pattern, but the uid's name is unknown
    return _holders_match(pattern, [p.user for p in judged_holders(listener.processes)], complete)


@record
class _Place:
    """The namespace a listener is in, as exceptions select it."""

    names: frozenset[str]  # what ``namespace`` matches, as a glob or as written
    workloads: tuple[Workload, ...] = ()
    namespace: NetNamespace | None = field(default=None, compare=False)  # None: the host's own
    exact: frozenset[str] = frozenset()  # what it matches only as written whole, never by a glob
    # the namespace's own listeners: a container selector is asked of the containers holding each
    # (:func:`_holders_workloads`); not a host listener judged as a container's (docker-proxy)
    by_holders: bool = False


HOST = _Place(frozenset({"host"}))


def _held_place(place: _Place) -> _Place:
    """``place`` as the place of its own listeners (:attr:`_Place.by_holders`)."""
    return _Place(place.names, place.workloads, place.namespace, place.exact, True)


def _place(ns: NetNamespace) -> _Place:
    inode = frozenset({str(ns.inode), f"net:[{ns.inode}]"})
    if ns.current:
        # The collector's own namespace answers a glob by its names only, its inode only written out
        # whole: "net:*", "[0-9]*" or "4*" (every namespace's inode is a number from 4026531833 up),
        # written for containers, held for every listener of the host too, and passed a host
        # service on 0.0.0.0 under allow: [loopback] (tests/hostile/test_waivers_namespace_globs.py).
        return _Place(frozenset({*ns.names, "host"}), tuple(ns.workloads), ns, inode)
    return _Place(frozenset({*ns.names, *inode}), tuple(ns.workloads), ns)


def _workload_matches(pattern: str, workloads: tuple[Workload, ...], values: list[str | None]) -> Tri:
    """No workload: False.  A workload whose field is unknown (seen only through its cgroup): unknown."""
    if not workloads:
        return False
    return _any_of(pattern, values)


_WORKLOAD_SELECTORS = ("container", "image", "pod", "k8s_namespace")


def _holders_workloads(place: _Place, listener: Listener) -> tuple[Workload, ...] | None:
    """The workloads of ``place`` whose processes hold ``listener`` (one holder of it, where its
    holders are judged each alone): a container selector is about the container that holds a
    listener, and several share a namespace (a pod's app and sidecars, ``--network container:``;
    in the host's, those run with ``--network host`` beside every process of the host), so a
    selector for one held for every process there, and a holder that another holds beside it.

    In the host's namespace a holder in no container is a host process: none, and so is the
    answer for a listener whose holders are not known.  In another, a listener whose holders are
    not known may be any one's: all of them, each of which a selector must match (see
    :func:`_place_matches`); one held only by processes in no workload seen (that entered the
    namespace: nsenter) None: which container, if any, cannot be told."""
    host = place.namespace is None or place.namespace.current
    if not place.workloads or (not listener.processes and not host):
        return place.workloads
    pids = {process.pid for process in listener.processes}
    held = tuple(w for w in place.workloads if pids & set(w.pids))
    return held if held or host else None


def _place_matches(match: ListenerMatch, place: _Place, listener: Listener | None = None) -> list[Tri]:
    """``listener``: the listener being matched, whose holders' containers a container selector is
    asked of (None: every container of ``place``, for a host listener that serves a container's
    published port, judged as the container's)."""
    results: list[Tri] = []
    if match.namespace is not None:
        # "net:[INODE]" is taken as written too: as a glob its brackets would be a character class
        results.append(match.namespace in place.exact
                       or any(name == match.namespace or fnmatchcase(name, match.namespace) for name in place.names))
    if listener is not None and any(getattr(match, name) is not None for name in _WORKLOAD_SELECTORS):
        holders = judged_holders(listener.processes)
        if len(holders) > 1:
            # holders judged as one (alike in name, exe and user) may be in different containers, or
            # one in none: what each says, when they agree (as _holders_match asks of their names)
            each = [_place_matches(match, place, copy_with(listener, {"processes": [holder]})) for holder in holders]
            return [verdicts.pop() if len(verdicts := set(said)) == 1 else None for said in zip(*each)]
        held = _holders_workloads(place, listener)
        if held is None:
            return results + [None] * sum(getattr(match, name) is not None for name in _WORKLOAD_SELECTORS)
        if not listener.processes and len(held) > 1:
            # whose it is, is not known: it may be any one's, so what each says, when they agree
            each = [_place_matches(match, _Place(place.names, (workload,), place.namespace, place.exact))
                    for workload in held]
            return [verdicts.pop() if len(verdicts := set(said)) == 1 else None for said in zip(*each)]
        place = _Place(place.names, held, place.namespace, place.exact)
    workloads = place.workloads
    for name, values in (("container", [w.name for w in workloads]), ("image", [w.image for w in workloads]),
                         ("pod", [w.pod if w.runtime == "kubernetes" or w.pod else "" for w in workloads]),
                         ("k8s_namespace", [w.k8s_namespace if w.runtime == "kubernetes" or w.k8s_namespace else ""
                                            for w in workloads])):
        pattern = getattr(match, name)
        if pattern is not None:
            results.append(_workload_matches(pattern, workloads, values))
    return results


def _matches(match: ListenerMatch, listener: Listener, complete: bool = True, place: _Place = HOST) -> Tri:
    # One selector that does not hold decides (False whatever the others say): the protocol and
    # the ports, asked first, settle most exceptions for most listeners without the rest.
    if match.protocol is not None and listener.protocol != match.protocol:
        return False
    if match.ports is not None and not any(lo <= listener.port <= hi for lo, hi in map(_port_span, match.ports)):
        return False
    results: list[Tri] = _place_matches(match, place, listener if place.by_holders else None)
    holders = judged_holders(listener.processes)
    if match.process is not None:
        results.append(_holders_match(match.process, [own_name(p) for p in holders], complete, _as_comm))
    if match.exe is not None:
        results.append(_holders_match(match.exe, [p.exe for p in holders], complete))
    if match.user is not None:
        results.append(_user_matches(match.user, listener, complete))
    if any(r is False for r in results):
        return False
    return True if all(r is True for r in results) else None


@record
class _Rule:
    label: str  # "the default allow list" / "exception 2"
    allowed: netaddr.AddressSet
    reason: str | None = None
    match: ListenerMatch | None = field(default=None, compare=False)  # an exception's; None: the default

    @cached_property
    def _passed_over(self) -> dict[tuple[str, int], bool]:
        return {}

    def passed_over(self, protocol: str, port: int) -> bool:
        """Whether this exception's protocol or ports rule a listener out (as :func:`_matches` would
        first), remembered per protocol and port: asked for every exception about every listener,
        and a host's listeners share few of them."""
        known = self._passed_over.get((protocol, port))
        if known is None:
            match = self.match
            known = self._passed_over[protocol, port] = match is not None and (
                (match.protocol is not None and protocol != match.protocol)
                or (self._port_spans is not None and not any(lo <= port <= hi for lo, hi in self._port_spans)))
        return known

    @cached_property
    def _port_spans(self) -> list[tuple[int, int]] | None:
        # An exception's ports, each read once: a host's listeners rarely share a port, so each
        # listener asked passed_over anew and read them all again (issue 16).
        return None if self.match is None or self.match.ports is None else [_port_span(p) for p in self.match.ports]

    # Asked for every listener the rule could decide: built once per rule (cached_property writes
    # the instance's __dict__, which a frozen dataclass allows), not hashed into an lru_cache.
    @cached_property
    def _expected(self) -> dict[str, object]:
        # Shared by the outcomes (shared_json): one dict for every listener the rule decides.
        # An exception's match is said with it: what a listener it decides was matched on.
        return shared_json({
            "rule": self.label,
            "allow": list(self.allowed.entries),
            "networks": [str(n) for n in self.allowed.networks],
            "reason": self.reason,
            **({"match": self.match.model_dump(mode="json", exclude_none=True)} if self.match is not None else {}),
        })

    def expected(self) -> dict[str, object]:
        return self._expected

    @cached_property
    def expected_alone(self) -> list[dict[str, object]]:
        """The expected value of a listener only this rule could decide (most listeners): shared."""
        return shared_json([self._expected])  # type: ignore[no-any-return]

    @cached_property
    def _phrase(self) -> str:
        who = self.label if self.reason is None else f"{self.label} ({self.reason})"
        return f"{who} allows {self.allowed.describe()}"

    def phrase(self) -> str:
        return self._phrase

    @cached_property
    def _allows(self) -> dict[tuple[str, bool | None], bool]:
        return {}

    def allows(self, address: str, v6only: bool | None) -> bool:
        """:func:`netaddr.is_allowed` by this rule's set, remembered per rule: its lru_cache hashed
        and compared the whole address set (its networks) on every listener."""
        known = self._allows.get((address, v6only))
        if known is None:
            known = self._allows[address, v6only] = netaddr.is_allowed(address, v6only, self.allowed)
        return known


def _candidate_rules(
    listener: Listener, default: _Rule, exceptions: list[tuple[BindException, _Rule]], complete: bool = True,
    place: _Place = HOST,
) -> list[_Rule]:
    """Every rule that could decide for this listener, in first-match order.  An exception that
    might match (unknown owner) is a candidate, and so is everything after it."""
    candidates: list[_Rule] = []
    protocol, port = listener.protocol, listener.port
    for exception, rule in exceptions:
        if rule.match is exception.match and rule.passed_over(protocol, port):
            continue  # what _matches would say first: False
        verdict = _matches(exception.match, listener, complete, place)
        if verdict is False:
            continue
        candidates.append(rule)
        if verdict is True:
            return candidates
    candidates.append(default)
    return candidates



_NOTHING = netaddr.address_set([])


def deciding_exceptions(listener: Listener, matches: list[ListenerMatch], namespace: NetNamespace | None = None,
                        *, complete: bool = True) -> list[int]:
    """The indexes of ``matches`` (a policy's exceptions, in order) that could decide for
    ``listener``, as :func:`_judge` tries them: for each of its holders alone when they differ; an
    exception that might match (owner unknown) and every one after it up to one that surely does.
    ``namespace``: the one the listener is in (None or the current one: the host's own);
    ``complete``: False when the processes seen holding it may not be all of them.  ``lbaudit
    init`` gives each exception it writes what every listener it could decide for is reachable at."""
    exceptions = [(BindException.model_construct(match=match, allow=[], reason="-"),
                   _Rule(f"exception {i}", _NOTHING, None, match)) for i, match in enumerate(matches)]
    place = _held_place(_place(namespace) if namespace is not None else HOST)
    shared = _distinct_holders(listener)
    holders = [copy_with(listener, {"processes": [holder]}) for holder in shared] if shared else [listener]
    index = {id(rule): i for i, (_, rule) in enumerate(exceptions)}
    found = {index[id(rule)] for one in holders
             for rule in _candidate_rules(one, _Rule("the default allow list", _NOTHING), exceptions,
                                          complete=complete, place=place) if id(rule) in index}
    return sorted(found)

# ------------------------------------------------------------------ outcomes

def _owner(listener: Listener) -> str:
    if listener.processes:
        return ", ".join(f"{p.name or '?'} pid {p.pid}" for p in listener.processes)
    if listener.declared_by:
        return f"declared by {listener.declared_by}"
    return "owner unknown"


def _holder_doubts(listener: Listener) -> list[str]:
    """Why the processes seen holding a listener do not settle which exceptions are about it."""
    doubts = []
    holders = judged_holders(listener.processes)
    for p in holders:
        if p.name is not None and own_name(p) is None:
            doubts.append(f"pid {p.pid} is named {p.name!r}, which is neither its executable's ({p.exe or '?'}) nor its "
                          f"argv[0]'s ({p.argv0 or '?'}): a name it may have given itself (prctl PR_SET_NAME)")
    return doubts


def _owner_reason(listener: Listener, detail_gaps: list[str], holder_gaps: list[str]) -> str:
    if listener.owner_reason:
        return listener.owner_reason
    if listener.processes and (detail_gaps or holder_gaps or _holder_doubts(listener)):
        parts = ["the processes seen holding it may not be all of them: " + "; ".join(holder_gaps)] if holder_gaps else []
        parts += ["details of the owning process could not be read: " + "; ".join(detail_gaps)] if detail_gaps else []
        return "; ".join(parts + _holder_doubts(listener))
    if listener.declared_by:
        return f"declared by {listener.declared_by}; the process that will own it is not known"
    return "no reason recorded"


def _detail(listener: Listener) -> dict[str, object]:
    first = listener.processes[0] if listener.processes else None
    return {
        "protocol": listener.protocol,
        "family": listener.family,
        "address": listener.address,
        "port": listener.port,
        "pid": first.pid if first else None,
        "process": first.name if first else None,
        "exe": first.exe if first else None,
        "user": listener.user if listener.user is not None else (first.user if first else None),
        "uid": listener.uid,
        "pids": [p.pid for p in listener.processes],
        "interface": listener.interface,
        "declared_by": listener.declared_by,
    }


@lru_cache(maxsize=4096)
def _network_texts(address: str, v6only: bool | None) -> list[str]:
    # Asked once per listener, about few distinct addresses: ipaddress's str() is slow.  Shared by
    # the outcomes (shared_json), as the address's networks are the same for each.
    return shared_json([str(n) for n in netaddr.accepted_networks(address, v6only)])  # type: ignore[no-any-return]


def _observed(listener: Listener, owner: str) -> dict[str, object]:
    return {
        "address": listener.address,
        "port": listener.port,
        "protocol": listener.protocol,
        "v6only": listener.v6only,
        "wildcard": netaddr.is_wildcard(listener.address),
        "accepts": netaddr.describe_accepts(listener.address, listener.v6only),
        "accepts_networks": _network_texts(listener.address, listener.v6only),
        "interface": listener.interface,
        "owner": owner,
    }


def _judge(
    listener: Listener, pointer: str, detail_gaps: list[str], default: _Rule, exceptions: list[tuple[BindException, _Rule]],
    holder_gaps: list[str], place: _Place = HOST, exposure: _namespaces.Exposure | None = None,
    home: NetNamespace | None = None, transparency_doubt: str | None = None,
    past_device: tuple[_namespaces.Exposure | None, bool] | None = None, steered: bool = False,
    configured_localnet: tuple[tuple[str, str], ...] = (),
) -> Outcome:
    """``home``: the namespace the listener is in (None: not described), whose interfaces tell
    whether it is bound to the loopback device and whether route_localnet makes 127.0.0.0/8
    reachable from their links.  Where it can be reached is :func:`_listeners.reach`'s answer, the
    one ``lbaudit init`` writes its exceptions by.  ``transparency_doubt``:
    why it may be transparent with a TPROXY rule to hand it packets (None: it is known not to be, or
    nothing can): it is then judged both ways, and passes only when it would pass transparent too;
    ``past_device``: when its SO_BINDTODEVICE does not bound it either (an sk_lookup program steers
    a UDP socket whatever device it is bound to; an ingress hook of a link may hand what arrives
    there to the loopback device it is bound to), its exposure as if bound to none (None is the
    host's), and whether it is judged transparent there too.  ``steered``: judge it as transparent
    whether or not its namespace has TPROXY rules (the "if transparent" half of that judgement).
    ``configured_localnet``: an offline image's configured route_localnet
    (:func:`_listeners.configured_localnet`), judged where no namespace is described."""
    if transparency_doubt is not None:
        args = (pointer, detail_gaps, default, exceptions, holder_gaps, place, exposure, home)
        as_bound = _judge(listener, *args, configured_localnet=configured_localnet)
        if as_bound.status != Status.PASS:
            return as_bound  # not allowed (or not decided) at its own address: transparent or not
        if past_device is None:
            as_transparent = _judge(copy_with(listener, {"transparent": True}), *args, steered=True,
                                    configured_localnet=configured_localnet)
        elif not past_device[1]:  # the device alone is no bound: judged at its own address
            as_transparent = _judge(copy_with(listener, {"interface": None}), pointer, detail_gaps, default,
                                    exceptions, holder_gaps, place, past_device[0], home,
                                    configured_localnet=configured_localnet)
        else:
            as_transparent = _judge(copy_with(listener, {"transparent": True, "interface": None}), pointer,
                                    detail_gaps, default, exceptions, holder_gaps, place, past_device[0], home,
                                    steered=True, configured_localnet=configured_localnet)
        if as_transparent.status == Status.PASS:
            return as_bound
        reason = f"{transparency_doubt}, at which it would not be allowed"
        if past_device is not None and not past_device[1]:
            observed = {**as_bound.observed,  # type: ignore[dict-item]
                        "accepts_networks_past_device": _network_texts(listener.address, listener.v6only)}
        else:
            observed = {**as_bound.observed, "transparent": listener.transparent,  # type: ignore[dict-item]
                        "accepts_networks_if_transparent": as_transparent.observed["accepts_networks"]}  # type: ignore[index,call-overload]
        return not_reviewed(listener.subject, reason, message=f"{as_bound.message}; but not reviewed: {reason}",
                            key=as_bound.key, subject_detail=as_bound.subject_detail, observed=observed,
                            expected=as_bound.expected, evidence=as_bound.evidence)
    shared = _distinct_holders(listener)
    if shared:
        # Each holder can accept on the socket: each is judged by the rules that fit it alone.
        per_holder = [(holder, _candidate_rules(copy_with(listener, {"processes": [holder]}), default, exceptions,
                                                complete=not holder_gaps, place=place)) for holder in shared]
        candidates = list({id(rule): rule for _, rules in per_holder for rule in rules}.values())
    else:
        candidates = _candidate_rules(listener, default, exceptions, complete=not holder_gaps, place=place)
    owner = _owner(listener)
    observed = _observed(listener, owner)
    names, borrowed = _process_names(listener, candidates)
    if names is not None:
        observed["process_names"] = names
    reach = _listeners.reach(listener, home, exposure, steered, configured_localnet)
    accepts, exposure, localnet = reach.accepts, reach.exposure, reach.localnet
    if listener.transparent:
        observed["transparent"] = True
    if reach.on_loopback is not None:
        observed["accepts"] = accepts
        observed["accepts_networks"] = [str(n) for n in reach.on_loopback]
        observed["bound_to_loopback_device"] = True
    elif reach.widened:
        observed["accepts"] = accepts
        observed["accepts_networks"] = _network_texts(reach.address, reach.v6only)
    if exposure is not None:
        observed["exposure"] = {"addresses": None if exposure.addresses is None else list(exposure.addresses),
                                "note": exposure.note,
                                **({"if_forwarded": list(exposure.conditional)} if exposure.conditional else {})}
    if localnet is not None:
        observed["route_localnet"] = {"through": list(localnet.through), "reachable_as": list(localnet.addresses),
                                      "unknown": list(localnet.unknown)}
    if reach.inside_only:
        # Nothing beyond the namespace can reach it: there is no exposure for a rule to allow.
        assert exposure is not None  # inside_only says so
        return passed(listener.subject, f"{listener.protocol} {listener.endpoint} ({owner}) accepts "
                      f"{accepts}, {exposure.note}", reason=exposure.note, key=listener.identity,
                      subject_detail=_detail(listener), observed=observed,
                      expected=[rule.expected() for rule in candidates], evidence=[pointer])

    def allows(rule: _Rule) -> bool:
        return reach.allowed_by(rule.allowed, rule.allows)

    if shared:
        holder_verdicts = [{allows(rule) for rule in rules} for _, rules in per_holder]
        verdicts = ({False} if {False} in holder_verdicts else {True} if all(v == {True} for v in holder_verdicts)
                    else {True, False})
    else:
        verdicts = {allows(rule) for rule in candidates}
    common = dict(
        key=listener.identity,
        subject_detail=_detail(listener),
        observed=observed,
        expected=candidates[0].expected_alone if len(candidates) == 1 else [rule.expected() for rule in candidates],
        evidence=[pointer],
    )
    if exposure is not None and exposure.addresses == ():
        accepts = f"{accepts}, {exposure.note}"
    elif exposure is not None and exposure.addresses is not None:
        accepts = f"{accepts}, reachable at {', '.join(exposure.addresses)} ({exposure.note})"
    elif exposure is not None:
        accepts = f"{accepts} ({exposure.note})"
    if localnet is not None:
        accepts = f"{accepts}; {localnet.note}"
    head = f"{listener.protocol} {listener.endpoint} ({owner}){borrowed} accepts {accepts}"
    if (exposure is not None and exposure.condition is not None and verdicts == {True}
            and not all(reach.conditionally_allowed_by(rule.allowed) for rule in candidates)):
        # Allowed where it is surely reached, but the host may forward to it from its links: at
        # addresses that are not allowed, behind FORWARD rules lbaudit does not read.
        reason = exposure.condition
        return not_reviewed(listener.subject, reason, message=f"{head}; not reviewed: {reason}", **common)
    if localnet is not None and localnet.unknown and verdicts == {True}:
        # Allowed at its own address, but its link may reach it too: that could not be read.
        reason = localnet.note
        return not_reviewed(listener.subject, reason, message=f"{head}; not reviewed: {reason}", **common)
    if shared:
        return _judge_shared(listener, head, per_holder, allows, verdicts, detail_gaps, holder_gaps, common)
    if len(verdicts) > 1:
        allowing = [r.label for r in candidates if allows(r)]
        denying = [r.label for r in candidates if r.label not in allowing]
        reason = (
            f"owner not identified ({_owner_reason(listener, detail_gaps, holder_gaps)}), and the rules that could apply disagree: "
            f"{' and '.join(allowing)} would allow it, {' and '.join(denying)} would not"
        )
        return not_reviewed(listener.subject, reason, message=f"{head}; not reviewed: {reason}", **common)
    allowed = verdicts.pop()
    verdict = "allowed" if allowed else "not allowed"
    if len(candidates) == 1:
        message = f"{head}, which is {verdict}: {candidates[0].phrase()}"
    else:
        message = (
            f"{head}, which is {verdict} by every rule that could apply (owner not identified: "
            f"{_owner_reason(listener, detail_gaps, holder_gaps)}): " + "; ".join(r.phrase() for r in candidates)
        )
    return (passed if allowed else failed)(listener.subject, message, **common)


def _process_names(listener: Listener, candidates: list[_Rule]) -> tuple[list[dict[str, object]] | None, str]:
    """When an exception that could decide selects by process name: each holder's name and what
    proves it (:func:`name_origin`), for the evidence, and a note for the message about each name
    that only its argv[0] proves while its executable is another file.  (None, "") otherwise."""
    if not any(rule.match is not None and rule.match.process is not None for rule in candidates):
        return None, ""
    holders = judged_holders(listener.processes)
    names: list[dict[str, object]] = [{"pid": p.pid, "name": p.name, "name_from": name_origin(p), "exe": p.exe,
                                       "argv0": p.argv0} for p in holders]
    borrowed = "".join(f"; pid {p.pid} is named {p.name!r} after its argv[0] ({p.argv0}), not after its executable "
                       f"({p.exe}): run through a link of that name, or so named by whoever ran it"
                       for p in holders if p.exe and name_origin(p) == "argv0")
    return names, f" [{borrowed[2:]}]" if borrowed else ""


def _distinct_holders(listener: Listener) -> list[ProcessInfo]:
    """The holders an exception must match, when they are not all alike (one of each): an
    exception may fit some and not others, so each is judged alone.  [] when one judgement fits all."""
    holders = judged_holders(listener.processes)
    if len(holders) < 2:  # one holder (most listeners): nothing to tell apart
        return []
    seen: dict[tuple[str | None, str | None, str | None], ProcessInfo] = {}
    for holder in holders:
        seen.setdefault((own_name(holder), holder.exe, holder.user), holder)
    return list(seen.values()) if len(seen) > 1 else []


def _judge_shared(listener: Listener, head: str, per_holder: list[tuple[ProcessInfo, list[_Rule]]],
                  allows: Callable[[_Rule], bool], verdicts: set[bool], detail_gaps: list[str],
                  holder_gaps: list[str], common: dict[str, Any]) -> Outcome:
    """A listener held by different processes: allowed only when allowed for each of them."""
    def who(holder: ProcessInfo) -> str:
        return f"{holder.name or '?'} pid {holder.pid}"

    def said(holder: ProcessInfo, rules: list[_Rule]) -> str:
        if len(rules) == 1:
            return f"{who(holder)}: {rules[0].phrase()}"
        return f"{who(holder)}: one of " + "; ".join(r.phrase() for r in rules)

    lead = (f"{head}; it is held by {len(per_holder)} different processes, each of which can accept on it, "
            "so it is judged for each")
    if verdicts == {False}:
        refused = [(h, rules) for h, rules in per_holder if not any(allows(r) for r in rules)]
        return failed(listener.subject, f"{lead}: not allowed for " + "; ".join(said(h, r) for h, r in refused),
                      **common)
    if verdicts == {True}:
        return passed(listener.subject, f"{lead}: allowed for every one: " + "; ".join(said(h, r) for h, r in per_holder),
                      **common)
    unsure = [who(h) for h, rules in per_holder if len({allows(r) for r in rules}) > 1]
    reason = (f"owner not identified ({_owner_reason(listener, detail_gaps, holder_gaps)}), and the rules that could "
              f"apply to {' and '.join(unsure)} disagree")
    return not_reviewed(listener.subject, reason, message=f"{lead}: not reviewed: {reason}", **common)


@check(
    name="net.bind_addresses",
    title="Listening sockets bind only to allowed addresses",
    version="1.26.0",
    needs=["sockets"],
    platforms=["linux", "windows", "macos"],
    uses=["netns", "sysctl"],  # sysctl: an image's configured route_localnet
    params=BindAddressParams,
    severity=Severity.HIGH,
    controls=["CM-7", "SC-7", "SC-7(5)", "CM-6"],
    rationale="""
A service bound to a wildcard address (0.0.0.0, or :: which on Linux also accepts IPv4 unless
IPV6_V6ONLY is set) is reachable on every interface the host has or will have, including ones added
after the firewall was written.  Binding each service to the addresses it needs keeps its exposure
to what was decided (least functionality, CM-7), keeps the host boundary where the policy puts it
(SC-7), and makes network exposure deny-by-default, allow-by-exception (SC-7(5)) as a configuration
setting that can be audited (CM-6).
""",
    remediation="""
On Linux:

Configure the service to bind to a specific address (e.g. listen_addresses = 'localhost' for
PostgreSQL, bind 127.0.0.1 ::1 for Redis, ListenAddress for sshd, ListenStream=127.0.0.1:PORT for a
systemd socket unit).  For a :: socket that must not accept IPv4, set IPV6_V6ONLY (or
net.ipv6.bindv6only=1 for sockets that do not set it).

On Windows:

Configure the service to bind to a specific address in its own settings (its configuration file
or management console; `netstat -ano` shows each listener's address and PID, `tasklist /fi "PID eq
N"` the program).  A [::] listener is judged as accepting IPv4 too, since netstat does not say
whether it sets IPV6_V6ONLY.  A Windows Firewall rule (`netsh advfirewall firewall add rule
name=NAME dir=in action=block protocol=TCP localport=N`) limits who reaches the port but leaves it
bound to every address, which is what this check judges.

On macOS:

Configure the service to bind to a specific address in its own settings; for a launchd job that
owns its socket, set SockNodeName (e.g. 127.0.0.1) in the Sockets entry of its property list
(`sudo lsof -nP -iTCP -sTCP:LISTEN` shows each listener's address and program).  A packet filter
or the application firewall limits who reaches the port but leaves it bound to every address,
which is what this check judges.

On every platform:

If the exposure is intended, add an exception to the policy that matches the service (process,
exe, user, ports, protocol) with the allowed addresses and the reason, so that the decision is
written down.
""",
    notes="""
What a listener accepts: 0.0.0.0 = all IPv4 addresses; :: with v6only=0 = all IPv6 and all IPv4
addresses (dual-stack); :: with v6only=1 = all IPv6 addresses; :: with v6only unknown is judged as
dual-stack (fail closed); an IPv4-mapped ::ffff:a.b.c.d is judged as the IPv4 address a.b.c.d and
::ffff:0.0.0.0 as the IPv4 wildcard.  A listener passes only if every address it accepts is inside
the union of the allowed sets, so 0.0.0.0 is allowed only by `any` or 0.0.0.0/0.  SO_BINDTODEVICE
(shown as `interface`) does not narrow the verdict, but to the loopback device: the kernel delivers
to such a socket only what arrives on that device, which is what its own namespace sends to an
address of lo (never a packet from a link, whatever its address), so it is judged at 127.0.0.0/8
and ::1 (both for a dual-stack ::), and in another namespace it is reachable only inside; unless a
link of its namespace has an ingress hook (a tc ingress or clsact qdisc, a tcx link, an XDP program,
an nftables ingress chain with `fwd` or `dup`) or whether it has one could not be read: tc mirred,
bpf_redirect and `fwd to "lo"` put what arrives on the link on lo, still addressed to the link, and
0.0.0.0 bound to lo takes it, so a listener allowed as bound to lo but not at its own address is
not_reviewed naming the hook (before, it passed while a neighbour reached it).  The
device is known by its kind among the namespace's interfaces, not by its name (lo can be renamed
and another link named lo); when they were not read, the listener is judged at its address.  In
another namespace a listener bound to a device is reached through that device and its ports (a
bridge's ports, a VRF's members: what arrives on them is delivered as arriving on it).  A
transparent TCP, UDP or MPTCP listener (IP_TRANSPARENT, IPV6_TRANSPARENT, which the kernel reports
from Linux 5.10) is judged at every address of what it accepts (0.0.0.0/0 for IPv4; ::/0, and IPv4
too for a dual-stack ::) when its namespace has TPROXY rules or they could not all be read: a TPROXY
rule hands it connections to any destination, whatever it is bound to, so 127.0.0.1 is no bound
(where the namespace is known to have none, IP_TRANSPARENT widens nothing: it is judged at its
address); in another namespace so too whenever the namespace has an
outward link, even when none of its addresses is the listener's, and at the wildcard of its family
when the host forwards to it (not_reviewed unless allowed there).  TPROXY hands nothing to the other transports (UDP-Lite, SCTP,
DCCP, raw): a transparent one of those is judged at its own address.  Whether a listener is
transparent is unknown on kernels before 5.10 and under the /proc/net fallback (netlink sock_diag
unavailable).  Snapshots of format 1.0 and 1.1 recorded it only when set: in one of format 1.1 a
listener without it is read as not transparent when the file says its collector read the kernel's
answer (the listener has a `transparent` field, which the collectors that read it wrote on every
listener; facts from a running host; a kernel release of Linux 5.10 or later; its transport dumped
through netlink sock_diag by the sockets method of its namespace: the provenance's for the host,
the namespace's counts' for another), and as unknown otherwise, as in every snapshot of format 1.0,
naming why.  Such a TCP,
UDP or MPTCP listener that passes at its own address but would fail at every address is
not_reviewed when its namespace has TPROXY rules (nftables `tproxy`, iptables `-j TPROXY`, read with
`nft -j list ruleset` and `iptables-save` inside each namespace) or they could not all be read, and
passes as bound when the namespace is known to have none.

A BPF sk_lookup program (Linux 5.9+) attached to a network namespace picks the socket for its
incoming TCP connections and UDP datagrams before the sockets' addresses are consulted, and can hand
them to any listener whatever it is bound to, transparent or not.  lbaudit lists the kernel's BPF
links (bpf(2) BPF_LINK_GET_NEXT_ID, which needs CAP_SYS_ADMIN); a TCP, UDP or MPTCP listener of a
namespace with an sk_lookup link, or of one where the links could not be listed (lbaudit not root),
is judged as a transparent one: one that passes at its own address but would fail at every address
is not_reviewed, naming the link and program ids.  A UDP one is judged so as if bound to no device:
the program hands it datagrams from any link whatever its SO_BINDTODEVICE (a TCP listener bound to
lo is handed the SYN too, but its request socket inherits the device and the handshake fails).

127.0.0.0/8 is loopback-only only while route_localnet is off: with net.ipv4.conf.all.route_localnet
or net.ipv4.conf.IFACE.route_localnet set to 1 the kernel delivers packets addressed to 127.0.0.0/8
that arrive on IFACE, so any host on its link can reach a listener on 127.0.0.1 (CVE-2020-8558).  Such
a listener (or ::ffff:127.x) is then also judged at that interface's IPv4 addresses (0.0.0.0, all of
IPv4, for an interface without one), for the host's namespace every interface but loopback, for
another namespace its outward interfaces (a bridge port or bond slave by its master's setting, where
IP input happens; a VRF's member by its own, as the kernel routes it with the member as the input
device); unless it is bound (SO_BINDTODEVICE) to another interface (bound to a VRF, its members
deliver to it); for another namespace also at the IPv4 addresses of a veth into the host that the host
forwards to (see below) when route_localnet is on there (or not read): a DNAT rule of the namespace,
which lbaudit does not read, can then hand it what a neighbour routes through the host, so it is
not_reviewed unless allowed there.  A route_localnet that could not be read (or a snapshot that predates it), or
interfaces of the namespace that could not be read at all, makes a listener that would pass
not_reviewed.  ::1 has no such switch: IPv6 drops it from any other
interface.

A port a DNAT rule publishes at an address of 127.0.0.0/8 (`docker run -p 127.0.0.1:8080:80` before
Docker 28: `-d 127.0.0.1/32 ! -i docker0 -p tcp --dport 8080 -j DNAT ...`) is reached from every
link, route_localnet or not: the DNAT is done in PREROUTING, before the kernel drops a loopback
destination that arrived on a link as a martian, so a neighbour that sends to 127.0.0.1 through
this host's MAC address reaches the container (moby#41872).  Such a port is also judged at the IPv4
addresses of the host's links (all of IPv4 for a link with none, or when they were not read),
whether or not a proxy listens on 127.0.0.1, unless a drop of its address, transport and port for
packets from any interface but lo comes before the DNAT, as Docker 28 writes (moby#49325: `-t raw
-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp --dport 8080 -j DROP`, or in its nftables mode
`iifname != "lo" ip daddr 127.0.0.1 tcp dport 8080 drop` in a prerouting chain of raw priority).
Only such drops count: a rule of raw or mangle PREROUTING (an nftables prerouting chain of a
priority before dstnat, -100) with `-j DROP`, no interface or `! -i lo`, and no other match
(source, conntrack state, set, limit), with no earlier rule of its chain that could let such a
packet through (ACCEPT, RETURN, a jump); a drop in filter comes after the DNAT and does not.  lo is
a name: where the device of that name is not the loopback (`ip link set lo name lo_real`, then a
link named lo), the drop exempts that link, and such a port that would pass is not_reviewed.  When
the rules could not all be read (or a snapshot of format 1.0 to 1.2, which does not hold them),
such a port that would pass is not_reviewed, and so is one on 127.0.0.0/8 that only the engine
declares when the NAT rules were not read (a rootful engine forwards it with such a DNAT rule).
A DNAT of the nat table's OUTPUT chain (an nftables chain of the output hook) publishes nothing: that
built-in chain, which no rule can jump to, sees only what the host's own processes send.

Every transport that can listen is judged by default: tcp, sctp, dccp, mptcp (listening) and udp,
udplite, raw (bound, unconnected).  An unconnected raw socket (SOCK_RAW, as `ss -lw` lists it) gets
every packet of its IP protocol sent to the address it is bound to (any, when unbound) from any
interface: it is a listener whose port is that protocol number (`raw 0.0.0.0:112` for VRRP), and an
IPv6 one never accepts IPv4.  An SCTP endpoint bound to several addresses is one listener per
address.  An MPTCP listener is judged once, as mptcp (not also as its TCP subflow), so an
exception for protocol tcp does not reach it.  Listeners of protocols a policy's `protocols` leaves
out get one not_applicable finding that names them.  A transport the kernel does not have is a
not_applicable collection finding; one it has but that could not be read makes the rule not_reviewed.

Exceptions are tried in order and the first that matches decides.  A socket held by several
processes that differ (an allowed program handed a socket another made, or that inherited it) is
judged for each of them, each by the first rule that fits it, and passes only when it is allowed
for every one; the service manager (pid 1, holding the sockets of socket units) is left out when
another process holds the socket too.  A process name (comm) that is neither its executable's nor
its argv[0]'s, as exec gives it (the whole base name, or its first 15 bytes; a shorter prefix, or the
name in other letter case, is not), is one the process gave itself (prctl PR_SET_NAME): it matches a process exception
neither way, and the finding's subject (which waivers select by) names the process `? (comm
NAME, unproven)`, not NAME; one only its argv[0] gives, the executable being another file (run through a link of
that name, which any user can make), matches, and the message names the executable.  When an
exception that selects by process could decide, `observed.process_names` records each holder's
name, what proves it (`name_from`: executable, argv0, reported) and its exe and argv[0]; every
exception's `expected` entry records its `match`.  process and exe need the process
that holds the socket, which an unprivileged run may not see; user uses the socket owner the kernel
reports, which is visible without privileges.  When the owner is unknown, or the processes seen
holding the socket may not be all of them (some /proc/<pid>/fd could not be read), every exception
that might match is considered: if all candidate rules agree, that is the verdict, otherwise the listener is
not_reviewed with the reason the owner could not be identified.  Listeners declared by unit files
(offline --root mode) are judged the same way.  One finding per listener; a pass when none is found.

Windows and macOS listeners are judged by the same rules, read from each tool's notation: netstat
-ano's 0.0.0.0:P and [::]:P (TCP rows whose foreign address is 0.0.0.0:0 or [::]:0, and every UDP
row), lsof's *:P (0.0.0.0 on an IPv4 socket, :: on an IPv6 one) and [::1]:P; owners are the PIDs the
tool reports, named from tasklist or lsof.  Whether an IPv6 wildcard also accepts IPv4 is not
captured there, so :: is judged as dual-stack (fail closed).  lsof lists other users' sockets only
to root: a macOS listing captured as another user (id -u), or whose user is unknown, is incomplete,
and so is a listing cut off mid-line.

Every other network namespace (containers, `ip netns`, `unshare --net`) is judged too, one finding
per listener, its subject and id ending in `in netns N` (the ip netns name, else `container NAME`,
else `net:[INODE]`).  With scope `effective` (the default) its exposure decides: a namespace whose
only interfaces are loopback and veths into the host namespace keeps the listener inside (pass,
"reachable only inside namespace N"), unless the host forwards: a host interface that reaches beyond
it (physical, macvlan, ipvlan, any other kind but loopback, a veth whose other end is in no namespace
seen, as lbaudit's uplink in a container, or in a namespace that forwards what arrives on a link of
its own, a gateway container routed by the host; a bridge holding such a port)
with net.ipv4.conf.IFACE.forwarding on (net.ipv4.ip_forward sets every one; Docker and libvirt set
it), or net.ipv6.conf.all.forwarding for IPv6, lets a neighbour that routes the namespace's address
through the host reach it, unless the host's firewall drops what it forwards, which lbaudit does
not read (Docker before 28 let its published ports through to the container's own address).  The
namespace's addresses of that IP version (not loopback or link-local) are recorded in
`observed.exposure.if_forwarded`, and a listener that would pass but is not allowed at them is
not_reviewed naming the interface and the setting; so is one where that setting could not be read
(or a snapshot before format 1.5, which does not hold it).  So is one behind such a host interface that has a tc ingress
(or clsact) qdisc, a tcx ingress BPF link (Linux 6.6+, listed with the kernel's BPF links, which name
the interface by index alone: one of another namespace with the same index counts) or an XDP program
(what their filters and programs do is not read), or an nftables ingress chain (`netdev` or `inet`
family) of a table that holds a `fwd to` or `dup to` statement (read from the kernel over nfnetlink,
else from nft, whose JSON before 1.0.7 does not name the chain's device: then on every interface;
before, such a chain was not read and
the listener passed), or a chain of the `ip`, `ip6` or `inet` family hooked at prerouting whose
table holds `dup to` or an iptables-nft `-j TEE` (labelled "nft prerouting dup (ip TABLE CHAIN)":
nf_dup_ipv4 sends the copy out whatever the forwarding settings say; before, it was not read and a
UDP listener passed), or an iptables-legacy `-j TEE` in mangle PREROUTING or a chain of the
table's own (labelled "iptables-legacy prerouting TEE (ipv4 mangle PREROUTING)", read where a
legacy mangle table exists; one that could not be read leaves every link's hooks unknown; before,
it was not read and the listener passed): tc mirred, bpf_redirect, bpf_redirect_peer, XDP_REDIRECT (Cilium's and
Calico's eBPF data planes) and nftables' fwd hand what arrives there to the veth before IP
input, without the host forwarding it and past its FORWARD rules; and one where those could not be
listed (not root, or a snapshot before they were recorded).  A macvlan, ipvlan or physical interface (or any other kind,
or a veth to another namespace, judged as reaching beyond; or a veth into the host whose end there
is a port of a bridge, or Open vSwitch, that also holds a physical, macvlan, ipvlan or other link,
such as a VXLAN: LXC, LXD, libvirt and Proxmox bridge containers onto the LAN so, and the bridge
forwards the link's frames to them) makes it judged at every address of the
namespace that it accepts: Linux is a weak host and delivers a packet for an address of any of its
interfaces (a veth into the host, an address added to lo) whichever interface it arrives on, so a
neighbour on that link reaches them all; but not 127.0.0.0/8 and ::1 (judged by route_localnet) or
another interface's IPv6 link-local address.  A listener bound to an address no interface of the
namespace has is judged at that address too when the namespace has such a link: a local route
(AnyIP, `ip route add local 10.0.0.0/24 dev lo`) makes it the namespace's own and the kernel
delivers it from every link, or it is bound ahead of an address to come (IP_FREEBIND); behind a
veth the host forwards to it is among the addresses the host may forward to it.  A wildcard
listener is judged at the prefixes of the namespace's local routes too (RTN_LOCAL routes of a
table a policy rule looks up, snapshot format 1.8: `local 10.99.0.0/24 dev lo`, an address with a
prefix on lo, TPROXY's `local 0.0.0.0/0 dev lo table 100` once a rule, a firewall mark's included,
steers packets to table 100; `observed.exposure.addresses` holds them as `10.99.0.0/24`), from such a link
and, behind a veth the host forwards to, among the addresses the host may forward to it; where the
local routes were not read (their dump failed, a snapshot before format 1.8) it is not_reviewed
unless allowed at every address of its family (`observed.exposure.if_forwarded` holds `0.0.0.0` or
`::`).  A veth's other end is found by the id its namespace gives the peer's namespace
(IFLA_LINK_NETNSID, asked of each namespace found with RTM_GETNSID), never by interface index,
which each namespace numbers on its own: a veth whose peer is in a namespace lbaudit did not find
is judged as reaching beyond, and so is a veth into the host whose end there is a port of a bridge
that also holds such a veth, or a veth into a namespace that forwards (or may: not read) what
arrives on a link of its own reaching beyond, or bridges such a link with it (a VPN or macvlan
gateway container on a shared docker network: the bridge switches what it forwards to the
container without the host's forwarding), or whose interfaces could not be read; or whose host's
interfaces could not be read (whether its end is bridged onto a link beyond is then not known).  An outward interface that is DOWN
without an IPv6 link-local address gets one when it is brought up, so an IPv6 listener is judged
at `fe80::` (standing for it) too.  A UDP, UDP-Lite or raw listener on the wildcard of a family
(0.0.0.0, a dual-stack `::`) also takes what such a link sends to the limited broadcast
255.255.255.255 (delivered from any interface, whether or not it has an IPv4 address), to the
directed broadcast of each of the namespace's subnets, and to the multicast groups its links join
(224.0.0.1 and ff02::1 always; others as sockets join them, which lbaudit does not read), so it is
judged at `255.255.255.255`, those broadcast addresses, `224.0.0.0/4` and `ff00::/8` as well; TCP,
SCTP, DCCP and MPTCP take neither, nor does a socket bound to one address.  Interfaces that could not be
read make it judged as if on the host.
With scope `every_namespace` every listener is judged at its own address, as on the host.
Exceptions may also select by `namespace` (name, inode or "host"), `container`, `image`, `pod`
and `k8s_namespace`; the collector's own namespace is matched by a `namespace` glob through its
names (host, an ip netns name) only, and through its inode only when that is written out whole, so
`net:*`, `[0-9]*` or `4*`, written for other namespaces by their inodes, do not select the host's
listeners; a container known only by its cgroup (no name yet) matches neither way, so the
candidate rules decide as for an unknown owner.  In the host's own namespace (where containers run
with `--network host`) a container selector matches the container whose process holds the
listener, never another process of the host (a socket a container's process and a host process
both hold is judged for each, by the container each is in); in another namespace, which several containers may
share (a pod's app and sidecars, `--network container:NAME`), the containers whose processes hold
the listener when its holders are known (a sidecar's listener does not meet the app's exception);
one whose holders are not known is decided only where every container there says the same, and one
held only by processes in no container seen (one that entered the namespace) matches neither way.  A namespace that could not be entered is
not_reviewed; processes whose namespace could not be read make a not_reviewed discovery finding;
a snapshot without the netns section (older lbaudit) gets one not_reviewed finding that says so.
Since 1.21.0 a process: selector matches only a name the process cannot give itself: the whole base
name of its executable or its first 15 bytes (the kernel's comm), or an argv[0] title of that name
followed by ':' or a space; a prctl rename (python3.11 calling itself sshd) is unproven and not
reviewed.  A container:, image:, pod: or k8s_namespace: selector asks which container holds the
listener, each holder against its own container: another container of the namespace, a process
that entered it with nsenter, or a host process sharing the socket no longer passes under it.
Since 1.22.0 a vsock socket whose holder could not be asked (pidfd refused) is a gap on the listener
list, not only on namespace discovery; an engine's published HostIp that is no address is a gap for
that engine rather than an error of the whole check; and namespace discovery records a gap for every
tun device it could not ask (copy, pidfd or ioctl refused, or held only in an io_uring slot), asks a
holder whose main thread ended through a live thread, and knows a tun device by its device numbers; a bridge
listed as its own port (a snapshot that says so) is judged as reaching beyond the host instead of
ending the check in an error; and a descriptor or program on a file system the kernel does
not answer itself (FUSE, NFS, an overlay with such a layer) is never stat'ed (a silent server held the
collection for ever): a program there has an unproven exe, and a descriptor there that may be a tun
device is a discovery gap.
Since 1.23.0 a Windows or macOS bundle's listener output of more than 400,000 lines (every kind of line
end counted) is a gap on the listeners, not minutes of parsing and a gigabyte of memory.
Since 1.24.0 the remediation has a part for each platform it judges (On Linux: / On Windows: / On
macOS:), and every report shows the part of the platform its evidence records.  A wildcard listener
bound to lo is not_reviewed where a link of its namespace has an ingress hook (or its hooks were not
read): tc mirred or nftables' `fwd to "lo"` hands it what arrives on the link.  An nftables ingress
chain with `fwd`/`dup` counts among a link's hooks, and an nftables rewrite of the destination to
127.0.0.1 (`ip daddr set`, or its raw `@nh` form) is read as a forward, as a DNAT is.
In an image, a unit file is read as systemd reads it (a UTF-8 byte-order mark, escaped backslashes and a
backslash before a space, a continuation left open at the end, form feeds before a section, and
.include on systemd before 246); ListenStream= ports are
read as systemd reads them (0443 is octal: 291; 0x1bb and +443 are 443); the socket units the
user manager starts for every user (/etc/systemd/user and the other global user unit directories)
are listeners too; and a route_localnet the image's sysctl configuration sets makes 127.0.0.0/8
reachable from the interfaces it names (not_reviewed where that configuration could not be read).
Since 1.25.0 an image that has not booted yet (/etc/machine-id missing or "uninitialized") counts
the socket units its first boot enables by its presets (systemctl preset-all: every unit with an
[Install] section that no preset line disables first), and each user's own socket units
(~/.config/systemd/user, ~/.local/share/systemd/user of every home /etc/passwd names) count too.
Only the real loopback device counts as loopback (a tun or tap typed ARPHRD_LOOPBACK does not);
Docker's `! -i lo` drop closes a port published on 127.0.0.1 only while lo is the loopback (else
not_reviewed); a prerouting `dup` or `TEE` that mirrors packets to a container counts among the
hooks; each published-port disagreement names its port and the side that has it; and a DNAT in the
nat table's OUTPUT chain (which only the host's own traffic passes) is no published port.
Since 1.26.0 a port forwarded to 127.0.0.0/8 before the route lookup (`-j DNAT --to-destination 127.0.0.1:8080`)
is judged at its target where route_localnet is off on every interface (the kernel drops it as a
martian from every link: before, it failed as reachable everywhere), at the rule's addresses where
one has it on, and not_reviewed rather than failed where the setting could not be read.  A listener
bound to a device (SO_BINDTODEVICE) is no proxy of a published port: the port is judged on its own
(before, a root listener on 0.0.0.0 bound to lo stood for a port every link reaches, and passed).
An iptables-legacy `-j TEE` in mangle PREROUTING counts among the hooks, as nft's `dup` does.
""",
)
def net_bind_addresses(snapshot: HostSnapshot, params: BindAddressParams) -> list[Outcome]:
    default = _Rule("the default allow list", netaddr.address_set(params.allow))
    exceptions = [
        (exc, _Rule(f"exception {i}", netaddr.address_set(exc.allow), exc.reason, exc.match))
        for i, exc in enumerate(params.exceptions, start=1)
    ]
    netns = snapshot.facts.netns
    current = netns.current if netns is not None else None
    groups = _published.groups(snapshot)
    host_listeners = snapshot.facts.sockets.listeners if snapshot.facts.sockets is not None else None
    # A host listener that serves a published port (docker-proxy, rootlessport, ...) is the
    # container's exposure: judged with the container's selectors and named after it.
    served: dict[int, _published.Group] = {}
    by_port = _published.ListenersByPort(host_listeners or [])
    for group in groups:
        for i in by_port.serving(group):
            served.setdefault(i, group)
    namespace_gaps = _namespaces.gaps_by_namespace(snapshot)
    # the collector's own namespace is the first that says it is (NamespaceFacts.current)
    current_index = next((i for i, ns in enumerate(netns.namespaces) if ns.current), None) if netns is not None else None
    outcomes = _judge_snapshot(snapshot, params, default, exceptions, _place(current) if current else HOST,
                               served=served, tproxy=_tproxy_doubt(snapshot, current, current_index, namespace_gaps))
    outcomes += _published_outcomes(snapshot, params, default, exceptions, groups, set(served.values()),
                                    host_listeners or [])
    namespaces = tuple(snapshot.facts.netns.namespaces) if snapshot.facts.netns is not None else ()
    for index, ns in _namespaces.others(snapshot):
        inner = _namespaces.as_snapshot(snapshot, index, ns, namespace_gaps)
        judged = _judge_snapshot(inner, params, default, exceptions, _place(ns),
                                 None if params.scope == "every_namespace" else current,
                                 tproxy=_tproxy_doubt(snapshot, ns, index, namespace_gaps), namespaces=namespaces)
        outcomes += [_namespaces.rebase(outcome, index, ns) for outcome in judged]
    return outcomes + _namespaces.coverage(snapshot)


def _tproxy_doubt(snapshot: HostSnapshot, ns: NetNamespace | None, index: int | None,
                  namespace_gaps: Mapping[object, list[Gap]]) -> str | None:
    """Why a TPROXY rule may hand packets for any address to a transparent socket of namespace
    ``ns`` (None: the host's, undescribed), at ``index`` in ``facts.netns.namespaces``: its rules, or
    why they are unknown; None when it is known to have none.  ``namespace_gaps``:
    :func:`_namespaces.gaps_by_namespace` of the snapshot, read once for all its namespaces."""
    if ns is not None and ns.tproxy == []:
        return None
    if ns is not None and ns.tproxy:
        origins = sorted({rule.origin for rule in ns.tproxy})
        more = f" and {len(origins) - 3} more" if len(origins) > 3 else ""
        return f"its network namespace has TPROXY rules ({'; '.join(origins[:3])}{more})"
    if snapshot.facts.netns is None:
        why = "the netns section, which holds them, was not collected"
    elif ns is None:
        why = "the host's network namespace is not described in the netns section"
    elif snapshot.schema_version in TRANSPARENT_WHEN_SET_VERSIONS:
        why = f"a snapshot of format {snapshot.schema_version} does not hold them"
    else:
        why = _listeners.reasons([g for g in namespace_gaps.get(index, ())
                                  if g.path == ("namespaces", index, "tproxy")]) or "they were not read"
    return f"its network namespace's TPROXY rules are unknown ({why})"


# The protocols whose sockets an sk_lookup program hands packets whatever device they are bound to
# (SO_BINDTODEVICE): bpf_sk_assign checks a socket's protocol, family and state, not its device, and
# a UDP socket then receives the datagram.  A TCP (or MPTCP) listener is handed the SYN too, but its
# request socket inherits the listener's device, so the handshake's last ACK from a link finds none.
_STEERED_PAST_DEVICE = frozenset({"udp"})


@record
class _Doubt:
    """Why a listener's own address may not bound what reaches it (:func:`_transparency_doubts`)."""

    reason: str
    past_device: bool  # nor the device it is bound to: an sk_lookup program may steer a UDP socket
    # judged as transparent past its address (False: the device alone is in doubt, an ingress hook
    # that may hand what arrives on a link to the loopback device it is bound to)
    transparent: bool = True


def _transparency_doubts(snapshot: HostSnapshot, listeners: list[Listener], tproxy: str | None,
                         method: str | None) -> dict[int, _Doubt]:
    """The listeners (by index) whose IP_TRANSPARENT is unknown and could matter: a TCP, UDP or
    MPTCP one of a Linux host, in a namespace not known to be without TPROXY rules; and those an
    sk_lookup program may steer (a ``steered`` gap).  Each with why.
    ``method``: how the sockets of their namespace were collected, which says, in a snapshot of
    format 1.0 or 1.1, whether an unrecorded transparency is clear or unknown (:mod:`_transparency`)."""
    # A BPF sk_lookup program of the namespace (or one that may be there) steers connections to a
    # listener whatever it is bound to, transparent or not, TPROXY rules or not.
    steered: dict[int, list[str]] = {}
    for gap in snapshot.gaps_for("sockets", "listeners"):
        if len(gap.path) == 3 and isinstance(gap.path[1], int) and gap.path[2] == STEERED:
            steered.setdefault(gap.path[1], []).append(gap.reason)
    doubts = {i: _Doubt("; ".join(sorted(set(reasons))), i < len(listeners)
                        and listeners[i].protocol in _STEERED_PAST_DEVICE) for i, reasons in steered.items()}
    if tproxy is None or snapshot.facts.sockets is None or snapshot.facts.sockets.platform != "linux":
        return doubts
    why: dict[int, list[str]] = {}
    for gap in snapshot.gaps_for("sockets", "listeners"):
        if len(gap.path) == 3 and isinstance(gap.path[1], int) and gap.path[2] == "transparent":
            why.setdefault(gap.path[1], []).append(gap.reason)
    old = snapshot.schema_version in TRANSPARENT_WHEN_SET_VERSIONS
    for i, l in enumerate(listeners):
        if l.transparent is None and l.protocol in TPROXY_PROTOCOLS and i not in why:
            unread = _transparency.unread(snapshot, l, method) if old else "not recorded"
            if unread is not None:
                why[i] = [unread]
    return {i: _Doubt(f"whether it is transparent (IP_TRANSPARENT) is unknown ({'; '.join(sorted(set(why[i])))}), "
                      f"and {tproxy}: a TPROXY rule hands a transparent socket connections to any address", False)
            for i, l in enumerate(listeners)
            if l.transparent is None and l.protocol in TPROXY_PROTOCOLS and i in why} | doubts


def _doubt_args(doubt: _Doubt | None, listener: Listener, ns: NetNamespace | None, host: NetNamespace | None,
                params: BindAddressParams, namespaces: tuple[NetNamespace, ...]
                ) -> tuple[str | None, tuple[_namespaces.Exposure | None, bool] | None]:
    """:func:`_judge`'s ``transparency_doubt`` and ``past_device`` for ``doubt`` about ``listener``
    of namespace ``ns`` (None: the host's, judged at its addresses)."""
    if doubt is None:
        return None, None
    if not doubt.past_device or listener.interface is None:
        return doubt.reason, None
    return doubt.reason, (_exposure(copy_with(listener, {"interface": None}), ns, host, params, namespaces),
                          doubt.transparent)


def _judge_snapshot(snapshot: HostSnapshot, params: BindAddressParams, default: _Rule,
                    exceptions: list[tuple[BindException, _Rule]], place: _Place,
                    host: NetNamespace | None = None, served: dict[int, _published.Group] | None = None,
                    tproxy: str | None = None, namespaces: tuple[NetNamespace, ...] = ()) -> list[Outcome]:
    """The outcomes of the host's listeners (``place.namespace`` None or current), or of one other
    namespace's as :func:`_namespaces.as_snapshot` gives them: judged at their effective exposure
    unless ``params.scope`` is every_namespace.  ``host``: the collector's own namespace, where a veth
    into it may be bridged (:func:`_namespaces.exposure`), with ``namespaces``, every one described,
    where the bridge's other veths lead.  ``tproxy``: why TPROXY rules may hand its listeners
    packets for any address (:func:`_tproxy_doubt`)."""
    in_other = place.namespace is not None and not place.namespace.current
    sockets = snapshot.facts.sockets
    if sockets is None or sockets.listeners is None:
        return [missing_fact(snapshot, "sockets", "listeners", subject="listeners", what="the list of listening sockets")]
    judged = sorted(
        ((i, l) for i, l in enumerate(sockets.listeners) if l.protocol in params.protocols),
        key=lambda item: (
            item[1].protocol, item[1].port, item[1].family, item[1].address,
            [p.pid for p in item[1].processes], item[1].inode or 0, item[1].declared_by or "", item[0],
        ),
    )
    # Why a detail of an owning process (name, exe, user) is missing, and why the processes seen
    # holding a socket may not be all of them: the collector's gaps for it.
    detail_gaps: dict[int, list[str]] = {}
    holder_gaps: dict[int, list[str]] = {}
    for gap in snapshot.gaps_for("sockets", "listeners"):
        # ("listeners", 3, "processes", 0, "name"): a detail of a process; ("listeners", 3, "processes"): the holders
        if len(gap.path) >= 3 and isinstance(gap.path[1], int) and gap.path[2] == "processes":
            (detail_gaps if len(gap.path) > 3 else holder_gaps).setdefault(gap.path[1], []).append(gap.reason)
    served = served or {}
    served_places = {i: _place(group.namespace) for i, group in served.items() if group.namespace is not None}
    own_place = _held_place(place)
    # How this namespace's sockets were collected: the host's in the provenance, another's in its counts
    method = ((sockets.counts.method or None if sockets.counts is not None else None) if in_other
              else snapshot.provenance.methods.get("sockets"))
    doubts = _transparency_doubts(snapshot, sockets.listeners, tproxy, method)
    for i, l in judged:
        device_doubt = _listeners.loopback_device_doubt(l, place.namespace)
        if device_doubt is not None:
            earlier = doubts.get(i)
            doubts[i] = (_Doubt(device_doubt, True, transparent=False) if earlier is None
                         else _Doubt(f"{earlier.reason}; {device_doubt}", True))
    configured_localnet = () if in_other else _listeners.configured_localnet(snapshot)
    outcomes = [
        _as_published(_judge(l, f"/facts/sockets/listeners/{i}", sorted(set(detail_gaps.get(i, []))), default,
                             exceptions, sorted(set(holder_gaps.get(i, []))) if l.processes else [],
                             served_places.get(i, own_place),
                             _exposure(l, place.namespace, host, params, namespaces) if in_other else None,
                             place.namespace, *_doubt_args(doubts.get(i), l, place.namespace if in_other else None,
                                                           host, params, namespaces),
                             configured_localnet=configured_localnet),
                      served.get(i))
        for i, l in judged
    ]

    # Listeners of a protocol the policy leaves out are not judged, but are named: a list written
    # before a transport was collected must not make its listeners vanish from the report.
    unjudged = [l for l in sockets.listeners if l.protocol not in params.protocols]
    if unjudged:
        names = sorted({l.protocol for l in unjudged})
        outcomes.append(not_applicable(
            "listeners (protocols not judged)",
            f"{len(unjudged)} {' and '.join(names)} listener(s) not judged: the rule judges only "
            f"{', '.join(params.protocols)}: " + ", ".join(sorted(l.subject for l in unjudged)[:20])
            + (" ..." if len(unjudged) > 20 else ""),
            evidence=["/facts/sockets/listeners"],
        ))

    # Listeners the collector could not read at all (not one listener's owner) would otherwise be
    # silently absent from the verdict.
    incomplete, unreadable = _listeners.list_gaps(snapshot)
    if incomplete:
        reason = _listeners.reasons(incomplete)
        if unreadable:
            outcomes.append(not_reviewed("listeners (collection)", f"some listeners could not be read: {reason}", evidence=["/gaps"]))
        elif not in_other:  # a transport the kernel lacks is said once, for the host: the kernel is shared
            outcomes.append(not_applicable("listeners (collection)", reason, evidence=["/gaps"]))
    # (an image's list holds only what its socket units declare: that none is declared proves
    # nothing about the listeners its services open, so there is no pass, only the gap's finding)
    if not judged and not unreadable and not in_other and not _listeners.declared_only(snapshot):
        protocols = _listeners.either(list(params.protocols))
        outcomes.insert(
            0,
            passed(
                "listeners",
                f"no {protocols} listeners were found",
                observed={"listeners": 0, "protocols": list(params.protocols)},
                expected={"allow": list(params.allow)},
                evidence=["/facts/sockets/listeners"],
            ),
        )
    return outcomes


def _exposure(listener: Listener, ns: NetNamespace | None, host: NetNamespace | None,
              params: BindAddressParams, namespaces: tuple[NetNamespace, ...] = ()) -> _namespaces.Exposure | None:
    if ns is None:
        return None
    if params.scope == "every_namespace":
        return _namespaces.Exposure(None, f"in netns {ns.label}, judged as if on the host (scope every_namespace)")
    return _namespaces.exposure(listener, ns, host, namespaces)


def _as_published(outcome: Outcome, group: _published.Group | None) -> Outcome:
    """A host listener that serves a published port, named after the container it publishes."""
    if group is None:
        return outcome
    to = f"container {group.container}" if group.container else group.target
    return outcome.model_copy(update={
        "subject": f"{outcome.subject} (publishes {to})",
        "key": f"{outcome.key or outcome.subject} publishes {to}",
        "message": f"{outcome.message}; it serves {group.subject}",
        "subject_detail": {**outcome.subject_detail, "published_to": to, "container": group.container},
    })


def _range_probes(low: int, high: int, exceptions: list[tuple[BindException, _Rule]]) -> list[int]:
    """One port of each run of ``low``-``high`` that every exception's ports take whole or not at
    all: the range's first port and each port where an exception's span starts or ends."""
    probes = {low}
    for exception, _rule in exceptions:
        for span_low, span_high in map(_port_span, exception.match.ports or []):
            probes.update(port for port in (span_low, span_high + 1) if low < port <= high)
    return sorted(probes)


def _range_verdicts(per_probe: list[list[_Rule]], networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> set[bool]:
    """Whether the rules that may apply to each probe of a published range (:func:`_range_probes`)
    allow it at every one of ``networks``: {False} when some probe's rules all refuse, {True} when
    every probe's all allow, both when they disagree."""
    per_port = [{all(rule.allowed.covers(n) for n in networks) for rule in rules} for rules in per_probe]
    return {False} if {False} in per_port else {True} if all(v == {True} for v in per_port) else {True, False}


def _published_outcomes(snapshot: HostSnapshot, params: BindAddressParams, default: _Rule,
                        exceptions: list[tuple[BindException, _Rule]], groups: list[_published.Group],
                        served: set[_published.Group], host_listeners: list[Listener]) -> list[Outcome]:
    """Published ports no host listener serves (a DNAT rule alone, the engine with
    --userland-proxy=false): judged at their host address; and where the sources disagree."""
    netns = snapshot.facts.netns
    if netns is None:
        return []
    outcomes: list[Outcome] = []
    unread = [g for g in snapshot.gaps if g.section == "netns" and g.path[:1] == ("published",)]
    if netns.published is None or any(g.kind.value == "unreadable" for g in unread):
        reasons = "; ".join(sorted({g.reason for g in unread})) or "published ports were not collected"
        if not unread or any(g.kind.value == "unreadable" for g in unread):
            outcomes.append(not_reviewed("published ports", f"ports published to containers may be missing: {reasons}",
                                         evidence=["/facts/netns/published", "/gaps"]))
    for group in groups:
        loopback = _published.loopback_reach(snapshot, group)
        if loopback is not None and loopback.state == "closed":
            loopback = None
        if group in served and loopback is None:
            continue
        entry = group.entries[0]
        place = _place(group.namespace) if group.namespace else HOST
        reach = [ipaddress.ip_network(a, strict=False) for a in (loopback.reach if loopback is not None else ())]
        networks = [*group.networks, *reach]
        # forwarded to 127.0.0.0/8: what a link brings is a martian after the rewrite unless
        # route_localnet, so with it off everywhere the port is where its target is
        target = _published.loopback_target(snapshot, group)
        if target is not None and target.state == "dropped":
            loopback = None
            networks = [ipaddress.ip_network(entry.target_address or "", strict=False)]
        # Every port of a range is published (-p 8000-8100:8000-8100, a DNAT of --dport 8000:8100 or
        # of every port): asked about its first port alone, an exception for that one port passed
        # them all.  One probe for each run of ports the exceptions' ports treat alike.
        candidates: list[_Rule] = []
        per_probe: list[list[_Rule]] = []
        for port in _range_probes(group.low, group.high, exceptions):
            probe = Listener(protocol=entry.protocol, family="ipv6" if ":" in entry.host_address else "ipv4",
                             address=str(group.networks[0].network_address), port=port)
            rules = _candidate_rules(probe, default, exceptions, place=place)
            candidates += [rule for rule in rules if not any(rule is seen for seen in candidates)]
            per_probe.append(rules)
        verdicts = _range_verdicts(per_probe, networks)
        where = ", ".join(str(n) for n in networks)
        common = dict(
            key=group.subject.replace(f" {entry.target_address}:", " ") if group.container else group.subject,
            subject_detail={"protocol": group.protocol, "address": group.host_address, "port": group.low,
                            "port_end": group.high, "container": group.container, "target": entry.target_address,
                            "target_port": entry.target_port, "sources": group.sources},
            observed={"host_networks": [str(n) for n in group.networks], "sources": group.sources,
                      "origins": sorted(e.origin for e in group.entries), "listener_on_host": group in served,
                      **({} if loopback is None else {"loopback_dnat": {
                          "state": loopback.state, "why": loopback.why, "reachable_as": list(loopback.reach)}}),
                      **({} if target is None else {"loopback_target": {"state": target.state, "why": target.why}})},
            expected=[rule.expected() for rule in candidates],
            evidence=["/facts/netns/published", *(["/facts/netns/loopback_drops"] if loopback is not None else [])],
        )
        head = (f"{group.subject} is reachable at {where} "
                + ("beside the host listener that serves it " if group in served else "with no listener on the host ")
                + f"(forwarded by {' and '.join(group.sources)})")
        if target is not None and target.state == "dropped":
            head = f"{group.subject} is reachable at {where} alone: {target.why}"
        elif target is not None:
            head += f": {target.why}"
        if loopback is not None:
            head += f": {loopback.why}"
        if loopback is not None and loopback.state == "unknown" and verdicts == {True}:
            reason = f"it is allowed at {where}, but {loopback.why}"
            outcomes.append(not_reviewed(group.subject, reason, message=f"{group.subject}: not reviewed: {reason}",
                                         **common))
            continue
        if (target is not None and target.state == "unknown" and verdicts == {False}
                and _range_verdicts(per_probe, [ipaddress.ip_network(entry.target_address or "")]) != {False}):
            # fail closed, but not failed: with route_localnet off it reaches no link, and is allowed
            # (or may be) where its target is
            reason = f"it is not allowed at {where}, and {target.why}"
            outcomes.append(not_reviewed(group.subject, reason, message=f"{group.subject}: not reviewed: {reason}",
                                         **common))
            continue
        if len(verdicts) > 1:
            reason = "the container could not be identified, and the rules that could apply disagree"
            outcomes.append(not_reviewed(group.subject, reason, message=f"{head}; not reviewed: {reason}", **common))
            continue
        allowed = verdicts.pop()
        message = f"{head}, which is {'allowed' if allowed else 'not allowed'}: " + "; ".join(r.phrase() for r in candidates)
        outcomes.append((passed if allowed else failed)(group.subject, message, **common))
    for subject, problem in _published.disagreements(snapshot, groups, host_listeners):
        outcomes.append(failed(subject, problem, key=f"published disagree {problem}",
                               observed=problem, expected="the engine's published ports and the NAT rules agree",
                               evidence=["/facts/netns/published"]))
    return outcomes
