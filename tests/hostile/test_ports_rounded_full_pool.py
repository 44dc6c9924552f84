"""Hostile messages: a pool short of full read as full.

The headroom utilization is shown to whole percents and the TIME_WAIT share to 0.1%, with more
places only when the rounded value compared with the maximum the other way than the verdict.  Equal
was taken as agreeing with "at most": 166 new connections a second held 9,960 of 10,000 ports
(99.6%, counting TIME_WAIT as 60 s; 153/s for 65.12 s hold 9,963), and against ``max_pool_utilization: 1`` the pass read "= 100% of the 10,000-port pool ...,
at most 100%", a pool with no port left; 9,996 sockets in TIME_WAIT read "100.0%".  A value is now
shown equal to the maximum only when it is.
"""

from __future__ import annotations

import pytest

from tests.hostile.test_params_time_wait_rounding import HEADROOM, SHARE, _finding


@pytest.mark.parametrize(("rate", "shown"), [
    ("153", "holds 9,963 ports per (source, destination, port) tuple = 99.6% of the 10,000-port pool (which "
            "sustains at most 153/s), at most 100%"),
    ("153.556", "holds 10,000 ports per (source, destination, port) tuple = 99.996% of the 10,000-port pool (which "
                "sustains at most 153/s), at most 100%"),
    # 9,999.999999999996 ports: equal in a float, and shown "= 100%"; the verdict now takes the rate as
    # written, and the places show it short of the pool
    ("153.5626535626535", "= 99.99999999999996% of the 10,000-port pool"),
])
def test_a_headroom_short_of_the_whole_pool_is_not_shown_as_all_of_it(tmp_path, rate, shown):
    finding = _finding(tmp_path, 0, f"      peak_new_connections_per_second: {rate}\n      max_pool_utilization: 1\n",
                       HEADROOM)
    assert finding["status"] == "pass"
    assert shown in finding["message"]


def test_a_share_short_of_the_whole_pool_is_not_shown_as_all_of_it(tmp_path):
    finding = _finding(tmp_path, 9996, "      max_time_wait_share: 1\n", SHARE)
    assert (finding["status"], finding["message"]) == (
        "pass", "9,996 sockets in TIME_WAIT = 99.96% of the 10,000-port ephemeral pool, at most 100%")


def test_the_whole_pool_is_shown_as_the_whole_pool(tmp_path):
    finding = _finding(tmp_path, 10000, "      max_time_wait_share: 1\n", SHARE)
    assert (finding["status"], finding["message"]) == (
        "pass", "10,000 sockets in TIME_WAIT = 100.0% of the 10,000-port ephemeral pool, at most 100%")
