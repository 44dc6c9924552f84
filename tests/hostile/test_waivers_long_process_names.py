"""Hostile corpus, exceptions: a process exception names a program as ``ss`` and ``ps`` show it.

Linux keeps the first 15 bytes of a program's name as its comm: ``systemd-resolved`` runs as
``systemd-resolve``, ``prometheus-node-exporter`` as ``prometheus-node``, and that is the name
``ss -ltnp`` and ``ps`` print beside a listener.  lbaudit records psutil's name, which for a comm of
15 bytes is the whole base name of argv[0] when that begins with it, and matched exceptions against
that alone: ``{process: systemd-resolve}``, copied from ``ss``, matched no process, ``validate``
said nothing, and the listener it was written for was refused as if the policy had no word about
it (a dead exception a reviewer reads as in force).  Now a name longer than 15 bytes is matched as
its first 15 too (the comm, which is all the kernel keeps); the whole name still matches, and names
that neither is (``lbt-very-long-nameX``, ``lbt-very-long-nam``) do not.

Real processes and sockets in a network namespace of the test's own.
"""

from __future__ import annotations

import pytest

from tests.hostile.test_listeners_holders import _hold, _in_own_namespace, _judged, _named_interpreter, _refused, _stop
from tests.privileges import require_root

NAME = "lbt-very-long-name"  # 18 bytes: its comm is "lbt-very-long-n"


@pytest.mark.live
@pytest.mark.parametrize(("written", "status"), [
    (NAME[:15], "pass"),              # the comm, as ss shows it; on main: refused, it matched nothing
    (NAME, "pass"),                   # the whole name, as before
    ("lbt-very-long-name*", "pass"),
    (NAME + "X", "refused"),          # a name the program does not have
    ("lbt-very-long-nam", "refused"),  # neither the comm nor the whole name
])
def test_a_process_exception_matches_the_whole_name_exec_cut_the_comm_from(tmp_path, written, status):
    require_root()
    link = _named_interpreter(tmp_path, NAME)
    params = {"allow": ["loopback"], "exceptions": [{"match": {"process": written}, "allow": ["any"],
                                                     "reason": "the exporter"}]}

    def scenario():
        held, port = _hold(link)
        try:
            return port, _judged(params)
        finally:
            _stop(held)

    port, found = _in_own_namespace(scenario)
    assert [s for s, p, _subject, _message in found if p == port] == [_refused() if status == "refused" else status]
