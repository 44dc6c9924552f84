"""Process command lines, which carry credentials: what of them a snapshot or evidence may hold.

``postgres://app:PASSWORD@db/x``, ``--token=...``: programs take secrets as arguments, and anyone who
can read a snapshot, the evidence, a report or the PDF would read them too.  So by default lbaudit
records of each process only its executable, ``argv[0]`` and the SHA-256 of its whole command line
(each argument followed by a NUL byte: the bytes of ``/proc/PID/cmdline``, so ``sha256sum
/proc/PID/cmdline`` on the host gives the same value for an ordinary process).  The arguments are
recorded only when asked (``--record-cmdline``), and the snapshot's provenance says whether they
were (``cmdline_recorded``).
"""

from __future__ import annotations

import os

from auditor.model.facts import HostSnapshot, Listener, ProcessInfo
from auditor.sha256 import sha256_hex


def cmdline_sha256(argv: list[str]) -> str:
    """SHA-256 (hex) of the command line as the kernel holds it: every argument NUL-terminated."""
    return sha256_hex(b"".join(os.fsencode(arg) + b"\0" for arg in argv))


def program_name(argv0: str) -> str:
    """``argv[0]`` up to its first white space.

    A process may write its whole command line into ``argv[0]``: setproctitle does (``gunicorn:
    master [app --token=...]``), so does ``exec -a``; /proc/PID/cmdline then holds the arguments as
    one NUL-free string, and ``argv[0]`` alone carried ``--db-url=postgres://app:<secret>@db`` into
    every snapshot and report.  What follows white space is an argument, never recorded here."""
    words = argv0.split(None, 1)
    if not words:
        return argv0
    return words[0] + (" …" if len(words) > 1 else "")


def cmdline_fields(argv: list[str] | None, record: bool) -> dict[str, object]:
    """The ProcessInfo fields for a command line read from the host."""
    if not argv:
        return {}
    return {"argv0": program_name(argv[0]), "cmdline_sha256": cmdline_sha256(argv),
            "cmdline": list(argv) if record else None}


def _without_arguments(process: ProcessInfo) -> ProcessInfo:
    if process.cmdline is None:
        if process.argv0 is not None and program_name(process.argv0) != process.argv0:
            return process.model_copy(update={"argv0": program_name(process.argv0)})
        return process
    update = cmdline_fields(process.cmdline, record=False)
    # A snapshot written before argv0 and the digest existed: derive them; never drop a recorded digest.
    update["argv0"] = program_name(process.argv0) if process.argv0 is not None else update["argv0"]
    update["cmdline_sha256"] = process.cmdline_sha256 or update["cmdline_sha256"]
    return process.model_copy(update=update)


def _listener_without_arguments(listener: Listener) -> Listener:
    processes = [_without_arguments(p) for p in listener.processes]
    if all(new is old for new, old in zip(processes, listener.processes)):
        return listener  # nothing to remove (a live run collects no arguments unasked): not copied
    return listener.model_copy(update={"processes": processes})


def apply_cmdline_rule(snapshot: HostSnapshot, record: bool) -> HostSnapshot:
    """The snapshot as lbaudit may write it: process arguments removed unless ``record``.

    With ``record``, the provenance says the arguments are recorded when the snapshot holds any or
    was collected with them (arguments that were never collected cannot be recorded later)."""
    sockets = snapshot.facts.sockets
    listeners = sockets.listeners if sockets is not None else None
    if record:
        held = any(p.cmdline is not None for listener in listeners or [] for p in listener.processes)
        recorded = snapshot.provenance.cmdline_recorded or held
    else:
        recorded = False
        if listeners is not None:
            listeners = [_listener_without_arguments(listener) for listener in listeners]
            sockets = sockets.model_copy(update={"listeners": listeners})
    facts = snapshot.facts.model_copy(update={"sockets": sockets}) if sockets is not None else snapshot.facts
    provenance = snapshot.provenance.model_copy(update={"cmdline_recorded": recorded})
    return snapshot.model_copy(update={"facts": facts, "provenance": provenance})
