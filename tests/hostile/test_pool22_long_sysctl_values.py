"""A long ip_local_port_range or ip_local_reserved_ports value took minutes to judge.

The parsers read a configured value in Python a character at a time (the white space the kernel
skips between the numbers of a write) and an item at a time (the reserved-port list, each item
parsed anew, the same ``1`` millions of times): a snapshot holding ``32768`` and 30 MB of spaces
before ``60999`` took 95 s to evaluate with net.ephemeral_port_range, net.time_wait and
drift.sysctl, and a reserved list of 15 million ``1,`` took 182 s (each check parses it again).  A
sysctl.d line may be that long (procps' ``sysctl --system`` reads a line of any length, and a
snapshot file up to 64 MiB is read).  The scan is now done by the regular expression engine, and
each distinct item of a list is read once; the values read are the same.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from auditor.checks import _sysctl
from auditor.model.facts import Gap, SysctlFacts, SysctlSetting
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import evaluate_snapshot
from tests.factories import snapshot

MIB = 1024 * 1024
# what each took before, on this machine: 16 MiB of spaces 12 s; 8 million "1," 25 s
BUDGET_SECONDS = 4.0


def _timed(function, *args, **kwargs):
    start = time.monotonic()
    value = function(*args, **kwargs)
    return value, time.monotonic() - start


def test_a_range_written_with_megabytes_of_white_space_is_read_at_once():
    value = "32768 60999" + " \t" * (8 * MIB)
    found, seconds = _timed(_sysctl.parse_port_range, value, configured=True)
    assert found == (32768, 60999)
    assert seconds < BUDGET_SECONDS, seconds
    # the high end past the bytes the kernel surely reads of the write: refused as fast
    # (test_pool22_write_cut_at_a_page.py)
    start = time.monotonic()
    with pytest.raises(_sysctl.SysctlValueError, match="depends on where the write is cut"):
        _sysctl.parse_port_range("32768" + " \t" * (8 * MIB) + "60999", configured=True)
    assert time.monotonic() - start < BUDGET_SECONDS
    # a refusal is found as fast: one 16 MiB number (the kernel reads at most 21 characters)
    start = time.monotonic()
    with pytest.raises(_sysctl.SysctlValueError, match="depends on where the write is cut"):
        _sysctl.parse_port_range("1" * (16 * MIB), configured=True)
    assert time.monotonic() - start < BUDGET_SECONDS


@pytest.mark.slow
@pytest.mark.parametrize("configured", [True, False])
def test_a_reserved_list_of_millions_of_items_is_read_at_once(configured):
    value = "1," * (8 * 1000 * 1000) + "40000-40009"
    found, seconds = _timed(_sysctl.parse_port_list, value, configured=configured)
    assert found == ((1, 1), (40000, 40009))
    assert seconds < BUDGET_SECONDS, seconds
    with pytest.raises(_sysctl.SysctlValueError, match="white space"):
        _sysctl.parse_port_list("1," * (8 * 1000 * 1000) + " 2", configured=configured)


@pytest.mark.slow
def test_the_checks_judge_such_an_image_in_seconds(tmp_path: Path):
    persistent = {
        "net.ipv4.ip_local_port_range": SysctlSetting(value="32768 60999" + " " * (8 * MIB),
                                                      origin="/etc/sysctl.d/90.conf:1"),
        "net.ipv4.ip_local_reserved_ports": SysctlSetting(value="40000," * (1000 * 1000) + "40001",
                                                          origin="/etc/sysctl.d/90.conf:2"),
    }
    image = snapshot(listeners=[], sysctl=SysctlFacts(persistent=persistent), source="root", netns=None,
                     gaps=[Gap(section="netns", kind="not_applicable", reason="offline root directory")])
    path = tmp_path / "image.snapshot.json"
    path.write_bytes(snapshot_bytes(image))
    policy = ('id: t\nversion: "1"\nowner: T\nrules:\n  - id: eph\n    check: net.ephemeral_port_range\n'
              '    params: {min_pool_size: 28230}\n  - id: tw\n    check: net.time_wait\n'
              '    params: {peak_new_connections_per_second: 100}\n')
    start = time.monotonic()
    run, evidence = evaluate_snapshot(tmp_path, policy, path)
    seconds = time.monotonic() - start
    assert run.returncode == 0, run.stdout + run.stderr
    pool = next(f for f in json.loads(evidence.read_bytes())["result"]["findings"]
                if f["subject"] == "ephemeral port pool")
    assert pool["observed"]["pool_size"] == 28230 and pool["observed"]["reserved"] == "40000-40001", pool
    assert seconds < 30, seconds  # was about 60 s
