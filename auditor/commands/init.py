"""``lbaudit init``: write a starter policy, from this host's listeners and sysctls (``--from-host``,
like Goss's ``autoadd``) or from the defaults alone.

The policy written from a host passes its listener rule on that host at once: every listener that
net.bind_addresses judges reachable beyond loopback gets an exception (process, ports, protocol)
whose reason is ``TODO``, and ``lbaudit validate`` and ``lbaudit evaluate`` refuse the policy (exit 2,
at each reason's line) until each reason is written.  It is a starting point to review, never an
approval of what runs: a draft that allowed everything the host exposed passed the next evaluate.

Where a listener is reachable is the check's own answer (:func:`auditor.checks._listeners.reach`:
the loopback device, IP_TRANSPARENT, route_localnet, another namespace's outward interfaces), and
which exceptions could decide for it is the check's too (:func:`deciding_exceptions`: first match,
an owner that cannot be told, each of several holders): a second copy here told them apart.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from auditor.errors import InputError
from auditor.text import INVISIBLE_CHARACTER, one_line

DEFAULT_OUTPUT = Path("lbaudit-policy.yaml")
TODO_REASON = "TODO"


@dataclass(frozen=True)
class _Exception:
    owner: tuple[str, str] | None  # ("process", NAME) or ("exe", PATH); None: on ports and protocol alone
    protocol: str
    allow: tuple[str, ...]
    ports: tuple[int, ...]
    seen: tuple[str, ...]  # the listeners it covers, for the comment above it
    # (selector, value) of the network namespace it is about, ("namespace", NAME) or ("container",
    # NAME); None: the host's own (the exception then names no namespace, as before namespaces)
    where: tuple[str, str] | None = None


@dataclass(frozen=True)
class _Judged:
    """One listener as net.bind_addresses judges it: where it is reachable, and the owner each
    exception it needs selects (None: one on ports and protocol alone, its owner being unknown)."""

    listener: Any
    namespace: Any  # the NetNamespace it is in; None: the host's own, not described
    where: tuple[str, str] | None
    subject: str  # as the policy's comments name it (_found): no pid
    networks: tuple[Any, ...]
    needs: bool  # the default allow (loopback) does not hold every address it is reachable at
    owners: tuple[tuple[str, str] | None, ...]
    complete: bool  # the processes seen holding it are all of them


def _glob_literal(name: str) -> str:
    """A process name as a glob that matches exactly it: glob characters in brackets, and any
    character a policy string may not hold as ``?``."""
    # control characters, and what YAML or a policy string takes as a line break or a bidi control
    # (NEL, U+2028/U+2029, the embeddings, overrides and isolates): a process name is the host's text
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", "?", name)
    return re.sub(r"([*?\[])", lambda m: "?" if m.group(1) == "?" else f"[{m.group(1)}]", text)


def _yaml_escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _yaml_string(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (a JSON string is one), each character drawn as
    nothing written as its escape: the reviewer of the starter policy approves what it reads, and a
    zero-width space in ``"ss\u200bhd"`` read ``"sshd"``.  The loader reads the escape back, so the
    exception still matches exactly that name."""
    return INVISIBLE_CHARACTER().sub(_yaml_escape, json.dumps(text, ensure_ascii=False))


def _port_list(ports: tuple[int, ...]) -> str:
    """Sorted ports as a policy's list, runs of three or more as one range ("8000-8099"): a process
    bound to thousands of consecutive ports is one item, not thousands (a policy file holds at
    most MAX_NODES values)."""
    items: list[str] = []
    index = 0
    while index < len(ports):
        end = index
        while end + 1 < len(ports) and ports[end + 1] == ports[end] + 1:
            end += 1
        if end - index >= 2:
            items.append(f'"{ports[index]}-{ports[end]}"')
        else:
            items += [str(port) for port in ports[index:end + 1]]
        index = end + 1
    return f"[{', '.join(items)}]"


def _where(ns: Any) -> tuple[str, str]:
    """How an exception selects the listeners of another namespace: its ip netns name, else its
    container's name, else its inode (which the namespace selector takes as written)."""
    if ns.names:
        return ("namespace", _glob_literal(ns.names[0]))
    named = sorted(w.name for w in ns.workloads if w.name)
    if named:
        return ("container", _glob_literal(named[0]))
    return ("namespace", f"net:[{ns.inode}]")


def _found(listener: Any) -> str:
    """A listener as a comment of the policy names it: protocol, endpoint and the names of its
    holders, sorted, never a pid (``tcp 0.0.0.0:8080 nginx (4 processes)``).  The subject's pid of
    the first holder seen made two runs on the same host write different files for the same
    listeners, after a restart or a pre-fork server's recycled workers."""
    text = f"{listener.protocol} {listener.endpoint}"
    if listener.processes:
        text += " " + ", ".join(sorted({process.label for process in listener.processes}))
        if len(listener.processes) > 1:
            text += f" ({len(listener.processes)} processes)"
    elif listener.declared_by:
        text += f" declared by {listener.declared_by}"
    else:
        text += " owner unknown"
    return text


def _judged_listeners(snapshot: Any) -> list[_Judged]:
    """The host's listeners and those of every other namespace it could enter, each judged where
    net.bind_addresses judges it (:func:`auditor.checks._listeners.reach`, with the default scope
    ``effective``)."""
    from auditor.checks import _listeners, _namespaces
    from auditor.checks.net_bind_addresses import judged_holders, own_name
    from auditor.domain import netaddr
    from auditor.model.base import copy_with

    loopback = netaddr.address_set(["loopback"])
    netns = snapshot.facts.netns
    current = netns.current if netns is not None else None
    scopes = [(snapshot, current, None)]
    namespace_gaps = _namespaces.gaps_by_namespace(snapshot)
    scopes += [(_namespaces.as_snapshot(snapshot, index, ns, namespace_gaps), ns, _where(ns))
               for index, ns in _namespaces.others(snapshot)]
    judged = []
    for scoped, ns, where in scopes:
        sockets = scoped.facts.sockets
        # ("listeners", 3, "processes"): the processes seen holding listener 3 may not be all of them
        partial = {g.path[1] for g in scoped.gaps_for("sockets", "listeners")
                   if len(g.path) == 3 and isinstance(g.path[1], int) and g.path[2] == "processes"}
        for index, listener in enumerate((sockets.listeners or []) if sockets is not None else []):
            exposure = (_namespaces.exposure(listener, ns, current, netns.namespaces if netns is not None else ())
                        if where is not None else None)
            reach = _listeners.reach(listener, ns, exposure)
            networks, beyond = reach.networks(), not reach.allowed_by(loopback)
            if _listeners.loopback_device_doubt(listener, ns) is not None:
                # bound to lo where an ingress hook may put a link's packets on lo: the check judges
                # it both as bound to lo and as bound to no device, and passes it when both pass
                unbound = copy_with(listener, {"interface": None})
                past = _listeners.reach(unbound, ns, _namespaces.exposure(
                    unbound, ns, current, netns.namespaces if netns is not None else ()) if where is not None else None)
                networks = (*networks, *(n for n in past.networks() if n not in networks))
                beyond = beyond or not past.allowed_by(loopback)
            holders = {_owner(p, own_name(p)) for p in judged_holders(listener.processes)}
            owners = (None,) if not holders or None in holders else tuple(sorted(h for h in holders if h is not None))
            subject = _found(listener) + (f" in netns {ns.label}" if where is not None else "")
            judged.append(_Judged(listener, ns, where, subject, networks, beyond, owners, index not in partial))
    return judged


def _allow_entries(networks: Any) -> tuple[str, ...]:
    """The shortest allow list that holds ``networks`` and nothing more: any when they are all of IPv4
    and all of IPv6 (a dual-stack wildcard), else each collapsed network (an address without its /32
    or /128, a family's wildcard as 0.0.0.0/0 or ::/0).  A listener on 0.0.0.0 was allowed any, and
    the reviewed draft passed the same process on [::] too, a wildcard the host never had."""
    import ipaddress

    v4 = list(ipaddress.collapse_addresses(n for n in networks if n.version == 4))
    v6 = list(ipaddress.collapse_addresses(n for n in networks if n.version == 6))
    collapsed = [*v4, *v6]
    if any(n.prefixlen == 0 for n in v4) and any(n.prefixlen == 0 for n in v6):
        return ("any",)
    return tuple(str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n) for n in collapsed)


# An exception's place in the policy: the other namespaces' first (a host exception names no
# namespace, so it would decide for a container's listener on the same port before one that does),
# then by owner (one on ports alone first), protocol and port.
def _slot_order(slot: tuple[tuple[str, str] | None, tuple[str, str] | None, str, int]) -> tuple[Any, ...]:
    where, owner, protocol, port = slot
    return (where is None, where or ("", ""), owner is not None, owner or ("", ""), protocol, port)


def _owner(process: Any, name: str | None) -> tuple[str, str] | None:
    """What an exception selects a holder by: its name when exec gave it (``name``, as
    net.bind_addresses proves it), else its executable; None when neither is known."""
    if name is not None:
        return ("process", _glob_literal(name))
    return ("exe", _glob_literal(process.exe)) if process.exe else None


def _listener_exceptions(snapshot: Any) -> list[_Exception]:
    """The exceptions the host needs to pass net.bind_addresses as it is: one for each (namespace,
    process, protocol, port) of a listener reachable beyond what the default allows (loopback);
    each allows what every listener it could decide for is reachable at (as the check tries
    them, first match first); those that allow the same are one, with all their ports."""
    from auditor.checks.net_bind_addresses import ListenerMatch, deciding_exceptions

    judged = _judged_listeners(snapshot)
    slots = sorted({(j.where, owner, j.listener.protocol, j.listener.port)
                    for j in judged if j.needs for owner in j.owners}, key=_slot_order)
    # Only an exception on a listener's protocol and port can decide for it: each listener is
    # tried against those alone, in policy order.
    by_port: dict[tuple[str, int], list[int]] = defaultdict(list)
    for number, slot in enumerate(slots):
        by_port[slot[2], slot[3]].append(number)
    matches = {number: ListenerMatch.model_construct(
        ports=[port], protocol=protocol, **dict(item for item in (owner, where) if item is not None))
        for number, (where, owner, protocol, port) in enumerate(slots)}
    reached: dict[int, list[Any]] = defaultdict(list)
    seen: dict[int, list[str]] = defaultdict(list)
    for item in judged:
        numbers = by_port.get((item.listener.protocol, item.listener.port), [])
        if not numbers:
            continue
        for found in deciding_exceptions(item.listener, [matches[n] for n in numbers], item.namespace,
                                         complete=item.complete):
            reached[numbers[found]] += item.networks
            if item.needs:
                seen[numbers[found]].append(item.subject)
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for number, (where, owner, protocol, _port) in enumerate(slots):
        if reached[number]:  # else one before it decides for every listener it matches: never used
            groups[where, owner, protocol, _allow_entries(reached[number])].append(number)
    exceptions = [
        _Exception(owner, protocol, allow, tuple(sorted(slots[n][3] for n in numbers)),
                   tuple(sorted(subject for n in numbers for subject in seen[n])), where)
        for (where, owner, protocol, allow), numbers in groups.items()]
    return sorted(exceptions, key=lambda e: (e.where is None, e.where or ("", ""), e.owner is not None,
                                             e.owner or ("", ""), e.protocol, e.allow, e.ports))


def _in_range(snapshot: Any, pool: Any) -> list[str]:
    """The listeners of ``snapshot`` inside ``pool`` and not reserved, as the policy's comments name them."""
    sockets = snapshot.facts.sockets
    if pool is None or sockets is None:
        return []
    return sorted(_found(listener) for listener in sockets.listeners or []
                  if listener.protocol in ("tcp", "sctp", "dccp", "mptcp")
                  and pool.in_range(listener.port) and not pool.is_reserved(listener.port))


def _pool(snapshot: Any) -> tuple[Any, list[str]]:
    """The host's ephemeral pool (or None) and the listeners inside it that are not reserved."""
    from auditor.checks._sysctl import ephemeral_pool

    pool = ephemeral_pool(snapshot).pool
    return pool, _in_range(snapshot, pool)


def _namespace_pools(snapshot: Any) -> tuple[list[tuple[str, Any]], list[str]]:
    """The ephemeral pool of every other network namespace the check judges (its netns label, the
    pool), those whose pool could be read, and the listeners inside each pool: net.ephemeral_port_range
    holds each to the one ``min_pool_size``, ``min_low`` and ``forbid_listeners_in_range``."""
    from auditor.checks import _namespaces
    from auditor.checks._sysctl import ephemeral_pool

    gaps = _namespaces.gaps_by_namespace(snapshot)
    pools, inside = [], []
    for index, ns in _namespaces.others(snapshot):
        scoped = _namespaces.as_snapshot(snapshot, index, ns, gaps)
        pool = ephemeral_pool(scoped).pool
        if pool is not None:
            pools.append((ns.label, pool))
            inside += [f"{found} in netns {ns.label}" for found in _in_range(scoped, pool)]
    return pools, inside


def _pool_minimums(pool: Any, others: list[tuple[str, Any]] | None = None) -> list[str]:
    """The pool rule's ``min_pool_size`` and ``min_low``: this host's pool pinned where it is at
    least the check's default, never a minimum below a default.  The host's own values were written
    as they were (``min_low: min(1024, low)``), so a 1,001-port pool starting at port 500 passed the
    next evaluate: the starter policy approved a pool sixteen times smaller than the default and
    privileged ports handed to outgoing connections.  Below a default, the default is written with
    a TODO that says the host fails it until fixed.

    ``others``: the pools of the other network namespaces (:func:`_namespace_pools`), held by the
    check to the same minimums: the smallest pool and the lowest start of them all are pinned.  The
    pool of the namespace init ran in alone was: a container's 20,000-port pool beside a host's
    28,232 failed the policy on the host it was written from, a pool the default passes."""
    from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams

    fields = EphemeralRangeParams.model_fields
    least_pool, least_low = fields["min_pool_size"].default, fields["min_low"].default
    if pool is None:
        return [f"      min_pool_size: {least_pool}", f"      min_low: {least_low}"]
    # Pinned as the check counts it (``searched_size``: less the ports listeners hold and the port
    # an odd Linux range leaves out of each search): the pool's size was written, and an odd range
    # (32768-61000, 28,233 ports, 28,232 searched) failed the policy on the host it was written from.
    # (label, pool) of every namespace, this one first (label None); the smallest decides
    pools: list[tuple[str | None, Any]] = [(None, pool), *(others or [])]
    where, smallest = min(pools, key=lambda item: item[1].searched_size)
    usable = smallest.searched_size
    named = f" in netns {one_line(where)}" if where is not None else ""
    if usable >= least_pool:
        lines = [f"      min_pool_size: {usable}        # this host's pool now{named}: {smallest.describe()}"
                 f"{_left_out(smallest)}"]
    else:
        lines = [f"      min_pool_size: {least_pool}        # TODO: this host's pool now{named} is {smallest.describe()} "
                 f"({usable:,} usable ports{_left_out(smallest)}), below this minimum: widen net.ipv4.ip_local_port_range"]
    where, lowest = min(pools, key=lambda item: item[1].low)
    if lowest.low >= least_low:
        lines.append(f"      min_low: {least_low}")
    else:
        named = f" in netns {one_line(where)}" if where is not None else ""
        lines.append(f"      min_low: {least_low}        # TODO: this host's range{named} starts at {lowest.low}, below this: "
                     "privileged ports are handed to outgoing connections")
    return lines


def _left_out(pool: Any) -> str:
    """What the pinned minimum leaves out of the range besides its reserved ports, for its comment."""
    parts = []
    if pool.held:
        parts.append(f"{len(pool.held):,} held by listeners")
    if pool.searched_size < pool.size:
        parts.append("one an odd range leaves out of each search")
    return "; less " + " and ".join(parts) if parts else ""


def policy_text(snapshot: Any | None, today: str) -> str:
    """The starter policy: from ``snapshot`` when given, else the checks' defaults alone."""
    host = snapshot.provenance.hostname if snapshot is not None else None
    policy_id = "host-" + re.sub(r"[^A-Za-z0-9._-]", "-", host)[:100] if host else "starter"
    lines = [
        f"# Written by `lbaudit init{' --from-host' if snapshot is not None else ''}` on {today}"
        + (f" from the listeners and sysctls of {one_line(host)}." if host else "."),
        "# A starting point to review, not an approval of what runs: every exception below has",
        "# reason: TODO, and `lbaudit validate` and `lbaudit evaluate` refuse the policy until",
        "# each reason is written (no exception is granted without one).",
        f"id: {policy_id}",
        f'version: "{today}"',
        "owner: TODO <security@example.com>",
        "description: Starter policy for this host's network-socket layer.",
        "",
        "rules:",
        "  - id: listeners",
        "    check: net.bind_addresses",
        "    params:",
        "      allow: [loopback]",
    ]
    exceptions = _listener_exceptions(snapshot) if snapshot is not None else []
    if exceptions:
        lines.append("      exceptions:")
        for item in exceptions:
            # a subject names the process: a line break in it would end the comment and break the YAML
            lines.append(f"        # found: {one_line('; '.join(item.seen[:4]))}{' ...' if len(item.seen) > 4 else ''}")
            if item.owner is None:
                lines.append("        # owner not identified (run init as root to match on the process name)"
                             if not snapshot.provenance.privileged else
                             "        # owner not identified even as root (see the listener's reason in "
                             "`lbaudit evaluate`): matched by port alone")
            elif item.owner[0] == "exe":
                lines.append("        # its process name is not the one exec gave it (renamed), which proves nothing: "
                             "matched by executable")
            match = [f"{item.owner[0]}: {_yaml_string(item.owner[1])}"] if item.owner else []
            match += [f"ports: {_port_list(item.ports)}", f"protocol: {item.protocol}"]
            if item.where is not None:
                match.append(f"{item.where[0]}: {_yaml_string(item.where[1])}")
            lines += [
                f"        - match: {{{', '.join(match)}}}",
                # IPv6 quoted: a plain ::1 in a flow list is not YAML
                f"          allow: [{', '.join(_yaml_string(a) if ':' in a else a for a in item.allow)}]",
                f"          reason: {TODO_REASON}   # write why it must be reachable beyond loopback before gating",
            ]
    else:
        lines.append("      exceptions: []")

    pool, inside = _pool(snapshot) if snapshot is not None else (None, [])
    # the other namespaces' too: the check fails a container's listener in its range as the host's,
    # and the TODO named the host's alone (29 failing listeners of another namespace went unsaid)
    others, inside_others = _namespace_pools(snapshot) if snapshot is not None else ([], [])
    inside += inside_others
    lines += ["", "  - id: ephemeral-pool", "    check: net.ephemeral_port_range", "    params:"]
    lines += _pool_minimums(pool, others)
    if inside:
        # The check's default, never false for what the host has: a TODO comment is no reason, and
        # false passed those listeners (and any started in the range later) with nothing said.
        lines.append("      # TODO: listeners inside the ephemeral range, which fail this rule until moved out of it or "
                     "their ports reserved")
        lines.append("      # (net.ipv4.ip_local_reserved_ports): " + one_line("; ".join(inside[:6]))
                     + (" ..." if len(inside) > 6 else ""))
    lines.append("      forbid_listeners_in_range: true")
    lines += [
        "",
        "  - id: time-wait-headroom",
        "    check: net.time_wait",
        "    params:",
        "      allowed_tw_reuse: [0, 2]    # 1 would reuse TIME_WAIT ports for all outgoing connections",
        "      max_time_wait_share: 0.5",
        "",
        "  - id: socket-audit",
        "    check: audit.socket_logging",
        "    params:",
        "      syscalls: [bind, connect, accept, accept4]",
        "      arches: [b64, b32]",
        "      require_loaded: true",
        "      require_persistent: true",
        "      require_enabled: true",
        "",
    ]
    return "\n".join(lines)


@click.command("init")
@click.option("--from-host", is_flag=True, help="Read this host's listeners and ephemeral range (run as root to "
              "name the processes) [default: the checks' defaults only, nothing read].")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),  # refused below
              default=DEFAULT_OUTPUT, show_default=True,
              help="Policy file to write; an existing file is never overwritten (exit 2).")
def init(from_host: bool, output: Path) -> None:
    """Write a starter policy (--from-host: from this host's listeners, each exception with reason TODO).

    The four socket checks; with --from-host an exception for each listener net.bind_addresses judges reachable
    beyond loopback (process, ports, protocol; reason: TODO, which validate and evaluate refuse until written), this host's ephemeral
    pool as the minimum (never below the check's defaults), and socket audit logging required."""
    from auditor.commands.output import say
    from auditor.engine.registry import load_registry
    from auditor.policy.loader import inspect_policy
    from auditor.storage.outputs import is_stdout, plan_outputs, remove_file, write_atomic

    if is_stdout(output):
        # every other -o takes - as standard output; init wrote a file called "-" and said "policy: -"
        raise click.UsageError("-o -: init writes a policy file and validates it, not standard output; give a file "
                               "name (a file called - by its absolute path)")
    plan_outputs([("policy", output)])  # a device, a directory or a missing directory: exit 2 before any work
    if output.exists() or output.is_symlink():
        raise InputError(f"{output}: already exists; refusing to overwrite it (choose another --output)")
    snapshot = None
    if from_host:
        from auditor import pipeline
        from auditor.collect.targets import LocalHost

        # netns too: the interfaces (loopback device, route_localnet) and the other namespaces, which
        # net.bind_addresses judges listeners by
        snapshot = pipeline.acquire(LocalHost(), frozenset({"sockets", "sysctl", "netns"}))
    now = datetime.now(timezone.utc)
    text = policy_text(snapshot, now.strftime("%Y.%m.%d"))
    write_atomic(output, text.encode("utf-8"), replace=False)
    # a draft: its TODO reasons are what the user writes next, refused by validate and evaluate alone
    report = inspect_policy(output, load_registry(plugins=False), today=now.date(), draft=True)
    if report.policy is None:  # a bug in the generator: say so, and leave no policy that does not load
        remove_file(output, "generated policy")
        raise InputError(f"{output}: the generated policy does not validate (a bug in lbaudit init): "
                         + "; ".join(p.message for p in report.problems))
    # counted in the policy as written and loaded, not worked out a second time from every listener
    exceptions = sum(len(rule.params.get("exceptions") or []) for rule in report.policy.rules
                     if rule.check == "net.bind_addresses")
    if exceptions:
        say(f"policy: {output} ({exceptions} listener exceptions with reason TODO: validate and evaluate "
            f"refuse the policy until each is written; write each reason, then `lbaudit validate {output}`)")
    else:
        say(f"policy: {output} (0 listener exceptions; review it, then `lbaudit validate {output}`)")
