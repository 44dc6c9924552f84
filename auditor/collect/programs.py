"""Run a host tool (auditctl, ...) safely: fixed argv, no shell, a timeout, a known executable.

Only collectors call this, with argv lists written in lbaudit's own code; nothing from a policy
reaches it.  The executable is looked up only in :data:`SAFE_PATH` (never ``$PATH``, which the
caller's environment controls; a collector context may name other directories, which only tests
do, to make a tool absent) and runs with a minimal environment in the C locale, so its output has
the format the parsers expect.  ``run_command`` never raises for a failing tool: the result
says what went wrong in words fit for a ``Gap``.
"""

from __future__ import annotations

import os
import signal
import stat
import time
from typing import Any

from auditor.model.records import record
from auditor.resource_limits import process_not_started

SAFE_PATH = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
CLEAN_ENV = {"PATH": ":".join(SAFE_PATH), "LC_ALL": "C", "LANG": "C"}
MAX_OUTPUT_BYTES = 16 * 1024 * 1024
_KILL_GRACE_SECONDS = 2.0

# Phrases a tool prints on stderr, and the short reason a Gap gives for them.
_KNOWN_ERRORS = (
    ("must be root", "must be root"),
    ("operation not permitted", "operation not permitted (no CAP_AUDIT_CONTROL?)"),
    ("permission denied", "permission denied"),
    ("protocol not supported", "not supported by the running kernel"),
    ("address family not supported", "not supported by the running kernel"),
)


@record
class CommandResult:
    argv: tuple[str, ...]
    executable: str | None  # absolute path that ran, None if none was found
    returncode: int | None  # None when the process did not finish on its own
    stdout: str
    stderr: str
    failure: str | None  # why the output is not usable; None when it ran and exited 0
    seconds: float

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def command(self) -> str:
        return " ".join(self.argv)

    @property
    def reason(self) -> str:
        """``"auditctl -l: must be root"``: the command and its failure, for a Gap."""
        return f"{self.command}: {self.failure}" if self.failure else ""


def find_executable(name: str, search_path: tuple[str, ...] = SAFE_PATH) -> str | None:
    """Absolute path of ``name`` in ``search_path``: a regular, executable file, or None."""
    for directory in search_path:
        candidate = os.path.join(directory, name)
        try:
            mode = os.stat(candidate).st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _decode(data: bytes) -> str:
    return data[:MAX_OUTPUT_BYTES].decode("utf-8", errors="replace")


def _exit_failure(returncode: int, stderr: str) -> str:
    lowered = stderr.lower()
    for phrase, reason in _KNOWN_ERRORS:
        if phrase in lowered:
            return reason
    if returncode < 0:
        return f"killed by signal {-returncode}"
    first = next((line.strip() for line in stderr.splitlines() if line.strip()), "")
    return f"exit status {returncode}" + (f": {first[:200]}" if first else "")


def run_command(argv: list[str], timeout: float, search_path: tuple[str, ...] = SAFE_PATH,
                extra_env: dict[str, str] | None = None) -> CommandResult:
    """Run ``argv`` (``argv[0]`` a bare name looked up in ``search_path``) for at most ``timeout`` seconds."""
    if not argv or not argv[0] or "/" in argv[0]:
        raise ValueError(f"argv[0] must be a bare command name, got {argv[:1]!r}")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    name = argv[0]
    executable = find_executable(name, search_path)
    started = time.monotonic()

    def result(returncode: int | None, out: bytes, err: bytes, failure: str | None) -> CommandResult:
        if len(out) > MAX_OUTPUT_BYTES:
            # Cut at the limit, the last line would be read as a whole one ("-a always,exit -S bind -F
            # auid>=1000" cut after "bind" is a rule that audits every bind) and what follows would be
            # silently missing.  Output that is not read whole is not read at all.
            if failure is None:
                failure = f"output of {len(out)} bytes exceeds the {MAX_OUTPUT_BYTES} bytes lbaudit reads; not read"
            out = b""
        return CommandResult(tuple(argv), executable, returncode, _decode(out), _decode(err), failure,
                             round(time.monotonic() - started, 3))

    if executable is None:
        return result(None, b"", b"", f"command not found in {':'.join(search_path)}")
    import subprocess  # here, not at the top: the targets import this module, `lbaudit --help` too

    from auditor.command_files import uninterrupted

    process = None
    try:
        # A signal while Popen runs (the tool started, Popen not yet returned: a loaded machine
        # schedules the tool first) raised out of Popen with no process object to stop: the tool, in
        # a session of its own, outlived lbaudit.  Held until Popen has returned, it is raised in
        # the read below, which stops the tool's group.
        with uninterrupted():
            process = subprocess.Popen(  # noqa: S603 - fixed argv, absolute executable, no shell
                [executable, *argv[1:]],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                # extra_env: what a Windows tool cannot start without (SystemRoot), set by lbaudit's own code
                env={**CLEAN_ENV, "PATH": os.pathsep.join(search_path), **(extra_env or {})},
                cwd="/",
                close_fds=True,
                start_new_session=True,  # its own process group, so a timeout kills helpers it started too
            )
        out, err, ended = _read_bounded(process, timeout)
    except BaseException as exc:
        if process is None:
            if isinstance(exc, OSError):
                return result(None, b"", b"", f"could not start {executable}: {process_not_started(exc)}")
            raise
        # Stopped while the tool runs (SIGTERM, SIGHUP, Ctrl-C raise here: auditor/cli.py) or failed
        # reading it: the tool and its helpers end with lbaudit.  In a session of their own, no
        # signal of the terminal reaches them, and a hung auditctl ran on for ever, orphaned.
        _kill_group(process)
        try:
            process.wait(timeout=_KILL_GRACE_SECONDS)  # one stuck in the kernel (D state) is not waited for
        except subprocess.TimeoutExpired:
            pass
        raise
    if ended == "timeout":
        return result(None, out, err, f"timed out after {timeout:g} s")
    if ended == "too much":
        # stopped at the bound whether or not it would have ended: output not read whole is not read at all
        return result(None, b"", err, f"output of more than {MAX_OUTPUT_BYTES} bytes exceeds the {MAX_OUTPUT_BYTES} "
                                      "bytes lbaudit reads; stopped, not read")
    if process.returncode != 0:
        return result(process.returncode, out, err, _exit_failure(process.returncode, _decode(err)))
    return result(0, out, err, None)


def _kill_group(process: Any) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # Windows: no process groups to signal
            process.kill()
    except ProcessLookupError:
        pass


def _read_bounded(process: Any, timeout: float) -> tuple[bytes, bytes, str]:
    """Both pipes of ``process`` until it exits, ``timeout`` passes or it writes more than lbaudit
    reads: (stdout, stderr, "exited" / "timeout" / "too much").

    ``communicate(timeout=)`` kept every byte until the timeout: a tool stuck printing (a loop
    over a broken table) filled memory at its own speed, gigabytes before the ten seconds ended.
    Here a pipe stops being read one byte past MAX_OUTPUT_BYTES and the process group is killed.
    A child that left the group and holds the pipes open after its parent exited would keep EOF
    from coming: the wait ends at the deadline all the same."""
    import selectors
    import subprocess

    if os.name == "nt":  # select() takes no pipes on Windows
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            out, err = process.communicate()
            return out, err, "timeout"
        return out, err, "exited"
    deadline = time.monotonic() + timeout
    out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
    buffers: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    sizes = dict.fromkeys(buffers, 0)
    ended = "exited"
    with selectors.DefaultSelector() as selector:
        for fd in buffers:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        while ended == "exited" and selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                ended = "timeout"
                break
            for key, _ in selector.select(remaining):
                try:
                    chunk = os.read(key.fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                buffers[key.fd].append(chunk)
                sizes[key.fd] += len(chunk)
                if sizes[key.fd] > MAX_OUTPUT_BYTES:
                    ended = "too much"
                    break
    if ended != "exited":
        _kill_group(process)
    try:
        process.wait(timeout=max(deadline - time.monotonic(), 0.0) if ended == "exited" else _KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:  # it closed both pipes but did not exit: the deadline holds all the same
        _kill_group(process)
        process.wait()
        ended = "timeout"
    out, err = b"".join(buffers[out_fd]), b"".join(buffers[err_fd])
    process.stdout.close()
    process.stderr.close()
    return out, err, ended
