"""``lbaudit init``: write a starter policy, from this host's listeners and sysctls (``--from-host``,
like Goss's ``autoadd``) or from the defaults alone.

The policy written from a host passes its listener rule on that host at once: every listener that
accepts more than loopback gets an exception (process, ports, protocol) whose reason is ``TODO``,
and ``lbaudit validate`` warns until each reason is written.  It is a starting point to review,
never an approval of what runs.
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
from auditor.text import one_line

DEFAULT_OUTPUT = Path("lbaudit-policy.yaml")
# The pool check's defaults when the host's range cannot be read (the Linux default pool is larger).
DEFAULT_MIN_POOL = 16384
TODO_REASON = "TODO"


@dataclass(frozen=True)
class _Exception:
    process: str | None
    protocol: str
    allow: tuple[str, ...]
    ports: tuple[int, ...]
    seen: tuple[str, ...]  # the listeners it covers, for the comment above it


def _glob_literal(name: str) -> str:
    """A process name as a glob that matches exactly it: glob characters in brackets, and any
    character a policy string may not hold as ``?``."""
    # control characters, and what YAML or a policy string takes as a line break or a bidi control
    # (NEL, U+2028/U+2029, the embeddings, overrides and isolates): a process name is the host's text
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", "?", name)
    return re.sub(r"([*?\[])", lambda m: "?" if m.group(1) == "?" else f"[{m.group(1)}]", text)


def _yaml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


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


def _listener_exceptions(snapshot: Any) -> list[_Exception]:
    """One exception per (process, protocol, allowed addresses) of the listeners that accept more
    than loopback, with all their ports."""
    from auditor.domain import netaddr

    loopback = netaddr.address_set(["loopback"])
    groups: dict[tuple[str | None, str, tuple[str, ...]], set[int]] = defaultdict(set)
    seen: dict[tuple[str | None, str, tuple[str, ...]], list[str]] = defaultdict(list)
    sockets = snapshot.facts.sockets
    for listener in (sockets.listeners or []) if sockets is not None else []:
        if netaddr.is_allowed(listener.address, listener.v6only, loopback):
            continue
        allow = ("any",) if netaddr.is_wildcard(listener.address) else (listener.address.partition("%")[0],)
        names = sorted({p.name for p in listener.processes if p.name})
        process = names[0] if names else None
        key = (process, listener.protocol, allow)
        groups[key].add(listener.port)
        seen[key].append(listener.subject)
    return [_Exception(process, protocol, allow, tuple(sorted(groups[key])), tuple(seen[key]))
            for key in sorted(groups, key=lambda k: (k[0] or "", k[1], k[2]))
            for process, protocol, allow in [key]]


def _pool(snapshot: Any) -> tuple[Any, list[str]]:
    """The host's ephemeral pool (or None) and the listeners inside it that are not reserved."""
    from auditor.checks._sysctl import ephemeral_pool

    pool = ephemeral_pool(snapshot).pool
    inside = []
    sockets = snapshot.facts.sockets
    if pool is not None and sockets is not None:
        inside = [listener.subject for listener in sockets.listeners or []
                  if listener.protocol in ("tcp", "sctp", "dccp", "mptcp")
                  and pool.in_range(listener.port) and not pool.is_reserved(listener.port)]
    return pool, inside


def policy_text(snapshot: Any | None, today: str) -> str:
    """The starter policy: from ``snapshot`` when given, else the checks' defaults alone."""
    host = snapshot.provenance.hostname if snapshot is not None else None
    policy_id = "host-" + re.sub(r"[^A-Za-z0-9._-]", "-", host)[:100] if host else "starter"
    lines = [
        f"# Written by `lbaudit init{' --from-host' if snapshot is not None else ''}` on {today}"
        + (f" from the listeners and sysctls of {one_line(host)}." if host else "."),
        "# A starting point to review, not an approval of what runs: every exception below has",
        "# reason: TODO, and the policy must not be used as a gate until each reason is written",
        "# (`lbaudit validate` warns while one is TODO).",
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
            if item.process is None:
                lines.append("        # owner not identified (run init as root to match on the process name)")
            match = [f"process: {_yaml_string(_glob_literal(item.process))}"] if item.process else []
            match += [f"ports: {_port_list(item.ports)}", f"protocol: {item.protocol}"]
            lines += [
                f"        - match: {{{', '.join(match)}}}",
                f"          allow: [{', '.join(item.allow)}]",
                f"          reason: {TODO_REASON}   # write why it must be reachable beyond loopback before gating",
            ]
    else:
        lines.append("      exceptions: []")

    pool, inside = _pool(snapshot) if snapshot is not None else (None, [])
    lines += ["", "  - id: ephemeral-pool", "    check: net.ephemeral_port_range", "    params:"]
    if pool is not None:
        lines.append(f"      min_pool_size: {pool.size}        # this host's pool now: {pool.describe()}")
        lines.append(f"      min_low: {min(1024, pool.low)}")
    else:
        lines.append(f"      min_pool_size: {DEFAULT_MIN_POOL}")
        lines.append("      min_low: 1024")
    if inside:
        lines.append("      # TODO: listeners inside the ephemeral range: " + one_line("; ".join(inside[:6]))
                     + (" ..." if len(inside) > 6 else ""))
        lines.append("      # move them out of the range or reserve their ports (net.ipv4.ip_local_reserved_ports),")
        lines.append("      # then set this to true.")
        lines.append("      forbid_listeners_in_range: false")
    else:
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
@click.option("--output", "-o", type=click.Path(path_type=Path), default=DEFAULT_OUTPUT, show_default=True,
              help="Policy file to write; an existing file is never overwritten (exit 2).")
def init(from_host: bool, output: Path) -> None:
    """Write a starter policy (--from-host: from this host's listeners, each exception with reason TODO).

    The four socket checks; with --from-host one exception per listener beyond loopback (process, ports,
    protocol; reason: TODO, which validate warns about), this host's ephemeral pool as the minimum, and socket
    audit logging required."""
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

        snapshot = pipeline.acquire(LocalHost(), frozenset({"sockets", "sysctl"}))
    now = datetime.now(timezone.utc)
    text = policy_text(snapshot, now.strftime("%Y.%m.%d"))
    write_atomic(output, text.encode("utf-8"), replace=False)
    report = inspect_policy(output, load_registry(plugins=False), today=now.date())
    if report.policy is None:  # a bug in the generator: say so, and leave no policy that does not load
        remove_file(output, "generated policy")
        raise InputError(f"{output}: the generated policy does not validate (a bug in lbaudit init): "
                         + "; ".join(p.message for p in report.problems))
    exceptions = len(_listener_exceptions(snapshot)) if snapshot is not None else 0
    click.echo(f"policy: {output} ({exceptions} listener exceptions with reason TODO: write each reason, then "
               f"`lbaudit validate {output}`)")
