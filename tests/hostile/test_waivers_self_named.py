"""Hostile corpus, waivers: a process that renamed itself does not get the waiver of the name it took.

A waiver accepts failing findings by a glob over their subject, and a listener's subject names the
process that holds it: ``tcp 0.0.0.0:8080 lbt-waived pid 4242``.  That name was the kernel's comm,
which any process sets for itself (``prctl(PR_SET_NAME)``, one line of Python).  net.bind_addresses
already refuses such a name as proof for a process exception (tests/hostile/test_listeners_holders.py),
but the subject still carried it as the name, so a waiver written for the program
(``tcp 0.0.0.0:* lbt-waived pid *``) waived any process that called itself so: the impostor's wildcard listener was ``waived``, under
the program's approval, and its finding had the program's id.

Now a subject names a process by the name exec gave it (its executable's or its argv[0]'s, as the
check proves it) and a name the process gave itself as ``? (comm NAME, unproven)``: the waiver does
not match, the listener fails.  A program named by exec keeps its subject and its waiver.

Real processes and sockets in a network namespace of the test's own, collected by ``lbaudit
collect`` there and judged by ``lbaudit evaluate``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.hostile.test_listeners_holders import _hold, _in_own_namespace, _named_interpreter, _stop
from tests.privileges import require_root

NAME = "lbt-waived"
POLICY = f"""\
id: waivers-self-named
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
    params:
      allow: [loopback]
waivers:
  - rule: bind
    subject: "tcp 0.0.0.0:* {NAME} pid *"
    reason: CHG-9 approved {NAME} on every address
    approver: Jane Doe
    expires: 2099-01-01
"""


def _collected(tmp_path: Path, program: str, rename: str = "") -> tuple[Path, int, int]:
    """A snapshot of a namespace of its own holding one listener on 0.0.0.0 by ``program``
    (renamed to ``rename``): (snapshot, port, pid)."""
    snapshot = tmp_path / "s.json"

    def scenario() -> tuple[int, int]:
        held, port = _hold(program, rename=rename)
        try:
            collected = run_cli("collect", "--section", "sockets", "-o", snapshot, "-q")
            assert collected.returncode in (0, 3), collected.stderr
            return port, held.pid
        finally:
            _stop(held)

    port, pid = _in_own_namespace(scenario)
    return snapshot, port, pid


def _finding(tmp_path: Path, snapshot: Path, port: int) -> tuple[int, dict, str]:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snapshot, "-o", tmp_path / "e.json")
    findings = json.loads((tmp_path / "e.json").read_text())["result"]["findings"]
    return result.returncode, next(f for f in findings if f["subject"].startswith(f"tcp 0.0.0.0:{port} ")), result.stderr


@pytest.mark.live
def test_a_process_that_named_itself_after_the_waived_program_is_not_waived(tmp_path):
    """On main: exit 0, ``waived``, subject ``tcp 0.0.0.0:PORT lbt-waived pid PID``."""
    require_root()
    snapshot, port, pid = _collected(tmp_path, sys.executable, rename=NAME)
    code, finding, stderr = _finding(tmp_path, snapshot, port)
    assert (finding["status"], finding["waiver"]) == ("fail", None)
    assert finding["subject"] == f"tcp 0.0.0.0:{port} ? (comm {NAME}, unproven) pid {pid}"
    # the waiver is unused, and the warning says why: not "remove it if what it waived is fixed"
    assert ("waivers[0] (bind): matched no failing finding in this run, but 1 failing finding matches it by a "
            "process name that neither the executable nor argv[0] gives, which its subject shows as "
            f"'? (comm NAME, unproven)' (tcp 0.0.0.0:{port} ? (comm {NAME}, unproven) pid {pid}): a name a process "
            "can give itself proves nothing; if that is the program this waiver is for, write its subject as shown"
            ) in stderr.replace("\n", " ")
    assert code == 1


@pytest.mark.live
def test_control_case_the_program_exec_named_keeps_its_subject_and_waiver(tmp_path):
    require_root()
    snapshot, port, pid = _collected(tmp_path, _named_interpreter(tmp_path, NAME))
    code, finding, _stderr = _finding(tmp_path, snapshot, port)
    assert finding["subject"] == f"tcp 0.0.0.0:{port} {NAME} pid {pid}"
    assert finding["status"] == "waived" and finding["waiver"]["approver"] == "Jane Doe"
    assert code == 3  # nothing fails; incomplete only because the netns section was not collected
