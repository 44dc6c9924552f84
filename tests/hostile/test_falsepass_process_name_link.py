"""Hostile corpus, false passes: a process exception met through a link says so in its finding.

An exception by process name (``match: {process: sshd, ports: [22]}``) is met by whatever runs
under that name.  exec names a process after the file it was asked to run, so any user who links
an interpreter as ``/tmp/x/sshd`` runs a process named ``sshd`` whose argv[0] says so too: lbaudit
takes that name as proven (so do busybox's applets and ``python3 -> python3.11``), and the
listener passed under the sshd exception.  The finding said only "sshd pid N ... allowed:
exception 1": nothing in it showed that the executable was /usr/bin/python3.11, nor what the
exception had matched on.  Now the exception's match is in ``expected``, each holder's name with
what proves it (``name_from``: executable, argv0 or reported) is in ``observed.process_names``,
and a name only argv[0] proves, the executable being another file, is named in the message.  (A
name a process gave itself is ``not_reviewed``: tests/hostile/test_listeners_holders.py.)  For a
proof that does not rest on names, match on ``exe``.

Real processes and sockets in a network namespace of the test's own.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from tests.hostile.test_listeners_holders import _hold, _in_own_namespace, _named_interpreter, _stop
from tests.privileges import require_root

NAME = "lbt-sshd"


def _findings(params: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Each listener's finding in this namespace, by port, as the evidence holds it."""
    from auditor.collect.live import collect_live

    taken = collect_live(frozenset({"sockets"}))
    return {int(o.subject_detail["port"]): o.model_dump(mode="json")
            for o in net_bind_addresses.run(taken, BindAddressParams.model_validate(params))
            if o.subject_detail.get("port")}


@pytest.mark.live
def test_a_name_only_argv0_proves_is_shown_with_the_executable_it_hides(tmp_path):
    require_root()
    link = _named_interpreter(tmp_path, NAME)
    match = {"process": NAME}
    params = {"allow": ["loopback"], "exceptions": [{"match": match, "allow": ["any"], "reason": "management"}]}

    def scenario():
        named, port = _hold(link)
        try:
            return port, named.pid, _findings(params)
        finally:
            _stop(named)

    port, pid, found = _in_own_namespace(scenario)
    finding = found[port]
    assert finding["status"] == "pass"  # the name is the one exec gave it: it meets the exception
    assert finding["expected"] == [{"rule": "exception 1", "allow": ["any"], "networks": ["0.0.0.0/0", "::/0"],
                                    "reason": "management", "match": match}]
    assert finding["observed"]["process_names"] == [  # before: neither key was there
        {"pid": pid, "name": NAME, "name_from": "argv0", "exe": os.path.realpath(sys.executable), "argv0": link}]
    assert (f"[pid {pid} is named '{NAME}' after its argv[0] ({link}), not after its executable "
            f"({os.path.realpath(sys.executable)}): run through a link of that name, or so named by whoever ran it]"
            in finding["message"])


@pytest.mark.live
def test_control_case_a_name_the_executable_proves_carries_no_note():
    require_root()
    exe = os.path.realpath(sys.executable)
    name = os.path.basename(exe)[:15]
    params = {"allow": ["loopback"], "exceptions": [{"match": {"process": name}, "allow": ["any"], "reason": "app"}]}

    def scenario():
        holder, port = _hold(exe)
        try:
            return port, holder.pid, _findings(params)
        finally:
            _stop(holder)

    port, pid, found = _in_own_namespace(scenario)
    finding = found[port]
    assert finding["status"] == "pass"
    assert [(p["pid"], p["name_from"]) for p in finding["observed"]["process_names"]] == [(pid, "executable")]
    assert "after its argv[0]" not in finding["message"]


def test_a_listener_no_process_exception_could_decide_records_no_names():
    from auditor.model.facts import ProcessInfo
    from tests.factories import listener, snapshot

    held = listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=5, name="app", exe="/opt/app/bin/app")])
    params = BindAddressParams.model_validate(
        {"exceptions": [{"match": {"ports": [22]}, "allow": ["any"], "reason": "ssh"}]})
    [outcome] = [o for o in net_bind_addresses.run(snapshot(listeners=[held]), params) if o.subject_detail.get("port")]
    assert outcome.status.value == "fail" and "process_names" not in outcome.observed  # type: ignore[operator]
