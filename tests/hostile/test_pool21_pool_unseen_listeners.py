"""net.ephemeral_port_range passed its pool on a range whose listeners were never read.

The pool is ip_local_port_range less reserved ports *and less the ports TCP listeners hold in the
range*: __inet_hash_connect() never hands out a port a bind() took (tests/hostile/
test_checks13_listener_ports.py shows it on this kernel: 40000-40003 with a listener on 40001 gives
three connections).  On a running host whose listening sockets could not be read (sock_diag refused
and the /proc/net fallback failed), the pool finding counted no listener port and passed: 40000-40003
"has 4 ports ... at least the minimum 4", where one listener inside it leaves three.  With
``forbid_listeners_in_range: false`` (the listener finding, which is not_reviewed there, is off) the
run exited 0, compliant.  net.time_wait made the same pass not_reviewed (pool19); the pool finding
now does too, on Linux, and on the TCP ranges of a Windows capture without its netstat listing
(the legacy MaxUserPort range among them).  A failure still fails (listeners only take ports away),
and an offline image, whose list holds by nature only what its socket units declare, is judged as
before.

Each case writes a snapshot (or edits a fixture bundle) and evaluates it with the real CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.model.facts import Gap, GapKind, SysctlFacts, SysctlSetting
from auditor.storage.snapshot import snapshot_bytes
from tests.bundles import replay_edited
from tests.cli import evaluate_snapshot
from tests.factories import snapshot, sysctl_facts

POOL = "ephemeral port pool"
UNREAD = ("netlink sock_diag unavailable: [Errno 1] Operation not permitted; /proc/net fallback failed: "
          "[Errno 13] Permission denied: '/proc/net/tcp'")


def _policy(minimum: int) -> str:
    return f"""\
id: t
version: "1"
owner: Sec
rules:
  - id: eph
    check: net.ephemeral_port_range
    params: {{min_pool_size: {minimum}, forbid_listeners_in_range: false}}
"""


def _run(tmp_path: Path, minimum: int, kind: GapKind = GapKind.UNREADABLE, source: str = "live") -> tuple[int, dict]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    host = tmp_path / "host.snapshot.json"
    sysctl = sysctl_facts({"net.ipv4.ip_local_port_range": "40000\t40003", "net.ipv4.ip_local_reserved_ports": ""})
    if source == "root":  # an image has no running values: its boot configuration sets the same
        sysctl = SysctlFacts(persistent={key: SysctlSetting(value=setting.value, origin=f"/etc/sysctl.d/90.conf:{n}")
                                         for n, (key, setting) in enumerate(sysctl.runtime.items(), 1)})
    gaps = [Gap(section="sockets", field="listeners", reason=UNREAD, kind=kind)]
    # (an image's list, as `collect --root` writes it: the listeners its socket units declare, none here)
    listeners = [] if source == "root" else None
    host.write_bytes(snapshot_bytes(snapshot(listeners=listeners, sysctl=sysctl, gaps=gaps, netns=None, source=source)))
    run, evidence = evaluate_snapshot(tmp_path, _policy(minimum), host)
    assert run.returncode in (0, 1, 3), run.stdout + run.stderr
    [finding] = [f for f in json.loads(evidence.read_bytes())["result"]["findings"] if f["subject"] == POOL]
    return run.returncode, finding


def test_a_pool_pass_on_listeners_not_read_is_not_reviewed(tmp_path):
    code, found = _run(tmp_path, 4)
    # was pass, exit 0: "the ephemeral pool has 4 ports (40000-40003, 0 of them reserved; the listeners are
    # not known ...), at least the minimum 4"
    assert (found["status"], code) == ("not_reviewed", 3), found
    assert "listening sockets could not be read" in found["reason"] and "/proc/net fallback failed" in found["reason"]


def test_a_pool_failure_on_listeners_not_read_still_fails(tmp_path):
    code, found = _run(tmp_path, 5)
    assert (found["status"], code) == ("fail", 1), found


def test_control_case_an_image_list_of_declared_listeners_is_judged_as_before(tmp_path):
    code, found = _run(tmp_path, 4, kind=GapKind.NOT_APPLICABLE, source="root")
    assert found["status"] == "pass", found


WINDOWS_POLICY = """\
id: t
version: "1"
owner: Sec
rules:
  - id: pool
    check: net.ephemeral_port_range
    params: {min_pool_size: 100, forbid_listeners_in_range: false}
"""


def test_a_windows_capture_without_its_listener_table_has_no_tcp_pool_pass(tmp_path):
    code, found, _ = replay_edited(tmp_path, "windows-audited", lambda d: (d / "netstat-ano.txt").unlink(),
                                   WINDOWS_POLICY)
    pools = {subject: finding for (rule, subject), finding in found.items()
             if subject.startswith(POOL) or subject == "legacy MaxUserPort"}
    assert code == 3
    for subject in ("ephemeral port pool (tcp/ipv4 dynamic port range)",
                    "ephemeral port pool (tcp/ipv6 dynamic port range)", "legacy MaxUserPort"):
        # was pass: "... has 55,536 ports (the listeners are not all known, so ports TCP listeners hold
        # inside the range are not subtracted), at least the minimum 100"
        assert pools[subject]["status"] == "not_reviewed", (subject, pools[subject])
        assert "listening sockets could not be read" in pools[subject]["reason"]
    # UDP ranges never lose ports to listeners: judged as before
    for subject in ("ephemeral port pool (udp/ipv4 dynamic port range)",
                    "ephemeral port pool (udp/ipv6 dynamic port range)"):
        assert pools[subject]["status"] == "pass", (subject, pools[subject])
