"""Where and by whom the facts were collected: host, OS, kernel, time, effective user, tool, methods.

Host files are read through the target (:mod:`auditor.collect.targets`), so for an offline root directory the
host name, machine id and OS are those of the image; kernel and architecture are only known live.
An unreadable item is left ``None``: provenance describes the run, it is not judged.
"""

from __future__ import annotations

import os
import pwd
import shlex
from datetime import datetime, timezone

from auditor import __version__
from auditor.collect import CollectContext
from auditor.model.facts import Provenance

OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")


def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release(5): ``KEY=value`` lines, values optionally shell-quoted; comments ignored."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            words = shlex.split(raw, comments=False, posix=True)
        except ValueError:
            continue  # unbalanced quotes: skip the line rather than guess
        values[key.strip()] = " ".join(words)
    return values


def _read_first_line(ctx: CollectContext, path: str) -> str | None:
    try:
        text = ctx.target.read_text(path, limit=4096)
    except OSError:
        return None
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    return first or None


def _os_pretty_name(ctx: CollectContext) -> str | None:
    for path in OS_RELEASE_FILES:
        try:
            fields = parse_os_release(ctx.target.read_text(path, limit=64 * 1024))
        except OSError:
            continue
        return fields.get("PRETTY_NAME") or fields.get("NAME")
    return None


def _user_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def collect_provenance(ctx: CollectContext, methods: dict[str, str]) -> Provenance:
    euid = os.geteuid()
    target = ctx.target
    kernel, arch = target.uname()
    return Provenance(
        source="live" if target.kind == "local" else "root",
        source_detail=None if target.kind == "local" else target.id,
        target_kind=target.kind,
        target_id=target.id,
        hostname=target.hostname(),
        machine_id=_read_first_line(ctx, "/etc/machine-id"),
        os=_os_pretty_name(ctx),
        kernel=kernel,
        arch=arch,
        collected_at=datetime.now(timezone.utc),
        effective_uid=euid,
        effective_user=_user_name(euid),
        privileged=euid == 0,
        tool_version=__version__,
        methods=dict(sorted(methods.items())),
        cmdline_recorded=ctx.record_cmdline,
    )
