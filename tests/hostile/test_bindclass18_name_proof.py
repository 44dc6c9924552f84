"""Hostile corpus, false passes: a name a process gave itself, taken as the one exec gave it.

A process exception (``match: {process: NAME}``) and a listener's subject take a process's name
only when exec gave it: its executable's base name (the first 15 bytes of it, the comm) or its
argv[0]'s.  A name the process set itself (``prctl(PR_SET_NAME)``) "proves nothing: such a process
matches neither way".  But the test of "the executable gives the name" was looser than exec:

* any *prefix* of the executable's base name counted: a python3.11 that renamed itself
  ``python3.1`` (or ``pyth``, or ``p``), or a program ``/tmp/sshd-x`` that renamed itself ``sshd``,
  was proven "executable", matched the exception and passed under it;
* the comparison ignored case and used Unicode case folding: ``PYTHON3.11`` was proven by
  ``/usr/bin/python3.11``, and ``sshd`` by a file named ``ßhd`` (``"ß".casefold() == "ss"``),
  though Linux file names are case-sensitive and exec names a process byte for byte;
* a name longer than 15 bytes (psutil's, taken from argv[0] when the comm is 15 bytes) was
  proven "executable" by a file whose first 15 bytes alone agree (``/tmp/systemd-resolveX`` proved
  ``systemd-resolved``), and the finding hid that only argv[0] gives it.

Now the executable proves a name only as exec makes it (the whole base name, or its first 15 bytes
for a comm of 15); argv[0] too, or as a title that leads with the name and then ``:`` or a space
(``nginx: worker process``); case is folded only for a Windows path.  The live tests use real
processes and sockets in a network namespace of the test's own.
"""

from __future__ import annotations

import os
import sys

import pytest

from auditor.model.facts import ProcessInfo, name_origin, own_name
from tests.hostile.test_listeners_holders import _hold, _in_own_namespace, _judged, _stop
from tests.privileges import require_root

EXE_BASE = os.path.basename(os.path.realpath(sys.executable))  # python3.11: what exec names the interpreter


@pytest.mark.parametrize(("process", "origin"), [
    # a prefix of the executable's (or argv[0]'s) name, set with prctl
    (ProcessInfo(pid=2, name="sshd", exe="/tmp/sshd-x", argv0="/tmp/sshd-x"), None),
    (ProcessInfo(pid=2, name="pyth", exe="/usr/bin/python3.11", argv0="/usr/bin/python3"), None),
    (ProcessInfo(pid=2, name="ss", exe="/usr/sbin/sshd", argv0="sshd: /usr/sbin/sshd …"), None),
    # case and Unicode folding on Linux
    (ProcessInfo(pid=2, name="sshd", exe="/tmp/SSHD"), None),
    (ProcessInfo(pid=2, name="sshd", exe="/tmp/\u00dfhd"), None),
    (ProcessInfo(pid=2, name="sshd", exe="/tmp/x\\SSHD"), None),  # a backslash in a Linux file name
    # a name past 15 bytes that only argv[0] gives
    (ProcessInfo(pid=2, name="systemd-resolved", exe="/tmp/systemd-resolveX", argv0="/tmp/systemd-resolved"), "argv0"),
    (ProcessInfo(pid=2, name="systemd-resolved", exe="/tmp/systemd-resolveX", argv0="/tmp/systemd-resolveX"), None),
    # controls: names exec gives
    (ProcessInfo(pid=2, name="systemd-resolve", exe="/usr/lib/systemd/systemd-resolved"), "executable"),
    (ProcessInfo(pid=2, name="systemd-resolved", exe="/usr/lib/systemd/systemd-resolved"), "executable"),
    (ProcessInfo(pid=2, name="python3", exe="/usr/bin/python3.11", argv0="/usr/bin/python3"), "argv0"),
    (ProcessInfo(pid=2, name="nginx", exe="/usr/bin/python3.11", argv0="nginx: …"), "argv0"),
    (ProcessInfo(pid=2, name="apache2", exe="/usr/bin/x", argv0="/usr/sbin/apache2 …"), "argv0"),
    (ProcessInfo(pid=2, name="sshd", exe="/usr/sbin/sshd (deleted)"), "executable"),
    (ProcessInfo(pid=2, name="svchost.exe", exe="C:\\Windows\\System32\\SVCHOST.EXE"), "executable"),
])
def test_a_name_is_proven_only_as_exec_gives_it(process, origin):
    assert name_origin(process) == origin
    assert (own_name(process) == process.name) is (origin is not None)


def _renamed_holder_status(rename: str) -> tuple[str, str]:
    """(status, message) of a wildcard listener held by the interpreter renamed to ``rename``, under
    an exception that lets ``rename`` bind anywhere and a default of loopback."""
    params = {"allow": ["loopback"],
              "exceptions": [{"match": {"process": rename}, "allow": ["any"], "reason": "the allowed service"}]}

    def scenario():
        held, port = _hold(sys.executable, rename=rename)
        try:
            return port, _judged(params)
        finally:
            _stop(held)

    port, found = _in_own_namespace(scenario)
    [(status, message)] = [(status, message) for status, at, _subject, message in found if at == port]
    return status, message


@pytest.mark.live
@pytest.mark.parametrize("rename", [EXE_BASE[:-1], EXE_BASE.upper()], ids=["prefix", "upper-case"])
def test_a_process_renamed_to_a_look_alike_of_its_executable_does_not_meet_the_exception(rename):
    """Before: pass (the name was taken as its executable's)."""
    require_root()
    assert rename not in (EXE_BASE, os.path.basename(sys.executable))  # neither exe nor argv[0] gives it
    status, message = _renamed_holder_status(rename)
    assert status == "not_reviewed", message
    assert "a name it may have given itself (prctl PR_SET_NAME)" in message


@pytest.mark.live
def test_control_case_the_name_exec_gave_meets_the_exception():
    require_root()
    status, message = _renamed_holder_status(EXE_BASE[:15])
    assert status == "pass", message
