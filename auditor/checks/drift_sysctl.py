"""``drift.sysctl``: running sysctl values that differ from what the configuration files set.

A host can pass today and fail after its next reboot: a value changed with ``sysctl -w`` (or by a
program) holds only until the boot applies the sysctl.d files again, and a file edited without
``sysctl --system`` is not in effect yet.  Each key whose running value differs from its configured
value is one failing finding, with both values and the file:line that sets it.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from auditor.checks import _sysctl
from auditor.checks._drift import missing_side
from auditor.domain.sysctl import (
    EXCLUDE_PREFIX,
    collected_runtime_keys,
    configured_key,
    configured_setting,
    dotted_key,
    is_glob,
    sysctl_name_problem,
)
from auditor.model.base import json_pointer
from auditor.model.check import (
    CheckParams,
    Outcome,
    check,
    failed,
    missing_fact,
    not_applicable,
    not_reviewed,
    passed,
)
from auditor.model.facts import SNAPSHOT_SCHEMA_VERSION, HostSnapshot, SysctlSetting
from auditor.model.result import Severity
from auditor.patterns import first_use
from auditor.spelling import closest

# Bounded numbers: int() of a 5000-digit one raises; such a value is compared as text.
_SPANS = first_use(r"[0-9]{1,20}(-[0-9]{1,20})?(,[0-9]{1,20}(-[0-9]{1,20})?)*")


class DriftSysctlParams(CheckParams):
    laxer_when = {"keys": "fewer"}  # null: every key collected

    keys: list[str] | None = Field(
        None, min_length=1,
        description="Sysctl keys to compare (net.ipv4.tcp_fin_timeout or net/ipv4/tcp_fin_timeout); "
                    "default: every running value lbaudit collects.",
    )

    @field_validator("keys")
    @classmethod
    def _plain_keys(cls, keys: list[str] | None) -> list[str] | None:
        if keys is None:
            return None
        bad = [k for k in keys if not k.strip() or is_glob(k) or k.startswith(EXCLUDE_PREFIX)]
        if bad:
            raise ValueError(f"keys must be plain sysctl names, not globs or exclusions: {', '.join(map(repr, bad))}")
        for key in keys:
            problem = sysctl_name_problem(key.strip())
            if problem:
                raise ValueError(problem)
        return sorted({dotted_key(k.strip()) for k in keys})

    def param_warnings(self) -> dict[str, str]:
        # A key lbaudit does not read from /proc/sys can never be compared: on a running host its
        # finding is not_reviewed, in an image (no running kernel) the whole check not_applicable.
        # Said at the param, so that a typo (net.ipv4.ip_forwrd) is seen before any host is judged.
        collected = collected_runtime_keys(SNAPSHOT_SCHEMA_VERSION)
        never = [key for key in self.keys or [] if key not in collected]
        if not never:
            return {}
        hints = [f"{key!r} is perhaps {near!r}" for key in never if (near := closest(key, collected, cutoff=0.9))]
        hint = f" ({'; '.join(hints)})" if hints else ""
        return {"keys": f"lbaudit does not collect the running value of {', '.join(never)}, so "
                        f"{'it is' if len(never) == 1 else 'they are'} never compared (not_reviewed on a running "
                        f"host, not_applicable in an image){hint}; the keys it compares are {', '.join(collected)}"}


# A number the kernel does not read as decimal: 0-prefixed octal ("010" is 8) or "0x" hex, and a
# leading zero before 8 or 9 ("08080"), which it refuses.
_NOT_DECIMAL = first_use(r"(?<![0-9])0[0-9xX]")


def canonical_value(value: str) -> str | tuple[tuple[int, int], ...]:
    """The form two values are compared in: runs of the kernel's separators (space, tab, newline)
    collapsed, and port lists such as
    ``8080,8081`` (which the kernel prints back as ``8080-8081``) as merged ranges.  Only a list the
    kernel reads as written is merged: white space inside it makes the write fail whole (EINVAL,
    ``8080, 9000``), and ``010`` is octal 8 there, so such a list is compared as text; read as
    decimal ranges it passed a running value the next boot does not set.  Other white space (``\v``,
    U+00A0) is kept: the kernel prints it back only where it took it, so a configured ``4096\v``
    does not match a running ``4096``."""
    text = " ".join(_sysctl.printed_numbers(value))
    compact = text
    if (("," in compact or "-" in compact) and _SPANS().fullmatch(compact)
            and not _NOT_DECIMAL().search(compact)):
        spans = sorted(
            (int(lo), int(hi or lo)) for lo, _, hi in (item.partition("-") for item in compact.split(","))
        )
        merged: list[tuple[int, int]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        return tuple(merged)
    return text


def kernel_reading(key: str, value: str, configured: bool) -> object:
    """``value`` as the kernel reads (``configured``: a write at boot) or prints it, through the same
    parsers the other network checks use (``0100000`` is 32768, ``0x8000`` too, a tab or a run of
    spaces separates the two ends of a range); None for a key whose handler lbaudit does not model
    (compared as text).  SysctlValueError: the kernel refuses the write (EINVAL) or never prints it."""
    if key == _sysctl.PORT_RANGE:
        low, high = _sysctl.parse_port_range(value, configured=configured)
        if configured and (low < 1 or high < low):
            unwritten = "" if len(_sysctl.written_numbers(key, value, 2)) > 1 else f" (the high end not written stays {high}, the kernel default)"
            raise _sysctl.SysctlValueError(key, value, "the kernel takes 1-65535 with the low end not above the high "
                                                       f"end{unwritten}")
        return (low, high)
    if key == _sysctl.RESERVED_PORTS:
        return _sysctl.parse_port_list(value, configured=configured)
    if key in _sysctl.KERNEL_TAKES:
        number = _sysctl.parse_kernel_int(key, value, configured)
        lowest, highest, _ = _sysctl.KERNEL_TAKES[key]  # what every HZ takes
        if configured and (not lowest <= number <= highest
                           or (key in _sysctl.UNSIGNED_KEYS and _sysctl.written_numbers(key, value, 1)[0].startswith("-"))):
            raise _sysctl.SysctlValueError(key, value, f"the kernel takes {lowest} to {highest} (EINVAL)")
        return number
    return None


def _pointer(where: str, key: str) -> str:
    return json_pointer("facts", "sysctl", where, key)


def _compare(key: str, running: SysctlSetting, configured: SysctlSetting, persistent: dict[str, SysctlSetting]) -> Outcome:
    written = configured_key(persistent, configured)
    evidence = [_pointer("runtime", key), _pointer("persistent", written)]
    observed = {"value": running.value, "origin": running.origin}
    expected = {"value": configured.value, "origin": configured.origin}
    if written != key:
        expected["pattern"] = written
    detail = {"key": key}
    try:
        read_running = kernel_reading(key, running.value, configured=False)
    except _sysctl.SysctlValueError as exc:
        return not_reviewed(f"sysctl {key}", f"the running value is not one the kernel prints: {exc}",
                            evidence=evidence, subject_detail=detail)
    try:
        read_configured = kernel_reading(key, configured.value, configured=True)
        refused = _sysctl.refused_by_order(persistent, key)
        if refused is not None:
            raise refused
    except _sysctl.SysctlValueError as exc:
        expected["refused"] = str(exc)
        if isinstance(exc, _sysctl.RefusedAtBoot) and exc.because is not None:
            evidence.append(_pointer("persistent", configured_key(persistent, exc.because)))
        return failed(
            f"sysctl {key}",
            f"{configured.origin} sets {key} = {configured.value!r}, which the kernel refuses when the boot writes "
            f"it ({exc}): the boot does not set this key, so the running value {running.value!r} is not held by "
            "the configuration",
            observed=observed, expected=expected, evidence=evidence, subject_detail=detail,
        )
    if read_running is not None:
        same = read_running == read_configured
    else:
        same = canonical_value(running.value) == canonical_value(configured.value)
    if same:
        return passed(f"sysctl {key}", f"running value {running.value!r} is what {configured.origin} sets",
                      observed=observed, expected=expected, evidence=evidence, subject_detail=detail)
    return failed(
        f"sysctl {key}",
        f"running value {running.value!r} differs from {configured.value!r} set at {configured.origin}; "
        "the configured value returns at the next boot",
        observed=observed, expected=expected, evidence=evidence, subject_detail=detail,
    )


@check(
    name="drift.sysctl",
    title="Running sysctl values match what the configuration files set",
    version="1.12.0",
    needs=["sysctl"],
    params=DriftSysctlParams,
    severity=Severity.MEDIUM,
    controls=["CM-6", "CM-2", "CM-3"],
    rationale="""
The configuration files are the baseline a host returns to at every boot (CM-2) and where its
settings are documented (CM-6).  A running value that differs was changed outside them: either an
undocumented change that the next reboot silently undoes, or a configured change that is not in
effect yet.  Either way the host that was assessed is not the host that will run after a reboot, and
the change bypassed configuration change control (CM-3).
""",
    remediation="""
Decide which value is right.  To keep the running value, write it to a file in /etc/sysctl.d/ (a
later file name wins).  To return to the configured value, run `systemctl restart systemd-sysctl`
on a systemd host (it reads what the boot reads; `sysctl --system` also applies /etc/sysctl.conf
last, which the boot there does not), `sysctl --system` elsewhere, or `sysctl -w key=value`.  Then
collect again.
""",
    notes="""
On a running host the configuration starts with the `sysctl.<name>=<value>` parameters of the
kernel command line (/proc/cmdline; Linux 5.8 and later write them before init, read as the kernel
splits its command line: quotes removed, nothing after `--`), which the files then override: an
assignment, or a glob that matches the key unless the key is excluded with `-key`; systemd-sysctl
(252 and later) then applies the `sysctl.extra` credential after every file (its service's copy
under /run/credentials, else the system's).
Configured values follow sysctl.d(5): files from /etc/sysctl.d, /run/sysctl.d,
/usr/local/lib/sysctl.d, /usr/lib/sysctl.d and /lib/sysctl.d (an earlier directory masks the same
file name, a /dev/null symlink disables it), applied in file-name order, a later assignment winning,
except that an offline image's /run/sysctl.d is not read (a tmpfs covers /run at boot) and
/lib/sysctl.d is not read where systemd 255 or later applies the files (split-usr builds before
255 read it, and so does `sysctl --system`; where the installed systemd's version, taken from its
libsystemd-shared-VERSION.so, is not known, it is read and the provenance says so),
as the tool that applies them at boot reads them (none, where systemd-sysctl.service is masked):
systemd-sysctl, where it is installed, does not read /etc/sysctl.conf (only through a 99-sysctl.conf link, in that file's place); elsewhere
`sysctl --system` reads it last.  Older systemd-sysctl builds read the files otherwise: before 245 a
glob key and a `-key` exclusion do nothing, before 243 neither does a `-key = value` line, and RHEL
7's 219 (like any before 207) applies /etc/sysctl.conf after every file; where the installed
systemd's version (from its libsystemd-shared-VERSION.so, which 231 and later install) is before 245
or cannot be told, a key those readings set otherwise is not_reviewed (a distribution may have
backported the newer syntax), and so is the whole configuration where a glob decides such a key.  A key names the /proc/sys path the tool writes, simplified as
systemd-sysctl simplifies it (`/net/ipv4/x` and `net..ipv4.x` are net.ipv4.x).  Glob keys apply to every running key they match
unless the key is set explicitly or excluded with `-key`.  Repeats follow the boot tool: for
systemd-sysctl a later `-key` takes an earlier assignment back and a repeated value keeps its first
place; `sysctl --system` writes every line in order, so the last assignment holds and an exclusion
takes nothing back.  The collected keys are compared as the
kernel reads a write of them at boot and prints them (base auto-detection: `0100000` is 32768,
`0x8000` too; a tab or run of spaces between the ends of ip_local_port_range; as many numbers as
the key holds, the rest of the value unread, so `30 60` sets 30 and `32768 60999 5` sets
32768-60999; one number alone moves only the low end of ip_local_port_range, leaving the kernel
default high end 60999, or, where a write before it set the range (the kernel command line, or an
earlier line of `sysctl --system`, which writes every assignment in order), a high end that
depends on whether the kernel took that write: that key is not_reviewed, naming both); a configured value
the kernel refuses (EINVAL: out of its range, a sign on an unsigned key, `08080`, `+5`) is a
failing finding, because the boot does not set it.  So is an ip_local_port_range or
ip_unprivileged_port_start the kernel refuses because of the other one (Linux 4.11 and later: a
range whose low end is below the start, a start above the range's low end, each as it is when the
boot writes it): the two writes are replayed in the order the boot applies them, from the kernel
defaults 1024 and 32768-60999, and the finding names both files; where the boot writes one of the
two more than once with different values (the kernel command line, then a file; two lines of
`sysctl --system`), both are not_reviewed.  Other values are compared with whitespace
collapsed, and port lists as ranges (8080,8081 equals 8080-8081) when the kernel reads the list as
written: one with white space inside (EINVAL at boot) or a 0-prefixed number (octal) is compared as
text.  A key that no configuration file
sets is not drift (its boot value is the kernel default, which lbaudit does not assume), except
that a key named in `keys` whose running value is not in the snapshot is not_reviewed on a running
host, with the reason: lbaudit does not collect it (`validate` warns about such a key: a typo such as
net.ipv4.ip_forwrd, or a key outside the list lbaudit reads), or its read failed (the running kernel
has no such key, or reading it was refused).  One finding
per compared key; keys the configuration sets but whose running value lbaudit does not collect are
listed in one not_applicable finding.  Offline root directories have no running values
(not_applicable).  In a network namespace other than the initial one (a container, `ip netns
exec`; told by net.core.netdev_max_backlog, which only the initial namespace shows) the kernel
command line's net.* sysctls never apply (the kernel writes them in the initial namespace), and the
files apply only where the namespace is its own init's (PID 1 shares it, as in a container with its
own init); elsewhere the namespace started from the kernel defaults and what its creator set, so
each net.* key is not_applicable with that reason (not_reviewed where it cannot be told), never
compared with the host's configuration.
Since 1.9.0 a running value read cut short (no closing line feed) is a gap, not a value.
Also since 1.9.0, in an image, a sysctl.d file or /etc/sysctl.conf that is a link to nothing (perhaps
into a mount the image does not carry) is a gap, not a file that sets nothing.
Since 1.10.0 systemd-sysctl.service's unit is read as systemd reads it (a UTF-8 byte-order mark,
escaped backslashes, a continuation left open at the end, form feeds before a section, .include on
systemd before 246).
Since 1.11.0 net.ipv4.tcp_fastopen is compared as the kernel reads a write of it (a C int: 0x3,
03 and "3 1" are 3), not as text; a value written past the 4,095 bytes the kernel reads of one
write is not reviewed; long values are read in linear time.
Since 1.12.0 a running tcp_tw_reuse, tcp_timestamps or bindv6only written with a sign (which no
kernel prints) is not reviewed, not compared as its number.
""",
)
def drift_sysctl(snapshot: HostSnapshot, params: DriftSysctlParams) -> list[Outcome]:
    facts = snapshot.facts.sysctl
    assert facts is not None  # the engine checks ``needs``
    if facts.runtime is None:
        return [missing_side(snapshot, "sysctl", "runtime", "sysctl running values", "running sysctl values")]
    if facts.persistent is None:
        return [missing_side(snapshot, "sysctl", "persistent", "sysctl configuration files", "sysctl configuration files")]
    runtime, persistent = facts.runtime, facts.persistent

    unreadable = {"/".join(str(part) for part in g.path[1:])
                  for g in snapshot.gaps_for("sysctl", "runtime") if len(g.path) > 1}
    explicit = [k for k in persistent if not k.startswith(EXCLUDE_PREFIX) and not is_glob(k)]
    unknown_boot: dict[str, bool] = {}
    for gap in snapshot.gaps_for("sysctl", "persistent"):
        if len(gap.path) == 2 and gap.path[0] == "persistent":
            unknown_boot[str(gap.path[1])] = True
    if params.keys is not None:
        keys = params.keys
    else:
        # Every running value, and every key whose running value should be there but is not (its
        # read failed, or the snapshot's format says it was collected): if a file or a glob
        # configures such a key, it is compared, i.e. not reviewed, rather than skipped.  The
        # snapshot's own version says which keys were collected, not today's collector.
        keys = sorted(set(runtime) | unreadable | set(collected_runtime_keys(snapshot.schema_version)))

    collected = set(runtime) | unreadable | set(collected_runtime_keys(snapshot.schema_version))
    outcomes: list[Outcome] = []
    for key in keys:
        configured = configured_setting(persistent, key)
        running = runtime.get(key)
        if configured is None and unknown_boot.get(key):
            # the collector says why this key has no boot value here (a network namespace the boot
            # does not configure): not "set by no file", which would let the key pass unseen
            outcomes.append(missing_fact(snapshot, "sysctl", f"persistent/{key}", subject=f"sysctl {key}",
                                         what=f"the boot value of {key}"))
            continue
        if params.keys is not None and running is None and key not in collected:
            # asked for by name, but no running value of it is in the snapshot, nor a reason why: a
            # key lbaudit does not read (or a misspelt one, net.ipv4.ip_forwrd).  "No file sets it"
            # read as if the key had been looked at; nothing was.
            unread = (f"this snapshot (format {snapshot.schema_version}) holds no running value of {key}, which "
                      "lbaudit collects since a later format" if key in collected_runtime_keys(SNAPSHOT_SCHEMA_VERSION)
                      else f"lbaudit does not collect the running value of {key}")
            outcomes.append(not_reviewed(
                f"sysctl {key}",
                f"{unread}, so whether the running kernel has such a key, and what it holds, is not known (the "
                f"snapshot holds {', '.join(sorted(collected))})",
                subject_detail={"key": key}))
            continue
        if configured is None and params.keys is not None and running is None:
            # a key lbaudit reads but could not: the collector says why (the running kernel has no such
            # key; permission denied), which "no file sets it, so it cannot drift" hid
            outcomes.append(missing_fact(snapshot, "sysctl", f"runtime/{key}", subject=f"sysctl {key}",
                                         what=f"the running value of {key}"))
            continue
        if configured is None:
            if params.keys is not None:  # asked for by name: say why there is nothing to compare
                outcomes.append(not_applicable(f"sysctl {key}", "no sysctl configuration file sets this key, so it cannot drift"))
            continue
        if running is None:
            outcomes.append(missing_fact(snapshot, "sysctl", f"runtime/{key}", subject=f"sysctl {key}",
                                         what=f"the running value of {key}"))
            continue
        outcomes.append(_compare(key, running, configured, persistent))

    if params.keys is None:
        uncompared = [k for k in explicit if k not in keys]
        if uncompared:
            outcomes.append(not_applicable(
                "sysctl keys without a collected running value",
                f"{len(uncompared)} configured keys were not compared because lbaudit does not collect their "
                f"running values: {', '.join(uncompared)}",
                observed={k: persistent[k].origin for k in uncompared},
            ))
    if (not any(o.status.value in ("pass", "fail", "not_reviewed") for o in outcomes) and params.keys is None
            and not any(unknown_boot.get(key) for key in keys)):
        outcomes.insert(0, passed(
            "sysctl running values",
            f"none of the {len(runtime)} collected running values is set by a configuration file, so none differs",
            observed={"runtime_keys": sorted(runtime), "configured_keys": len(persistent)},
            evidence=["/facts/sysctl/runtime", "/facts/sysctl/persistent"],
        ))
    return outcomes
