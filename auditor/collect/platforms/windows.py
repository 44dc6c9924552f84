"""Parsers of the Windows probe outputs (pure: text in, values out; :class:`ProbeParseError` with a
reason fit for a gap when the text is not what the probe prints).

Windows localises what these tools print: ``netsh`` labels ("Start Port" / "Port de démarrage"),
``netstat`` headers and sometimes its state names, ``tasklist``'s memory column, ``auditpol``'s
headers, subcategory names and "Inclusion Setting".  So the parsers key on what is not localised:
positions and numbers in ``netsh``, addresses, ports and PIDs in ``netstat``, the first two CSV
columns of ``tasklist``, registry value names and types in ``reg query``, and the subcategory GUID
and numeric ``Setting Value`` of ``auditpol /backup``.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from auditor.model.base import PID_MAX
from auditor.model.facts import DYNAMIC_PORT_COUNT_MIN, DYNAMIC_PORT_START_MIN, AuditSubcategory

# The Tcpip\Parameters values the checks read: TIME_WAIT length, and the legacy upper bound of
# the dynamic range (MaxUserPort, from before Windows Vista's netsh ranges).
TCPIP_KEY = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"
TCPIP_VALUES = ("TcpTimedWaitDelay", "MaxUserPort", "StrictTimeWaitSeqCheck")
MAX_ROWS = 200_000  # a host with more sockets than this is not what a bundle of text files describes


class ProbeParseError(ValueError):
    """The output is not what the probe prints; the message says what was expected."""


def pid_out_of_range(pid: int) -> bool:
    """A PID the snapshot cannot hold (:data:`~auditor.model.base.PID_MAX`): the row that names it
    is not understood, never a listener (it would end the run in an internal error)."""
    return pid > PID_MAX


def cut_off(text: str) -> str | None:
    """The last line of ``text`` when it has no line end, else None.

    Every listing a probe prints ends its last line with a line end (netstat, tasklist, reg, lsof;
    PowerShell's Out-File and sh's redirection keep it): a last line without one is where the
    capture was cut off (a full disk, a copy interrupted), so it may be any prefix of the real
    row (``... LISTENING 31`` of PID 3120, ``*:70`` of port 7000) and the rows after it are missing."""
    if not text or text.endswith("\n"):
        return None
    return text.rsplit("\n", 1)[-1]


def cut_off_message(line: str) -> str:
    return f"the output ends mid-line ({line.strip()[:80]!r} has no line end): it was cut off, rows after it are missing"


# ------------------------------------------------------------------ netsh dynamicport

_LABELLED_NUMBER = re.compile(r"^[^:\d]{1,80}:\s*([0-9]{1,6})\s*$")


def _check_title_protocol(text: str, protocol: str | None) -> None:
    """Refuse the output of netsh for the other protocol: its title names the protocol as a word in
    every language ("Protocol udp Dynamic Port Range", "Plage de ports dynamiques du protocole udp",
    "Protocole udp Plages d'exclusion de ports"), above the first line of dashes.  A udp table saved
    as the tcp capture was read as the tcp range, or its exclusions as tcp ones."""
    if protocol is None:
        return
    named: set[str] = set()
    for line in text.splitlines():
        if line.strip().startswith("---"):
            break
        named |= {word.lower() for word in re.findall(r"\b(tcp|udp)\b", line, re.IGNORECASE)}
    if named and protocol not in named:
        raise ProbeParseError(f"its title names {', '.join(sorted(named))}, not {protocol}: the output of netsh for "
                              "another protocol")


def parse_dynamicport(text: str, protocol: str | None = None) -> tuple[int, int]:
    """``netsh int ipv4 show dynamicport tcp`` -> (start port, number of ports).

    The two "label : number" lines are start, then count, in every language; which protocol and
    family the range is for comes from the probe (the file name), not from the localised title,
    though a title naming the other protocol (``protocol``: the probe's) is refused."""
    _check_title_protocol(text, protocol)
    numbers = [int(m.group(1)) for line in text.splitlines() if (m := _LABELLED_NUMBER.match(line.strip()))]
    if len(numbers) != 2:
        raise ProbeParseError(f"expected two 'label : number' lines (start port, number of ports), found {len(numbers)}")
    start, count = numbers
    if not 1 <= start <= 65535:
        raise ProbeParseError(f"start port {start} is not a port number")
    if not 1 <= count or start + count - 1 > 65535:
        raise ProbeParseError(f"{count} ports from {start} do not fit below 65535")
    # netsh refuses to set such a range, so no host runs one: judged as written, start 1 made a
    # pool of 65,535 ports with the reserved ones in it, passing where the real range fails.
    if start < DYNAMIC_PORT_START_MIN:
        raise ProbeParseError(f"start port {start} is below {DYNAMIC_PORT_START_MIN}: netsh accepts no such range "
                              "(KB 929851), so this is not the range the host runs (an edited capture?)")
    if count < DYNAMIC_PORT_COUNT_MIN:
        raise ProbeParseError(f"{count} ports are fewer than {DYNAMIC_PORT_COUNT_MIN}: netsh accepts no such range "
                              "(KB 929851), so this is not the range the host runs (an edited capture?)")
    return start, count


_DASHES = re.compile(r"^-{3,}\s+-{3,}$")
_EXCLUDED_ROW = re.compile(r"^([0-9]{1,6})\s+([0-9]{1,6})(?:\s+\*)?$")


def parse_excludedportrange(text: str, protocol: str | None = None) -> list[tuple[int, int]]:
    """``netsh int ipv4 show excludedportrange protocol=tcp`` -> [(first port, last port)].

    A title, a localised "Start Port / End Port" header, a line of two dash runs, then one row per
    exclusion (two numbers, ``*`` after administered ones) and a localised footnote.  The dash line
    is what tells "no exclusions" (no rows under it) from output that is not this table; a line
    under it that is not a row is refused, never skipped, and so is a title naming the other protocol
    than ``protocol`` (the probe's).  The footnote (a line starting with ``*``) ends the table in
    every language, rows or none: an output without it was cut off, at a line end too."""
    _check_title_protocol(text, protocol)
    spans: list[tuple[int, int]] = []
    seen_dashes = False
    footnote = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not seen_dashes:
            seen_dashes = bool(_DASHES.match(stripped))
            continue
        if stripped.startswith("*") and not footnote:
            footnote = True  # the (localised) "* - Administered port exclusions.": the table's end
            continue
        if _DASHES.match(stripped):
            # Its title and header hold no digit: read on, its rows were taken for the first table's
            # (a UDP exclusion made a TCP listener "excluded").
            raise ProbeParseError(f"line {number}: a second table of excluded port ranges: netsh prints one per "
                                  "protocol and IP version, so this is not one capture")
        if footnote and not any(ch.isdigit() for ch in stripped):
            continue  # blank lines, and text after the footnote (a second table's title is refused at its dashes)
        if footnote:
            raise ProbeParseError(f"line {number}: a line after the footnote, where netsh prints none: "
                                  f"{stripped[:80]!r}")
        if not stripped:
            continue
        match = _EXCLUDED_ROW.match(stripped)
        if match is None:
            raise ProbeParseError(f"line {number}: not a 'start port  end port' row: {stripped[:80]!r}")
        first, last = int(match.group(1)), int(match.group(2))
        if not 1 <= first <= last <= 65535:
            raise ProbeParseError(f"line {number}: {first}-{last} is not a port range")
        if len(spans) >= MAX_ROWS:
            raise ProbeParseError(f"more than {MAX_ROWS:,} rows")
        spans.append((first, last))
    if not seen_dashes:
        raise ProbeParseError("no '----------    --------' line under a 'Start Port  End Port' header: not the "
                              "output of netsh int ipv4 show excludedportrange")
    if not footnote:
        # netsh ends the table with it, rows or none, in every language: without it the output was
        # cut, at a line end too, and the rows after the cut (Hyper-V's blocks) are missing.
        raise ProbeParseError("no footnote after the rows (a line starting with '*', '* - Administered port "
                              "exclusions.' in English), which netsh prints at the table's end: the output was cut "
                              "off, and exclusions after the last row read may be missing")
    return spans


# ------------------------------------------------------------------ netstat -ano

@dataclass(frozen=True)
class NetstatSocket:
    protocol: str  # "tcp" or "udp"
    family: str  # "ipv4" or "ipv6"
    address: str
    port: int
    pid: int
    line: int


@dataclass
class NetstatTable:
    listeners: list[NetstatSocket] = field(default_factory=list)
    time_wait: int = 0
    time_wait_exact: bool = True  # False when state names were not English and PID 0 counted instead
    bad_lines: list[str] = field(default_factory=list)  # "line 12: ..." for rows that were not understood
    # (protocol, family) of every row whose local address was read: what the capture shows at all
    kinds: set[tuple[str, str]] = field(default_factory=set)


# Every kind of socket netstat -ano lists, in the order a reason names them.  Every Windows since
# Vista holds sockets of all four (RPC listens on 0.0.0.0:135 and [::]:135; LLMNR, mDNS and w32time
# on UDP over both families), so a capture without one was narrowed (netstat -ano -p tcp lists TCP
# over IPv4 alone) and prints nothing that says so: its title and header are the same.
NETSTAT_KINDS = (("tcp", "ipv4"), ("udp", "ipv4"), ("tcp", "ipv6"), ("udp", "ipv6"))


def kind_name(protocol: str, family: str) -> str:
    return f"{protocol.upper()} over {'IPv6' if family == 'ipv6' else 'IPv4'}"


def netstat_kinds_missing(table: NetstatTable) -> list[tuple[str, str]]:
    """The kinds of socket (:data:`NETSTAT_KINDS`) of which ``table`` holds no row."""
    return [kind for kind in NETSTAT_KINDS if kind not in table.kinds]


_ROW = re.compile(r"^\s*(TCP|UDP)\s+(\S+)\s+(\S+)\s+(?:(\S+)\s+)?([0-9]{1,10})\s*$", re.IGNORECASE)
_ENDPOINT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+(?:%[0-9A-Za-z]+)?)\]|(?P<v4>[0-9.]+)|(?P<star>\*)):(?P<port>[0-9]{1,5}|\*)$")
# English state names that are not a listening socket although the foreign address is a wildcard.
_NOT_LISTENING = {"BOUND", "CLOSED"}
_ENGLISH_STATES = {"LISTENING", "ESTABLISHED", "TIME_WAIT", "CLOSE_WAIT", "FIN_WAIT_1", "FIN_WAIT_2", "SYN_SENT",
                   "SYN_RECEIVED", "LAST_ACK", "CLOSING", "BOUND", "CLOSED", "DELETE_TCB"}


def _endpoint(text: str) -> tuple[str, str, int] | None:
    """``0.0.0.0:3389`` / ``[::]:3389`` / ``[fe80::1%7]:5353`` -> (family, address, port)."""
    match = _ENDPOINT.match(text)
    if match is None or match.group("port") == "*" or match.group("star"):
        return None
    port = int(match.group("port"))
    if port > 65535:
        return None
    raw = match.group("v6") or match.group("v4")
    host, _, zone = raw.partition("%")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    family = "ipv6" if address.version == 6 else "ipv4"
    if zone and family == "ipv4":
        return None
    return family, str(address) + (f"%{zone}" if zone else ""), port


def _wildcard_foreign(text: str) -> bool:
    return text in ("0.0.0.0:0", "[::]:0", "*:*")


def parse_netstat(text: str) -> NetstatTable:
    """``netstat -ano``: TCP listeners (foreign address 0.0.0.0:0 or [::]:0, whatever the state is
    called in this language), bound UDP sockets (every UDP row), and the TIME_WAIT count."""
    table = NetstatTable()
    rows = 0
    lines = text.splitlines()
    if (partial := cut_off(text)) is not None:
        lines.pop()  # never read as a row: a prefix of one parses with a wrong PID or port
        table.bad_lines.append(f"line {len(lines) + 1}: {cut_off_message(partial)}")
        rows += 1
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or not re.match(r"^(TCP|UDP)\s", stripped, re.IGNORECASE):
            continue  # title, headers (localised), blank lines
        rows += 1
        if rows > MAX_ROWS:
            raise ProbeParseError(f"more than {MAX_ROWS:,} rows")
        match = _ROW.match(stripped)
        if match is None:
            table.bad_lines.append(f"line {number}: not a 'proto local foreign [state] pid' row: {stripped[:120]!r}")
            continue
        proto, local, foreign, state, pid_text = match.groups()
        protocol = proto.lower()
        local_end = _endpoint(local)
        if local_end is None:
            table.bad_lines.append(f"line {number}: local address {local[:80]!r} is not an address:port")
            continue
        family, address, port = local_end
        table.kinds.add((protocol, family))
        pid = int(pid_text)
        if pid_out_of_range(pid):
            table.bad_lines.append(f"line {number}: PID {pid} out of range")
            continue
        if protocol == "udp":
            if state is not None:
                table.bad_lines.append(f"line {number}: a UDP row has no state column: {stripped[:120]!r}")
                continue
            table.listeners.append(NetstatSocket("udp", family, address, port, pid, number))
            continue
        if state is None:
            table.bad_lines.append(f"line {number}: a TCP row without a state: {stripped[:120]!r}")
            continue
        word = state.upper()
        # A foreign address that is no address:port (``WIN-SRV01:0`` of netstat -ao, run without
        # -n) says nothing of whether the row listens: dropped, RDP on 0.0.0.0:3389 went unseen.
        if not _wildcard_foreign(foreign) and _endpoint(foreign) is None:
            table.bad_lines.append(f"line {number}: foreign address {foreign[:80]!r} is not an address:port "
                                   "(netstat run without -n?)")
            continue
        if word == "LISTENING" and not _wildcard_foreign(foreign):
            table.bad_lines.append(f"line {number}: a LISTENING row whose foreign address {foreign[:80]!r} is not "
                                   "0.0.0.0:0 or [::]:0")
            continue
        if _wildcard_foreign(foreign):
            if word not in _NOT_LISTENING:
                table.listeners.append(NetstatSocket("tcp", family, address, port, pid, number))
            continue
        if word == "TIME_WAIT":
            table.time_wait += 1
        elif word not in _ENGLISH_STATES and pid == 0:
            # A localised state name (WARTEND, ...): a connection no process owns is in TIME_WAIT
            # (or, rarely, another orphaned closing state): counted, an upper bound.
            table.time_wait += 1
            table.time_wait_exact = False
    if rows == 0:
        raise ProbeParseError("no TCP or UDP rows: not the output of netstat -ano")
    return table


# ------------------------------------------------------------------ tasklist /fo csv /nh

def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows of a CSV capture, numbered from 1; more than MAX_ROWS is unparseable, and
    so is what the csv module refuses (``csv.Error`` is no ValueError: a field over its limit of
    131,072 characters, a quote never closed that swallows the rest of the file)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_ROWS:
        raise ProbeParseError(f"more than {MAX_ROWS:,} rows")
    reader = csv.reader(lines)
    number = 0
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            limit = csv.field_size_limit()
            why = f"a field longer than {limit:,} characters" if "field limit" in str(exc) else str(exc)[:120]
            raise ProbeParseError(f"row {number}: {why}, which neither tasklist nor auditpol writes") from None
        yield number, row


def parse_tasklist(text: str) -> tuple[dict[int, str], list[str]]:
    """``tasklist /fo csv /nh`` -> ({pid: image name}, rows not understood).  Columns 1 and 2 are
    the image name and PID in every language (the memory column is localised and not read)."""
    if (partial := cut_off(text)) is not None:
        raise ProbeParseError(cut_off_message(partial))  # '"devserver.exe","31' of PID 3120 names PID 31
    names: dict[int, str] = {}
    twice: set[int] = set()
    bad: list[str] = []
    for number, row in _csv_rows(text):
        if len(row) < 2:
            bad.append(f"row {number}: fewer than two columns")
            continue
        name, pid_text = row[0].strip(), row[1].strip()
        if not re.fullmatch(r"[0-9]{1,10}", pid_text):
            if number == 1:
                continue  # a header row (captured without /nh): its PID column is a localised word
            bad.append(f"row {number}: PID {pid_text[:40]!r} is not a number")
            continue
        if not name or any(ord(ch) < 32 for ch in name):
            bad.append(f"row {number}: image name missing or holds control characters")
            continue
        pid = int(pid_text)
        if pid in names or pid in twice:
            # one PID, two rows: which image holds the socket cannot be told (a name decides exceptions)
            bad.append(f"row {number}: PID {pid} is listed a second time")
            names.pop(pid, None)
            twice.add(pid)
            continue
        names[pid] = name[:260]
    if not names:
        raise ProbeParseError("no 'image name, PID' rows: not the output of tasklist /fo csv /nh")
    return names, bad


# ------------------------------------------------------------------ reg query

_VALUE_LINE = re.compile(r"^ {4}(?P<name>.+?) {4}(?P<type>REG_[A-Z_0-9]+)(?: {4}(?P<data>.*))?$")


def parse_reg_query(text: str, key: str = TCPIP_KEY) -> dict[str, tuple[str, str]]:
    """``reg query KEY`` -> {value name: (type, data)} for the values of ``key`` itself (not of the
    subkeys it lists).  Value names and types are not localised.

    Registry value names are case-insensitive (``TCPTIMEDWAITDELAY`` is the ``TcpTimedWaitDelay``
    the TCP/IP stack reads), so names are returned in the spelling of :data:`TCPIP_VALUES` when
    they are one of them; a name listed twice cannot be one value and is refused."""
    if (partial := cut_off(text)) is not None:
        raise ProbeParseError(cut_off_message(partial))  # "0x1" of 0x12c is a value too
    canonical = {name.casefold(): name for name in TCPIP_VALUES}
    values: dict[str, tuple[str, str]] = {}
    # each name listed so far, case-folded: the duplicate test is a look-up (a scan of every earlier
    # name per line took 56 s for 20,000 values, hours for the 32 MiB a bundle file may hold)
    listed: set[str] = set()
    current: str | None = None
    seen_key = False
    subkeys = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.upper().startswith("HKEY_"):
            current = line.strip()
            seen_key = seen_key or current.lower() == key.lower()
            subkeys += current.lower().startswith(key.lower() + "\\")
            continue
        if current is None or current.lower() != key.lower():
            continue
        match = _VALUE_LINE.match(line.rstrip())
        words = line.split()
        if words and words[0].casefold() in canonical and (match is None or match.group("name") != words[0]):
            # Skipped, a value the checks read would count as not set and its default be judged
            # (TcpTimedWaitDelay 0xf0 between tabs passed as Windows' 120 s).
            raise ProbeParseError(f"line {number} names {canonical[words[0].casefold()]} but is not a '    name    "
                                  f"REG_TYPE    data' line as reg query prints it (four spaces around each column): "
                                  f"{line.strip()[:120]!r}")
        if match:
            name = canonical.get(match.group("name").casefold(), match.group("name"))
            if name.casefold() in listed:
                raise ProbeParseError(f"line {number}: the value {match.group('name')[:80]!r} is listed a second time "
                                      "(registry value names are case-insensitive): which one holds cannot be told")
            listed.add(name.casefold())
            values[name] = (match.group("type"), (match.group("data") or "").strip())
    if not seen_key:
        raise ProbeParseError(f"the key {key} is not in the output: not the output of reg query for it")
    if not subkeys:
        # reg query KEY lists the key's values, then its subkeys, which Tcpip\Parameters always has;
        # /v NAME prints one value and /f the matches of a search, and a value left out of them
        # would count as not set (TcpTimedWaitDelay's default of 120 s judged where the host holds 300).
        raise ProbeParseError("the subkeys of the key (Interfaces, Adapters, ...) are not listed: not the whole "
                              "output of reg query for it (narrowed with /v or /f?), so a value it leaves out "
                              "cannot be told from one not set")
    return values


def registry_dword(name: str, entry: tuple[str, str]) -> int:
    kind, data = entry
    if kind != "REG_DWORD" or not re.fullmatch(r"0x[0-9a-fA-F]{1,8}", data):
        raise ProbeParseError(f"{name} is {kind} {data[:40]!r}, not a REG_DWORD 0x... value")
    return int(data, 16)


# ------------------------------------------------------------------ auditpol /backup

_GUID = re.compile(r"^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$")


def _per_user_target(target: str) -> bool:
    # "System" is localised; a per-user row names an account: a SID, or DOMAIN\user.
    return target.upper().startswith("S-1-") or "\\" in target or "@" in target


def parse_auditpol_backup(text: str) -> tuple[list[AuditSubcategory], list[str], set[str]]:
    """``auditpol /backup`` CSV -> (system subcategory rows, rows not understood, the Machine Names
    of those rows: whose policy it is, see :func:`netbios_name_of`).

    Columns (MS-GPAC 2.2): Machine Name, Policy Target, Subcategory, Subcategory GUID, Inclusion
    Setting, Exclusion Setting, Setting Value.  The header and names are localised; the GUID
    (column 4) and the numeric Setting Value (column 7) are not.  Option and global SACL rows have
    no GUID; per-user rows name an account as their target and are left out."""
    rows: list[AuditSubcategory] = []
    bad: list[str] = []
    machines: set[str] = set()
    for number, row in _csv_rows(text):
        if len(row) < 7:
            bad.append(f"row {number}: {len(row)} columns, expected 7")
            continue
        target, name, guid, value = row[1].strip(), row[2].strip(), row[3].strip(), row[6].strip()
        if not guid:
            continue  # auditing options and global object access rows
        if not _GUID.match(guid):
            if number == 1:
                continue  # the (localised) header
            bad.append(f"row {number}: {guid[:60]!r} is not a subcategory GUID")
            continue
        if not re.fullmatch(r"[0-4]", value):
            bad.append(f"row {number}: Setting Value {value[:20]!r} is not 0-4")
            continue
        if _per_user_target(target):
            continue
        rows.append(AuditSubcategory(guid=guid.upper(), name=name[:200], setting_value=int(value)))
        machines.add(row[0].strip()[:80])
    if not rows:
        raise ProbeParseError("no subcategory rows with a GUID and a Setting Value: not an auditpol /backup file")
    return rows, bad, machines


def same_machine(machine: str, hostname: str) -> bool:
    """Whether auditpol's Machine Name (the NetBIOS name) is the host ``hostname.exe`` names: the
    NetBIOS name is the host name's first 15 characters in capitals (NetBIOS names are
    case-insensitive); a DNS name's first label counts the same way."""
    host = hostname.split(".", 1)[0]
    return machine.casefold() in {host.casefold(), host[:15].casefold()}


# ------------------------------------------------------------------ hostname, ver

def parse_hostname(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or not re.fullmatch(r"[A-Za-z0-9._-]{1,255}", lines[0]):
        raise ProbeParseError("expected one host name (letters, digits, '.', '_', '-')")
    return lines[0]


def parse_ver(text: str) -> str:
    """``cmd /c ver``: ``Microsoft Windows [Version 10.0.20348.2340]`` (the word is localised)."""
    # "[" is not in the words before the number: from each "[" the search then reads up to the next
    # bracket or digit only, not to the end of the text ("[" * 20000 took 15 s, quadratic).  The
    # version found is the same: a match from an earlier "[" also matches from the last one.
    match = re.search(r"\[[^\[\]\d]*([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,6}(?:\.[0-9]{1,6})?)\]", text)
    if match is None:
        raise ProbeParseError("no '[... N.N.N.N]' version in the output of ver")
    return match.group(1)
