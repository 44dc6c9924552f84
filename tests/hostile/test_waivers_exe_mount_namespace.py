"""Hostile corpus, exceptions: an ``exe`` seen through another mount namespace is no proof.

The README's answer to names that prove nothing is ``exe``: "match on exe where the program must be
proven".  lbaudit read a holder's executable as ``readlink /proc/PID/exe``, the path of the file it
runs *as the process's own mount namespace sees it*.  Any user can make a mount namespace of their
own (``unshare -Urm``) and bind-mount any file of theirs over a root-owned path there: run an
interpreter bound over ``/usr/bin/true`` and ``/proc/PID/exe`` reads ``/usr/bin/true`` on the host,
while the listener it opens on 0.0.0.0 is in the host's network namespace.  An exception
``{exe: /usr/bin/true}`` (as it would be ``{exe: /usr/lib/jvm/*/bin/java}``) allowed it: pass.

Now the collector checks that the path names, where it runs, the file the process runs (the same
device and inode as ``/proc/PID/exe``); when it does not (another mount namespace, a container's,
or a deleted file), the exe is not known, with the reason, and the listener that only the exe
exception would allow is ``not_reviewed``.  The interpreter run from its own path still passes
under an exception for that path.

A real unprivileged user (nobody) and a listener in the host's network namespace, collected by the
collector and judged by net.bind_addresses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from auditor.checks.net_bind_addresses import BindAddressParams, net_bind_addresses
from tests.privileges import require_root

LISTEN = textwrap.dedent("""
    import socket, sys
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen()
    print(held.getsockname()[1], flush=True)
    sys.stdin.read()
""")


def _unprivileged_mount_namespaces_or_skip() -> None:
    missing = [tool for tool in ("setpriv", "unshare", "ss") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (util-linux, iproute2)")
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "unshare", "-Urm", "true"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"unprivileged user namespaces are not available here: {probe.stderr.strip()}")


def _judged(port: int, exe: str) -> tuple[str, str]:
    from auditor.collect.live import collect_live

    params = BindAddressParams.model_validate({"allow": ["loopback"], "exceptions": [
        {"match": {"exe": exe}, "allow": ["any"], "reason": "the allowed program"}]})
    [outcome] = [o for o in net_bind_addresses.run(collect_live(frozenset({"sockets"})), params)
                 if o.subject.startswith(f"tcp 0.0.0.0:{port} ")]
    return outcome.status.value, outcome.reason or outcome.message


def _holding(argv: list[str]) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        pytest.fail(f"{argv} ended before listening")
    return process, int(line)


def _stop(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=10)


@pytest.mark.live
def test_an_interpreter_bound_over_an_allowed_path_by_a_user_is_not_allowed():
    """On main: ``pass``, under the exception for /usr/bin/true."""
    require_root()
    _unprivileged_mount_namespaces_or_skip()
    target = shutil.which("true")
    assert target is not None
    # an interpreter the unprivileged user can run (this test's may live under /root)
    python = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.path.exists(p)), None)
    if python is None:
        pytest.skip("no system python3 for the unprivileged user to run")
    inner = f'mount --bind {os.path.realpath(python)} {target} && exec {target} -c "$0"'
    process, port = _holding(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              "unshare", "-Urm", "sh", "-c", inner, LISTEN])
    try:
        assert os.readlink(f"/proc/{_listening_pid(port)}/exe") == target  # what lbaudit read as proof
        status, reason = _judged(port, target)
    finally:
        _stop(process)
    assert status == "not_reviewed"
    # the first of the collector's two tests that refuses it: its mount namespace is of a user
    # namespace the user made (tests/hostile/test_listeners_foreign_exe.py), before the same-file test
    assert f"({target}): it runs in mount namespace mnt:[" in reason
    assert "any user can make such a pair and mount a file of theirs at any path in it" in reason


@pytest.mark.live
def test_control_case_a_program_run_from_its_own_path_keeps_its_exe_exception():
    require_root()
    process, port = _holding([sys.executable, "-c", LISTEN])
    try:
        status, _reason = _judged(port, os.path.realpath(sys.executable))
    finally:
        _stop(process)
    assert status == "pass"


def _listening_pid(port: int) -> int:
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, timeout=10).stdout
    return int(out.split("pid=")[1].split(",")[0])
