"""The TIME_WAIT hold against the level table kernel/time/timer.c documents for each HZ, and the
boundaries its code uses (calc_wheel_index: level n below LVL_START(n + 1) = 63 << 3n jiffies; the
table's ranges were written before LVL_START moved one granule down, so its edges are off by one)."""

from __future__ import annotations

import pytest

from auditor.domain.tcp_timewait import wheel_granularity_jiffies


@pytest.mark.parametrize(("hz", "delta_ms", "granule_ms"), [
    # (HZ, a delay inside a level of the kernel's table, that level's granule in ms)
    (1000, 30, 1), (1000, 300, 8), (1000, 3000, 64), (1000, 30000, 512), (1000, 60000, 4096),
    (250, 60000, 2048), (250, 10000, 256),
    (100, 60000, 5120), (100, 30000, 640),
])
def test_the_levels_match_the_kernels_table(hz, delta_ms, granule_ms):
    assert wheel_granularity_jiffies(delta_ms * hz // 1000, hz) * 1000 // hz == granule_ms


@pytest.mark.parametrize(("delta", "granule"), [(62, 1), (63, 8), (503, 8), (504, 64), (4031, 64), (4032, 512),
                                                 (32255, 512), (32256, 4096)])
def test_the_level_boundaries_are_the_codes(delta, granule):
    assert wheel_granularity_jiffies(delta, 1000) == granule


def test_beyond_the_last_level_the_granule_is_the_last_levels():
    assert wheel_granularity_jiffies(10**12, 1000) == 8**8  # 9 levels where HZ > 100
    assert wheel_granularity_jiffies(10**12, 100) == 8**7   # 8 at HZ 100 and below
