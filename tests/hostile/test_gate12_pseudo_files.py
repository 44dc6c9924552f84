"""A file of a kernel pseudo file system (/proc, /sys, debugfs, tracefs, ...) is never read as a
policy, a waivers file, a configuration file or an lbaudit JSON document.

A policy's ``extends`` may name any file the run can read (README), and a pull request can change a
policy that a CI job evaluates as root.  The files were read whatever they were, as long as stat
called them regular, and reading some of those takes what they hold: ``extends: /proc/kmsg`` drained
the kernel's log buffer that rsyslog's klog reads (its lines lost to the host's log), tracefs's
``trace_pipe`` consumes the trace.  No document lives there, so such a file is refused unread, at the
``extends`` line that names it, exit 2.  The test reads only /proc/self files, whose reading takes
nothing: before, each was read and parsed ("not a policy: none of its 57 top-level keys").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

# The files refused are this host's /proc/self files: opened (to be told apart), never read.
pytestmark = pytest.mark.live

REFUSED = "is a file of procfs (/proc), a kernel pseudo file system, not a document (not read"
CHILD = 'id: child\nversion: "1"\nowner: O\nextends: {parent}\nrules:\n  - id: eph\n    check: net.ephemeral_port_range\n'


@pytest.mark.parametrize("parent", ["/proc/self/status", "/proc/self/environ", "/proc/self/limits"])
def test_extends_naming_a_proc_file_is_exit_2_at_its_line_unread(tmp_path: Path, parent: str):
    policy = tmp_path / "child.yaml"
    policy.write_text(CHILD.format(parent=parent), encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", policy)
    assert checked.returncode == 2
    [line] = [line for line in checked.stderr.splitlines() if REFUSED in line]
    assert line.startswith(f"  {policy}:4:1: /proc/"), line  # the extends line, then the file (its real path)
    assert "top-level keys" not in checked.stderr
    evidence = tmp_path / "e.json"
    evaluated = run_cli("evaluate", "--no-plugins", "--policy", policy, "--root", tmp_path, "-o", evidence, "-q")
    assert evaluated.returncode == 2
    assert REFUSED in evaluated.stderr
    assert not evidence.exists()


def test_a_proc_file_as_the_policy_waivers_configuration_or_evidence_is_refused_unread(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text(CHILD.replace("extends: {parent}\n", ""), encoding="utf-8")
    given = run_cli("validate", "--no-plugins", "/proc/self/status")
    assert given.returncode == 2 and REFUSED in given.stderr, given.stderr
    waivers = run_cli("validate", "--no-plugins", "--waivers", "/proc/self/status", policy)
    assert waivers.returncode == 2 and REFUSED in waivers.stderr, waivers.stderr
    config = run_cli("config", "show", env={"LBAUDIT_CONFIG": "/proc/self/status"})
    assert config.returncode == 2
    assert "/proc/self/status: cannot read the configuration file: is a file of procfs (/proc)" in config.stderr
    shown = run_cli("show", "/proc/self/status")
    assert shown.returncode == 2
    assert "/proc/self/status: is a file of procfs (/proc), not an lbaudit evidence file" in shown.stderr


def test_control_case_files_of_a_real_file_system_are_read_whatever_their_size(tmp_path: Path):
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(b"")
    result = run_cli("validate", "--no-plugins", empty)
    assert result.returncode == 2
    assert f"{empty}:1:1: the file is empty" in result.stderr
    # the size of a page, which sysfs gives every file: a real file of that size is a policy as any other
    policy = tmp_path / "page.yaml"
    text = CHILD.replace("extends: {parent}\n", "")
    policy.write_text(text + "#" * (4095 - len(text)) + "\n", encoding="utf-8")
    assert policy.stat().st_size == 4096
    result = run_cli("validate", "--no-plugins", policy)
    assert result.returncode == 0, result.stderr
