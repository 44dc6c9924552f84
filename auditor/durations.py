"""Durations as people write them (``--max-age 36h``, ``max_age: 7d``) and ages as reports say them.

Standard library only: the configuration file checks its ``max_age`` with :func:`parse_duration`
before any command imports the rest of lbaudit.
"""

from __future__ import annotations

from datetime import timedelta

from auditor.patterns import first_use

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Any number of digits: at most six were taken, so 1000000m (694 days) was refused, and 999999999w
# was "expected a whole number with a unit", which it is.  The century bound below does the limiting.
_DURATION = first_use(r"(?:[0-9]+[wdhms])+")
_PART = first_use(r"([0-9]+)([wdhms])")
# A number of more significant digits than this is past the century in any unit (10**12 s is
# 31,700 years), and is never given to int(), which refuses more than 4,300 digits.
_MAX_DIGITS = 12
# A century, as the day-count options (auditor/commands/options.py MAX_DAYS): past any retention,
# and far from the overflow of date arithmetic.
MAX_DURATION = timedelta(days=36600)
NO_LIMIT = "none"
DURATION_FORMS = ("a whole number with a unit, s, m, h, d or w, or several of them (90m, 36h, 7d, 1d12h); "
                  f"or {NO_LIMIT} for no limit")


def parse_duration(text: str) -> timedelta | None:
    """``text`` as a duration, or None for :data:`NO_LIMIT`; anything else (no unit, a sign, a
    fraction, zero, more than a century) is a ValueError saying what is expected."""
    given = text.strip()
    if given == NO_LIMIT:
        return None
    if not _DURATION().fullmatch(given):
        raise ValueError(f"{text[:80]!r}: expected {DURATION_FORMS}")
    parts = [(number.lstrip("0") or "0", unit) for number, unit in _PART().findall(given)]
    too_long = any(len(number) > _MAX_DIGITS for number, _ in parts)
    seconds = 0 if too_long else sum(int(number) * _UNITS[unit] for number, unit in parts)
    if too_long or seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{text[:80]!r}: more than {MAX_DURATION.days} days; expected {DURATION_FORMS}")
    if seconds == 0:
        raise ValueError(f"{text[:80]!r}: a limit of zero refuses every snapshot; expected more than 0 "
                         f"({DURATION_FORMS})")
    return timedelta(seconds=seconds)


def duration_text(duration: timedelta) -> str:
    """A duration in its two largest units, rounded down (``409d 12h``, ``36h``, ``5m 3s``), as
    :func:`parse_duration` reads it back; a negative one has a minus sign."""
    seconds = int(duration.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append((count, unit))
    shown = parts[:2] if parts else [(0, "s")]
    if len(shown) == 2 and shown[1][0] == 0:
        shown = shown[:1]
    return sign + " ".join(f"{count}{unit}" for count, unit in shown)
