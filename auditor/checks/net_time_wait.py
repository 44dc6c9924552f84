"""``net.time_wait``: TIME_WAIT tuning and headroom of the ephemeral pool for outgoing connections.

Linux keeps a closed connection's local port in TIME_WAIT for at least 60 s (TCP_TIMEWAIT_LEN, a
compile-time constant) and up to 65.12 s: the timer that ends it fires up to one granule of the
kernel's timer wheel late (:mod:`auditor.domain.tcp_timewait`).  A client opening R new connections
per second to one destination (one (source address, destination address, destination port) tuple)
therefore holds up to R x 65.12 ports at once; the pool is ip_local_port_range minus reserved ports
and the ports TCP listeners hold in it.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from auditor.checks import _namespaces, _platforms, _sysctl
from auditor.checks._listeners import unseen_listeners, unseen_note
from auditor.checks._transparency import kernel_version
from auditor.domain.tcp_timewait import (
    TCP_TIMEWAIT_LEN_SECONDS,
    WORST_HZ,
    WORST_TIME_WAIT_HOLD_SECONDS,
    WORST_TIMER_SLACK_SECONDS,
    time_wait_hold_seconds,
)
from auditor.model.check import (
    CheckParams,
    Outcome,
    check,
    failed,
    integer_choice,
    missing_fact,
    not_applicable,
    not_reviewed,
    passed,
)
from auditor.model.facts import HostSnapshot
from auditor.model.records import record
from auditor.model.result import Severity

# How long a Linux port stays in TIME_WAIT at the most: TCP_TIMEWAIT_LEN (include/net/tcp.h, 60 s,
# no sysctl changes it) plus the timer wheel's lateness: at the kernel's HZ where it is known
# (SysctlFacts.kernel_hz), else at the coarsest HZ.  Counted as exactly 60 s, a peak that holds 95% of
# the pool at the worst passed a maximum of 90%: the headroom must not count on the timer firing on time.
TIME_WAIT_SECONDS = WORST_TIME_WAIT_HOLD_SECONDS
_WORST_CASE = (f"Linux: TCP_TIMEWAIT_LEN {TCP_TIMEWAIT_LEN_SECONDS} s, ended by a timer that fires up to "
               f"{WORST_TIMER_SLACK_SECONDS:g} s late: the timer wheel's granule at HZ {WORST_HZ}, the "
               f"coarsest of every HZ")
# The worst case where the kernel's HZ was not collected (a snapshot written before format 1.9, facts
# built without it).
LINUX_TIME_WAIT_SOURCE = f"{_WORST_CASE}; the kernel's HZ is not collected"


def linux_time_wait(snapshot: HostSnapshot) -> tuple[float, str]:
    """How long a port may stay in TIME_WAIT on this Linux host, and why: at the kernel's HZ where the
    snapshot holds it, else the longest of every HZ (which can only overstate what is held)."""
    sysctl = snapshot.facts.sysctl
    kernel = sysctl.kernel_hz if sysctl is not None else None
    if kernel is None:
        return TIME_WAIT_SECONDS, LINUX_TIME_WAIT_SOURCE
    if kernel.hz is None:
        return TIME_WAIT_SECONDS, f"{_WORST_CASE}; the kernel's HZ is not known: {kernel.source}"
    hold = round(time_wait_hold_seconds(kernel.hz), 6)
    slack = round(hold - TCP_TIMEWAIT_LEN_SECONDS, 6)
    return hold, (f"Linux: TCP_TIMEWAIT_LEN {TCP_TIMEWAIT_LEN_SECONDS} s, ended by a timer that fires up to "
                  f"{slack:g} s late: the timer wheel's granule at HZ {kernel.hz}, the kernel's, from {kernel.source}")

# A rate far above any host's (a 65,535-port pool sustains about 1,000/s): the bound only keeps
# rate x TIME_WAIT a finite number of ports.
MAX_RATE = 1_000_000_000

TW_REUSE_MEANING = {
    0: "off",
    1: "reuse TIME_WAIT ports for all outgoing connections (needs TCP timestamps)",
    2: "reuse TIME_WAIT ports for outgoing loopback connections only, the kernel default",
}


# The params each of which makes the check judge something.
JUDGED = ("allowed_tw_reuse", "min_max_tw_buckets", "max_fin_timeout", "max_time_wait_share",
          "peak_new_connections_per_second")


class TimeWaitParams(CheckParams):
    # a child adding 1 (reuse for every outgoing connection) or declaring a lower peak passes more
    laxer_when = {"allowed_tw_reuse": "more", "peak_new_connections_per_second": "lower"}

    allowed_tw_reuse: list[Annotated[Literal[0, 1, 2], integer_choice(0, 1, 2)]] | None = Field(
        None, min_length=1,
        description="Allowed values of net.ipv4.tcp_tw_reuse: 0 off, 1 all outgoing connections, 2 loopback only.",
    )
    min_max_tw_buckets: int | None = Field(
        None, ge=1, le=2**31 - 1,  # the kernel holds it in an int
        description="Lowest acceptable net.ipv4.tcp_max_tw_buckets (beyond that many TIME_WAIT sockets the kernel destroys new ones at once and logs it).",
    )
    max_fin_timeout: int | None = Field(
        None, ge=1, le=2**31 - 1,  # the kernel holds it in an int
        description="Highest acceptable net.ipv4.tcp_fin_timeout in seconds (FIN_WAIT_2 lifetime; it does not shorten TIME_WAIT).",
    )
    max_time_wait_share: float | None = Field(
        None, gt=0, le=1,
        description="Highest acceptable live TIME_WAIT count as a fraction of the ephemeral pool (live hosts only).",
    )
    peak_new_connections_per_second: float | None = Field(
        None, gt=0, le=MAX_RATE,
        description=f"Declared peak rate of new outgoing connections to one destination (on macOS, of the host in all: "
                    f"its connect() gives no destination a port another holds in TIME_WAIT); on Linux it holds up to rate x "
                    f"{TIME_WAIT_SECONDS:g} s ports in TIME_WAIT ({TCP_TIMEWAIT_LEN_SECONDS} s and the timer's lateness).",
    )
    max_pool_utilization: float = Field(
        0.8, gt=0, le=1,
        description="Highest acceptable share of the pool the declared peak rate may hold in TIME_WAIT (a peak "
                    "that holds the whole pool fails even at 1).",
    )

    def unused_params(self) -> dict[str, str]:
        # (with nothing judged at all, _something_to_judge says that instead)
        if self.peak_new_connections_per_second is None and any(getattr(self, name) is not None for name in JUDGED):
            return {"max_pool_utilization": "it is the share of the pool the declared peak rate may hold, and "
                                            "peak_new_connections_per_second is not set; set that"}
        return {}

    @field_validator("allowed_tw_reuse")
    @classmethod
    def _not_every_value(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and set(value) == set(TW_REUSE_MEANING):
            # the kernel takes 0, 1 or 2 only (proc_dointvec_minmax): such a finding could never fail
            raise ValueError("lists every value net.ipv4.tcp_tw_reuse can take (0, 1, 2), so it can never fail; "
                             "name the values you allow, or leave it out")
        return value

    @field_validator("max_fin_timeout")
    @classmethod
    def _below_what_the_kernel_holds(cls, value: int | None) -> int | None:
        # A judged value is one every HZ takes (_sysctl.KERNEL_TAKES): at most INT_MAX // 1000 s;
        # anything above is not_reviewed.  A maximum at or above that passes every value judged.
        highest = (2**31 - 1) // 1000
        if value is not None and value >= highest:
            raise ValueError(f"{value:,} s is at or above the {highest:,} s that is the most tcp_fin_timeout holds on "
                             "every kernel (seconds x HZ must fit a C int), so it can never fail; name the longest "
                             "FIN_WAIT_2 lifetime you accept (the kernel's default is 60 s), or leave it out")
        return value

    @model_validator(mode="after")
    def _something_to_judge(self) -> "TimeWaitParams":
        if all(getattr(self, name) is None for name in JUDGED):
            # A check with nothing to judge would pass everywhere: that is a defect, not a policy.
            raise ValueError(f"set at least one of {', '.join(JUDGED)}")
        return self


def _refused(key: str, value: int, setting_origin: str, configured: bool) -> str | None:
    """Why ``value`` is not what the kernel holds for ``key``: a value its handler refuses (EINVAL).
    Configured (an offline image), the boot's write fails and the kernel keeps its default, which
    lbaudit does not assume; judged as written it passed a limit the booted host does not have."""
    lowest, highest, highest_some_hz = _sysctl.KERNEL_TAKES[key]
    if lowest <= value <= highest:
        return None
    what = (f"{key} = {value} ({setting_origin}) is refused by the kernel when the boot applies it (EINVAL), so "
            f"the kernel keeps its own default, which lbaudit does not assume" if configured else
            f"{key} = {value} is not a value the kernel holds")
    if abs(value) <= highest_some_hz:
        if not configured:
            # a running value is what the kernel printed: its own HZ holds it (left unjudged, a
            # running 4,000,000 s on an HZ 250 host was not_reviewed rather than failed)
            return None
        return (f"whether the kernel takes {key} = {value} ({setting_origin}) depends on its HZ (seconds x HZ must "
                f"fit a C int; every HZ takes up to {highest:,}): the value in force is not known")
    return f"{what} (it takes {lowest:,} to {highest:,})"


def _sysctl_int(snapshot: HostSnapshot, key: str) -> tuple[int | None, Outcome | None, list[str]]:
    """The value of an integer sysctl, or the not_reviewed outcome that replaces the finding."""
    subject = f"sysctl {key}"
    found = _sysctl.lookup(snapshot, key)
    if found.setting is None:
        return None, not_reviewed(subject, found.missing_reason or f"{key} was not collected"), []
    evidence = [found.pointer] if found.pointer else []
    configured = _sysctl.is_configured(found)
    try:
        value = _sysctl.parse_kernel_int(key, found.setting.value, configured)
    except _sysctl.SysctlValueError as exc:
        return None, not_reviewed(subject, f"malformed value: {exc}", evidence=evidence), evidence
    refused = _refused(key, value, found.setting.origin or "", configured)
    if refused is not None:
        return None, not_reviewed(subject, refused, evidence=evidence), evidence
    return value, None, evidence


def _tw_reuse(snapshot: HostSnapshot, allowed: list[int]) -> Outcome:
    key = _sysctl.TW_REUSE
    subject = f"sysctl {key}"
    value, missing, evidence = _sysctl_int(snapshot, key)
    if missing:
        return missing
    meaning = TW_REUSE_MEANING.get(value, "not a value the kernel documents")  # type: ignore[arg-type]
    observed: dict[str, object] = {"value": value, "meaning": meaning}
    expected = {"one_of": sorted(allowed)}
    text = f"{key} = {value} ({meaning})"
    allowed_text = ", ".join(map(str, sorted(allowed)))
    if value not in allowed:
        # a value the policy forbids fails as written: it takes effect once timestamps are on
        return failed(subject, f"{text}; allowed: {allowed_text}", observed=observed, expected=expected,
                      evidence=evidence)
    if value == 2 and 1 not in allowed:
        # The policy takes 2 for loopback-only reuse and refuses reuse for every connection: whether
        # this kernel means that by 2 decides the verdict (unless timestamps are off: then neither
        # meaning reuses a port, and that is judged below).
        unknown = _loopback_only_unknown(snapshot)
        if unknown is not None:
            timestamps, _, ts_evidence = _sysctl_int(snapshot, _sysctl.TIMESTAMPS)
            if timestamps != 0:
                return not_reviewed(subject, f"{key} = 2 is allowed as reuse for loopback connections only, and 1 "
                                             f"(every outgoing connection) is not, but {unknown}",
                                    evidence=[*evidence, *ts_evidence])
    if value == 0 or 0 in allowed:
        # off, or off allowed too: whether reuse takes effect cannot change the verdict
        timestamps, _, ts_evidence = _sysctl_int(snapshot, _sysctl.TIMESTAMPS) if value else (None, None, [])
        if timestamps == 0:
            observed["tcp_timestamps"] = 0
            return passed(subject, f"{text}, but {_INERT_REUSE}, which is allowed", observed=observed,
                          expected=expected, evidence=[*evidence, *ts_evidence])
        return passed(subject, f"{text} is allowed", observed=observed, expected=expected, evidence=evidence)
    # Reuse is what the policy allows, and off is not: the kernel reuses a TIME_WAIT port only for a
    # connection that carried TCP timestamps (tcp_twsk_unique: tw_ts_recent_stamp), which a host with
    # net.ipv4.tcp_timestamps = 0 never offers, so there reuse 1 or 2 acts as 0.
    timestamps, unread, ts_evidence = _sysctl_int(snapshot, _sysctl.TIMESTAMPS)
    if unread is not None:
        return not_reviewed(subject, f"{key} = {value} is allowed, but it reuses TIME_WAIT ports only where TCP "
                                     f"timestamps are on, and {_sysctl.TIMESTAMPS} could not be read: "
                                     f"{unread.reason}", evidence=[*evidence, *unread.evidence])
    observed["tcp_timestamps"] = timestamps
    if timestamps == 0:
        return failed(subject, f"{text}, but {_INERT_REUSE}; allowed: {allowed_text}", observed=observed,
                      expected=expected, evidence=[*evidence, *ts_evidence])
    return passed(subject, f"{text} is allowed ({_sysctl.TIMESTAMPS} = {timestamps}: timestamps are on)",
                  observed=observed, expected=expected, evidence=[*evidence, *ts_evidence])


# tcp_tw_reuse = 2 means "loopback connections only" since Linux 4.20 (commit 79e9fed46038, which
# also bounded the sysctl to 0-2 and made 2 the default).  Before it the sysctl was a plain int
# (proc_dointvec) that tcp_twsk_unique() tested for truth alone (``sysctl_tcp_tw_reuse && ...``): 2
# reused TIME_WAIT ports for every outgoing connection, as 1 does.  A distribution may have backported
# the change to an older release (RHEL 8's 4.18 has it), which the release does not tell.
TW_REUSE_LOOPBACK_SINCE = (4, 20)


def _loopback_only_unknown(snapshot: HostSnapshot) -> str | None:
    """Why tcp_tw_reuse = 2 may not mean loopback-only reuse on this host's kernel; None where the
    running kernel is known to be 4.20 or later."""
    release = snapshot.provenance.kernel
    before = (f"before Linux {TW_REUSE_LOOPBACK_SINCE[0]}.{TW_REUSE_LOOPBACK_SINCE[1]} (unless a distribution "
              "backported the loopback-only meaning) the kernel reuses TIME_WAIT ports for every outgoing connection "
              "with any value but 0, 2 among them")
    if release is None:
        which = ("the kernel that boots an offline image is not known" if _sysctl.offline(snapshot)
                 else "the snapshot does not record the kernel release")
        return f"{which}, and {before}"
    version = kernel_version(release)
    if version is None:
        return f"the kernel release {release!r} does not name a version (major.minor), and {before}"
    if version < TW_REUSE_LOOPBACK_SINCE:
        return f"the kernel is Linux {version[0]}.{version[1]} (release {release!r}), and {before}"
    return None


_INERT_REUSE = (f"{_sysctl.TIMESTAMPS} = 0: no connection carries timestamps, so no TIME_WAIT port is ever reused "
                f"and the host acts as with {_sysctl.TW_REUSE.rsplit('.', 1)[1]} = 0 (off)")


def _max_tw_buckets(snapshot: HostSnapshot, minimum: int) -> Outcome:
    key = _sysctl.MAX_TW_BUCKETS
    value, missing, evidence = _sysctl_int(snapshot, key)
    if missing:
        return missing
    common = dict(observed=value, expected={"at_least": minimum}, evidence=evidence)
    if value >= minimum:  # type: ignore[operator]
        return passed(f"sysctl {key}", f"{key} = {value:,}, at least {minimum:,}", **common)
    if value < 0:  # type: ignore[operator]
        # no limit where the count is compared with it as an unsigned number (6.18), none kept where
        # as a signed int (older kernels): "destroys them beyond that many" would not be true
        return failed(
            f"sysctl {key}",
            f"{key} = {value:,}, not a limit of at least {minimum:,}: a kernel that compares the TIME_WAIT count "
            f"with it as an unsigned number (Linux 6.18 does) sets no limit at all, an older one that compares "
            f"signed numbers keeps no TIME_WAIT socket; set the limit you mean",
            **common,
        )
    return failed(
        f"sysctl {key}",
        f"{key} = {value:,}, below {minimum:,}: beyond that many TIME_WAIT sockets the kernel destroys them "
        f"early (\"time wait bucket table overflow\"), losing the protection TIME_WAIT gives",
        **common,
    )


def _fin_timeout(snapshot: HostSnapshot, maximum: int) -> Outcome:
    key = _sysctl.FIN_TIMEOUT
    value, missing, evidence = _sysctl_int(snapshot, key)
    if missing:
        return missing
    common = dict(observed=value, expected={"at_most": maximum}, evidence=evidence)
    note = f"it bounds FIN_WAIT_2, not TIME_WAIT, which stays {TCP_TIMEWAIT_LEN_SECONDS} s"
    if value <= maximum:  # type: ignore[operator]
        return passed(f"sysctl {key}", f"{key} = {value} s, at most {maximum} s ({note})", **common)
    return failed(f"sysctl {key}", f"{key} = {value} s, above {maximum} s ({note})", **common)


def exact(number: float) -> Fraction:
    """A number of the policy or the platform as the decimal it was written (0.8 is 4/5, 65.12 s is
    6512/100), for a verdict at a threshold.  In binary floating point neither is exact: 125/s x
    65.12 s over a 16,280-port pool, 50% to the port, came out 0.5000000000000001 and failed a maximum
    of 0.5 reading "50.000000000% ..., above 50%"."""
    return Fraction(repr(float(number)))


def _order(left: Fraction, right: Fraction) -> int:
    return (left > right) - (left < right)


# The most places a value is shown with: enough to tell apart any share or utilization from a policy
# maximum of up to 17 significant digits (a float's), which 8 places could not.
_MAX_PLACES = 20


def _decimal_text(number: Fraction, places: int) -> str:
    """``number`` rounded (half to even) to ``places`` decimal places, written out exactly."""
    scaled = round(number * 10**places)
    digits = str(abs(scaled)).rjust(places + 1, "0")
    return ("-" if scaled < 0 else "") + (f"{digits[:-places]}.{digits[-places:]}" if places else digits)


def _percents(value: Fraction, maximum: float, decimals: int) -> tuple[str, str]:
    """``value`` and ``maximum`` as percentages that read as the verdict ``value <= maximum`` (exact:
    :func:`exact`) is.

    Rounded to ``decimals`` places, 80.04% against a maximum of 80% read "80.0%, above 80%" on a
    failure, and 80.4% against 80.49% "80.4%, at most 80%" (the maximum rounded away): both
    contradict themselves; and 99.6% of the pool against a maximum of 100% passed reading "100% of
    the pool, at most 100%", a full pool.  The maximum is the policy's own number, so it is shown in
    full (up to 6 places); the value gets more places until it compares as it really does, equal to
    the maximum only when it is."""
    bound = exact(maximum)
    shown_maximum = _decimal_text(bound * 100, 6).rstrip("0").rstrip(".")
    limit = Fraction(shown_maximum)
    verdict = _order(value, bound)
    for places in range(decimals, _MAX_PLACES + 1):
        shown = _decimal_text(value * 100, places)
        if _order(Fraction(shown), limit) == verdict:
            return f"{shown}%", f"{shown_maximum}%"
    # closer to a maximum of more than 6 places than the places shown tell: equal, on the verdict's side
    for places in range(decimals, _MAX_PLACES + 1):
        shown = _decimal_text(value * 100, places)
        if (Fraction(shown) <= limit) == (verdict <= 0):
            return f"{shown}%", f"{shown_maximum}%"
    return f"{_decimal_text(value * 100, _MAX_PLACES)}%", f"{shown_maximum}%"


def _time_wait_share(snapshot: HostSnapshot, pool_lookup: _sysctl.PoolLookup, maximum: float,
                     range_label: str | None = None, unseen: str | None = None) -> Outcome:
    """``range_label``: which of several ranges the host-wide count is judged against (Windows: the
    smallest TCP range, named in the message)."""
    subject = "TIME_WAIT share of the ephemeral pool"
    sockets = snapshot.facts.sockets
    if sockets is None or sockets.counts is None:
        if not snapshot.gaps_for("sockets", "counts") and snapshot.provenance.source == "root":
            return not_applicable(subject, "an offline root directory has no live sockets to count")
        return missing_fact(snapshot, "sockets", "counts", subject=subject, what="the live TIME_WAIT count")
    pool = pool_lookup.pool
    if pool is None:
        return not_reviewed(subject, pool_lookup.reason or "the ephemeral pool could not be determined")
    count = sockets.counts.time_wait
    if count < 0:  # a corrupt or hand-edited count would otherwise pass as a negative share
        return not_reviewed(subject, f"malformed TIME_WAIT count {count}: a count cannot be negative",
                            evidence=["/facts/sockets/counts/time_wait"])
    observed = {"time_wait": count, "pool_size": pool.searched_size, "share": count / pool.searched_size if pool.searched_size else None,
                "method": sockets.counts.method or None, **({"held_by_listeners": len(pool.held)} if pool.held else {})}
    expected = {"share_at_most": maximum}
    evidence = ["/facts/sockets/counts/time_wait", *pool.evidence]
    if pool.searched_size <= 0:
        return failed(subject, f"{count:,} sockets in TIME_WAIT and the ephemeral pool is empty",
                      observed=observed, expected=expected, evidence=evidence)
    share = Fraction(count, pool.searched_size)
    shown, limit = _percents(share, maximum, 1)
    within = share <= exact(maximum)
    text = f"{count:,} sockets in TIME_WAIT = {shown} of the {pool.searched_size:,}-port ephemeral pool{_held(pool)}"
    if range_label is not None:
        text += f" (the {range_label}, the smallest TCP range: the count covers both IP families)"
    if within and unseen is not None:
        # fewer ports can only raise the share: a failure stands, a pass is not known
        return not_reviewed(subject, f"{text}, at most {limit}{unseen_note(unseen)}",
                            evidence=[*evidence, "/gaps"])
    if within:
        return passed(subject, f"{text}, at most {limit}", observed=observed, expected=expected, evidence=evidence)
    return failed(subject, f"{text}, above {limit}", observed=observed, expected=expected, evidence=evidence)


def _held(pool: _sysctl.EphemeralPool) -> str:
    """The ports of the range TCP listeners hold, which connect() never takes: left out of the pool."""
    if not pool.held:
        return ""
    return f" (without the {len(pool.held):,} port{'s' if len(pool.held) > 1 else ''} TCP listeners hold in the range)"


def sustained_rate(pool_size: int, hold: Fraction) -> int:
    """The highest whole rate of new connections per second whose TIME_WAIT holds fewer ports than
    the pool: one that holds every port fails (the next connect() finds none), so the rate said to
    be sustained must not (``pool // hold`` said an 8,000-port pool at a 64 s hold sustains 125/s,
    which holds all 8,000)."""
    return max(0, math.ceil(Fraction(pool_size) / hold) - 1)


def pool_utilization(rate_per_second: float, pool_size: int) -> float:
    """Share of the pool held in TIME_WAIT at a steady rate of new connections to one destination."""
    return rate_per_second * TIME_WAIT_SECONDS / pool_size


@record
class TimeWaitCap:
    """net.ipv4.tcp_max_tw_buckets as read: beyond ``limit`` TIME_WAIT sockets the kernel keeps no
    more (inet_twsk_alloc returns NULL; tcp_time_wait then destroys the closing connection at once
    and its port is free), so no more ports than that are ever held in TIME_WAIT."""

    limit: int
    evidence: tuple[str, ...]


def _time_wait_cap(snapshot: HostSnapshot) -> TimeWaitCap | None:
    """The namespace's tcp_max_tw_buckets, or None where it cannot be read or is negative (then every
    port is taken to stay held for the whole TIME_WAIT, which can only overstate what is held).  A
    negative limit is no known cap: a kernel that compares the count with it as an unsigned number
    (refcount_read(&tw_refcount) - 1) keeps every TIME_WAIT socket (checked on 6.18: with -1 all 4
    ports of a 4-port pool stay in TIME_WAIT), one that compares signed ints (atomic_read(&tw_count),
    older kernels) keeps none."""
    value, missing, evidence = _sysctl_int(snapshot, _sysctl.MAX_TW_BUCKETS)
    if missing is not None or value is None or value < 0:
        return None
    return TimeWaitCap(value, tuple(evidence))


# Linux's connect() shares a port among destinations: a port is held for one (source, destination,
# destination port) tuple (macOS: _platforms.MACOS_RATE_SCOPE).
PER_TUPLE = "per (source, destination, port) tuple"


def _peak_headroom(pool_lookup: _sysctl.PoolLookup, rate: float, maximum: float,
                   time_wait_seconds: float = TIME_WAIT_SECONDS, source: str | None = LINUX_TIME_WAIT_SOURCE,
                   subject: str = "ephemeral pool headroom at the declared peak connection rate",
                   cap: TimeWaitCap | None = None, unseen: str | None = None,
                   scope: str = PER_TUPLE) -> Outcome:
    """``source``: where ``time_wait_seconds`` comes from (Linux's by default).
    ``cap``: Linux's tcp_max_tw_buckets, the most sockets (and so ports) TIME_WAIT ever holds.
    ``scope``: which connections the held ports are counted for (the OS's connect() decides)."""
    pool = pool_lookup.pool
    if pool is None:
        return not_reviewed(subject, pool_lookup.reason or "the ephemeral pool could not be determined")
    # compared as exact decimals (:func:`exact`); the floats are for showing
    hold = exact(time_wait_seconds)
    wanted_ports = exact(rate) * hold
    capped = cap is not None and cap.limit < wanted_ports
    held_ports = Fraction(cap.limit) if cap is not None and capped else wanted_ports
    wanted, held = float(wanted_ports), float(held_ports)
    # whole connections per second that still fit; none is the limit once the cap keeps TIME_WAIT below the pool
    sustainable = None if capped and held_ports < pool.searched_size else sustained_rate(pool.searched_size, hold)
    observed: dict[str, object] = {
        "peak_new_connections_per_second": rate,
        "ports_in_time_wait": round(held),
        "pool_size": pool.searched_size,
        **({"held_by_listeners": len(pool.held)} if pool.held else {}),
        "utilization": float(held_ports / pool.searched_size) if pool.searched_size else None,
        "sustainable_per_second": sustainable,
        "time_wait_seconds": time_wait_seconds,
    }
    if source is not None:
        observed["time_wait_source"] = source
    if cap is not None and capped:
        observed["time_wait_cap"] = cap.limit
    evidence = [*pool.evidence, *(cap.evidence if cap is not None and capped else ())]
    expected = {"utilization_at_most": maximum}
    if pool.searched_size <= 0:
        return failed(subject, "the ephemeral pool is empty: no outgoing connection can get a port",
                      observed=observed, expected=expected, evidence=evidence)
    exact_utilization = held_ports / pool.searched_size
    within = exact_utilization <= exact(maximum)
    shown, limit = _percents(exact_utilization, maximum, 0)
    per_second = f"{rate:g} new connections/s x {time_wait_seconds:g} s TIME_WAIT{f' ({source})' if source else ''}"
    of_pool = f"= {shown} of the {pool.searched_size:,}-port pool{_held(pool)}" + (
        f" (which sustains at most {sustainable:,}/s)" if sustainable is not None else "")
    if cap is not None and capped:
        text = (f"{per_second} would hold {wanted:,.0f} ports {scope}, but {_sysctl.MAX_TW_BUCKETS} = {cap.limit:,} "
                f"keeps at most {cap.limit:,} sockets in TIME_WAIT (beyond that the kernel destroys a closing "
                f"connection at once, without TIME_WAIT's protection, and frees its port): {held:,.0f} ports held "
                f"{of_pool}")
    else:
        text = f"{per_second} holds {held:,.0f} ports {scope} {of_pool}"
    if exact_utilization >= 1 and within:
        # A maximum of 100% passed a peak that holds every port: the next connect() then finds none
        # (and the connections still open hold ports of their own).
        return failed(subject, f"{text}: every port of the pool, so the next connection fails with EADDRNOTAVAIL at "
                               f"the peak, whatever the maximum ({limit}) allows",
                      observed=observed, expected=expected, evidence=evidence)
    if within and unseen is not None:
        return not_reviewed(subject, f"{text}, at most {limit}{unseen_note(unseen)}",
                            evidence=[*evidence, "/gaps"])
    if within:
        return passed(subject, f"{text}, at most {limit}", observed=observed, expected=expected, evidence=evidence)
    return failed(subject, f"{text}, above {limit}: connections fail with EADDRNOTAVAIL near the peak",
                  observed=observed, expected=expected, evidence=evidence)


_LINUX_ONLY = {  # param -> (setting, what stands for it elsewhere)
    "allowed_tw_reuse": (_sysctl.TW_REUSE, "TIME_WAIT reuse is not a setting there"),
    "min_max_tw_buckets": (_sysctl.MAX_TW_BUCKETS, "there is no TIME_WAIT bucket limit to set"),
    "max_fin_timeout": (_sysctl.FIN_TIMEOUT, "FIN_WAIT_2 is not bounded by this setting there"),
}


def _other_os(snapshot: HostSnapshot, params: TimeWaitParams) -> list[Outcome]:
    """Windows and macOS: the Linux-only sysctls are not_applicable; the pool headroom is judged with
    the OS's own TIME_WAIT length (TcpTimedWaitDelay; 2 x net.inet.tcp.msl and the garbage
    collector's lateness, :data:`._platforms.MACOS_REAPER_LATENESS_SECONDS`) and its own ranges."""
    system = _platforms.os_name(snapshot)
    outcomes: list[Outcome] = []
    for name, (key, why) in _LINUX_ONLY.items():
        if getattr(params, name) is not None:
            outcomes.append(not_applicable(f"sysctl {key}", f"{key} is a Linux sysctl: {system} has no such "
                                                            f"parameter ({why}); {name} is not judged on {system}"))
    if params.max_time_wait_share is None and params.peak_new_connections_per_second is None:
        return outcomes
    # Outgoing TCP connections take their ports from the TCP ranges (Windows keeps one per family).
    tcp_ranges = [r for r in _platforms.port_ranges(snapshot) if r.protocol in (None, "tcp")]
    if params.max_time_wait_share is not None:
        # The live count covers both families (netstat -ano lists IPv4 and IPv6 TIME_WAIT rows
        # alike), and Windows keeps a TCP range per family: the count is judged against the
        # smallest, since compared with the IPv4 range alone a narrowed tcp/ipv6 range that IPv6
        # connections hold nearly all of passed.  A range that cannot be read leaves it unknown.
        # Where the registry sets the legacy MaxUserPort, the range 1025-MaxUserPort it meant is one
        # of the pools too (as the peak's headroom judges it): against the netsh ranges alone, 3,500
        # TIME_WAIT sockets passed as 6% of 55,536 ports where MaxUserPort 5000 leaves 3,975.
        pools = [(r.label, r.lookup) for r in tcp_ranges]
        if _platforms.platform_of(snapshot) == "windows" and (legacy := _max_user_port_lookup(snapshot)) is not None:
            pools.append(legacy)
        unread = [pool for pool in pools if pool[1].pool is None]
        label, tightest = unread[0] if unread else min(pools, key=lambda p: p[1].pool.searched_size)  # type: ignore[union-attr]
        outcomes.append(_time_wait_share(snapshot, tightest, params.max_time_wait_share,
                                         label if len(pools) > 1 else None, unseen_listeners(snapshot)))
    if params.peak_new_connections_per_second is not None:
        length = _platforms.time_wait(snapshot)
        macos = _platforms.platform_of(snapshot) == "macos"
        for port_range in tcp_ranges:
            subject = "ephemeral pool headroom at the declared peak connection rate" + (
                f" ({port_range.label})" if port_range.protocol else "")
            if length.seconds is None:
                outcomes.append(not_reviewed(subject, f"how long {system} keeps a port in TIME_WAIT is not known: "
                                                      f"{length.reason}"))
                continue
            outcomes.append(_peak_headroom(port_range.lookup, params.peak_new_connections_per_second,
                                           params.max_pool_utilization, length.seconds, length.source, subject,
                                           unseen=unseen_listeners(snapshot),
                                           scope=_platforms.MACOS_RATE_SCOPE if macos else PER_TUPLE))
        if _platforms.platform_of(snapshot) == "windows":
            legacy = _max_user_port_headroom(snapshot, params.peak_new_connections_per_second,
                                             params.max_pool_utilization, length)
            if legacy is not None:
                outcomes.append(legacy)
    return outcomes


def _max_user_port_lookup(snapshot: HostSnapshot) -> tuple[str, _sysctl.PoolLookup] | None:
    """The legacy range 1025-MaxUserPort as a pool to judge (its label, its lookup: no pool and why
    where MaxUserPort is set but unusable or the registry was not read); None where it is not set."""
    legacy = _platforms.max_user_port(snapshot)
    if legacy.value is None:
        if legacy.reason is None:
            return None
        return "legacy MaxUserPort range", _sysctl.PoolLookup(None, None, None, legacy.pointer, legacy.reason)
    low, high = _platforms.MAX_USER_PORT_LOW, legacy.value
    pool = _platforms.max_user_port_pool(snapshot, legacy.value, legacy.pointer)
    return f"legacy MaxUserPort {low}-{high} range", _sysctl.PoolLookup(pool, low, high, legacy.pointer, None)


def _max_user_port_headroom(snapshot: HostSnapshot, rate: float, maximum: float,
                            length: _platforms.TimeWait) -> Outcome | None:
    """The peak against the range the legacy MaxUserPort sets where Windows still honours it
    (1025-MaxUserPort, as net.ephemeral_port_range judges it): judged against the netsh ranges
    alone, MaxUserPort 5000 (3,976 ports) passed a peak that holds more ports than that.  None
    where it is not set; not_reviewed where it is set but unusable, or the registry was not read."""
    legacy = _platforms.max_user_port(snapshot)
    subject = "ephemeral pool headroom at the declared peak connection rate (legacy MaxUserPort"
    if legacy.value is None:
        if legacy.reason is None:
            return None
        return not_reviewed(f"{subject})", legacy.reason, evidence=[legacy.pointer] if legacy.pointer else [])
    low, high = _platforms.MAX_USER_PORT_LOW, legacy.value
    subject = f"{subject} {low}-{high})"
    if length.seconds is None:
        return not_reviewed(subject, f"how long Windows keeps a port in TIME_WAIT is not known: {length.reason}")
    pool = _platforms.max_user_port_pool(snapshot, legacy.value, legacy.pointer)
    return _peak_headroom(_sysctl.PoolLookup(pool, low, high, legacy.pointer, None), rate, maximum,
                          length.seconds, length.source, subject, unseen=unseen_listeners(snapshot))


@check(
    name="net.time_wait",
    title="TIME_WAIT settings leave headroom in the ephemeral port pool",
    version="1.17.0",
    needs=["sysctl", "sockets"],
    platforms=["linux", "windows", "macos"],
    uses=["netns"],
    params=TimeWaitParams,
    severity=Severity.MEDIUM,
    controls=["SC-5", "SC-5(2)", "CM-6"],
    rationale="""
A host that opens many short outgoing connections (proxies, load balancers, service clients) keeps
each closed connection's port in TIME_WAIT for 60 seconds or more.  When the ports in TIME_WAIT approach the
size of the ephemeral pool, new connections fail: a self-inflicted denial of service (SC-5) caused
by capacity that does not match the declared load (SC-5(2)).  The TIME_WAIT-related sysctls are
configuration settings with security weight (CM-6): tcp_tw_reuse=1 trades the protection TIME_WAIT
gives against stray segments for capacity, and a low tcp_max_tw_buckets makes the kernel drop
TIME_WAIT state early.
""",
    remediation=r"""
On Linux:

Widen net.ipv4.ip_local_port_range, spread the load over more destination addresses or ports, use
connection pooling / keep-alive so fewer connections are opened, or (only where the policy allows)
set net.ipv4.tcp_tw_reuse.  Set the sysctls in /etc/sysctl.d/ and apply with sysctl --system.
Lowering tcp_fin_timeout does not shorten TIME_WAIT.

On Windows:

Widen the dynamic port range (`netsh int ipv4 set dynamicport tcp start=N num=M`, and the same with
`ipv6`), spread the load over more destination addresses or ports, or use connection pooling /
keep-alive so fewer connections are opened.  A closed connection holds its port for
TcpTimedWaitDelay seconds (120 when it is not set; documented from 30 to 300): `reg add
HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters /v TcpTimedWaitDelay /t REG_DWORD /d 30
/f` shortens it, after a restart of the computer.  Where the legacy MaxUserPort value is set there,
it bounds the pool too (1025 to MaxUserPort).

On macOS:

Widen the range (net.inet.ip.portrange.first and net.inet.ip.portrange.last), or use connection
pooling / keep-alive so fewer connections are opened (more destinations do not help: macOS gives no
connection a port another holds in TIME_WAIT, whatever its destination).  A closed connection holds
its port for twice net.inet.tcp.msl (in milliseconds; 15000, so 30 s, by default) and up to 22 s more,
until the kernel's collector frees it: `sudo sysctl -w net.inet.tcp.msl=N` lowers it (too low a value lets a late
segment of an old connection reach a new one), and a `net.inet.tcp.msl=N` line in /etc/sysctl.conf
keeps it across reboots.
""",
    notes=f"""
TIME_WAIT lasts {TCP_TIMEWAIT_LEN_SECONDS} s on Linux (TCP_TIMEWAIT_LEN, compiled in) at least, and up to
{TIME_WAIT_SECONDS:g} s: a timer ends it, and since Linux 4.8 the kernel's timer wheel fires a timer up to
one granule of its level late, never early (kernel/time/timer.c, calc_index).  A 60 s timer sits on
a level whose granule is 512 jiffies at HZ 100 (5.12 s), 250 (2.048 s) or 300 (1.71 s), and 4,096
at HZ 1000 (4.096 s).  Since 1.10.0 the headroom counts the hold at the kernel's own HZ (its CONFIG_HZ:
live, /proc/config.gz, else /boot/config-RELEASE of the running release; offline, the image's
/boot/config-*, when every one of them names the same HZ, since which kernel an image boots is not
known): 62.048 s at HZ 250, 64.096 s at HZ 1000.  Where the HZ is not known (no readable
configuration, one naming no HZ Kconfig offers, an image's kernels that disagree, a container image
with no /boot, a snapshot written before format 1.9) it counts the coarsest, {TIME_WAIT_SECONDS:g} s,
which may overstate what is held by up to 8.5%, never understate it, and the finding says why
(measured on Linux 6.18 at HZ 250: 24 ports closed 100 ms apart left TIME_WAIT after 60.06 to
61.98 s).  (A softirq delayed under load, or a peer's retransmitted FIN, which restarts the timer,
holds a port longer still; neither is counted.)
net.ipv4.tcp_fin_timeout governs how long an orphaned connection stays in FIN_WAIT_2, not TIME_WAIT:
lowering it does not free ports faster.  net.ipv4.tcp_tw_reuse lets a new *outgoing* connection take
a port still in TIME_WAIT when that is safe from the protocol's point of view, which needs TCP
timestamps (net.ipv4.tcp_timestamps): 0 = never, 1 = for all outgoing connections, 2 = for loopback
connections only (the kernel default).
It never affects incoming connections.  allowed_tw_reuse judges the value as the kernel acts on it
(since 1.9.0): the kernel reuses a TIME_WAIT port only for a connection that carried timestamps
(tcp_twsk_unique), so with net.ipv4.tcp_timestamps = 0 a tcp_tw_reuse of 1 or 2 reuses nothing
(checked on Linux 6.18: the fifth connection through a 4-port range held in TIME_WAIT fails with
EADDRNOTAVAIL, and takes a TIME_WAIT port with timestamps on).  Where the policy allows reuse but not
0, such a host fails (it does not have the reuse the policy counts on), and the finding is
not_reviewed when tcp_timestamps cannot be read; a value the policy does not allow fails as
written, since it takes effect once timestamps are on.  The value 2 means loopback only since Linux
4.20; before, the kernel reused TIME_WAIT ports for every outgoing connection with any value but 0,
2 among them (unless a distribution backported the change, as RHEL 8 did).  So where the policy
allows 2 and not 1, a 2 is judged only on a running kernel of 4.20 or later: on an older one, one of
unknown release, or an offline image (which kernel boots it is not known), it is not_reviewed,
naming why (with tcp_timestamps = 0 neither meaning reuses a port, and it is judged as above).

Headroom: utilisation = peak_new_connections_per_second x that hold ({TIME_WAIT_SECONDS:g} s at the most) / pool size, per
(source address, destination address, destination port) tuple, where pool size = ip_local_port_range
minus reserved ports and the ports TCP listeners hold in it, which connect() never takes (one fewer
for a range of an odd number of ports: connect() searches an even number of them, see
net.ephemeral_port_range).  Linux's default pool (32768-60999, 28,232 ports) sustains about 433 new
connections per second to one destination at the worst (455 at HZ 250); 417/s (25,000 a minute)
already holds up to 96% of it.  The rate, the hold and the maximum are compared as the decimals they
are written in, exactly (since timewait18): 125/s x 65.12 s over 16,280 ports is 50%, at most a
maximum of 0.5, and the rate said to be sustained is the highest whole one that holds fewer ports
than the pool.  A
peak that holds every port of the pool fails even where max_pool_utilization is 1: the next
connect() to that destination finds no port.  The figure is per tuple because Linux's connect() shares a
port among destinations (macOS's does not: below); a client that bind()s its socket before connect() (a source address set
without IP_BIND_ADDRESS_NO_PORT) takes the port from every destination for as long as its TIME_WAIT
lasts (connect() skips a port a bind() took: with 40000-40003 held so, a connection to another
destination fails with EADDRNOTAVAIL, checked on Linux 6.18), so for such clients the rate to count
is the host's total; how a program binds is not something lbaudit can see.  The
check does not count on tcp_tw_reuse to relax this (nor on net.ipv4.tcp_tw_reuse_delay, Linux 6.12
and later, which it does not read).  It does count on net.ipv4.tcp_max_tw_buckets: beyond that many
TIME_WAIT sockets in the namespace the kernel keeps no more (a closing connection is destroyed at
once and its port is free), so the ports held are at most that limit, and the message says so and
what it costs (min_max_tw_buckets judges the limit itself); where the limit cannot be read, or is
negative (no limit where the kernel compares it as an unsigned number, as 6.18 does; none kept on
older kernels), every port is taken to stay held for the whole of TIME_WAIT.  max_time_wait_share compares the live TIME_WAIT
count (all destinations, both directions) with the pool: a coarse, host-wide signal that needs a live
host (not_applicable for an offline root directory).  Each param that is set gives one finding; at
least one must be set.  The pool of both is less the ports TCP listeners hold in the range: where a
running host's listening sockets could not be read, a headroom or share that would pass on the range
is not_reviewed, naming why they could not be (only a failure holds whatever ports they hold); an
offline image's list of the listeners its socket units declare is judged as it is, as in
net.ephemeral_port_range.

Windows and macOS: tcp_tw_reuse, tcp_max_tw_buckets and tcp_fin_timeout are Linux sysctls and are
not_applicable there, with the reason.  The headroom uses the OS's own TIME_WAIT length: Windows
TcpTimedWaitDelay from the registry (not set: 120 s, Microsoft's documented default; a value
outside the documented 30-300 s makes the headroom not_reviewed, since what the stack then uses is
not documented), macOS
2 x net.inet.tcp.msl (15,000 ms by default: 30 s) and up to {_platforms.MACOS_REAPER_LATENESS_SECONDS} s more (below); and its own pool: each Windows TCP dynamic range
(IPv4, IPv6), macOS net.inet.ip.portrange.first-last, each less the ports TCP listeners hold in it
(see net.ephemeral_port_range); and, where the Windows registry sets the legacy MaxUserPort, the
range 1025-MaxUserPort it meant, which Windows may still honour, on a headroom finding of its own
(not_reviewed when the value is malformed or outside 5000-65534).  A default Windows range (16,384
ports) with 120 s sustains 136 new connections per second to one destination, a default macOS
range (16,384 ports) with 52 s 315.  Windows's length is taken as exact: how late its timer ends
TIME_WAIT is not documented.  macOS's is not: XNU runs no timer that ends TIME_WAIT, it frees the
port when its PCB garbage collector (tcp_gc) next runs after 2 x MSL; while sockets are in
TIME_WAIT that runs on a lazy timer due {_platforms.MACOS_REAPER_DUE_SECONDS} s after its last run with {_platforms.MACOS_REAPER_LEEWAY_SECONDS} s of leeway (inpcb_timeout,
_inpcb_sched_timeout in bsd/netinet/in_pcb.c), and it gives up a run whose lock is busy, one in a
row (tcp_gc_done): {_platforms.MACOS_REAPER_RUNS} x {_platforms.MACOS_REAPER_DUE_SECONDS + _platforms.MACOS_REAPER_LEEWAY_SECONDS} s late at the most (read in XNU from xnu-2422, OS X 10.9, to xnu-11417,
macOS 15).  Counted as exactly 2 x MSL, 400 connections/s (12,000 of the default 16,383 ports,
73%) passed a maximum of 80% where at the worst they hold 20,800, more than the pool.  Not
counted, as on Linux: a thread-call worker or a lock that keeps the collector waiting, a content
filter that defers a socket's TIME_WAIT, a peer's retransmitted FIN, which restarts 2 x MSL.  On
macOS the figure is per source address, not per destination: XNU's connect() takes a port no
socket holds, whatever its destination (in_pcbbind looks the port up by local address and port
alone; in6_pcbsetport too unless the socket sets SO_REUSEADDR or SO_REUSEPORT), so a port in
TIME_WAIT is given to no other outgoing connection and the rate to declare is the host's total; the
message says so (it said "per (source, destination, port) tuple", as on Linux).
max_time_wait_share counts
TIME_WAIT rows of netstat -ano on Windows (IPv4 and IPv6 alike) and compares them with the smallest
TCP pool: each TCP dynamic range and, where the registry sets MaxUserPort, the legacy range
1025-MaxUserPort (not_reviewed when MaxUserPort is set but unusable, or the registry was not read;
before, the legacy range was left out and 3,500 TIME_WAIT sockets passed as 6% of a 55,536-port
range where MaxUserPort 5000 leaves 3,975 ports); the macOS probes do not capture connection states.

Each network namespace has its own values (a new namespace starts from the kernel defaults, not
the host's sysctl.d): every other namespace's settings are judged on findings of their own, named
`... in netns N`.

Values are read as the kernel reads them (`0x` hex, `0`-prefixed octal: `0100000` is 32,768; only
the first number of a configured value, as the kernel leaves the rest of a write unread: `30 60` is 30;
one that does not lie within the value's first 1,023 bytes is not read, since the kernel reads at most
PAGE_SIZE - 1 bytes of a write and a boot tool may write a long value in pieces).
A value the kernel refuses (EINVAL) is never judged as written: tcp_tw_reuse outside 0-2,
tcp_tw_reuse or tcp_timestamps with a sign (`-0` too: their handler takes none; read as 0, an image's
`-0` passed allowed_tw_reuse [0] where the boot keeps the default 2),
tcp_max_tw_buckets outside a C int, tcp_fin_timeout whose seconds x HZ overflow an int (up to
2,147,483 s is taken on every HZ).  An offline image's boot then keeps the kernel default, which
lbaudit does not assume, so that finding is not_reviewed, naming the value and the file.  An image
in which nothing applies its sysctl configuration at boot (no systemd-sysctl, and no procps sysctl
that an init script an init starts runs: a container image) has no configured values: the findings
judged on them, the headroom among them, are not_reviewed, naming what is missing.  A running
value is what the kernel holds, so one that only some HZ takes (up to 21,474,836 s) is judged.
Since 1.12.0 the rate, hold, share and utilization are compared with their limits as the exact
decimals written (a peak exactly at max_pool_utilization passes; floating point made it 0.5000000000000001
of 0.5 and failed), a backwards ip_local_port_range makes the headroom and share not_reviewed (the kernel
refuses such a range and keeps its own), a /proc value read cut short is a gap, and a live snapshot
without running sysctl values is not_reviewed rather than judged on its sysctl.d configuration.
Since 1.13.0 the headroom and TIME_WAIT share of a running host whose listening sockets could not be
read are not_reviewed where they would pass (the ports TCP listeners hold in the range are not known,
so the pool may be smaller; a failure stands); an image in which nothing applies sysctl.d at boot has
no configured values (above); and namespace discovery is as net.bind_addresses 1.22.0 describes.
Since 1.14.0 a Windows pool whose table of excluded port ranges was cut (no closing footnote) is not
reviewed, as net.ephemeral_port_range 1.13.0; a bundle output of more than 400,000 lines is a gap.
Since 1.15.0 a tcp_tw_reuse of 2 that a policy allows as loopback-only reuse (and 1 not) is judged only
on a running kernel of Linux 4.20 or later, where 2 means that: before 4.20 any nonzero value reuses
TIME_WAIT ports for every outgoing connection, so on an older kernel, a snapshot without the kernel's
release or an offline image it is not_reviewed (tcp_timestamps = 0 reuses nothing either way).
Since 1.15.0 the remediation has a part for each platform it judges (On Linux: / On Windows: / On
macOS:), and every report shows the part of the platform its evidence records.  A macOS host's
TIME_WAIT holds a port up to 2 x net.inet.tcp.msl plus XNU's collector's lateness (22 s at the most),
not 2 x MSL exactly, so a peak that passed at 73% of the default pool now fails; its rate is the host's
total, since macOS's connect() never gives a port in TIME_WAIT to another destination.
Since 1.16.0 the Windows TIME_WAIT share is judged against the smallest TCP pool, the legacy
1025-MaxUserPort range among them when the registry sets it (not_reviewed when it is set but
unusable or the registry was not read); values are read as the kernel reads one write (4,095
bytes), and long values in linear time.
Since 1.17.0 tcp_tw_reuse and tcp_timestamps with a sign (`-0` too), which the kernel refuses
(EINVAL) and no kernel prints, are not reviewed: `-0` passed `allowed_tw_reuse: [0]` on an image
whose boot keeps the default 2.
""",
)
def net_time_wait(snapshot: HostSnapshot, params: TimeWaitParams) -> list[Outcome]:
    if _platforms.platform_of(snapshot) != "linux":
        return _other_os(snapshot, params)
    # TIME_WAIT settings and counts are each network namespace's own.
    return _namespaces.judge_each(snapshot, lambda each: _judge(each, params))


def _judge(snapshot: HostSnapshot, params: TimeWaitParams) -> list[Outcome]:
    outcomes: list[Outcome] = []
    if params.allowed_tw_reuse is not None:
        outcomes.append(_tw_reuse(snapshot, list(params.allowed_tw_reuse)))
    if params.min_max_tw_buckets is not None:
        outcomes.append(_max_tw_buckets(snapshot, params.min_max_tw_buckets))
    if params.max_fin_timeout is not None:
        outcomes.append(_fin_timeout(snapshot, params.max_fin_timeout))
    if params.max_time_wait_share is not None or params.peak_new_connections_per_second is not None:
        pool_lookup = _sysctl.ephemeral_pool(snapshot)
        unseen = unseen_listeners(snapshot)
        if params.max_time_wait_share is not None:
            outcomes.append(_time_wait_share(snapshot, pool_lookup, params.max_time_wait_share, unseen=unseen))
        if params.peak_new_connections_per_second is not None:
            seconds, source = linux_time_wait(snapshot)
            outcomes.append(_peak_headroom(pool_lookup, params.peak_new_connections_per_second,
                                           params.max_pool_utilization, seconds, source,
                                           cap=_time_wait_cap(snapshot), unseen=unseen))
    return outcomes
