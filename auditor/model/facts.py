"""Host facts: what the collectors saw, where it came from, and what they could not see.

One model serves every source (live host, offline root directory, saved snapshot).  A fact that
could not be read is ``None`` *and* has a :class:`Gap` that says why; checks turn gaps into
``not_reviewed`` / ``not_applicable`` findings, never into passes.
"""

from __future__ import annotations

import ipaddress
import re
from enum import Enum
from functools import lru_cache
from typing import Any, Final, Literal, Union, get_args

from pydantic import Field, field_validator, model_validator

from auditor.model.base import (
    Count,
    Inode,
    Moment,
    Pid,
    StrictModel,
    Uid,
    canonical_sha256,
    construct_complete,
    empty_dict,
    empty_list,
    json_pointer,
    shared_fields_set,
    text_of_host,
)
from auditor.patterns import first_use

SNAPSHOT_SCHEMA: Final = "lbaudit/snapshot"
# 1.1: platform (linux, windows, macos) and their facts.  1.2: a listener's ``transparent`` is
# recorded clear (False) as well as set, None meaning unknown (1.0 and 1.1 recorded it only when set,
# so their None is clear or unknown); each namespace's TPROXY rules (``NetNamespace.tproxy``).
# 1.3: the drops that close a DNAT of 127.0.0.0/8 to packets from a link (``NamespaceFacts.loopback_drops``);
# the process the kernel's audit daemon pid names (``AuditFacts.auditd_process``).  1.4: the running
# net.ipv4.tcp_fastopen, in each namespace (auditor.domain.sysctl.RUNTIME_KEYS_BY_SNAPSHOT_VERSION).
# 1.5: whether each interface forwards IPv4 and IPv6 (``NetInterface.forwarding``, ``forwarding_ipv6``).
# 1.6: the processes holding an io_uring when kernel.io_uring_disabled is 2 (``IoUringState.holders``).
# 1.7: whether the kernel's x32 syscall ABI is usable (``AuditFacts.x32``).
# 1.8: each namespace's local routes (``NetNamespace.local_routes``: AnyIP prefixes), and a veth's
# peer paired by the id of the peer's namespace (IFLA_LINK_NETNSID), not by ifindex.
# 1.9: the audit daemon's ``stopped`` state (SIGSTOP, a debugger: 1.8 and earlier recorded such a
# daemon as running) and its arguments (``AuditDaemonProcess.args``), the command that starts it at
# boot (``AuditFacts.auditd_exec_start``), and local routes only of the tables a routing rule looks
# up (1.8 recorded every table's: read as they are, which can only fail more), and the Linux kernel's
# HZ (``SysctlFacts.kernel_hz``: earlier snapshots have none, and TIME_WAIT is judged at the
# coarsest HZ there, as it was).
# 1.10: the ingress hooks of each link (``NetInterface.ingress_hooks``: a tc, tcx or XDP program
# that may redirect a packet past IP forwarding); None before, which the check reads as unknown.
# 1.11: whether a published port's NAT rule rewrites before routing (``PublishedPort.before_routing``:
# a DNAT to 127.0.0.0/8 is then delivered only where route_localnet is on); None before, read as unknown.
SNAPSHOT_SCHEMA_VERSION: Final = "1.11"
# The versions whose listeners record IP_TRANSPARENT only when it is set (None: clear or unknown,
# which the rest of the file tells apart: auditor/checks/_transparency.py).
TRANSPARENT_WHEN_SET_VERSIONS: Final = ("1.0", "1.1")
# The versions that record neither the loopback drops nor the audit daemon's process (their None is
# "not recorded", not "unreadable").
NO_LOOPBACK_DROPS_VERSIONS: Final = ("1.0", "1.1", "1.2")
NO_AUDITD_PROCESS_VERSIONS: Final = NO_LOOPBACK_DROPS_VERSIONS
# The versions that do not record which processes hold an io_uring (``IoUringState.holders``).
NO_IO_URING_HOLDERS_VERSIONS: Final = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5")
# The versions that do not record whether the x32 ABI is usable (``AuditFacts.x32``).
NO_X32_VERSIONS: Final = (*NO_IO_URING_HOLDERS_VERSIONS, "1.6")

# The operating systems lbaudit judges.  A snapshot written before platforms existed is Linux's.
Platform = Literal["linux", "windows", "macos"]
PLATFORMS: tuple[str, ...] = get_args(Platform)
PLATFORM_NAMES: dict[str, str] = {"linux": "Linux", "windows": "Windows", "macos": "macOS"}

# The fact sections a check can declare in ``needs``, named once here (each is a field of ``Facts``;
# its collector is declared in ``auditor/collect/sections.py``).  Collectors only gather what
# enabled rules need.
Section = Literal["sockets", "sysctl", "audit", "netns"]
SECTIONS: tuple[str, ...] = get_args(Section)


class GapKind(str, Enum):
    UNREADABLE = "unreadable"  # the evidence exists but could not be read (permission, missing tool, error)
    NOT_APPLICABLE = "not_applicable"  # this source cannot have it (an offline image has no live sockets)


GapPath = tuple[Union[str, int], ...]
# A list index in a gap field: digits only, at most 9 (no section lists a billion entries).
_MAX_INDEX_DIGITS = 9


def _part(part: Any) -> Any:
    """A list index written as text ("3") is the index 3; every other part stays as it is."""
    if isinstance(part, str) and part.isascii() and part.isdigit() and len(part) <= _MAX_INDEX_DIGITS:
        return int(part)
    return part


def parse_gap_field(text: str) -> GapPath:
    """The structured path of a gap's ``field`` string: ``"listeners/3/processes"`` is
    ``("listeners", 3, "processes")``; ``""`` (the whole section) is ``()``.  How a gap written
    before gaps carried a path is read."""
    return tuple(_part(part) for part in text.split("/")) if text else ()


class Gap(StrictModel):
    """Something a collector could not see, and why.

    ``path`` says where inside the section, as parts: ``()`` for the whole section,
    ``("loaded_rules",)``, ``("listeners", 3, "processes")``, ``("runtime", "net.ipv4.tcp_fin_timeout")``.
    Checks read ``path``; ``field`` is the same path as one string (parts joined with ``/``), for
    people and for snapshots written before ``path`` existed.  Give either; when both are given
    they must agree."""

    section: Section
    field: str = ""
    path: GapPath = ()
    reason: str = Field(min_length=1)  # a finding made from the gap must say why
    kind: GapKind = GapKind.UNREADABLE

    @model_validator(mode="before")
    @classmethod
    def _field_and_path(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        # A reason names files, and a file of an image may be named in bytes that are not UTF-8:
        # such a byte is written as its escape (\xff) here, or the gap itself could not be made
        # and the whole section was lost as "collector failed: ValidationError".
        if isinstance(data.get("reason"), str):
            data["reason"] = text_of_host(data["reason"])
        if isinstance(data.get("path"), (list, tuple)):
            data["path"] = tuple(_part(part) for part in data["path"])  # one spelling of an index
            data.setdefault("field", "/".join(str(part) for part in data["path"]))
        elif "path" not in data and isinstance(data.get("field", ""), str):
            data["path"] = parse_gap_field(data.get("field", ""))
        return data

    @model_validator(mode="after")
    def _agree(self) -> "Gap":
        # A part holding "/" (a key) cannot be read back from the joined field; only then may the
        # two differ in how they split, never in what they say.
        joined = "/".join(str(part) for part in self.path)
        if self.path != parse_gap_field(self.field) and not (
                joined == self.field and any("/" in str(part) for part in self.path)):
            raise ValueError(f"path {list(self.path)!r} is not the field {self.field!r}")
        return self

    def under(self, *prefix: str | int) -> bool:
        """Is this gap about ``prefix`` or something inside it?  (``under()`` is every gap.)"""
        return self.path[:len(prefix)] == prefix


# The fields set of a gap given a section, a path and a reason (its validator adds the field).
_GAP_GIVEN = frozenset({"section", "path", "reason", "field"})


def _plain_part(part: object) -> bool:
    """Whether a path part is one validation keeps as it is and reads back from the joined field:
    an index (an int, never a bool), or a name that is neither digits nor holds a slash."""
    if type(part) is int:
        return part >= 0
    return type(part) is str and part != "" and "/" not in part and not (part.isascii() and part.isdigit())


# The last part of a listener's gap path (sockets, ("listeners", i, STEERED)): something may hand it
# connections sent to any address and port (a BPF sk_lookup program of its network namespace), so
# its address does not bound what reaches it.
STEERED = "steered"


def gap_at(section: str, path: tuple[str | int, ...], reason: str) -> Gap:
    """``Gap(section=section, path=path, reason=reason)``: the same model (fields, fields set,
    the reason's undecodable bytes escaped), built without pydantic's validation when lbaudit's own
    collector gives a known section, a path of indexes and plain names and a reason; anything
    else is validated as always.  A collector makes one gap a listener in bulk (other holders not
    seen, inside a PID namespace; transparency or v6only unknown): 5,000 validations, two Python
    validators each, were a twentieth of evaluating 5,000 listeners (issue 16)."""
    if section in SECTIONS and type(reason) is str and reason and _plain_path(path):
        return construct_complete(Gap, {"section": section, "field": "/".join(map(str, path)), "path": tuple(path),
                                        "reason": text_of_host(reason), "kind": GapKind.UNREADABLE},
                                  _GAP_GIVEN_SET, held=True)
    return Gap(section=section, path=path, reason=reason)


_GAP_GIVEN_SET = shared_fields_set(set(_GAP_GIVEN))
# Names found plain by _plain_part so far (a listener's gaps repeat "listeners" and "processes" 5,000
# times): each told by a set lookup instead of a call.  Exact str only (a subclass is asked again).
_PLAIN_NAMES: set[str] = set()
_PLAIN_NAMES_AT_MOST = 256


def _plain_path(path: tuple[object, ...]) -> bool:
    """``all(map(_plain_part, path))``, with names already found plain remembered: 34 K instructions
    a gap_at were 10 K of calls to _plain_part (issue 16)."""
    for part in path:
        kind = type(part)
        if kind is int:
            if part < 0:  # type: ignore[operator]
                return False
        elif not (kind is str and part in _PLAIN_NAMES):
            if not _plain_part(part):
                return False
            if len(_PLAIN_NAMES) < _PLAIN_NAMES_AT_MOST:
                _PLAIN_NAMES.add(part)  # type: ignore[arg-type]
    return True


# Every field of a gap, as gap_json writes them: a field added to Gap without being added here
# makes the writers and the facts digest fall back to pydantic's dump.
_GAP_FIELDS = ("section", "field", "path", "reason", "kind")


def gap_json(gap: Gap) -> dict[str, Any]:
    """``gap.model_dump(mode="json")``, built directly (every field is text but its kind and path)."""
    values = gap.__dict__
    return {"section": values["section"], "field": values["field"], "path": list(values["path"]),
            "reason": values["reason"], "kind": values["kind"].value}


# Host names that name no host: the one a collection records when it finds none (an offline root
# directory without /etc/hostname, auditor/collect/targets.py; a captured bundle without hostname.txt,
# collect/platforms/assemble.py), and the names every host has until it is given its own.
UNNAMED_HOSTNAMES: Final = frozenset({"", "unknown", "localhost", "localhost.localdomain"})
# A machine id as machine-id(5) defines it: 32 hexadecimal characters.  An image not booted yet holds
# "uninitialized" (or nothing) in /etc/machine-id, which every such image shares.
_MACHINE_ID = re.compile(r"[0-9a-fA-F]{32}")


def own_machine_id(machine_id: str | None) -> str | None:
    """``machine_id`` when it is one machine's (machine-id(5): 32 hexadecimal digits, not all zeros),
    else None: "uninitialized", which every unbooted image holds, and whatever else an image's
    /etc/machine-id says that is no id, tell no two machines apart."""
    if machine_id is not None and _MACHINE_ID.fullmatch(machine_id) and machine_id.strip("0"):
        return machine_id
    return None


def names_its_host(hostname: str, machine_id: str | None) -> bool:
    """Whether a scan names the host it is of: a machine id of its own, or a host name of its own.
    Two images without either (most container images) both read "unknown (machine id unknown)", or
    "localhost (machine id uninitialized)": one host to whatever compared or keyed them by those."""
    return own_machine_id(machine_id) is not None or hostname.strip().lower() not in UNNAMED_HOSTNAMES


class Provenance(StrictModel):
    # "replay": raw outputs captured on a host (lbaudit capture) and parsed by this run
    source: Literal["live", "root", "snapshot", "replay"]
    source_detail: str | None = None  # root directory, bundle directory or snapshot path
    source_sha256: str | None = None  # of the snapshot file, when evaluated from one
    # Whether the snapshot's facts can be trusted (set on loading, whatever the file says):
    # "verified" (its .sig holds for --snapshot-pubkey, whose fingerprint is source_signature_key),
    # "not_checked" (a .sig lies beside it but no key was given), "unsigned" (no .sig); None when
    # the facts were collected by this run (live or root), not read from a file.
    source_signature: Literal["verified", "not_checked", "unsigned"] | None = None
    source_signature_key: str | None = None
    hostname: str
    machine_id: str | None = None
    os: str | None = None  # PRETTY_NAME from os-release
    kernel: str | None = None
    arch: str | None = None  # uname -m
    # The operating system the facts describe, and its build (Windows "10.0.20348.2340", macOS
    # sw_vers BuildVersion "23A344"); snapshots written before platforms are Linux's.
    platform: Platform = "linux"
    os_build: str | None = None
    collected_at: Moment
    effective_uid: Uid | None = None
    effective_user: str | None = None
    privileged: bool = False
    tool: str = "lbaudit"
    tool_version: str
    methods: dict[str, str] = Field(default_factory=empty_dict)  # section -> how it was collected
    # Whether process arguments are recorded (--record-cmdline).  Without, a process has only its
    # executable, argv[0] and the SHA-256 of its command line: arguments carry credentials.
    cmdline_recorded: bool = False
    # The target the facts were acquired from (auditor.collect.targets): its kind, and its id (the
    # directory read for local and root, the file for snapshot).  None in files written before targets.
    target_kind: Literal["local", "root", "snapshot", "replay"] | None = None
    target_id: str | None = None
    # For facts read from a snapshot file: what that file's facts were collected from (its own
    # source: a running host, an offline root directory, a captured bundle), which loading it
    # replaces with "snapshot".  Without it, a snapshot of an image judged later looked like a
    # running host's.  None for facts collected by this run and for files that do not say.
    collected_from: Literal["live", "root", "replay"] | None = Field(None, exclude_if=lambda value: value is None)

    @property
    def facts_trust(self) -> str:
        """One line on where the facts came from and whether they can be trusted, for every report."""
        if self.source == "replay":
            return (f"parsed by this run from outputs captured on a {PLATFORM_NAMES[self.platform]} host "
                    "(a bundle is not signed: its files are as trustworthy as whoever handed them over)")
        if self.source != "snapshot":
            return f"collected by this run ({'live host' if self.source == 'live' else 'offline root directory'})"
        digest = f" (SHA-256 {self.source_sha256})" if self.source_sha256 else ""
        of = {"root": " of an offline root directory (an image, not a running host)",
              "replay": " of a captured bundle"}.get(self.collected_from or "", "")
        if self.source_signature == "verified":
            return f"verified snapshot{of}{digest}: signature by key {self.source_signature_key}"
        reason = {"not_checked": "its signature was not checked (no --snapshot-pubkey)",
                  "unsigned": "it is not signed"}.get(self.source_signature or "", "its signature state is unknown")
        return f"unverified snapshot{of}{digest}: {reason}"


# ---------------------------------------------------------------- sockets

class ProcessInfo(StrictModel):
    pid: Pid
    name: str | None = None
    exe: str | None = None
    user: str | None = None
    argv0: str | None = None
    cmdline_sha256: str | None = None  # of every argument NUL-terminated: the bytes of /proc/PID/cmdline
    cmdline: list[str] | None = None  # the arguments, only with --record-cmdline (they carry credentials)

    @property
    def label(self) -> str:
        """How subjects name the process: its name when it is proven (:func:`own_name`), ``?``
        when it is unknown, and ``? (comm NAME, unproven)`` when neither its executable nor its
        argv[0] gives it (one it gave itself, or a script's run through its ``#!`` line).  A waiver
        selects failures by a glob over their subject and a finding's id is made from it: a process
        that renamed itself (prctl PR_SET_NAME) to the name of the program a waiver was written for
        (``tcp 0.0.0.0:8080 myapp pid *``) got that program's waiver and its id."""
        if self.name is None:
            return "?"
        word = subject_word(self.name)
        return word if name_origin(self) is not None else UNPROVEN_NAME.format(word)


# What a process name cannot hold as it stands in a subject: the space, which separates a subject's
# words, ":", which ends its address and starts its port, and "\\", which starts an escape.  The name
# is whatever named the link the program was run through or the process called itself (prctl
# PR_SET_NAME), and written as it stood it spelt the words around it: "x:8080" on port 40000 gave
# "tcp 0.0.0.0:40000 x:8080 pid 9", which "tcp *:8080 *" (whatever holds port 8080) waived, and
# "a in netns b" a listener of the host that "... in netns *" (the containers') waived.  Other
# characters are the renderers' to show (a tab or a line break is no word of a subject).
_NOT_IN_A_WORD = first_use(r"[ :\\]")


def subject_word(name: str) -> str:
    """``name`` as one word of a subject: its spaces, ``:`` and ``\\`` as escapes (``\\x20``,
    ``\\x3a``, ``\\x5c``), so that a glob over the subject matches an address, a port or the
    subject's words only where the subject has them, never in the name."""
    if _NOT_IN_A_WORD().search(name) is None:
        return name
    return _NOT_IN_A_WORD().sub(lambda found: f"\\x{ord(found.group()):02x}", name)


NameOrigin = Literal["executable", "argv0", "reported"]
COMM_LENGTH = 15  # what the kernel keeps of a name (TASK_COMM_LEN less its NUL): what ss and ps show
UNPROVEN_NAME = "? (comm {}, unproven)"  # how a subject shows a name neither exe nor argv[0] gives


# A Windows path (a drive or a share): its file system ignores case, so its names are compared
# without it.  Only there: a Linux file name is bytes, and exec names a process byte for byte.
_WINDOWS_PATH = first_use(r"[A-Za-z]:\\|\\\\")


def _gives(base: str, name: str) -> bool:
    """Whether a file named ``base`` run by exec gets the name ``name``: its whole base name, or
    its first 15 bytes, which the kernel keeps as the comm.  Never a shorter prefix: a name that
    is one is one the process gave itself (prctl PR_SET_NAME).  The kernel counts bytes: a comm
    of 15 holds fewer characters where some take more than one byte in UTF-8."""
    return base == name or (len(name.encode("utf-8", "surrogateescape")) == COMM_LENGTH and base.startswith(name))


def _leads(text: str, name: str) -> bool:
    """Whether ``text``, a title a program wrote over its argv[0] (``nginx: worker process``,
    ``/usr/sbin/apache2 -k start``), is led by ``name`` as a word: followed by ":" or a space."""
    return text.startswith(name) and text[len(name):len(name) + 1] in (":", " ")


def _names(name: str, text: str, title: bool) -> bool:
    """Whether ``text`` (an executable's path, or with ``title`` an argv[0]) names ``name`` as
    exec does."""
    if _WINDOWS_PATH().match(text):
        text, name = text.casefold().replace("\\", "/"), name.casefold()
    base = text.removesuffix(" (deleted)").rpartition("/")[2]
    return _gives(base, name) or (title and (_leads(text, name) or _leads(base, name)))


def name_origin(process: ProcessInfo) -> NameOrigin | None:
    """What proves the process's name (:func:`own_name`): "executable", the file it runs has that
    name; "argv0", only its argv[0] has it, the executable being another file (run through a link
    of that name, busybox's applets, or a name the caller of exec chose: any user can run any
    program so named); "reported", neither is known; None: not proven."""
    return _name_origin(process.name, process.exe, process.argv0)


@lru_cache(maxsize=4096)
def _name_origin(name: str | None, exe: str | None, argv0: str | None) -> NameOrigin | None:
    # Remembered: a listener's subject and identity name its holder, and each check asks for both
    # (four times a listener; a host's listeners share few holders).
    if name is None:
        return None
    if not exe and not argv0:
        return "reported"
    if exe and _names(name, exe, title=False):
        return "executable"
    if argv0 and _names(name, argv0, title=True):
        return "argv0"
    return None


def own_name(process: ProcessInfo) -> str | None:
    """The process's name when it is the one exec gave it, else None (not proven).

    exec names a process after the file it ran (the first 15 bytes of its base name: comm), but
    the process may rename itself (prctl PR_SET_NAME, a thread's comm): a name that is neither
    its executable's nor its argv[0]'s is one it gave itself, and proves nothing about what it
    is.  With neither known, the name is taken as the kernel reports it."""
    return process.name if name_origin(process) is not None else None


# Every transport whose sockets can listen, as the collectors name them.  Connection-oriented
# ones listen (TCP, SCTP, DCCP, MPTCP); datagram ones receive once bound (UDP, UDP-Lite); so do raw
# sockets, every packet of their IP protocol, which is what their "port" is (ss: 0.0.0.0:ipproto-253).
Protocol = Literal["tcp", "udp", "udplite", "sctp", "dccp", "mptcp", "raw"]
PROTOCOLS: tuple[str, ...] = get_args(Protocol)
DATAGRAM_PROTOCOLS: tuple[str, ...] = ("udp", "udplite")
# Whose port is no port: an ephemeral port range cannot hold them.
PORTLESS_PROTOCOLS: tuple[str, ...] = ("raw",)


@lru_cache(maxsize=4096)
def _address_problem(address: str, family: str) -> str | None:
    """Why ``address`` is not an address of ``family`` ("ipv4", "ipv6"), or None.  Remembered: a
    host's listeners share a few addresses (0.0.0.0, ::), and pydantic runs a model's after-validator
    again on each instance a containing model is validated with (reading 5,000 listeners parsed
    10,000 addresses)."""
    host, zone, scope = address.partition("%")
    try:
        parsed = ipaddress.ip_address(host)
    except ValueError:
        return f"address {address!r} is not an IPv4 or IPv6 address"
    expected = 4 if family == "ipv4" else 6
    if parsed.version != expected or (zone and (expected == 4 or not scope)):
        return f"address {address!r} is not an {family} address"
    return None


class Listener(StrictModel):
    """A listening socket (TCP, SCTP, DCCP, MPTCP) or a bound, unconnected UDP, UDP-Lite or raw socket
    (whose port is the IP protocol it receives)."""

    protocol: Protocol
    family: Literal["ipv4", "ipv6"]
    address: str  # as the kernel holds it, compressed: "0.0.0.0", "::", "::ffff:127.0.0.1", "fe80::1"
    port: int = Field(ge=0, le=65535)
    v6only: bool | None = None  # IPV6_V6ONLY of an IPv6 socket; None when it could not be read
    interface: str | None = None  # SO_BINDTODEVICE, when set
    uid: Uid | None = None  # socket owner uid as the kernel reports it (visible without privileges)
    user: str | None = None
    inode: Inode | None = None
    processes: list[ProcessInfo] = Field(default_factory=empty_list)  # every process holding the socket, by pid
    owner_reason: str | None = None  # why ``processes`` is empty
    declared_by: str | None = None  # offline mode: the unit file that declares this listener
    # IP_TRANSPARENT (IPV6_TRANSPARENT) set: TPROXY rules can hand it connections to any address.
    # True set, False clear, None unknown: the kernel reports it from Linux 5.10 (INET_DIAG_SOCKOPT,
    # through netlink), /proc/net never; a gap on ("listeners", i, "transparent") says why.
    transparent: bool | None = None

    @model_validator(mode="after")
    def _address_of_its_family(self) -> "Listener":
        # The checks compute on the address as a network: one that is not an IP of the stated
        # family would make them raise, or judge a different socket from the one listed.
        problem = _address_problem(self.address, self.family)
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def endpoint(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    @property
    def identity(self) -> str:
        """What stays the same across restarts: protocol, endpoint and program, not the pid."""
        owner = self.processes[0].label if self.processes else (self.declared_by or "owner unknown")
        return f"{self.protocol} {self.endpoint} {owner}"

    @property
    def subject(self) -> str:
        """Human label used in findings: ``tcp 0.0.0.0:5432 postgres pid 812``."""
        text = f"{self.protocol} {self.endpoint}"
        if self.processes:
            proc = self.processes[0]
            text += f" {proc.label} pid {proc.pid}"
            if len(self.processes) > 1:
                text += f" (+{len(self.processes) - 1} more)"
        elif self.declared_by:
            text += f" declared by {self.declared_by}"
        else:
            text += " owner unknown"
        return text


# The fields a collector gives a listener it read from the socket tables (collect.sockets).
_LISTENER_OF_ROW = ("protocol", "family", "address", "port", "v6only", "interface", "uid", "user", "inode",
                    "transparent")


def listener_of_row(protocol: str, family: str, address: str, port: int, v6only: bool | None,
                    interface: str | None, uid: int | None, user: str | None, inode: int | None,
                    transparent: bool | None) -> Listener:
    """``Listener(protocol=..., family=..., ...)`` of these ten fields: the same model, built
    without pydantic's validation when each value is of its field's type and range and the address
    is one of its family (what validation checks), else validated as always.  The collector makes
    one a socket from what it parsed (issue 16: 5,000 validations were a thirtieth of evaluating
    5,000 listeners)."""
    if (protocol in PROTOCOLS and (family == "ipv4" or family == "ipv6") and type(address) is str
            and type(port) is int and 0 <= port <= 65535 and (v6only is None or type(v6only) is bool)
            and (interface is None or type(interface) is str) and (uid is None or type(uid) is int and 0 <= uid <= 2**32 - 1)
            and (user is None or type(user) is str) and (inode is None or type(inode) is int and 0 <= inode <= 2**64 - 1)
            and (transparent is None or type(transparent) is bool) and _address_problem(address, family) is None):
        return construct_complete(Listener, {
            "protocol": protocol, "family": family, "address": address, "port": port, "v6only": v6only,
            "interface": interface, "uid": uid, "user": user, "inode": inode, "processes": [], "owner_reason": None,
            "declared_by": None, "transparent": transparent,
        }, shared_fields_set(set(_LISTENER_OF_ROW)))
    return Listener(protocol=protocol, family=family, address=address, port=port, v6only=v6only,
                    interface=interface, uid=uid, user=user, inode=inode, transparent=transparent)


class SocketCounts(StrictModel):
    """Counts by TCP state, from kernel counters so that their cost does not grow with the number
    of sockets: TIME_WAIT (sockstat ``tw``), ESTABLISHED+CLOSE_WAIT (snmp ``CurrEstab``), LISTEN."""

    time_wait: Count
    tcp_by_state: dict[str, Count] = Field(default_factory=empty_dict)  # TIME_WAIT, ESTABLISHED+CLOSE_WAIT, LISTEN
    udp_sockets: Count | None = None
    method: str = ""


class SocketFacts(StrictModel):
    platform: Platform = "linux"  # whose notation the listeners were read from (/proc, netstat, lsof, psutil)
    listeners: list[Listener] | None = None
    counts: SocketCounts | None = None


# ---------------------------------------------------------------- sysctl

class SysctlSetting(StrictModel):
    value: str
    origin: str  # "/proc/sys/net/ipv4/ip_local_port_range" or "/etc/sysctl.d/99-x.conf:3"


class PortSpan(StrictModel):
    """Ports ``first`` to ``last``, both included."""

    first: int = Field(ge=1, le=65535)
    last: int = Field(ge=1, le=65535)

    @model_validator(mode="after")
    def _first_to_last(self) -> "PortSpan":
        # netsh lists each exclusion first port to last; a reversed span counted as excluding no
        # port, so an exclusion of a whole range (written backwards) passed the pool minimum.
        if self.first > self.last:
            raise ValueError(f"{self.first}-{self.last} runs backwards: an excluded span names its first port, "
                             "then its last")
        return self


# The least start port and number of ports ``netsh int ipv4|ipv6 set dynamicport`` accepts (KB 929851:
# "The minimum range of ports that can be set is 255. The minimum start port that can be set is 1025").
DYNAMIC_PORT_START_MIN = 1025
DYNAMIC_PORT_COUNT_MIN = 255


class DynamicPortRange(StrictModel):
    """Windows keeps one dynamic (ephemeral) port range per protocol and IP family
    (``netsh int ipv4 show dynamicport tcp``): ``start`` and ``count`` ports from there."""

    protocol: Literal["tcp", "udp"]
    family: Literal["ipv4", "ipv6"]
    start: int = Field(ge=1, le=65535)
    count: int = Field(ge=1, le=65535)
    origin: str
    # ``netsh int ipv4|ipv6 show excludedportrange protocol=tcp|udp``: (first, last) port spans the
    # stack never hands out (Hyper-V, WSL and Docker reserve blocks inside the dynamic range), []
    # when there are none; None when they could not be read (the pool's size is then unknown).
    excluded: list[PortSpan] | None = None

    @model_validator(mode="after")
    def _inside_port_space(self) -> "DynamicPortRange":
        if self.start + self.count - 1 > 65535:
            raise ValueError(f"{self.count} ports from {self.start} run past 65535")
        # No Windows runs such a range, so a snapshot naming one was not collected from a host:
        # judged as written, start 1 with 65,535 ports passed the minimum the real range fails.
        if self.start < DYNAMIC_PORT_START_MIN:
            raise ValueError(f"start port {self.start} is below {DYNAMIC_PORT_START_MIN}: netsh accepts no such range "
                             "(KB 929851), so no Windows host runs it")
        if self.count < DYNAMIC_PORT_COUNT_MIN:
            raise ValueError(f"{self.count} ports are fewer than {DYNAMIC_PORT_COUNT_MIN}: netsh accepts no such range "
                             "(KB 929851), so no Windows host runs it")
        return self

    @property
    def high(self) -> int:
        return self.start + self.count - 1


# The HZ values Kconfig offers on any architecture: kernel/Kconfig.hz (100, 250, 300, 1000), and
# the arch-specific choices of arm (200, 500), mips (24, 48, 128, 256, 1024) and alpha (32, 64,
# 1024, 1200).  auditor.domain.tcp_timewait derives each one's TIME_WAIT hold.
KCONFIG_HZ = (24, 32, 48, 64, 100, 128, 200, 250, 256, 300, 500, 1000, 1024, 1200)


class KernelHz(StrictModel):
    """The HZ the Linux kernel was built with (its CONFIG_HZ), which sets how late its timer wheel
    may end TIME_WAIT (:mod:`auditor.domain.tcp_timewait`).  ``hz`` None: not known, and
    ``source`` says why; a check then counts the coarsest HZ, which can only overstate the hold, so
    an unknown HZ is not a gap."""

    hz: int | None
    # where it was read ("/proc/config.gz: CONFIG_HZ=250", "/boot/config-6.1.0-18-amd64:
    # CONFIG_HZ=1000"), or why it is not known ("/boot holds 2 kernel configurations with different HZ")
    source: str = Field(min_length=1)

    @field_validator("hz")
    @classmethod
    def _an_hz_kconfig_offers(cls, value: int | None) -> int | None:
        if value is not None and value not in KCONFIG_HZ:
            raise ValueError(f"{value} is not an HZ Kconfig offers ({', '.join(map(str, KCONFIG_HZ))})")
        return value


class SysctlFacts(StrictModel):
    """Running values (``runtime``) and what the boot sets (``persistent``): the configuration
    files' keys as written (a glob such as ``net.ipv4.tcp_tw_re*`` and an exclusion ``-key`` among
    them: auditor.domain.sysctl.configured_setting expands them), and on a running host the
    ``sysctl.*`` parameters of the kernel command line, origin ``/proc/cmdline``, which a file glob
    overrides; snapshots collected before lbaudit read the command line hold none of those.  A running
    value has the kernel's separators (spaces, tabs, newlines) collapsed to one space; a configured
    value is kept as the boot tool writes it to /proc/sys (only the white space that tool strips is
    removed from its ends), because the kernel refuses other white space after a number
    (``30\v60``, ``32768<U+00A0>60999``).  Snapshots written before this rule (formats 1.0 to 1.2
    by earlier collectors) hold configured values with every run of white space collapsed: such a
    value is judged as it reads, so a separator the kernel refuses that it hid (a no-break space
    pasted between the two ends of a range) is not seen there; collect again to judge it.

    On macOS ``runtime`` holds the sysctls of the same meaning (``net.inet.ip.portrange.first``,
    ``net.inet.tcp.msl``); on Windows the TCP/IP registry values (``TcpTimedWaitDelay``,
    ``MaxUserPort``: a value that is not set is absent, the OS default applies) and the dynamic
    port ranges, one per protocol and family, in ``dynamic_ports``."""

    platform: Platform = "linux"
    dynamic_ports: list[DynamicPortRange] | None = None  # Windows only
    runtime: dict[str, SysctlSetting] | None = None
    persistent: dict[str, SysctlSetting] | None = None
    # Linux only: the kernel's HZ (live: the running kernel's configuration; offline: the image's
    # kernel's); None: not read (another OS, or a snapshot written before format 1.9)
    kernel_hz: KernelHz | None = Field(None, exclude_if=lambda value: value is None)

    @model_validator(mode="after")
    def _hz_is_linux(self) -> "SysctlFacts":
        # Windows and macOS keep TIME_WAIT lengths of their own (TcpTimedWaitDelay, 2 x MSL): an HZ
        # there would be judged by nothing, so a snapshot that claims one is not what lbaudit wrote
        if self.kernel_hz is not None and self.platform != "linux":
            raise ValueError(f"kernel_hz is the Linux kernel's CONFIG_HZ; a {PLATFORM_NAMES[self.platform]} host has none")
        return self

    def effective(self, key: str) -> SysctlSetting | None:
        """The value that governs the host: the running one when known, else the one configured under
        this very name (plugins use it; the built-in checks go through auditor.checks._sysctl.lookup,
        which also sees a glob key such as net.ipv4.tcp_tw_* and a command-line value a glob overrides)."""
        if self.runtime is not None:
            return self.runtime.get(key)
        if self.persistent is not None:
            return self.persistent.get(key)
        return None


# ---------------------------------------------------------------- audit

class AuditField(StrictModel):
    name: str  # auid, uid, a0, success, exit, ...
    op: Literal["=", "!=", "<", ">", "<=", ">=", "&", "&="]
    value: str


class AuditRule(StrictModel):
    text: str  # the rule as written or printed
    origin: str  # "/etc/audit/rules.d/30-net.rules:4" or "auditctl -l:2"
    kind: Literal["syscall", "watch", "control"]
    action: Literal["always", "never"] | None = None
    rule_list: Literal["exit", "entry", "task", "user", "exclude", "filesystem", "io_uring"] | None = None
    arch: Literal["b64", "b32"] | None = None
    arch_machine: str | None = None  # libaudit's machine of that -F arch= (x86_64, x86, aarch64, ...)
    syscalls: list[str] = Field(default_factory=empty_list)  # names; ["all"] for -S all
    # The syscall table (libaudit's: x86_64, i386, aarch64, arm, ppc, s390x, s390) the -S names
    # were looked up in, and the numbers the kernel's bitmask holds; None when not known.  A rule
    # without -F arch matches these numbers on every ABI of the host.
    syscall_table: str | None = None
    syscall_numbers: list[int] | None = None
    fields: list[AuditField] = Field(default_factory=empty_list)  # filters, without arch and key
    keys: list[str] = Field(default_factory=empty_list)
    watch: str | None = None
    permissions: str | None = None


class AuditSubcategory(StrictModel):
    """One row of ``auditpol /backup``: the subcategory GUID (upper case, braced), its localised
    name, and the numeric Setting Value (0 none, 1 success, 2 failure, 3 both, 4 none explicitly)."""

    guid: str = Field(pattern=r"^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$")
    name: str = ""
    setting_value: int = Field(ge=0, le=4)


class WindowsAuditPolicy(StrictModel):
    subcategories: list[AuditSubcategory]
    origin: str  # "auditpol-backup.csv" or "auditpol /backup"


class MacosAuditUser(StrictModel):
    """One entry of /etc/security/audit_user that libbsm reaches: classes added to (``always``) and
    taken from (``never``) the flags: mask of this user's login sessions."""

    name: str
    always: list[str]
    never: list[str]


class MacosAudit(StrictModel):
    """audit(4) on macOS: whether auditd is loaded (``launchctl print system/com.apple.auditd``), whether
    the kernel audits (``audit -c``) and which classes ``/etc/security/audit_control`` audits."""

    auditd_loaded: bool | None = None  # None: launchctl's answer could not be read
    launchctl_exit: int | None = None
    # Whether the kernel audits (``audit -c``): True it exited 0; False it exited non-zero and printed
    # nothing; None: not read, or it printed something else (a gap says which), or a snapshot written
    # before lbaudit asked.  launchd starts auditd on demand and auditd exits when idle with the kernel
    # still auditing, so "loaded" alone does not say it.
    kernel_auditing: bool | None = None
    audit_condition_exit: int | None = None
    audit_control_present: bool | None = None  # False: the file does not exist (the bundle holds no copy)
    flags: list[str] | None = None  # the classes of the flags: line, as written ("lo", "+nt", "^-fr")
    # the classes of the naflags: line (events of processes no login is attributed to: launchd's
    # daemons); [] when the line is absent or empty; None: not read (or a snapshot written before
    # lbaudit recorded it)
    naflags: list[str] | None = None
    # the entries of /etc/security/audit_user libbsm reaches ([] when the file is absent); None: not
    # read (a gap says why) or a snapshot written before lbaudit read it
    audit_user: list[MacosAuditUser] | None = None
    origin: str = ""


class AuditdConfig(StrictModel):
    """What /etc/audit/auditd.conf makes auditd do with the records the kernel sends (auditd 3.x)."""

    origin: str  # the file read
    exists: bool  # False: no file, auditd runs on its defaults
    local_events: bool = True  # False: auditd does not take the kernel's records at all (an aggregator)
    write_logs: bool = True  # False (or log_format = NOLOG): no record is written to the log file
    log_format: str = "enriched"
    log_file: str = "/var/log/audit/audit.log"
    # max_log_file_action, space_left_action, admin_space_left_action, disk_full_action,
    # disk_error_action: the action word, lower case, default filled in
    actions: dict[str, str] = Field(default_factory=empty_dict)
    refused: bool = False  # a line auditd refuses: it does not start with this file


class IoUringHolder(StrictModel):
    """A process holding an io_uring instance: its descriptors and mappings of ``anon_inode:[io_uring]``."""

    pid: int = Field(ge=1)
    name: str = ""  # its comm, as /proc/PID/comm gives it
    fds: list[str] = Field(default_factory=empty_list)  # "7", or "task/TID/fd/7" for a thread's own table
    # its mappings of a ring ("7f56e3645000-7f56e3646000" in /proc/PID/maps): a ring whose
    # descriptor was closed stays usable through them (SQPOLL, or a registered ring descriptor)
    mappings: list[str] = Field(default_factory=empty_list)


class IoUringState(StrictModel):
    """io_uring on the running kernel: a process can bind, listen, connect and accept through its
    operations (IORING_OP_ACCEPT, _CONNECT since Linux 5.5, _BIND, _LISTEN since 6.11) without
    making those syscalls, so syscall rules do not record them; the io_uring audit filter does."""

    # False: the kernel is built without io_uring (CONFIG_IO_URING off); None: not told
    present: bool | None = None
    # kernel.io_uring_disabled (Linux 6.6+): 0 every process, 1 only members of kernel.io_uring_group
    # and CAP_SYS_ADMIN, 2 no process; None: the sysctl does not exist (older kernel) or was not read
    disabled: Literal[0, 1, 2] | None = None
    group: int | None = Field(None, ge=-1, le=2**32 - 1)  # kernel.io_uring_group (-1: no group)
    source: str = ""  # what told it: "/proc/sys/kernel/io_uring_disabled", "/proc/kallsyms"
    # With disabled 2 (read then, 1.6+): the processes holding an io_uring descriptor.  The sysctl is
    # checked only by io_uring_setup(2) (io_uring_allowed(), io_uring/io_uring.c): a ring created
    # before it was set keeps taking operations.  None: not read (a table refused is a gap
    # ``io_uring/holders``), or another disabled value.
    holders: list[IoUringHolder] | None = Field(None, exclude_if=lambda value: value is None)


class IoUringBoot(StrictModel):
    """kernel.io_uring_disabled as the next boot sets it (sysctl.d): ``value`` as written, None when
    no file sets it (the kernel's default, 0, then applies)."""

    value: str | None = None
    origin: str | None = None  # "/etc/sysctl.d/60-io_uring.conf:1"


class X32Abi(StrictModel):
    """Whether programs can make syscalls through the x32 ABI of the kernel (x86_64 only: a number
    with bit 0x40000000).  No audit rule matches such a call (audit_in_mask() in kernel/auditsc.c
    refuses a number past the rule bitmask's 2048 bits), so where it is usable the socket calls of
    x32 programs are never audited: :mod:`auditor.domain.x32_abi`."""

    usable: bool
    # what told it: "syscall 0x40000027 (x32 getpid) returned a pid", "/boot/config-6.1.0-18-amd64:
    # CONFIG_X86_X32_ABI is not set", "uname -m is aarch64 (the x32 ABI is x86_64's)"
    source: str = Field(min_length=1)


class AuditDaemonProcess(StrictModel):
    """The process the kernel's audit daemon pid names, as lbaudit's pid namespace shows it.  The
    kernel keeps the pid of a daemon that died (SIGKILL, a crash) until it next fails to send it a
    record, so the pid alone does not say a daemon runs."""

    # exited: a zombie not yet reaped; gone: no such process; stopped: by a signal (SIGSTOP, state T)
    # or a debugger (tracing stop, t), so it takes no record until continued
    state: Literal["running", "stopped", "exited", "gone"]
    name: str | None = None  # /proc/PID/comm
    exe: str | None = None  # /proc/PID/exe; None when it could not be read
    # /proc/PID/cmdline: the arguments it runs with (auditd's -c names the directory of the
    # auditd.conf it read); None when not read (a snapshot before lbaudit read them, or unreadable)
    # or when the daemon is not auditd (another's command line may carry a secret)
    args: list[str] | None = None


# The gap path under which a boot entry that may start the kernel with auditing off is said (an
# offline image's, or a running host's next boot's: the collector writes it, audit.socket_logging
# makes the persistent scopes not_reviewed).
IMAGE_BOOT_AUDIT_GAP = ("persistent_rules", "boot_audit")


class AuditFacts(StrictModel):
    platform: Platform = "linux"
    windows: WindowsAuditPolicy | None = None  # Windows: the advanced audit policy (auditpol)
    macos: MacosAudit | None = None  # macOS: audit(4)
    enabled: Literal[0, 1, 2] | None = None  # 0 off, 1 on, 2 on and locked (auditctl -s)
    # the kernel's rate limit in records a second (auditctl -s or netlink), 0 none: past it the
    # kernel drops records; None when not read (offline, or a snapshot written before lbaudit read it)
    rate_limit: int | None = Field(None, ge=0, le=2**32 - 1)
    loaded_rules: list[AuditRule] | None = None  # auditctl -l
    persistent_rules: list[AuditRule] | None = None  # what is loaded at boot
    persistent_source: str | None = None  # "/etc/audit/rules.d (augenrules)" or "/etc/audit/audit.rules"
    runtime_source: Literal["auditctl", "netlink"] | None = None  # what answered for enabled and loaded_rules
    # /etc/audit: False when it does not exist (then persistent_rules is [], the boot loads nothing),
    # None when that could not be told or was not looked at
    config_dir_exists: bool | None = None
    # uname -m of the host the rules were read for (auditctl's syscall tables and -F arch=b32
    # depend on it): the live host's, or an offline image's from its auditctl binary; None: unknown
    machine: str | None = None
    # the pid of the audit daemon the kernel sends records to (auditctl -s "pid", netlink
    # AUDIT_GET), 0 none: then the kernel prints records to its log, rate-limited, or drops them;
    # None when not read (offline, or a snapshot written before lbaudit read it)
    auditd_pid: int | None = Field(None, ge=0, le=2**32 - 1)
    # that pid's process, when it is not 0; None when not read (offline, pid 0 or unknown, a /proc
    # that is not lbaudit's pid namespace's: a gap says why; or a snapshot before format 1.3)
    auditd_process: AuditDaemonProcess | None = None
    auditd_config: AuditdConfig | None = None  # /etc/audit/auditd.conf; None when not read (see gaps)
    # the auditd program is installed (/usr/sbin/auditd or /sbin/auditd); None when not looked at
    auditd_installed: bool | None = None
    # audit= on the running kernel's command line (/proc/cmdline): without "on", processes started
    # before auditd turned auditing on (systemd, pid 1, among them) have no audit context, so their
    # calls are never audited; None when not read (offline, or an older snapshot)
    boot_audit: Literal["on", "off", "unset", "invalid"] | None = None
    # audit_backlog_limit= on the running kernel's command line: the backlog limit the kernel starts
    # with, which the rules' last -b replaces; None when it has none, or when not read (offline, an
    # older snapshot; boot_audit is then None too)
    boot_backlog_limit: int | None = Field(None, ge=0, le=2**32 - 1)
    # systemd units that start auditd and load the rules at boot ("auditd.service", and
    # "audit-rules.service" of audit 4): "enabled", "disabled", "masked", "absent" or "unknown";
    # None when the host does not boot with systemd, or they were not read
    boot_units: dict[str, Literal["enabled", "disabled", "masked", "absent", "unknown"]] | None = None
    # the command that starts auditd at boot: auditd.service's ExecStart= after its drop-ins, or
    # without systemd Debian's init script's (/sbin/auditd and EXTRAOPTIONS of /etc/default/auditd);
    # its -s (disable, nochange) decides whether auditd turns auditing on when it starts.  None when
    # not read (no such unit or script, or a snapshot written before lbaudit read it)
    auditd_exec_start: str | None = None
    # io_uring of the running kernel (socket operations that bypass the syscall rules); None: not
    # read (offline, or a snapshot written before lbaudit read it)
    io_uring: IoUringState | None = None
    # kernel.io_uring_disabled in the boot's sysctl configuration; None: not read (unreadable, or
    # a snapshot written before lbaudit read it)
    io_uring_boot: IoUringBoot | None = None
    # the x32 syscall ABI of the running kernel (live: probed) or of the image's kernels (offline:
    # their build configuration and boot command lines); None: not known (a gap says why; or a
    # snapshot written before format 1.7)
    x32: X32Abi | None = Field(None, exclude_if=lambda value: value is None)
    # auditctl -s (or netlink AUDIT_GET): records the kernel lost since boot (or since auditctl
    # --reset-lost), its queue limit, and what it does when it loses one (0 silent, 1 printk,
    # 2 panic); None when not read (offline, or a snapshot written before lbaudit read them)
    lost: int | None = Field(None, ge=0, le=2**32 - 1)
    backlog_limit: int | None = Field(None, ge=0, le=2**32 - 1)
    failure: Literal[0, 1, 2] | None = None
    # how long (jiffies) a process waits for room in a full queue before its record is lost
    # (auditctl -s or AUDIT_GET: backlog_wait_time, Linux 3.14 and later); None when not read
    # (offline, a kernel without it, or a snapshot written before lbaudit read it)
    backlog_wait_time: int | None = Field(None, ge=0, le=2**32 - 1)
    # the loginuid_immutable feature (auditctl --loginuid-immutable: a process cannot change its
    # loginuid, until the next boot): 1 set, 0 not; None when not read (offline, a kernel before 3.13,
    # or a snapshot written before lbaudit read it)
    loginuid_immutable: Literal[0, 1] | None = None


# ---------------------------------------------------------------- network namespaces

# What an interface is, for deciding what a listener behind it can be reached from: loopback and a
# veth into the host stay on this machine; macvlan, ipvlan and a physical interface reach the
# network the host is on; "other" (tun, wireguard, vxlan, ...) is judged as reaching beyond (fail
# closed).
InterfaceKind = Literal["loopback", "veth", "bridge", "macvlan", "ipvlan", "physical", "other"]


class NetInterface(StrictModel):
    name: str
    index: int = Field(ge=0, le=2**31 - 1)
    kind: InterfaceKind
    link_kind: str | None = None  # IFLA_INFO_KIND as the kernel names it ("veth", "wireguard", ...)
    up: bool = False
    addresses: list[str] = Field(default_factory=empty_list)  # "10.0.0.2/24", "fe80::1/64"
    master: str | None = None  # the bridge (or bond) it is enslaved to
    # veth: the peer's ifindex in the peer's namespace, and that namespace's inode once matched
    # (None: the peer is in this namespace, or its namespace was not seen)
    peer_index: int | None = None
    peer_in_other_netns: bool = False
    peer_netns: Inode | None = None
    # net.ipv4.conf.all.route_localnet or net.ipv4.conf.NAME.route_localnet: the kernel then delivers
    # packets to 127.0.0.0/8 that arrive on this interface (ip_route_input_slow), so a listener on
    # 127.0.0.1 is reachable from its link (CVE-2020-8558).  None: not read (older snapshots too).
    route_localnet: bool | None = None
    # Whether the kernel forwards (routes on) what arrives on this interface: IPv4 by
    # net.ipv4.conf.NAME.forwarding (set on every interface by net.ipv4.ip_forward), IPv6 by
    # net.ipv6.conf.all.forwarding (or the interface's force_forwarding).  A neighbour on its link
    # that routes a namespace's address through this host then reaches that namespace behind a veth
    # the host routes.  None: not read (snapshots before format 1.5 too).
    forwarding: bool | None = None
    forwarding_ipv6: bool | None = None
    # What the kernel runs on what arrives on this interface before IP input and can hand to another
    # interface (a veth into a namespace among them) whatever the forwarding settings say: the kind
    # of its tc ingress qdisc ("clsact", "ingress"; its filters, tc mirred or a BPF classifier's
    # bpf_redirect, are not read), "xdp" for an XDP program (XDP_REDIRECT) and, for the namespace
    # lbaudit runs in (and another that has a listener bound to its lo), "nft ingress fwd (netdev
    # TABLE CHAIN)" for an nftables ingress chain whose table holds a fwd or dup statement, and "nft prerouting dup (ip TABLE CHAIN)" for a prerouting chain that copies (dup, iptables-nft TEE).  []: none; None: not read (snapshots before format 1.10 too).
    ingress_hooks: list[str] | None = None


class Workload(StrictModel):
    """A container (or pod member) whose processes are in a namespace, from /proc/PID/cgroup and,
    when a runtime answers, its API."""

    runtime: str  # docker, podman, kubernetes
    id: str  # the container id as the cgroup path names it
    name: str | None = None
    image: str | None = None
    pod: str | None = None  # io.kubernetes.pod.name
    k8s_namespace: str | None = None  # io.kubernetes.pod.namespace
    labels: dict[str, str] = Field(default_factory=empty_dict)
    pids: list[Pid] = Field(default_factory=empty_list)
    source: str = "cgroup"  # "cgroup", or "cgroup + docker engine API"


class TproxyRule(StrictModel):
    """A rule that hands packets for any destination to a local transparent socket."""

    origin: str  # "nft -j list ruleset: table ip mangle chain pre", "iptables-save:12"
    family: Literal["ipv4", "ipv6"] | None = None  # None: both (an nft inet table)
    protocol: Literal["tcp", "udp"] | None = None  # None: not narrowed (either)
    port: int | None = Field(None, ge=0, le=65535)  # the port it hands to; None: the packet's own


class NetNamespace(StrictModel):
    """One network namespace, found through a process, a name under /run/netns, an nsfs mount, or
    a descriptor a process holds (of its namespace file, or a socket made in it).

    The collector's own namespace (``current``) is described here too, but its listeners, counts
    and sysctls are the ``sockets`` and ``sysctl`` sections; every other one is entered (in a
    forked child) for its own."""

    inode: Inode
    device: int = Field(ge=0, le=2**64 - 1)
    names: list[str] = Field(default_factory=empty_list)  # ip netns names (/run/netns/NAME)
    paths: list[str] = Field(default_factory=empty_list)  # nsfs files it is bound at (not /proc/PID/ns/net)
    pids: list[Pid] = Field(default_factory=empty_list)  # processes in it
    current: bool = False
    entered: bool = False
    interfaces: list[NetInterface] | None = None
    listeners: list[Listener] | None = None
    counts: SocketCounts | None = None
    sysctl: dict[str, SysctlSetting] | None = None  # running values, as this namespace sees them
    workloads: list[Workload] = Field(default_factory=empty_list)
    # The TPROXY rules of this namespace (nftables ``tproxy``, iptables ``-j TPROXY``): what hands a
    # transparent socket packets for any address.  [] when every rule reader ran and found none;
    # None when they could not all be read (a gap on ("namespaces", i, "tproxy") says why) or the
    # snapshot predates them (1.0, 1.1).
    tproxy: list[TproxyRule] | None = None
    # The destinations of its local routes (RTN_LOCAL, in a table a policy rule looks up: any
    # table when the rules could not be read) other than an interface's own address: what makes
    # addresses no interface has its own (``ip route add local 10.0.0.0/24 dev lo``, AnyIP; an
    # address with a prefix on lo; TPROXY's ``local 0.0.0.0/0 dev lo table 100`` once a rule steers
    # packets there), delivered from every link to a wildcard listener.  None: not read (a gap on
    # ("namespaces", i, "local_routes") says why) or a snapshot before format 1.7.
    local_routes: list[str] | None = None

    @model_validator(mode="after")
    def _routes_are_prefixes(self) -> "NetNamespace":
        if self.current and self.listeners:
            # no check reads them there (the host's are the sockets section's): judged by nothing
            raise ValueError(f"the collector's own namespace (current) holds {len(self.listeners)} listeners: its "
                             "listeners are the sockets section's, where lbaudit writes them")
        for route in self.local_routes or []:
            try:
                ipaddress.ip_network(route, strict=False)
            except ValueError:
                raise ValueError(f"local route {route!r} is not an IPv4 or IPv6 prefix (ADDRESS/LENGTH)") from None
            if "/" not in route:
                raise ValueError(f"local route {route!r} has no prefix length (ADDRESS/LENGTH)")
        return self

    @property
    def label(self) -> str:
        """How findings name it, stable across runs when it has a name: the ip netns name, else
        the container's name, else its inode."""
        if self.names:
            return self.names[0]
        named = sorted(w.name for w in self.workloads if w.name)
        if named:
            return f"container {named[0]}"
        return f"net:[{self.inode}]"


class PublishedPort(StrictModel):
    """A port the host forwards to a container: declared by a container runtime (``engine``) or
    found in the kernel's NAT rules (``nat``: a DNAT rule, which exposes the port even with no
    listener on the host)."""

    source: Literal["engine", "nat"]
    protocol: Protocol
    host_address: str  # "0.0.0.0" or "::" when the mapping is on every address
    host_port: int = Field(ge=0, le=65535)
    host_port_end: int | None = Field(None, ge=0, le=65535)  # a range of host ports (NAT: --dport 8000:8099)
    target_address: str | None = None  # the container's address the port is forwarded to
    target_port: int | None = Field(None, ge=0, le=65535)
    container_id: str | None = None
    container: str | None = None  # name, as the runtime reports it
    origin: str = ""  # "docker engine /containers/<id>/json", "iptables-save -t nat:12", "nft -j list ruleset"
    # Whether a NAT rule rewrites the destination before the route lookup of what arrives on a link
    # (a DNAT, which the kernel allows in prerouting and output only; a rewrite in a prerouting or
    # ingress chain): a target in 127.0.0.0/8 is then a martian ip_route_input_slow drops, unless
    # route_localnet is on for the interface it came in on.  False: after it (a rewrite in an input
    # chain hands the packet to the local socket whatever route_localnet says); None: not known (a
    # rewrite in a regular chain a jump from input may reach, an engine's port, older snapshots).
    before_routing: bool | None = None

    @model_validator(mode="after")
    def _host_address_is_ip(self) -> "PublishedPort":
        # the checks compute on it as a network: another text made net.bind_addresses raise
        try:
            ipaddress.ip_network(self.host_address, strict=False)
        except ValueError:
            raise ValueError(f"host_address {self.host_address[:80]!r} is not an IP address or network") from None
        return self

    @property
    def endpoint(self) -> str:
        host = f"[{self.host_address}]" if ":" in self.host_address else self.host_address
        ports = f"{self.host_port}" if self.host_port_end in (None, self.host_port) else f"{self.host_port}-{self.host_port_end}"
        return f"{host}:{ports}"


class LoopbackDrop(StrictModel):
    """A rule that drops packets for an IPv4 loopback destination that arrive on any interface but
    lo, before the nat table's DNAT can forward them (a raw or mangle PREROUTING rule, or an nftables
    prerouting chain of an earlier priority than dstnat), with no earlier rule of its chain that
    could let them through.  Docker 28+ writes one for each port it publishes on 127.0.0.0/8:
    ``-t raw -A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp --dport 8080 -j DROP`` (moby#49325)."""

    origin: str  # "iptables-save:14 (table raw)", "nft -j list ruleset: table ip docker-bridges chain raw-PREROUTING"
    destination: str  # the IPv4 network it drops ("127.0.0.1/32"; "0.0.0.0/0" when it names none)
    protocol: Literal["tcp", "udp", "sctp"] | None = None  # None: every transport
    port: int = Field(0, ge=0, le=65535)  # the destination ports it drops, port..port_end
    port_end: int = Field(65535, ge=0, le=65535)


class NamespaceFacts(StrictModel):
    namespaces: list[NetNamespace] = Field(default_factory=empty_list)
    method: str = ""
    # Ports published to containers, from the runtime's API and the kernel's NAT rules; None when
    # neither could be read (then a gap says why).  ``published_sources``: which were read.
    published: list[PublishedPort] | None = None
    published_sources: list[Literal["engine", "nat"]] = Field(default_factory=empty_list)
    # A DNAT of a 127.0.0.0/8 destination is done in PREROUTING, before the kernel drops a loopback
    # destination that came from a link as a martian, so a neighbour reaches the port through this
    # host's MAC address (moby#41872) unless one of these drops comes first.  None when no rule
    # reader could run, or the snapshot predates them (1.0 to 1.2); a gap on ("loopback_drops",)
    # says why the list may be short.
    loopback_drops: list[LoopbackDrop] | None = None

    @model_validator(mode="after")
    def _each_namespace_once(self) -> "NamespaceFacts":
        # The checks judge every namespace but the current one from its entry (the current one is
        # the host's, judged from the sockets section): a second "current" namespace was judged by
        # nothing (its wildcard listener passed over), one listed twice was judged twice.
        # Discovery keys each by (device, inode) and marks only its own namespace current.
        current = [index for index, ns in enumerate(self.namespaces) if ns.current]
        if len(current) > 1:
            raise ValueError(f"namespaces {current[0]} and {current[1]} are both marked current: only the "
                             "collector's own namespace is")
        seen: dict[tuple[int, int], int] = {}
        for index, ns in enumerate(self.namespaces):
            first = seen.setdefault((ns.device, ns.inode), index)
            if first != index:
                raise ValueError(f"namespaces {first} and {index} are both net:[{ns.inode}] (device {ns.device}): "
                                 "discovery lists each namespace once")
        return self

    @property
    def current(self) -> NetNamespace | None:
        return next((ns for ns in self.namespaces if ns.current), None)


# ---------------------------------------------------------------- snapshot

class Facts(StrictModel):
    sockets: SocketFacts | None = None
    sysctl: SysctlFacts | None = None
    audit: AuditFacts | None = None
    # Left out when absent (not collected, or a snapshot written before the section existed): such a
    # snapshot is written, digested and signed byte for byte as before.
    netns: NamespaceFacts | None = Field(None, exclude_if=lambda value: value is None)


class HostSnapshot(StrictModel):
    schema_: Literal["lbaudit/snapshot"] = Field(SNAPSHOT_SCHEMA, alias="schema")
    schema_version: Literal["1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10", "1.11"] = SNAPSHOT_SCHEMA_VERSION
    provenance: Provenance
    facts: Facts
    gaps: list[Gap] = Field(default_factory=empty_list)

    def gaps_for(self, section: str, field: str | None = None) -> list[Gap]:
        """Gaps of a section; with ``field`` (a path such as ``"listeners"`` or ``"runtime/<key>"``),
        those for that field, for something inside it, or for the whole section."""
        if field is None:
            return [g for g in self.gaps if g.section == section]
        want = parse_gap_field(field)
        depth = len(want)
        # Gap.under, written out: asked of every gap of a snapshot by each check about listeners,
        # a call each was most of the nine asks of 5,000 listeners' gaps (issue 16).
        return [g for g in self.gaps if g.section == section and (not g.path or g.path[:depth] == want)]

    def facts_digest(self) -> str:
        """SHA-256 of what was observed (facts and gaps), independent of when and from where."""
        # ``path`` restates ``field``: left out, so the digest of what was seen is the same as before
        # gaps carried it (and the same for a snapshot written then).
        # The listeners are left as models, made plain 256 at a time as the digest is taken: the plain
        # form of every listener and its canonical text, whole, were the peak of evaluating 5,000
        # listeners (issue 16).  The bytes hashed are the canonical JSON of the same value.
        # So are the gaps (one a listener where other holders cannot be seen), each dumped without it.
        processes: dict[int, dict[str, Any]] = {}
        return canonical_sha256({"facts": facts_json(self.facts, listeners_as_models=True),
                                 "gaps": list(self.gaps) if plain_gaps() else
                                 [g.model_dump(mode="json", exclude={"path"}) for g in self.gaps]},
                                default=lambda record: _digest_json_of(record, processes),
                                float_free=(Listener, Gap))  # neither holds a float (tests/storage/test_jsontext.py)


# Every field of a listener and of a process, as listener_json writes them: a field added to either
# without being added here makes facts_json fall back to pydantic's dump (tests/storage/test_facts_json.py).
_LISTENER_FIELDS = ("protocol", "family", "address", "port", "v6only", "interface", "uid", "user", "inode",
                    "processes", "owner_reason", "declared_by", "transparent")
_PROCESS_FIELDS = ("pid", "name", "exe", "user", "argv0", "cmdline_sha256", "cmdline")


def _plain_listeners() -> bool:
    return tuple(Listener.model_fields) == _LISTENER_FIELDS and tuple(ProcessInfo.model_fields) == _PROCESS_FIELDS


def listener_json(listener: Listener, processes: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """``listener.model_dump(mode="json")``, built directly: every field is text, a number, a bool or
    None but its processes, each dumped once into ``processes`` (by object) however many listeners
    it holds.  Values are shared with the model, not copied: the caller reads them, never changes them."""
    data = listener.__dict__.copy()  # a copy of a dict as it is (its keys table cloned)
    dumped = []
    for process in listener.processes:
        known = processes.get(id(process))
        if known is None:
            known = processes[id(process)] = process.__dict__.copy()
        dumped.append(known)
    data["processes"] = dumped
    return data


def facts_json(facts: Facts, *, listeners_as_models: bool = False) -> dict[str, Any]:
    """``facts.model_dump(mode="json")``: the host's listeners, which grow with it, dumped by
    :func:`listener_json` (pydantic's dump of 5,000 listeners, twice a run, for the facts digest and
    the evidence, was a tenth of evaluating them, issue 16); everything else by pydantic.  With
    ``listeners_as_models`` the listeners are left as they are (the listener models), for a writer
    that dumps each as it reaches it."""
    sockets = facts.sockets
    if sockets is None or not sockets.listeners or not _plain_listeners():
        return facts.model_dump(mode="json")
    data = facts.model_dump(mode="json", exclude={"sockets": {"listeners"}})
    processes: dict[int, dict[str, Any]] = {}
    # The listeners key where pydantic writes it: after platform, before counts (the order
    # model_dump gives; the files sort their keys anyway).
    listeners = (list(sockets.listeners) if listeners_as_models
                 else [listener_json(l, processes) for l in sockets.listeners])
    data["sockets"] = {"platform": data["sockets"]["platform"], "listeners": listeners,
                       **{k: v for k, v in data["sockets"].items() if k != "platform"}}
    return data


def snapshot_json(snapshot: HostSnapshot, dumped: dict[str, Any], *, listeners_as_models: bool = False) -> dict[str, Any]:
    """The snapshot's dump with its facts put back, written by :func:`facts_json`, where
    ``snapshot.model_dump(mode="json", by_alias=True)`` writes them (after provenance); ``dumped``
    is that dump without them.  With ``listeners_as_models``, the host's listeners are left as
    models for ``storage.jsontext.indented_json`` to write one at a time (:func:`snapshot_parts`),
    and so are the gaps when ``dumped`` was made without them."""
    facts = facts_json(snapshot.facts, listeners_as_models=listeners_as_models)
    # The gaps, which may be one a listener, left as models to be written one at a time as well
    # (``dumped`` then has none: a dump without them is asked for).
    gaps = list(snapshot.gaps) if "gaps" not in dumped else dumped["gaps"]
    return {key: value for key, value in dumped.items() if key != "gaps"} | {"facts": facts, "gaps": gaps}


def _digest_json_of(record: Any, processes: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The facts digest's form of a listener (:func:`listener_json`) or a gap (:func:`gap_json`
    without its path)."""
    if type(record) is Listener:
        return listener_json(record, processes)
    if type(record) is Gap:
        plain = gap_json(record)
        del plain["path"]
        return plain
    raise TypeError(f"Object of type {type(record).__name__} is not JSON serializable")


def plain_gaps() -> bool:
    return tuple(Gap.model_fields) == _GAP_FIELDS


def snapshot_parts() -> dict[type, Any]:
    """``storage.jsontext.indented_json``'s ``parts`` for listener and gap models: each listener
    written as :func:`listener_json` gives it, a process held by many listeners dumped once, each
    gap as :func:`gap_json`.  No listener or gap field is a float."""
    processes: dict[int, dict[str, Any]] = {}
    return {Listener: lambda listener: (listener_json(listener, processes), ()),
            Gap: lambda gap: (gap_json(gap), ())}


# What an offline root directory has no running state of, and its collectors say so by these
# not_applicable gaps (collect/systemd_sockets.py, sysctl.py, audit.py, netns.py); a running host
# always has it.
OFFLINE_ONLY_GAPS: frozenset[tuple[str, GapPath]] = frozenset({
    ("sockets", ()), ("sockets", ("listeners",)), ("sockets", ("counts",)), ("sysctl", ("runtime",)),
    ("audit", ("enabled",)), ("audit", ("loaded_rules",)), ("audit", ("io_uring",)), ("netns", ()),
})


# The running state an offline root directory has none of, by where it sits in the facts, and what
# it is: its collectors leave each null (saying so with the gaps above), and a check reads a running
# value first wherever one is present.
RUNNING_STATE: tuple[tuple[str, str, str], ...] = (
    ("sysctl", "runtime", "running sysctl values"),
    ("sockets", "counts", "live socket counts"),
    ("audit", "enabled", "the running kernel's audit state"),
    ("audit", "loaded_rules", "the running kernel's audit rules"),
    ("audit", "io_uring", "the running kernel's io_uring state"),
    ("netns", "namespaces", "running network namespaces"),
)


def _running_state_of_an_image(facts: Facts) -> list[tuple[str, str]]:
    """Where the facts of an offline root directory hold running state it cannot have.  Judged on it,
    an image whose sysctl.d sets a 101-port range passed net.ephemeral_port_range on a running
    1024-65535 stitched into its snapshot (exit 0)."""
    found = []
    for section, field, what in RUNNING_STATE:
        value = getattr(getattr(facts, section), field, None)
        if value is not None and not (section == "netns" and not value):  # no namespace listed is none held
            found.append((f"/facts/{section}/{field}",
                          f"{what}, but the facts were collected from an offline root directory, which has no "
                          "running kernel: its collector leaves them out (the image is judged on its configuration)"))
    return found


def contradictions(snapshot: HostSnapshot) -> list[tuple[str, str]]:
    """Where a snapshot contradicts itself, as (JSON pointer, what is wrong).

    Each field is valid on its own, but together they cannot all be what one collector saw: a
    count that disagrees with the list it counts, or a fact that is present while a gap says it
    could not be read.  A check would judge one side and ignore the other, so such a snapshot
    (hand-edited, or stitched from two) is refused rather than evaluated.
    """
    found: list[tuple[str, str]] = []
    facts = snapshot.facts
    for name in SECTIONS:
        section_facts = getattr(facts, name)
        # A section without a platform field (netns) exists on Linux only.
        section_platform = getattr(section_facts, "platform", "linux")
        if section_facts is not None and section_platform != snapshot.provenance.platform:
            found.append((f"/facts/{name}/platform", f"facts from {section_platform}, but the snapshot is "
                                                     f"of a {snapshot.provenance.platform} host"))
    sockets = facts.sockets
    if sockets is not None and sockets.counts is not None:
        counts = sockets.counts
        by_state = counts.tcp_by_state
        if "TIME_WAIT" in by_state and by_state["TIME_WAIT"] != counts.time_wait:
            found.append(("/facts/sockets/counts/tcp_by_state/TIME_WAIT",
                          f"{by_state['TIME_WAIT']} TIME_WAIT sockets, but time_wait is {counts.time_wait}"))
        if sockets.listeners is not None:
            tcp = sum(1 for l in sockets.listeners if l.protocol == "tcp")
            udp = sum(1 for l in sockets.listeners if l.protocol == "udp")
            # An MPTCP listener has a TCP subflow listener (same inode) that the kernel counts in
            # LISTEN and the collector lists once, as the mptcp listener: LISTEN may exceed the TCP
            # listeners by at most the MPTCP ones.  A live host with MPTCP listeners was refused.
            mptcp = sum(1 for l in sockets.listeners if l.protocol == "mptcp")
            if "LISTEN" in by_state and not tcp <= by_state["LISTEN"] <= tcp + mptcp:
                found.append(("/facts/sockets/counts/tcp_by_state/LISTEN",
                              f"{by_state['LISTEN']} TCP sockets in LISTEN, but {tcp} TCP listeners are listed"
                              + (f" (and {mptcp} MPTCP ones)" if mptcp else "")))
            if counts.udp_sockets is not None and counts.udp_sockets < udp:
                found.append(("/facts/sockets/counts/udp_sockets",
                              f"{counts.udp_sockets} UDP sockets, fewer than the {udp} UDP listeners listed"))
    # Windows keeps one dynamic port range per protocol and family: a second one for the same pair
    # cannot be what netsh printed, and the checks would judge one and never see the other.
    ranges: dict[tuple[str, str], DynamicPortRange] = {}
    for index, port_range in enumerate((facts.sysctl.dynamic_ports if facts.sysctl is not None else None) or []):
        pair = (port_range.protocol, port_range.family)
        if pair in ranges:
            first = ranges[pair]
            found.append((json_pointer("facts", "sysctl", "dynamic_ports", index),
                          f"a second {port_range.protocol}/{port_range.family} dynamic port range "
                          f"({port_range.start}-{port_range.high}, the first is {first.start}-{first.high}): "
                          "Windows keeps one per protocol and IP family"))
        else:
            ranges[pair] = port_range
    present: dict[tuple[str, str], bool] = {
        ("sockets", "counts"): sockets is not None and sockets.counts is not None,
        ("sysctl", "runtime"): facts.sysctl is not None and facts.sysctl.runtime is not None,
        ("sysctl", "persistent"): facts.sysctl is not None and facts.sysctl.persistent is not None,
        ("audit", "enabled"): facts.audit is not None and facts.audit.enabled is not None,
        ("audit", "loaded_rules"): facts.audit is not None and facts.audit.loaded_rules is not None,
        ("audit", "persistent_rules"): facts.audit is not None and facts.audit.persistent_rules is not None,
    }
    provenance = snapshot.provenance
    origin = provenance.collected_from if provenance.source == "snapshot" else provenance.source
    if origin == "root":
        found += _running_state_of_an_image(facts)
    for index, gap in enumerate(snapshot.gaps):
        pointer = json_pointer("gaps", index)
        section = getattr(facts, gap.section)
        if origin == "live" and gap.kind == GapKind.NOT_APPLICABLE and (gap.section, gap.path) in OFFLINE_ONLY_GAPS:
            # The checks take such a gap at its word (a listener list of declared listeners only, the
            # configured sysctls as the running ones): in a running host's facts it turned a rule
            # that judged nothing into a compliant run (exit 0).
            where = ".".join([gap.section, *(str(part) for part in gap.path)])
            found.append((pointer, f"says {where} does not exist on this source (not_applicable), which only an "
                                   "offline root directory can say, but the facts were collected from a running host"))
            continue
        if not gap.path:
            if section is not None:
                found.append((pointer, f"says the whole {gap.section} section could not be collected, "
                                       f"but facts.{gap.section} is present"))
            continue
        head, rest = gap.path[0], gap.path[1:]
        if section is not None and head not in type(section).model_fields:
            # No check reads a gap on what the section does not hold: the facts it said were missing
            # went unseen, and the rule passed on the rest (exit 0).
            found.append((pointer, f"is about {gap.section}.{head}, which the {gap.section} section does not have "
                                   f"(it has {', '.join(sorted(type(section).model_fields))})"))
        elif present.get((gap.section, str(head))) and not rest:
            found.append((pointer, f"says {gap.section}.{head} could not be read, but it is present"))
        elif (gap.section == "sockets" and head == "counts" and len(rest) >= 2 and rest[0] == "tcp_by_state"
              and present[("sockets", "counts")]):
            state = "/".join(str(part) for part in rest[1:])
            if state in sockets.counts.tcp_by_state:  # type: ignore[union-attr]
                found.append((pointer, f"says the {state} count could not be read, but it is present"))
        elif gap.section == "sysctl" and head in ("runtime", "persistent") and rest:
            key = "/".join(str(part) for part in rest)
            values = getattr(facts.sysctl, str(head)) if facts.sysctl is not None else None
            if values is not None and key in values:
                found.append((pointer, f"says sysctl {key} could not be read, but its {head} value is present"))
        elif gap.section == "sysctl" and head == "dynamic_ports" and len(rest) in (2, 3) and tuple(rest[:2]) in ranges:
            port_range = ranges[(str(rest[0]), str(rest[1]))]
            if len(rest) == 2:
                found.append((pointer, f"says the {rest[0]}/{rest[1]} dynamic port range could not be read, but it "
                                       "is present"))
            elif rest[2] == "excluded" and port_range.excluded is not None:
                found.append((pointer, f"says the ports excluded from the {rest[0]}/{rest[1]} dynamic port range "
                                       "could not be read, but they are present"))
        elif gap.section == "sockets" and head == "listeners" and rest:
            listed = len(sockets.listeners) if sockets is not None and sockets.listeners is not None else 0
            number = rest[0]
            if isinstance(number, int) and number >= listed:
                found.append((pointer, f"is about listener {number}, but {listed} listeners are listed"))
            elif isinstance(number, str) and number.isascii() and number.isdigit():  # an index too long to be one
                found.append((pointer, f"is about listener {number}, but {listed} listeners are listed"))
    return found
