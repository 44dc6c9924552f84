"""Hostile judging, offline images: sysctl values read as the kernel reads them, not as decimal.

systemd-sysctl and sysctl(8) write a configured value to /proc/sys as it is written, and the kernel
reads the numbers with simple_strtoul in base 0 (proc_get_long): ``0x`` is hex and a leading ``0``
is octal.  ``ip_local_port_range = 010000 060000`` boots as 4096-24576 (20,481 ports), which lbaudit
read as 10000-60000 and passed as a 50,001-port pool, and ``tcp_max_tw_buckets = 0100000`` boots as
32,768, which passed a minimum of 50,000.  The reserved-port list (proc_do_large_bitmap) is refused
whole when it holds white space (``40000, 40001``: EINVAL, no port reserved at boot), which lbaudit
took as two reserved ports, so a service inside the range on 40001 passed.

``test_the_parsers_read_what_this_kernel_reads`` writes each value in a new network namespace and
compares what the kernel reads back (or refuses) with what lbaudit reads.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.checks import _sysctl
from auditor.checks.net_ephemeral_port_range import EphemeralRangeParams, net_ephemeral_port_range
from auditor.checks.net_time_wait import TimeWaitParams, net_time_wait
from auditor.collect.rootdir import collect_root
from auditor.model.result import Status
from tests.factories import install_procps_boot

RANGE = "net.ipv4.ip_local_port_range"
RESERVED = "net.ipv4.ip_local_reserved_ports"
BUCKETS = "net.ipv4.tcp_max_tw_buckets"
POOL = "ephemeral port pool"
HEADROOM = "ephemeral pool headroom at the declared peak connection rate"


def image(tmp_path: Path, sysctl: str, socket_port: int | None = None) -> Path:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-net.conf").write_text(sysctl)
    if socket_port is not None:
        units = root / "etc" / "systemd" / "system"
        units.mkdir(parents=True)
        # no [Install] section: another unit pulls it in, so it is judged (as systemd would start it)
        (units / "agent.socket").write_text(f"[Socket]\nListenStream=0.0.0.0:{socket_port}\n")
    return root


def statuses(outcomes) -> dict[str, Status]:
    return {o.subject: o.status for o in outcomes}


def test_an_octal_range_is_the_range_the_kernel_sets(tmp_path):
    snap = collect_root(image(tmp_path, f"{RANGE} = 010000 060000\n"), frozenset({"sysctl", "sockets"}))
    pool = statuses(net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=30000, min_low=0)))
    headroom = statuses(net_time_wait.run(snap, TimeWaitParams(peak_new_connections_per_second=400)))
    # 4096-24576 is 20,481 ports (was read 10000-60000, 50,001: pass); 400/s x 60 s = 24,000 of them
    assert (pool[POOL], headroom[HEADROOM]) == (Status.FAIL, Status.FAIL)
    [finding] = [o for o in net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=30000, min_low=0))
                 if o.subject == POOL]
    assert (finding.observed["low"], finding.observed["high"], finding.observed["pool_size"]) == (4096, 24576, 20481)


def test_a_hex_range_the_kernel_takes_is_judged_not_left_unknown(tmp_path):
    snap = collect_root(image(tmp_path, f"{RANGE} = 0x400 0xffff\n"), frozenset({"sysctl", "sockets"}))
    pool = statuses(net_ephemeral_port_range.run(snap, EphemeralRangeParams(min_pool_size=30000)))
    assert pool[POOL] == Status.PASS  # 1024-65535 (was not_reviewed: "malformed")


def test_an_octal_tw_bucket_limit_is_the_limit_the_kernel_sets(tmp_path):
    snap = collect_root(image(tmp_path, f"{BUCKETS} = 0100000\n"), frozenset({"sysctl", "sockets"}))
    found = statuses(net_time_wait.run(snap, TimeWaitParams(min_max_tw_buckets=50000)))
    assert found[f"sysctl {BUCKETS}"] == Status.FAIL  # 32,768 (was read 100,000: pass)


def test_a_reserved_list_with_white_space_reserves_nothing(tmp_path):
    root = image(tmp_path, f"{RANGE} = 32768 60999\n{RESERVED} = 40000, 40001\n", socket_port=40001)
    snap = collect_root(root, frozenset({"sysctl", "sockets"}))
    assert any(listener.port == 40001 for listener in snap.facts.sockets.listeners)
    found = statuses(net_ephemeral_port_range.run(snap, EphemeralRangeParams()))
    # the boot's write fails (EINVAL): whether 40001 is reserved is not known from the image alone
    assert found["tcp 0.0.0.0:40001 declared by /etc/systemd/system/agent.socket"] == Status.NOT_REVIEWED  # was: reserved, so "no listener in the range" passed
    assert found[POOL] == Status.NOT_REVIEWED


def test_control_case_a_well_formed_reserved_list_is_judged(tmp_path):
    root = image(tmp_path, f"{RANGE} = 32768 60999\n{RESERVED} = 40000,40001,\n", socket_port=40001)
    found = statuses(net_ephemeral_port_range.run(collect_root(root, frozenset({"sysctl", "sockets"})),
                                                  EphemeralRangeParams()))
    assert found[POOL] == Status.PASS and found["listeners in the ephemeral port range"] == Status.PASS


CASES = [
    ("ip_local_port_range", "010000 060000"), ("ip_local_port_range", "0x2710 60000"),
    ("ip_local_port_range", "10000\t60000"), ("ip_local_port_range", "+10000 60000"),
    ("ip_local_port_range", "08000 60000"), ("ip_local_reserved_ports", "010"),
    ("ip_local_reserved_ports", "0x1f90"), ("ip_local_reserved_ports", "8080, 9000"),
    ("ip_local_reserved_ports", "8080,9000,"), ("ip_local_reserved_ports", "8080,,9000"),
    ("ip_local_reserved_ports", "08080"), ("ip_local_reserved_ports", "9000-9010,8080"),
    ("tcp_max_tw_buckets", "0100000"), ("tcp_max_tw_buckets", "0x10"), ("tcp_max_tw_buckets", "+5000"),
]


def lbaudit_reads(name: str, text: str) -> str | None:
    """What lbaudit reads a configured value as, printed as the kernel prints it; None: it refuses it."""
    try:
        if name == "ip_local_port_range":
            return "{}\t{}".format(*_sysctl.parse_port_range(text, configured=True))
        if name == "ip_local_reserved_ports":
            return _sysctl.format_ports(_sysctl.parse_port_list(text, configured=True))
        return str(_sysctl.parse_kernel_int(name, text))
    except _sysctl.SysctlValueError:
        return None


@pytest.mark.live
def test_the_parsers_read_what_this_kernel_reads():
    lines = []
    for name, text in CASES:
        path = f"/proc/sys/net/ipv4/{name}"
        lines.append(f"if printf '%s' '{text}' > {path} 2>/dev/null; then cat {path}; else echo REFUSED; fi")
    try:
        done = subprocess.run(["unshare", "--net", "sh", "-c", "; ".join(lines)], capture_output=True, text=True,
                              timeout=20)
    except FileNotFoundError:
        pytest.skip("unshare is not installed")
    if done.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {done.stderr.strip()}")
    kernel = done.stdout.splitlines()
    assert len(kernel) == len(CASES)
    for (name, text), read in zip(CASES, kernel):
        expected = None if read == "REFUSED" else read
        assert lbaudit_reads(name, text) == expected, (name, text)
