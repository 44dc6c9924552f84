"""How long Linux keeps a closed connection's local port in TIME_WAIT (pure arithmetic).

TIME_WAIT lasts TCP_TIMEWAIT_LEN (60 s, include/net/tcp.h, compiled in) *at least*: the kernel ends
it with a timer (inet_twsk_schedule: ``mod_timer(&tw->tw_timer, jiffies + TCP_TIMEWAIT_LEN)``), and
since Linux 4.8 timers live in a non-cascading wheel (kernel/time/timer.c) that never fires one
early and may fire it up to one granule of its level late: ``calc_index`` rounds the expiry up to
``((expires >> LVL_SHIFT(lvl)) + 1) << LVL_SHIFT(lvl)``.  The level is chosen by how far away the
expiry is (``calc_wheel_index``: level n holds deltas below ``LVL_START(n + 1)``, with
``LVL_START(n) = (LVL_SIZE - 1) << ((n - 1) * LVL_CLK_SHIFT)``), and level n's granule is
``8 ** n`` jiffies.  60 s is 6,000 jiffies at HZ 100 (level 3, granule 512 jiffies = 5.12 s: up to
65.12 s), 15,000 at HZ 250 (level 3, 2.048 s), 60,000 at HZ 1000 (level 4, 4,096 jiffies = 4.096 s).

The port is free once the timer has run (inet_twsk_kill unhashes the socket), so a steady rate of
new connections holds up to rate x that many seconds of ports.  Not bounded here: a softirq that
runs late under load, and a peer whose retransmitted FIN re-arms the timer
(tcp_timewait_state_process); both only make the hold longer.  Earlier kernels ended TIME_WAIT no
later than this: 4.1 to 4.7 armed an exact pinned timer (no slack), and before 4.1 the "death row"
of 8 slots of 7.5 s reaped a socket within TCP_TIMEWAIT_LEN.
"""

from __future__ import annotations

# The HZ values Kconfig offers: the model's, what a snapshot's kernel_hz may hold (re-exported).
from auditor.model.facts import KCONFIG_HZ as KCONFIG_HZ

TCP_TIMEWAIT_LEN_SECONDS = 60

_LVL_CLK_SHIFT = 3  # each level's clock is 8 times slower than the one below
_LVL_SIZE = 64  # buckets per level (LVL_BITS 6)


def _level_start(level: int) -> int:
    return (_LVL_SIZE - 1) << ((level - 1) * _LVL_CLK_SHIFT)


def wheel_granularity_jiffies(delta_jiffies: int, hz: int) -> int:
    """The granule, in jiffies, of the wheel level a timer ``delta_jiffies`` away is queued on: how
    late at most it fires.  The wheel has 9 levels where HZ > 100, else 8 (LVL_DEPTH)."""
    depth = 9 if hz > 100 else 8
    level = next((n - 1 for n in range(1, depth) if delta_jiffies < _level_start(n)), depth - 1)
    return 1 << (level * _LVL_CLK_SHIFT)


def time_wait_hold_seconds(hz: int) -> float:
    """The longest a port stays in TIME_WAIT on a kernel of this HZ: TCP_TIMEWAIT_LEN plus the granule
    of the level its timer is queued on."""
    timeout = TCP_TIMEWAIT_LEN_SECONDS * hz
    return (timeout + wheel_granularity_jiffies(timeout, hz)) / hz


# The longest hold on any HZ (HZ 100: 65.12 s): the hold judged where the kernel's HZ is not known
# (an image without a kernel configuration, a snapshot written before format 1.9, a configuration
# that names no HZ Kconfig offers).  A finer wheel holds the port up to 3.07 s (HZ 300: 1.71 s
# instead of 5.12 s) less, so this can only make the figure too high, never too low.
WORST_HZ = max(KCONFIG_HZ, key=time_wait_hold_seconds)
WORST_TIME_WAIT_HOLD_SECONDS = round(time_wait_hold_seconds(WORST_HZ), 6)
WORST_TIMER_SLACK_SECONDS = round(WORST_TIME_WAIT_HOLD_SECONDS - TCP_TIMEWAIT_LEN_SECONDS, 6)


# The most characters of a CONFIG_HZ value read as a number: every Kconfig HZ has at most 4 digits.
_MAX_HZ_DIGITS = 9


def config_hz(text: str) -> tuple[int | None, str]:
    """The HZ a kernel's build configuration (``/boot/config-RELEASE``, ``/proc/config.gz``) sets:
    (HZ, what the file says) or (None, why it does not tell).  Only ``CONFIG_HZ=<decimal>`` counts
    (Kconfig writes the chosen ``CONFIG_HZ_250=y`` and the number both; the number is what the
    kernel is built with), and only a value Kconfig offers (:data:`KCONFIG_HZ`): anything else is
    not the configuration of a kernel whose timer wheel this module describes."""
    values = []
    for line in text.splitlines():
        if line.startswith("CONFIG_HZ="):
            values.append(line[len("CONFIG_HZ="):].strip())
    if not values:
        return None, "it sets no CONFIG_HZ"
    if len(set(values)) > 1:
        return None, f"it sets CONFIG_HZ more than once, to different values ({', '.join(sorted(set(values))[:4])})"
    value = values[0]
    if not (value.isascii() and value.isdigit() and len(value) <= _MAX_HZ_DIGITS):
        return None, f"CONFIG_HZ={value[:20]!r} is not a decimal number"
    hz = int(value)
    if hz not in KCONFIG_HZ:
        return None, f"CONFIG_HZ={hz} is not an HZ Kconfig offers ({', '.join(map(str, KCONFIG_HZ))})"
    return hz, f"CONFIG_HZ={hz}"
