"""net.time_wait passed its headroom and TIME_WAIT share on a pool whose listeners were never read.

The pool both findings divide by is ip_local_port_range less reserved ports *and less the ports TCP
listeners hold in the range* (connect() never takes a port a bind() took).  On a running host whose
listening sockets could not be read (netlink sock_diag refused and the /proc/net fallback failed),
lbaudit counted no listener port, judged the range whole, and passed: 300 new connections a second
hold 19,536 ports for 65.12 s, "69% of the 28,232-port pool, at most 80%", with nothing saying the
pool may be smaller, and a policy of net.time_wait alone exited 0, compliant.  net.ephemeral_port_range
says so on its own finding (its listener finding is not_reviewed); net.time_wait had no finding that
did.  Now a pass that rests on listeners not read is not_reviewed, naming why they were not; a failure
still fails (fewer ports can only raise the share), and an offline image, whose list holds by nature
only what its socket units declare, is judged as before.
"""

from __future__ import annotations

from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.model.facts import Gap, GapKind
from auditor.model.result import Status
from tests.factories import snapshot, sysctl_facts

HEADROOM = "ephemeral pool headroom at the declared peak connection rate"
SHARE = "TIME_WAIT share of the ephemeral pool"
UNREAD = ("netlink sock_diag unavailable: [Errno 1] Operation not permitted; /proc/net fallback failed: "
          "[Errno 13] Permission denied: '/proc/net/tcp'")


def judged(rate: float, listeners_read: bool, gap_kind: GapKind = GapKind.UNREADABLE) -> dict[str, tuple[Status, str]]:
    gaps = [] if listeners_read else [Gap(section="sockets", field="listeners", reason=UNREAD, kind=gap_kind)]
    snap = snapshot(listeners=[] if listeners_read else None, time_wait=1000, sysctl=sysctl_facts(), gaps=gaps,
                    netns=None)
    outcomes = net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=rate, max_pool_utilization=0.8,
                                                      max_time_wait_share=0.5))
    return {o.subject: (o.status, o.message) for o in outcomes if o.subject in (HEADROOM, SHARE)}


def test_a_pass_on_listeners_not_read_is_not_reviewed():
    found = judged(300, listeners_read=False)
    for subject in (HEADROOM, SHARE):
        # was pass: "... = 69% of the 28,232-port pool (which sustains at most 433/s), at most 80%"
        assert found[subject][0] == Status.NOT_REVIEWED, found[subject]
        assert "listening sockets could not be read" in found[subject][1]
        assert "/proc/net fallback failed" in found[subject][1]


def test_a_failure_on_listeners_not_read_still_fails():
    # 417/s hold 27,155 ports: 96% of the whole range already; listeners only take more
    assert judged(417, listeners_read=False)[HEADROOM][0] == Status.FAIL


def test_control_case_listeners_read_pass():
    found = judged(300, listeners_read=True)
    assert found[HEADROOM][0] == Status.PASS and "69% of the 28,232-port pool" in found[HEADROOM][1]
    assert found[SHARE][0] == Status.PASS


def test_control_case_an_image_list_of_declared_listeners_is_judged_as_before():
    found = judged(300, listeners_read=False, gap_kind=GapKind.NOT_APPLICABLE)
    assert found[HEADROOM][0] == Status.PASS


WINDOWS_POLICY = """\
id: tw
version: "1"
owner: T
rules:
  - id: tw
    check: net.time_wait
    params: {peak_new_connections_per_second: 1, max_pool_utilization: 0.8}
"""


def test_a_windows_capture_without_its_listener_table_has_no_headroom_pass(tmp_path):
    """A Windows capture whose netstat -ano was not taken: the TCP ranges' pools lack the ports the
    listeners hold (RPC's 49664 and up sit in the default range), so a headroom is not known to pass."""
    from tests.bundles import replay_edited

    code, found, _ = replay_edited(tmp_path, "windows-audited", lambda d: (d / "netstat-ano.txt").unlink(),
                                   WINDOWS_POLICY)
    headrooms = {subject: finding for (rule, subject), finding in found.items() if subject.startswith(HEADROOM)}
    assert headrooms and code == 3
    for subject, finding in headrooms.items():
        # was pass: "1 new connections/s x 120 s TIME_WAIT ... holds 120 ports ... at most 80%"
        assert finding["status"] == "not_reviewed", (subject, finding)
        assert "listening sockets could not be read" in finding["message"]
