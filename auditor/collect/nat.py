"""Published ports from the kernel's NAT rules: every DNAT rule of the caller's namespace; and the
TPROXY rules of a namespace (:func:`read_tproxy`), which hand a transparent socket packets for any
address.

A DNAT rule forwards a host port to another address (a container's) whether or not anything on
the host listens on it, so it is an exposure of its own.  Two independent readers, each a fixed
argv with a timeout and no shell: ``iptables-save -t nat`` / ``ip6tables-save -t nat`` (the
iptables-nft or legacy rules Docker writes) and ``nft -j list ruleset`` (native nftables rules; the
``xt`` expressions of iptables-nft rules are opaque there and left to iptables-save).  The parsers
are pure functions over the programs' output.

A match this reader cannot narrow is read as the widest it could be (fail closed): a negated or
absent destination is every address, an absent port every port.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
from typing import Any, Callable, Iterable, Iterator, TypeVar

from auditor.collect import rtnetlink
from auditor.collect.parsers import UNPARSEABLE, unparseable_reason
from auditor.model.facts import Gap, GapKind, LoopbackDrop, PublishedPort, TproxyRule
from auditor.safeio import read_regular

IPTABLES_PROGRAMS = (("iptables-save", "ipv4"), ("ip6tables-save", "ipv6"), ("iptables-legacy-save", "ipv4"),
                     ("ip6tables-legacy-save", "ipv6"))
# iptables-nft's own listers, for the rules iptables-nft wrote where iptables-save is the legacy one
NFT_IPTABLES_PROGRAMS = (("iptables-nft-save", "ipv4"), ("ip6tables-nft-save", "ipv6"))
T = TypeVar("T")
NFT = "nft"
PROTOCOLS = ("tcp", "udp", "sctp")
_WILDCARD = {"ipv4": "0.0.0.0/0", "ipv6": "::/0"}


def _host(text: str | None, family: str) -> str:
    """The destination a rule matches, as a network text ("127.0.0.1/32", "0.0.0.0/0")."""
    if text is None:
        return _WILDCARD[family]
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return _WILDCARD[family]  # a set or a name this reader cannot resolve: every address


def _ports(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 65535
    low, _, high = text.replace("-", ":").partition(":")
    return int(low), int(high or low)


def _destination(text: str) -> tuple[str | None, int | None]:
    """``172.17.0.2:80``, ``172.17.0.2``, ``[fd00::2]:80``, ``172.17.0.2:80-90`` -> (address, first port)."""
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        address, _, port = text.partition(":")
    else:
        address, port = text, ""
    first = port.split("-", 1)[0]
    return (address or None), (int(first) if first.isdigit() else None)


def _port(host: str, low: int, high: int, protocol: str, target: tuple[str | None, int | None], origin: str,
          before_routing: bool | None) -> PublishedPort:
    network = ipaddress.ip_network(host)
    address = str(network.network_address) if network.prefixlen in (0, network.max_prefixlen) else host
    return PublishedPort(source="nat", protocol=protocol, host_address=address, host_port=low,
                         host_port_end=None if high == low else high, target_address=target[0],
                         target_port=target[1], origin=origin, before_routing=before_routing)


# The options whose value iptables-save prints as a double-quoted string (xtables_save_string:
# backslash before " and \\ inside), which may hold any byte, a newline too.  Every other value
# (an interface, a chain, a set name) is printed raw, and a raw value may hold a '"' of its own
# (an interface named 'a"b'), which opens nothing.
_QUOTED_OPTIONS = frozenset({"--comment", "--log-prefix", "--nflog-prefix", "--ulog-prefix", "--string", "--label"})


def _inside_quotes(line: str, quoted: bool) -> bool:
    """Whether a quoted value (:data:`_QUOTED_OPTIONS`) is still open at the end of ``line``, given
    whether it was at its start."""
    index, previous = 0, None
    while index < len(line):
        char = line[index]
        if quoted:
            if char == "\\":
                index += 2
                continue
            quoted = char != '"'
            index += 1
        elif char == " ":
            index += 1
        elif char == '"' and previous in _QUOTED_OPTIONS:
            quoted, previous = True, None
            index += 1
        else:
            end = line.find(" ", index)
            end = len(line) if end < 0 else end
            previous, index = line[index:end], end
    return quoted


def _logical_lines(text: str) -> Iterator[tuple[int, int, str]]:
    """The lines of ``iptables-save`` output as it means them: (index of the first physical line,
    index of the last, the text).  A rule's quoted string may hold newlines, printed as they are
    (``--comment "$(printf 'a\\nCOMMIT')"`` is accepted), so a rule line whose quote is still open
    goes on to the next physical line: read one physical line at a time, a comment ended the table
    early (hiding the DNAT rules after it) or wrote rules that do not exist (a raw-table drop).
    Only ``\\n`` ends a line (str.splitlines also splits at \\r, \\x1c-\\x1e, \\x85, U+2028, which a
    comment may hold)."""
    physical = text.split("\n")
    if physical and physical[-1] == "":
        physical.pop()
    index = 0
    while index < len(physical):
        first, line = index, physical[index]
        quoted = line.startswith("-A ") and _inside_quotes(line, False)
        while quoted and index + 1 < len(physical):
            index += 1
            line += "\n" + physical[index]
            quoted = _inside_quotes(physical[index], True)
        yield first, index, line
        index += 1


def _appended_rules(text: str) -> Iterator[tuple[str | None, int, str]]:
    """Each rule line (``-A CHAIN ...``) of ``iptables-save`` output: (its table, its line number, the
    line, quoted newlines and all: :func:`_logical_lines`), for the DNAT, TPROXY and loopback-drop
    parsers alike."""
    table = None
    for first, _last, line in _logical_lines(text):
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith("-A "):
            yield table, first + 1, line


_PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "132": "sctp"}


def _protocols(name: str | None, negated: bool) -> list[str]:
    """The transports with ports a rule's protocol match takes: ``-p tcp`` tcp; ``! -p udp`` every
    other one (a negation dropped read as the one protocol it excludes: ``! -p udp -j DNAT``
    forwarded every TCP port unseen); no match, tcp and udp (what a port can be published on)."""
    if name is None:
        return list(PROTOCOLS[:2])
    name = _PROTOCOL_NUMBERS.get(name, name.lower())
    if negated:
        return [p for p in PROTOCOLS if p != name]
    return [name] if name in PROTOCOLS else []


# where NETMAP maps the source (a SNAT), not the destination
_SOURCE_NAT_CHAINS = ("-A POSTROUTING ", "-A INPUT ")
# The nat table's OUTPUT chain (a built-in chain, which no rule can jump to) sees only what this
# host's own processes send: its DNAT redirects their connections and publishes nothing to a link.
_LOCAL_NAT_CHAINS = ("-A OUTPUT ",)


def parse_iptables_save(text: str, family: str, program: str) -> list[PublishedPort]:
    """DNAT rules of the nat table in ``iptables-save`` output."""
    found: list[PublishedPort] = []
    for table, number, line in _appended_rules(text):
        if table != "nat" or line.startswith(_LOCAL_NAT_CHAINS):
            continue
        options, negated = _options(_tokens(line))
        if options.get("-j") == "NETMAP" and "--to" in options and not line.startswith(_SOURCE_NAT_CHAINS):
            # NETMAP maps the destination network in PREROUTING and OUTPUT (and in a chain of its own,
            # which either may call): a DNAT of every address under it, which was not read at all
            options["--to-destination"] = options["--to"]
        elif options.get("-j") != "DNAT" or "--to-destination" not in options:
            continue
        destination = None if "-d" in negated else options.get("-d")
        protocols = _protocols(options.get("-p"), "-p" in negated)
        low, high = _ports(None if "--dport" in negated else options.get("--dport"))
        for proto in protocols:
            # the kernel takes DNAT (and a NETMAP of the destination) in PREROUTING and OUTPUT only: for
            # what a link brings, before the route lookup
            found.append(_port(_host(destination, family), low, high, proto, _destination(options["--to-destination"]),
                               f"{program} -t nat:{number}", True))
    return found


def _nft_rules(document: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """Each rule of ``nft -j list ruleset`` output that has a list of expressions, and where it is."""
    items = document.get("nftables", []) if isinstance(document, dict) else []
    for item in items:
        rule = item.get("rule") if isinstance(item, dict) else None
        if isinstance(rule, dict) and isinstance(rule.get("expr"), list):
            yield rule, f"nft -j list ruleset: table {rule.get('family')} {rule.get('table')} chain {rule.get('chain')}"


# The hooks where a rewrite of the destination address takes what arrives from a link somewhere
# else: before the route lookup (prerouting, a netdev or inet ingress chain: a stateless NAT, as a
# DNAT forwards), or after it and before the transport finds the socket (input: a packet for this
# host's address is handed to a listener on 127.0.0.1, route_localnet never asked).
_REWRITE_HOOKS = frozenset({"prerouting", "input", "ingress"})
_ADDRESS_PAYLOADS = {"ip": "ipv4", "ip6": "ipv6"}


def _payload_of(key: Any) -> dict[str, Any] | None:
    payload = key.get("payload") if isinstance(key, dict) else None
    return payload if isinstance(payload, dict) else None


# Where the destination address is in a network header, in bits: an IPv4 one's, an IPv6 one's.
_RAW_DESTINATIONS = {"ip": (128, 160), "ip6": (192, 320)}


def _raw_destination(payload: dict[str, Any], family: Any, value: Any) -> dict[str, Any] | None:
    """A raw write into the network header (``@nh,128,32 set 0x7f000001``, as nft lists a rewrite
    it cannot name) that reaches into the destination address, as a dnat statement would say it
    (the address it writes known only when it is a whole IPv4 one); None when it does not.  A
    table of family ip or ip6 sees headers of that family only; any other, both."""
    offset, length = payload.get("offset"), payload.get("len")
    if payload.get("base") != "nh" or not isinstance(offset, int) or not isinstance(length, int):
        return None
    for version, (start, end) in _RAW_DESTINATIONS.items():
        if family in _ADDRESS_PAYLOADS and family != version:
            continue
        if offset < end and start < offset + length:
            whole = (version, offset, length) == ("ip", 128, 32) and isinstance(value, int) and 0 <= value < 2 ** 32
            return {"family": version, "addr": str(ipaddress.IPv4Address(value)) if whole else None, "port": None}
    return None


def _destination_rewrite(rule: dict[str, Any], hooks: dict[tuple[Any, Any, Any], Any]) -> tuple[int, dict[str, Any]] | None:
    """Where a rule rewrites the destination address (``ip daddr set 127.0.0.1``, a payload
    statement any chain may hold) of what a link brings, and the rewrite as a dnat statement would
    say it: (its index among the rule's expressions, {family, addr, port}).  A regular chain, which
    a jump may reach from any hook, counts; so does a chain the listing does not show."""
    if hooks.get((rule.get("family"), rule.get("table"), rule.get("chain")), "ingress") not in (*_REWRITE_HOOKS, None):
        return None
    for index, expr in enumerate(rule["expr"]):
        mangle = expr.get("mangle") if isinstance(expr, dict) else None
        if not isinstance(mangle, dict):
            continue
        payload = _payload_of(mangle.get("key"))
        value = mangle.get("value")
        raw = _raw_destination(payload, rule.get("family"), value) if payload is not None else None
        if raw is not None:
            return index, raw
        if payload is None or payload.get("field") != "daddr" or payload.get("protocol") not in _ADDRESS_PAYLOADS:
            continue
        port = None
        for later in rule["expr"][index + 1:]:
            other = later.get("mangle") if isinstance(later, dict) else None
            moved = _payload_of(other.get("key")) if isinstance(other, dict) else None
            if (moved is not None and moved.get("field") == "dport" and isinstance(other, dict)
                    and isinstance(other.get("value"), int) and not isinstance(other.get("value"), bool)):
                port = other["value"]
        return index, {"family": payload["protocol"], "addr": value if isinstance(value, str) else None, "port": port}
    return None


def parse_nft_ruleset(document: Any) -> list[PublishedPort]:
    """DNAT statements of ``nft -j list ruleset`` rules (native nftables expressions), and rewrites
    of the destination address (:func:`_destination_rewrite`), which forward as a DNAT does."""
    found: list[PublishedPort] = []
    items = document.get("nftables", []) if isinstance(document, dict) else []
    chains = [item["chain"] for item in items if isinstance(item, dict) and isinstance(item.get("chain"), dict)]
    hooks = {(chain.get("family"), chain.get("table"), chain.get("name")): chain.get("hook") for chain in chains}
    for rule, origin in _nft_rules(document):
        dnat = next((e["dnat"] for e in rule["expr"] if isinstance(e, dict) and isinstance(e.get("dnat"), dict)), None)
        matches = rule["expr"]
        if dnat is not None and hooks.get((rule.get("family"), rule.get("table"), rule.get("chain"))) == "output":
            # a base chain of the output hook (which no rule can jump to) sees only what this host's
            # own processes send: its dnat redirects them and publishes nothing to a link
            continue
        # nft_nat_validate takes dnat at prerouting and output only: for what a link brings, before
        # the route lookup; a rewrite, where its chain is hooked (input: after it; a regular chain
        # or one the listing does not show: not known)
        before_routing: bool | None = True
        if dnat is None:
            rewrite = _destination_rewrite(rule, hooks)
            if rewrite is None:
                continue
            # a match after the rewrite sees the new destination, not the one the packet came with
            matches, dnat = rule["expr"][:rewrite[0]], rewrite[1]
            hook = hooks.get((rule.get("family"), rule.get("table"), rule.get("chain")))
            before_routing = True if hook in ("prerouting", "ingress") else False if hook == "input" else None
        address = dnat.get("addr") if isinstance(dnat.get("addr"), str) else None
        # an inet rule's dnat names its family; when it does not, the address it forwards to does
        family = ("ipv6" if rule.get("family") == "ip6" or dnat.get("family") == "ip6"
                  or (dnat.get("family") is None and address is not None and ":" in address) else "ipv4")
        protocol: str | None = None
        excluded: str | None = None
        ports: tuple[int, int] = (0, 65535)
        host: str | None = None
        for expr in matches:
            match = expr.get("match") if isinstance(expr, dict) else None
            if not isinstance(match, dict):
                continue
            left, right, op = match.get("left"), match.get("right"), match.get("op", "==")
            payload = left.get("payload") if isinstance(left, dict) else None
            meta = left.get("meta") if isinstance(left, dict) else None
            if isinstance(payload, dict) and payload.get("field") == "dport" and payload.get("protocol") in PROTOCOLS:
                protocol = payload["protocol"]
                if op == "==" and isinstance(right, int):
                    ports = (right, right)
                elif op == "==" and isinstance(right, dict) and isinstance(right.get("range"), list):
                    ports = (int(right["range"][0]), int(right["range"][1]))
                # a set, a map or a negation: every port (fail closed)
            elif isinstance(payload, dict) and payload.get("field") == "daddr" and op == "==":
                if isinstance(right, str):
                    host = right
                elif isinstance(right, dict) and isinstance(right.get("prefix"), dict):
                    host = f"{right['prefix'].get('addr')}/{right['prefix'].get('len')}"
            elif isinstance(meta, dict) and meta.get("key") == "l4proto" and op == "==" and right in PROTOCOLS:
                protocol = right
            elif isinstance(meta, dict) and meta.get("key") == "l4proto" and op == "!=" and isinstance(right, str):
                excluded = right  # ``meta l4proto != udp``: every other transport
        port = dnat.get("port") if isinstance(dnat.get("port"), int) else None
        transports = [protocol] if protocol else _protocols(excluded, True) if excluded else list(PROTOCOLS[:2])
        for proto in transports:
            found.append(_port(_host(host, family), ports[0], ports[1], proto, (address, port), origin, before_routing))
    return found


_XT_DNAT_TARGETS = frozenset({"DNAT", "NETMAP"})


def nft_opaque_dnat(document: Any) -> dict[str, int]:
    """How many ``xt`` targets of nat tables that may be a DNAT (named DNAT or NETMAP, or unnamed:
    opaque) ``nft -j list ruleset`` shows, by family: rules iptables-nft wrote, which nft cannot
    read and only an nf_tables iptables-save can (a legacy one never shows them)."""
    items = document.get("nftables", []) if isinstance(document, dict) else []
    nat_tables = {(item["chain"].get("family"), item["chain"].get("table")) for item in items
                  if isinstance(item, dict) and isinstance(item.get("chain"), dict) and item["chain"].get("type") == "nat"}
    found: dict[str, int] = {}
    for rule, _origin in _nft_rules(document):
        family = _NFT_FAMILIES.get(str(rule.get("family")))
        if family is None or (rule.get("family"), rule.get("table")) not in nat_tables:
            continue
        for expr in rule["expr"]:
            if not isinstance(expr, dict) or "xt" not in expr:
                continue
            xt = expr["xt"]
            named = xt.get("name") if isinstance(xt, dict) else None
            if (not isinstance(named, str) or named in _XT_DNAT_TARGETS) and not (
                    isinstance(xt, dict) and xt.get("type") not in (None, "target")):
                found[family] = found.get(family, 0) + 1
    return found


def _from_nf_tables(listing: str) -> bool:
    """Whether an iptables-save listing is of the nf_tables backend (its header says so), so that it
    shows the rules iptables-nft wrote."""
    # by logical lines: a rule's comment may hold a line that looks like this header
    return any(line.startswith("# Generated by") and "(nf_tables)" in line for _f, _l, line in _logical_lines(listing))


def dedupe(ports: list[PublishedPort]) -> list[PublishedPort]:
    seen: dict[tuple[object, ...], PublishedPort] = {}
    for port in ports:
        # where the rewrite happens is kept apart: one before the route lookup beside the same one
        # after it (an input chain's) must not stand for both (a loopback target is judged by it)
        key = (port.source, port.protocol, port.host_address, port.host_port, port.host_port_end,
               port.target_address, port.target_port, port.container_id, port.before_routing)
        seen.setdefault(key, port)
    return sorted(seen.values(), key=lambda p: (p.source, p.protocol, p.host_port, p.host_address, p.target_address or ""))


def _legacy_table_exists(proc: str | None, family: str, table: str) -> bool | None:
    """Whether the legacy (x_tables) ``table`` is registered: listed in /proc/net/ip{,6}_tables_names,
    which nft never shows (None: unknown).  A legacy iptables-save is run only for a table that may
    exist: asked for one that does not, it would make the kernel load and create it."""
    if proc is None:
        return None
    names = f"{proc}/net/{'ip' if family == 'ipv4' else 'ip6'}_tables_names"
    try:
        return table in read_regular(names, 4096).decode("ascii", "replace").split()
    except FileNotFoundError:
        return False  # no legacy tables at all (x_tables not loaded)
    except OSError:
        return None


class ListedOnce:
    """``target`` whose programs run once for every reader of one namespace's rules: the NAT reader
    and the TPROXY reader list the same tables (``nft -j list ruleset``, each ``iptables-save``),
    and running each twice was ~18 ms of every ``evaluate`` (five more programs).  Only for the
    namespace the caller is in: a child that enters another namespace runs its own programs."""

    def __init__(self, target: Any):
        self._target = target
        self._runs: dict[tuple[str, ...], Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def run(self, argv: list[str], timeout: float) -> Any:
        key = tuple(argv)
        if key not in self._runs:
            self._runs[key] = self._target.run(argv, timeout)
        return self._runs[key]


def table_listing(text: str, table: str) -> str:
    """What ``PROGRAM -t TABLE`` prints, out of what ``PROGRAM`` prints of every table: the header
    line before the table, then the table through its COMMIT, so that a rule's line number is the
    one ``-t TABLE`` shows; empty when the table is not there (nothing to find in it)."""
    lines = text.split("\n")
    logical = list(_logical_lines(text))
    for at, (start, _last, line) in enumerate(logical):
        if line.strip() == f"*{table}":
            end = next((last for first, last, rest in logical[at + 1:] if rest.strip() == "COMMIT"), logical[-1][1])
            header = [lines[start - 1]] if start and lines[start - 1].startswith("#") else ["#"]
            return "\n".join(header + lines[start:end + 1]) + "\n"
    return ""


NFT_ABSENT = "nft is not installed, so nftables rules could not be read"


def _from_nft(target: Any, timeout: float, parse: Callable[[Any], T]) -> tuple[bool, T | None, str | None]:
    """What ``parse`` makes of ``nft -j list ruleset`` on the target (the NAT, TPROXY and
    loopback-drop readers each read its one listing, :class:`ListedOnce`): (whether nft is
    installed, the parsed rules, why they could not be read)."""
    if target.find_program(NFT) is None:
        return False, None, None
    result = target.run([NFT, "-j", "list", "ruleset"], timeout)
    try:
        if not result.ok:
            raise ValueError((result.failure or result.stderr or "").strip()[:300])
        return True, parse(json.loads(result.stdout)), None
    except UNPARSEABLE as exc:
        return True, None, f"nft -j list ruleset failed: {unparseable_reason(exc)}"


def _read_nft(target: Any, timeout: float, parse: Callable[[Any], T], what: str, read: list[str],
              unknown: list[str]) -> T | None:
    """:func:`_from_nft` for a reader that keeps what it read and why rules may be missing as lists
    of text (the TPROXY and loopback-drop readers, as :func:`_read_iptables` does for iptables):
    the parsed rules, or None with the reason added to ``unknown``."""
    installed, parsed, failure = _from_nft(target, timeout, parse)
    if not installed:
        unknown.append(NFT_ABSENT)
    elif failure is not None:
        unknown.append(failure)
    else:
        read.append(f"nft -j list ruleset ({what})")
        return parsed
    return None


def read_nat(target: Any, timeout: float) -> tuple[list[PublishedPort] | None, list[Gap], list[str]]:
    """Every DNAT rule the target's programs show; (None, gaps) when no reader could run at all.
    Each iptables-save lists every table, and the nat table is read out of it: the TPROXY reader
    lists them all too (:class:`ListedOnce`), and a legacy iptables-save asked for one table that
    does not exist would make the kernel create it."""
    found: list[PublishedPort] = []
    gaps: list[Gap] = []
    read: list[str] = []
    absent: list[str] = []
    nf_tables_read: set[str] = set()  # the families an nf_tables iptables-save listing was read of

    def listing(program: str, family: str) -> None:
        result = target.run([program], timeout)
        if not result.ok:
            gaps.append(Gap(section="netns", path=("published", "nat"),
                            reason=f"{program} failed: {(result.failure or result.stderr or '').strip()[:300]}"))
            return
        try:
            found.extend(parse_iptables_save(table_listing(result.stdout, "nat"), family, program))
        except UNPARSEABLE as exc:
            gaps.append(Gap(section="netns", path=("published", "nat"),
                            reason=f"{program} -t nat printed what this reader cannot parse: {unparseable_reason(exc)}"))
            return
        if _from_nf_tables(result.stdout):
            nf_tables_read.add(family)
        read.append(f"{program} -t nat")

    for program, family in IPTABLES_PROGRAMS:
        if target.find_program(program) is None:
            absent.append(program)
            continue
        exists = _legacy_table_exists(target.proc, family, "nat") if "legacy" in program else True
        if exists is None:
            # not run where its table list cannot be read (it may load x_tables), but not passed over unsaid
            gaps.append(Gap(section="netns", path=("published", "nat"), kind=GapKind.UNREADABLE,
                            reason=f"the legacy {family} nat table may exist (its table list, {target.proc}/net/"
                                   f"{'ip' if family == 'ipv4' else 'ip6'}_tables_names, could not be read), and its "
                                   f"DNAT rules were not read by {program}"))
            continue
        if not exists:
            continue  # no legacy nat table: nothing of it to read
        listing(program, family)
    installed, parsed, failure = _from_nft(target, timeout,
                                           lambda document: (parse_nft_ruleset(document), nft_opaque_dnat(document)))
    if not installed:
        absent.append(NFT)
    elif failure is not None or parsed is None:
        gaps.append(Gap(section="netns", path=("published", "nat"), reason=failure or "nft -j list ruleset: no answer"))
    else:
        rules, opaque = parsed
        found += rules
        read.append("nft -j list ruleset")
        # iptables-nft rules nft cannot read, where iptables-save is the legacy one: iptables-nft-save's
        for program, family in NFT_IPTABLES_PROGRAMS:
            if opaque.get(family) and family not in nf_tables_read and target.find_program(program) is not None:
                listing(program, family)
        for family, count in sorted(opaque.items()):
            if family not in nf_tables_read:
                gaps.append(Gap(section="netns", path=("published", "nat"), kind=GapKind.UNREADABLE,
                                reason=f"nft shows {count} {family} iptables-nft target(s) of a nat table that may be "
                                       "DNAT (xt), which nft cannot read, and no nf_tables iptables-save (iptables-nft-"
                                       "save) could list them: ports they forward may be missing"))
    if not read:
        if not gaps:
            gaps.append(Gap(section="netns", path=("published", "nat"), kind=GapKind.UNREADABLE,
                            reason=f"no NAT rule reader is installed ({', '.join(absent)}): DNAT rules, which "
                                   f"publish ports with no listener on the host, could not be read"))
        return None, gaps, read
    return dedupe(found), gaps, read


# ---------------------------------------------------------------- TPROXY rules

_TPROXY_PROTOCOLS = ("tcp", "udp")
_NFT_FAMILIES: dict[str, Any] = {"ip": "ipv4", "ip6": "ipv6"}


def _tokens(line: str) -> list[str]:
    """An iptables-save rule line split as the shell would (as it was written: quoted comments)."""
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def _options(tokens: list[str]) -> tuple[dict[str, str], set[str]]:
    """``-x value`` pairs of an iptables-save rule (first of each), and the options negated (``! -p``)."""
    options: dict[str, str] = {}
    negated: set[str] = set()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "!":
            if index + 1 < len(tokens):
                negated.add(tokens[index + 1])
            index += 1
            continue
        if token.startswith("-") and index + 1 < len(tokens) and not tokens[index + 1].startswith("-"):
            options.setdefault(token, tokens[index + 1])
            index += 2
            continue
        index += 1
    return options, negated


def parse_iptables_tproxy(text: str, family: str, program: str) -> list[TproxyRule]:
    """``-j TPROXY`` rules of ``iptables-save`` output, in whichever table they are (the kernel takes
    them in mangle only)."""
    found: list[TproxyRule] = []
    for table, number, line in _appended_rules(text):
        options, negated = _options(_tokens(line))
        if (options.get("-j") or options.get("--jump")) != "TPROXY":
            continue
        protocol = None if "-p" in negated else options.get("-p")
        port = options.get("--on-port")
        found.append(TproxyRule(origin=f"{program}:{number} (table {table})", family=family,  # type: ignore[arg-type]
                                protocol=protocol if protocol in _TPROXY_PROTOCOLS else None,  # type: ignore[arg-type]
                                port=int(port) if port is not None and port.isdigit() and int(port) else None))
    return found


def _nft_protocol(expressions: list[Any]) -> str | None:
    """The transport a rule narrows to (``tcp dport``, ``meta l4proto udp``), when it does."""
    for expr in expressions:
        match = expr.get("match") if isinstance(expr, dict) else None
        if not isinstance(match, dict) or match.get("op", "==") != "==":
            continue
        left, right = match.get("left"), match.get("right")
        payload = left.get("payload") if isinstance(left, dict) else None
        meta = left.get("meta") if isinstance(left, dict) else None
        if isinstance(payload, dict) and payload.get("protocol") in _TPROXY_PROTOCOLS:
            return str(payload["protocol"])
        if isinstance(meta, dict) and meta.get("key") == "l4proto" and right in _TPROXY_PROTOCOLS:
            return str(right)
    return None


def parse_nft_tproxy(document: Any) -> tuple[list[TproxyRule], int]:
    """``tproxy`` statements of ``nft -j list ruleset`` rules, and iptables-nft ``TPROXY`` targets
    where nft names them (``xt``); with the number of ``xt`` targets it does not name (older nft:
    opaque, so only iptables-save can tell what they are)."""
    found: list[TproxyRule] = []
    opaque = 0
    for rule, origin in _nft_rules(document):
        for expr in rule["expr"]:
            if not isinstance(expr, dict):
                continue
            statement = expr.get("tproxy")
            xt = expr.get("xt", False)
            if "xt" in expr and not (isinstance(xt, dict) and isinstance(xt.get("name"), str)):
                opaque += 1
                continue
            if isinstance(xt, dict) and (xt.get("type") != "target" or xt.get("name") != "TPROXY"):
                continue
            if statement is None and not isinstance(xt, dict):
                continue
            details = statement if isinstance(statement, dict) else {}
            family = _NFT_FAMILIES.get(str(details.get("family") or rule.get("family")))
            port = details.get("port")
            found.append(TproxyRule(origin=origin, family=family, protocol=_nft_protocol(rule["expr"]),  # type: ignore[arg-type]
                                    port=port if isinstance(port, int) and not isinstance(port, bool) and port else None))
    return found, opaque


def _read_iptables(target: Any, timeout: float, programs: Iterable[tuple[str, str]], tables: tuple[str, ...],
                   parse: Callable[[str, str, str], list[Any]], what: str, found: list[Any], read: list[str],
                   unknown: list[str]) -> set[str]:
    """Run each iptables-save of ``programs`` ((program, family) pairs: every table each shows, no
    -t) found on the target, adding what ``parse`` finds in its listing to ``found``, what was read to
    ``read`` and why a listing is missing to ``unknown``; the programs whose listing was read.  A
    legacy program is not run where none of ``tables`` exists in the legacy tables: it would show
    nothing of them."""
    read_ok: set[str] = set()
    for program, family in programs:
        if target.find_program(program) is None:
            continue
        if "legacy" in program and all(_legacy_table_exists(target.proc, family, t) is False for t in tables):
            continue
        result = target.run([program], timeout)
        if not result.ok:
            unknown.append(f"{program} failed: {(result.failure or result.stderr or '').strip()[:300]}")
            continue
        try:
            found += parse(result.stdout, family, program)
        except UNPARSEABLE as exc:
            unknown.append(f"{program} printed what this reader cannot parse: {unparseable_reason(exc)}")
            continue
        read_ok.add(program)
        read.append(f"{program} ({what})")
    return read_ok


def read_tproxy(target: Any, timeout: float) -> tuple[list[TproxyRule] | None, list[str], list[str]]:
    """The TPROXY rules of the namespace the programs run in: (rules, why they are not known to be
    all of them, what was read).  The rules are None when none was found and some reader could not
    run: then "no TPROXY rule" cannot be said.

    nftables rules come from ``nft -j list ruleset`` (every nftables table, iptables-nft's too, whose
    targets nft may name); iptables' from iptables-save; a legacy x_tables mangle table, which nft
    never shows, must be read by iptables-legacy-save (or an iptables-save that is the only one)."""
    found: list[TproxyRule] = []
    unknown: list[str] = []
    read: list[str] = []
    opaque = 0
    parsed = _read_nft(target, timeout, parse_nft_tproxy, "tproxy", read, unknown)
    if parsed is not None:
        rules, opaque = parsed
        found += rules
    read_ok = _read_iptables(target, timeout, IPTABLES_PROGRAMS, ("mangle",), parse_iptables_tproxy, "TPROXY",
                             found, read, unknown)
    for family, plain, legacy in (("ipv4", "iptables-save", "iptables-legacy-save"),
                                  ("ipv6", "ip6tables-save", "ip6tables-legacy-save")):
        exists = _legacy_table_exists(target.proc, family, "mangle")
        readers = [legacy] if target.find_program(legacy) is not None else [plain]
        if exists is not False and not read_ok & set(readers):
            what = "exists" if exists else "may exist (its table list could not be read)"
            unknown.append(f"the legacy {family} mangle table {what}, and {readers[0]} could not read it")
    if opaque and not read_ok & {"iptables-save", "ip6tables-save"}:
        unknown.append(f"nft shows {opaque} iptables-nft target(s) without naming them, and iptables-save could "
                       "not read them")
    if unknown and not found:
        return None, unknown, read
    return found, unknown, read


# ---------------------------------------------------------------- loopback drops

# A DNAT of a 127.0.0.0/8 destination happens in nat PREROUTING (priority dstnat, -100), before
# ip_route_input drops a loopback destination that came from a link as a martian: a neighbour that
# sends to 127.0.0.1 through this host's MAC address reaches the forwarded port (moby#41872).  What
# closes it is a drop that comes earlier: a raw (-300) or mangle (-150) PREROUTING rule.
_DSTNAT_PRIORITY = -100
_EARLY_TABLES = ("raw", "mangle")
LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
# iptables targets after which the chain goes on (a packet they see still meets the rules below).
_CONTINUING_TARGETS = frozenset({"CT", "NOTRACK", "MARK", "LOG", "TRACE", "CONNMARK", "NFLOG", "CHECKSUM", "TCPMSS",
                                 "DSCP", "TOS", "TTL", "HL", "CLASSIFY", "ULOG", "AUDIT", "SET", "IDLETIMER", "LED"})
# The options a Docker-style drop may have; any other narrows what it drops (-s, -m conntrack, ...).
_PLAIN_OPTIONS = frozenset({"-A", "-d", "--destination", "-i", "--in-interface", "-p", "--protocol", "-m", "--match",
                            "--dport", "--destination-port", "-j", "--jump", "--comment"})
_PLAIN_MODULES = frozenset({"tcp", "udp", "sctp", "comment"})


def _network_text(text: str | None) -> bool:
    """Whether a rule's destination is one network this reader knows (not a set, not a name)."""
    try:
        return text is None or bool(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return False


def _overlaps(one: tuple[str, str | None, tuple[int, int]], other: tuple[str, str | None, tuple[int, int]]) -> bool:
    """Whether two (destination, protocol, ports) regions share a packet."""
    (net_a, proto_a, ports_a), (net_b, proto_b, ports_b) = one, other
    return (ipaddress.ip_network(net_a).overlaps(ipaddress.ip_network(net_b))
            and (proto_a is None or proto_b is None or proto_a == proto_b)
            and ports_a[0] <= ports_b[1] and ports_b[0] <= ports_a[1])


def _effective(rules: list[tuple[str, str, tuple[str, str | None, tuple[int, int]], bool]]) -> list[LoopbackDrop]:
    """The drops of one chain, in order (origin, verdict "drop" or "pass", region, whether the drop
    takes every such packet not from lo), that no earlier letting-through rule could have ended
    first for a packet they drop, and whose destination reaches into 127.0.0.0/8."""
    passes: list[tuple[str, str | None, tuple[int, int]]] = []
    found: list[LoopbackDrop] = []
    for origin, verdict, region, whole in rules:
        if verdict != "drop":
            passes.append(region)
            continue
        network = ipaddress.ip_network(region[0])
        if (not whole or network.version != 4 or not network.overlaps(LOOPBACK_V4)
                or any(_overlaps(region, earlier) for earlier in passes)):
            continue
        found.append(LoopbackDrop(origin=origin, destination=region[0], protocol=region[1],  # type: ignore[arg-type]
                                  port=region[2][0], port_end=region[2][1]))
    return found


def parse_iptables_loopback_drops(text: str, family: str, program: str) -> list[LoopbackDrop]:
    """The loopback drops (:class:`LoopbackDrop`) of raw and mangle PREROUTING in ``iptables-save``
    output (every table: no -t).  A rule counts as a drop only when it takes every packet not from lo
    to its destination and ports (``-j DROP``, ``! -i lo`` or no interface, no other match); any
    other rule that may end the chain (ACCEPT, RETURN, a jump) for such a packet before it is read
    as letting it through: its region is the widest its matches allow."""
    if family != "ipv4":
        return []  # ip6_rcv_core drops ::1 from any other interface before PREROUTING
    chains: dict[str, list[tuple[str, str, tuple[str, str | None, tuple[int, int]], bool]]] = {}
    for table, number, line in _appended_rules(text):
        if table not in _EARLY_TABLES or not line.startswith("-A PREROUTING "):
            continue
        tokens = _tokens(line)
        options, negated = _options(tokens)
        target = options.get("-j") or options.get("--jump")
        if target is None and "-g" not in options and "--goto" not in options:
            continue  # a counter only: the chain goes on
        if target in _CONTINUING_TARGETS:
            continue
        interface = options.get("-i", options.get("--in-interface"))
        interface_negated = bool({"-i", "--in-interface"} & negated)
        if interface == "lo" and not interface_negated:
            continue  # takes only what lo delivers: no packet from a link
        destination = options.get("-d", options.get("--destination"))
        destination_negated = bool({"-d", "--destination"} & negated)
        protocol = options.get("-p", options.get("--protocol"))
        protocol_negated = bool({"-p", "--protocol"} & negated)
        dport = options.get("--dport", options.get("--destination-port"))
        dport_negated = bool({"--dport", "--destination-port"} & negated)
        region = (_host(None if destination_negated else destination, family),
                  None if protocol_negated or protocol not in PROTOCOLS else protocol,
                  (0, 65535) if dport_negated else _ports(dport))
        modules = {tokens[i + 1] for i, t in enumerate(tokens[:-1]) if t in ("-m", "--match")}
        flags = {t for t in tokens if t.startswith("-") and t != "-"}
        whole = (target == "DROP" and not destination_negated and _network_text(destination) and not protocol_negated and not dport_negated
                 and (interface is None or (interface == "lo" and interface_negated))
                 and (protocol is None or protocol in PROTOCOLS)
                 and flags <= _PLAIN_OPTIONS and modules <= _PLAIN_MODULES)
        chains.setdefault(table, []).append(
            (f"{program}:{number} (table {table})", "drop" if target == "DROP" else "pass", region, whole))
    return [drop for table in _EARLY_TABLES for drop in _effective(chains.get(table, []))]


_NFT_VERDICTS = {"drop": "drop", "reject": "drop", "accept": "pass", "jump": "pass", "goto": "pass",
                 "return": "pass", "queue": "pass"}
_NFT_QUIET = frozenset({"counter", "log", "match"})  # a match is read on its own; counter and log go on


def parse_nft_loopback_drops(document: Any) -> list[LoopbackDrop]:
    """The loopback drops (:class:`LoopbackDrop`) of ``nft -j list ruleset``: rules of base chains
    hooked at prerouting with a priority before dstnat (-100), in ip and inet tables; read as
    :func:`parse_iptables_loopback_drops` reads iptables' (``iifname != "lo" ip daddr 127.0.0.1 tcp
    dport 8080 drop``, as Docker 28 writes it, is one)."""
    items = document.get("nftables", []) if isinstance(document, dict) else []
    early: set[tuple[Any, Any, Any]] = set()
    for item in items:
        chain = item.get("chain") if isinstance(item, dict) else None
        if (isinstance(chain, dict) and chain.get("hook") == "prerouting" and chain.get("family") in ("ip", "inet")
                and isinstance(chain.get("prio"), int) and chain["prio"] < _DSTNAT_PRIORITY):
            early.add((chain.get("family"), chain.get("table"), chain.get("name")))
    chains: dict[tuple[Any, Any, Any], list[tuple[str, str, tuple[str, str | None, tuple[int, int]], bool]]] = {}
    for rule, origin in _nft_rules(document):
        key = (rule.get("family"), rule.get("table"), rule.get("chain"))
        if key not in early:
            continue
        verdict = None
        whole = True
        only_lo = ipv6_only = False
        host, protocol, ports = None, None, (0, 65535)
        for expr in rule["expr"]:
            if not isinstance(expr, dict) or len(expr) != 1:
                whole = False
                continue
            name = next(iter(expr))
            if name in _NFT_VERDICTS:
                verdict = _NFT_VERDICTS[name]
                continue
            if name == "xt":
                xt = expr["xt"]
                if isinstance(xt, dict) and xt.get("type") == "target":
                    verdict = "drop" if xt.get("name") == "DROP" else None if xt.get("name") in _CONTINUING_TARGETS else "pass"
                whole = False  # an opaque iptables-nft match: iptables-save reads it
                continue
            if name not in _NFT_QUIET:
                whole = False  # limit, ct, set, ...: narrows a drop, or a statement
                continue
            match = expr.get("match")
            if not isinstance(match, dict):
                continue
            left, right, op = match.get("left"), match.get("right"), match.get("op", "==")
            payload = left.get("payload") if isinstance(left, dict) else None
            meta = left.get("meta") if isinstance(left, dict) else None
            if isinstance(meta, dict) and meta.get("key") in ("iifname", "iif"):
                if right == "lo" and op == "==":
                    only_lo = True
                elif not (right == "lo" and op == "!="):
                    whole = False
            elif isinstance(payload, dict) and payload.get("field") == "daddr" and payload.get("protocol") == "ip":
                if op == "==" and isinstance(right, str):
                    host = right
                elif op == "==" and isinstance(right, dict) and isinstance(right.get("prefix"), dict):
                    host = f"{right['prefix'].get('addr')}/{right['prefix'].get('len')}"
                else:
                    whole = False
            elif isinstance(payload, dict) and payload.get("field") == "dport" and payload.get("protocol") in PROTOCOLS:
                protocol = payload["protocol"]
                if op == "==" and isinstance(right, int) and not isinstance(right, bool):
                    ports = (right, right)
                elif op == "==" and isinstance(right, dict) and isinstance(right.get("range"), list):
                    ports = (int(right["range"][0]), int(right["range"][1]))
                else:
                    whole = False
            elif isinstance(meta, dict) and meta.get("key") == "l4proto" and op == "==" and right in PROTOCOLS:
                protocol = right
            elif isinstance(payload, dict) and payload.get("protocol") == "ip6":
                ipv6_only = True  # an inet table's rule for IPv6 packets: none to 127.0.0.0/8
            else:
                whole = False
        whole = whole and _network_text(host)
        if verdict is None or only_lo or ipv6_only:
            continue  # goes on, or sees no IPv4 packet from a link
        region = (_host(host, "ipv4"), protocol, ports)
        if verdict == "drop" and not whole:
            continue  # a narrower drop lets nothing through that would otherwise be dropped
        chains.setdefault(key, []).append((f"{origin} (priority before dstnat)", verdict, region, whole))
    return [drop for key in sorted(chains, key=str) for drop in _effective(chains[key])]


def read_loopback_drops(target: Any, timeout: float) -> tuple[list[LoopbackDrop] | None, list[str], list[str]]:
    """The loopback drops of the namespace the programs run in: (drops, why they may not be all of
    them, what was read); the drops are None when no reader could run.  The listings are those the
    NAT and TPROXY readers take (:class:`ListedOnce`)."""
    found: list[LoopbackDrop] = []
    unknown: list[str] = []
    read: list[str] = []
    found += _read_nft(target, timeout, parse_nft_loopback_drops, "loopback drops", read, unknown) or []
    # IPv4 only: ::1 never comes from a link
    read_ok = _read_iptables(target, timeout, IPTABLES_PROGRAMS[::2], _EARLY_TABLES, parse_iptables_loopback_drops,
                             "loopback drops", found, read, unknown)
    if "iptables-save" not in read_ok and target.find_program("iptables-save") is None:
        unknown.append("iptables-save is not installed, so iptables rules could not be read")
    legacy = "iptables-legacy-save"
    for table in _EARLY_TABLES:
        exists = _legacy_table_exists(target.proc, "ipv4", table)
        readers = [legacy] if target.find_program(legacy) is not None else ["iptables-save"]
        if exists is not False and not read_ok & set(readers):
            what = "exists" if exists else "may exist (its table list could not be read)"
            unknown.append(f"the legacy ipv4 {table} table {what}, and {readers[0]} could not read it")
    if not read:
        return None, unknown, read
    seen: dict[tuple[object, ...], LoopbackDrop] = {}
    for drop in found:
        seen.setdefault((drop.destination, drop.protocol, drop.port, drop.port_end), drop)
    return sorted(seen.values(), key=lambda d: (d.port, d.destination, d.protocol or "", d.origin)), unknown, read


# ---------------------------------------------------------------- ingress redirects

def parse_nft_ingress_redirects(document: Any) -> dict[str | None, list[str]]:
    """The links an nftables ingress chain may hand packets on from (``fwd to``, ``dup to``): by the
    device the chain hooks, the hooks on it ("nft ingress fwd (netdev TABLE CHAIN)").  A chain is
    counted when its table holds such a statement in any chain (a regular chain is reached by a
    jump, which this reader does not follow).  The key None stands for every link: nft before
    1.0.7 does not name a chain's device in its JSON."""
    items = document.get("nftables", []) if isinstance(document, dict) else []
    if not isinstance(items, list):
        return {}
    statements: dict[tuple[Any, Any], set[str]] = {}
    for rule, _origin in _nft_rules(document):
        for expr in rule["expr"]:
            for name in rtnetlink.HAND_ON_EXPRESSIONS:
                if isinstance(expr, dict) and name in expr:
                    statements.setdefault((rule.get("family"), rule.get("table")), set()).add(name)
            xt = expr.get("xt") if isinstance(expr, dict) else None
            if isinstance(xt, dict) and xt.get("type") == "target" and xt.get("name") == "TEE":
                statements.setdefault((rule.get("family"), rule.get("table")), set()).add("TEE")
    chains: list[tuple[object, object, object, list[str | None], set[str]]] = []
    copying: list[tuple[object, object, object, list[str | None], set[str]]] = []
    for item in items:
        chain = item.get("chain") if isinstance(item, dict) else None
        if not isinstance(chain, dict):
            continue
        held = statements.get((chain.get("family"), chain.get("table"))) or set()
        copies = held & set(rtnetlink.COPY_EXPRESSIONS)
        if (chain.get("hook") == "prerouting" and chain.get("family") in rtnetlink.NFT_PREROUTING_FAMILIES.values()
                and copies):
            # copies what any link brings before the routing decision (rtnetlink.COPY_EXPRESSIONS)
            copying.append((chain.get("family"), chain.get("table"), chain.get("name"), [], copies))
            continue
        held = held & set(rtnetlink.HAND_ON_EXPRESSIONS)
        if not (chain.get("hook") == "ingress" and chain.get("family") in rtnetlink.NFT_INGRESS_FAMILIES.values()):
            continue
        if not held:
            continue
        device = chain.get("dev")
        devices: list[str | None] = ([device] if isinstance(device, str) else
                                     [d for d in device if isinstance(d, str)] if isinstance(device, list) else [])
        chains.append((chain.get("family"), chain.get("table"), chain.get("name"), devices, held))
    found = rtnetlink.label_ingress_redirects(chains)
    for device, labels in rtnetlink.label_ingress_redirects(copying, "prerouting").items():
        found.setdefault(device, []).extend(labels)
    return found


# The built-in chains of the mangle table that see a packet after the routing decision (or one this
# host sends): a TEE there copies nothing a link brings before it is routed.
_AFTER_ROUTING_CHAINS = frozenset({"INPUT", "FORWARD", "OUTPUT", "POSTROUTING"})


def parse_iptables_tee(text: str, family: str, program: str) -> list[str]:
    """The chains of the mangle table in ``iptables-save`` output that copy what a link brings to
    another host (``-j TEE --gateway ADDR``, nf_dup_ipv4/ipv6, which sends the copy out whatever the
    forwarding settings say), as labels "iptables-legacy prerouting TEE (ipv4 mangle PREROUTING)":
    PREROUTING, and a chain of the table's own (a jump from PREROUTING may reach it; the kernel
    takes TEE in mangle only).  Its ``-i`` is not read: every link, as nft's ``dup`` is."""
    labels: list[str] = []
    for table, _number, line in _appended_rules(text):
        if table != "mangle":
            continue
        options, _negated = _options(_tokens(line))
        chain = line[len("-A "):].split(" ", 1)[0]
        if (options.get("-j") or options.get("--jump")) != "TEE" or chain in _AFTER_ROUTING_CHAINS:
            continue
        label = f"iptables-legacy prerouting TEE ({family} mangle {chain[:64]})"
        if label not in labels:
            labels.append(label)
    return labels


def read_legacy_tee(target: Any, timeout: float) -> tuple[list[str] | None, str | None]:
    """The TEE chains (:func:`parse_iptables_tee`) of the legacy (x_tables) mangle tables of the
    caller's namespace, which no nftables dump or listing shows (iptables-nft's TEE is an xt target
    of nftables, read with the nft chains); a table that does not exist is not listed, so that
    listing it does not create it.  (None, why) when a table that exists, or may, could not be read."""
    labels: list[str] = []
    for family, plain, legacy in (("ipv4", "iptables-save", "iptables-legacy-save"),
                                  ("ipv6", "ip6tables-save", "ip6tables-legacy-save")):
        exists = _legacy_table_exists(target.proc, family, "mangle")
        if exists is False:
            continue
        what = "exists" if exists else "may exist (its table list could not be read)"
        program = legacy if target.find_program(legacy) is not None else plain
        if target.find_program(program) is None:
            return None, f"the legacy {family} mangle table {what}, and {legacy} is not installed to read its TEE rules"
        result = target.run([program], timeout)
        if not result.ok:
            return None, f"{program} failed: {(result.failure or result.stderr or '').strip()[:300]}"
        if _from_nf_tables(result.stdout):
            return None, (f"the legacy {family} mangle table {what}, and {program} lists the nf_tables rules, not "
                          f"its TEE rules ({legacy} is not installed)")
        try:
            labels += parse_iptables_tee(result.stdout, family, program)
        except UNPARSEABLE as exc:
            return None, f"{program} printed what this reader cannot parse: {unparseable_reason(exc)}"
    return labels, None


def read_ingress_redirects(target: Any, timeout: float) -> tuple[dict[str | None, list[str]] | None, str | None]:
    """The nftables ingress chains that may hand what arrives on a link to another interface, by
    device (None: every link), of the caller's namespace: from the kernel over nfnetlink
    (:func:`auditor.collect.rtnetlink.dump_nft_ingress_redirects`: no nft needed, and it names the
    devices), else :func:`parse_nft_ingress_redirects` of the listing of nft run by ``target`` in
    it; with the TEE chains of the legacy mangle tables (:func:`read_legacy_tee`), which copy from
    every link as a prerouting ``dup`` does; or (None, why they could not all be read)."""
    legacy, legacy_failure = read_legacy_tee(target, timeout)
    found: dict[str | None, list[str]] | None
    try:
        found, nft_failure = rtnetlink.dump_nft_ingress_redirects(timeout), None
    except OSError as exc:
        kernel = f"nfnetlink dump failed: {exc.strerror or exc}"
        installed, found, failure = _from_nft(target, timeout, parse_nft_ingress_redirects)
        nft_failure = (f"{kernel}; {NFT_ABSENT}" if not installed else
                       f"{kernel}; {failure or 'nft -j list ruleset: no answer'}" if failure is not None or found is None
                       else None)
    if found is None or legacy is None or nft_failure is not None:
        return None, "; ".join(why for why in (nft_failure, legacy_failure) if why)
    if legacy:
        every = found.setdefault(None, [])
        every.extend(label for label in legacy if label not in every)
    return found, None
