"""Live evaluation on partial data: what a host tool prints that lbaudit cannot read whole is not
read at all, and the checks resting on it are ``not_reviewed`` with the reason, never a pass; a
process whose descriptors cannot all be read is an unknown holder of every socket.

The tool is a real program in a directory the collector is told to look in (``program_path``, as
tests/hostile/test_audit_runtime.py makes auditctl absent): it prints more than the 16 MiB lbaudit
reads, arranged so that the cut falls inside the last rule.  Before, the output was cut at the
limit and the cut line read as a whole rule: ``-a always,exit -F arch=b64 -S bind -F auid>=1000``
cut after ``bind`` audits every bind, and "loaded rules b64" passed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect import CollectContext
from auditor.collect.live import collect_snapshot
from auditor.collect.programs import MAX_OUTPUT_BYTES
from auditor.collect.sockets import FdScan, scan_socket_owners
from tests.privileges import run_as_unprivileged

CUT_RULE = "-a always,exit -F arch=b64 -S bind"  # what is left of the last rule at the limit
FILTER = " -F auid>=1000 -k net\n"  # the rest of it: a filter, so the whole rule does not cover bind
PADDING = "-a always,exit -F arch=b64 -S getpid -F auid>=1000 -k "


def _auditctl_printing_too_much(directory: Path) -> None:
    """``auditctl`` in ``directory``: ``-s`` says enabled, ``-l`` prints rules of which the limit
    cuts the last one right after ``-S bind``."""
    remaining = MAX_OUTPUT_BYTES - len(CUT_RULE)
    whole = len(PADDING) + 21  # a padding rule with a 20-character key and its newline
    count = remaining // whole - 1
    last_key = remaining - count * whole - len(PADDING) - 1
    listing = (PADDING + "p" * 20 + "\n") * count + PADDING + "q" * last_key + "\n" + CUT_RULE + FILTER
    assert len(listing) - len(FILTER) == MAX_OUTPUT_BYTES
    (directory / "listing.txt").write_text(listing)
    script = directory / "auditctl"
    script.write_text(f"#!/bin/sh\ncase \"$1\" in\n-s) echo 'enabled 1'; echo 'pid 0';;\n"
                      f"-l) exec /bin/cat {directory / 'listing.txt'};;\nesac\n")
    os.chmod(script, 0o755)


@pytest.mark.live  # collects this host's audit section (the persistent rules too)
def test_auditctl_output_beyond_what_lbaudit_reads_is_not_reviewed_not_cut_into_a_covering_rule(tmp_path):
    _auditctl_printing_too_much(tmp_path)
    taken = collect_snapshot(CollectContext(program_path=(str(tmp_path),), sections=frozenset({"audit"})))
    assert taken.facts.audit.runtime_source == "auditctl" and taken.facts.audit.loaded_rules is None
    params = SocketLoggingParams(syscalls=["bind"], arches=["b64"], require_persistent=False, require_enabled=False)
    found = {o.subject: o for o in audit_socket_logging.run(taken, params)}
    assert found["loaded rules b64"].status.value == "not_reviewed"  # before: pass
    assert found["loaded rules b64"].reason == (f"auditctl -l: output of more than {MAX_OUTPUT_BYTES} bytes "
                                                f"exceeds the {MAX_OUTPUT_BYTES} bytes lbaudit reads; stopped, not read")


# ---------------------------------------------------------------- /proc/PID/fd listed but not readable


@pytest.fixture
def fake_proc():
    """A /proc of two processes holding socket 4242: pid 100's fd table readable by everyone, pid
    200's listed but not searchable (mode 0444: its names show, where they point does not), as a
    process that exec'd a setuid program between the listing and the readlink.  Outside pytest's
    0700 tmp_path, so that nobody can reach it."""
    root = Path(tempfile.mkdtemp(prefix="lbaudit-proc-"))
    root.chmod(0o755)
    for pid, mode in ((100, 0o755), (200, 0o444)):
        fd_dir = root / str(pid) / "fd"
        fd_dir.mkdir(parents=True)
        (fd_dir / "3").symlink_to("socket:[4242]")
        fd_dir.chmod(mode)
    yield root
    for pid in (100, 200):
        (root / str(pid) / "fd").chmod(0o755)
    shutil.rmtree(root, ignore_errors=True)


def test_a_descriptor_listed_but_not_readable_makes_its_process_an_unknown_holder(fake_proc):
    scan = run_as_unprivileged(scan_socket_owners, {4242}, str(fake_proc))
    # before: FdScan({4242: [100]}, {}): pid 100 taken for the only holder, so an exception for it
    # decided the listener though pid 200 may hold the socket too
    assert scan == FdScan({4242: [100]}, {200: 0})
