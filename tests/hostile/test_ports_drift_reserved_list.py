"""Hostile drift.sysctl: a configured ip_local_reserved_ports the kernel does not read as written.

drift.sysctl compared port lists as decimal ranges after removing white space, so a running
``8080,9000`` "matched" a sysctl.d line ``8080, 9000`` and ``08080,9000``.  The kernel refuses both
writes whole (proc_do_large_bitmap: EINVAL; checked on this kernel by
tests/hostile/test_ports_kernel_number_syntax.py), so after the next boot no port is reserved: the
running value does not return, which is exactly the drift the check exists to report.  ``010`` is
octal 8 to the kernel, not 10.  Such lists are now compared as text (fail); a list the kernel reads
as written still compares as ranges (``9000,8081,8080`` equals ``8080-8081,9000``).

The configured side is a real image's sysctl.d read by ``collect_root``; the running side is a
snapshot's runtime values.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.drift_sysctl import DriftSysctlParams, drift_sysctl
from auditor.collect.rootdir import collect_root
from auditor.model.facts import SysctlFacts
from auditor.model.result import Status
from tests.factories import LINUX_DEFAULT_SYSCTLS, install_procps_boot, snapshot, sysctl_facts

RESERVED = "net.ipv4.ip_local_reserved_ports"


def judged(tmp_path: Path, configured: str, running: str) -> Status:
    root = tmp_path / "image"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    install_procps_boot(root)
    (root / "etc" / "sysctl.d" / "60-reserved.conf").write_text(f"{RESERVED} = {configured}\n")
    persistent = collect_root(root, frozenset({"sysctl"})).facts.sysctl.persistent
    runtime = sysctl_facts(dict(LINUX_DEFAULT_SYSCTLS, **{RESERVED: running})).runtime
    snap = snapshot(sysctl=SysctlFacts(runtime=runtime, persistent=persistent))
    [outcome] = [o for o in drift_sysctl.run(snap, DriftSysctlParams()) if o.subject == f"sysctl {RESERVED}"]
    return outcome.status


@pytest.mark.parametrize("configured, running", [
    ("8080, 9000", "8080,9000"),     # white space inside: EINVAL at boot (was pass)
    ("8080 ,9000", "8080,9000"),     # (was pass)
    ("08080,9000", "8080,9000"),     # 08080 is no octal number: EINVAL (was pass)
    ("010,9000", "10,9000"),         # 010 is 8 (was pass)
])
def test_a_list_the_kernel_does_not_read_as_written_is_drift(tmp_path, configured, running):
    assert judged(tmp_path, configured, running) == Status.FAIL


@pytest.mark.parametrize("configured, running", [("9000,8081,8080", "8080-8081,9000"), ("8080-8081", "8080-8081")])
def test_control_cases_a_list_the_kernel_reads_as_written_compares_as_ranges(tmp_path, configured, running):
    assert judged(tmp_path, configured, running) == Status.PASS
