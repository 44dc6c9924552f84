"""Hostile corpus, false passes: an executable path given by a mount namespace any user can make.

An ``exe`` exception is the strong one (the README says to match on exe "where the program must be
proven"): /proc/PID/exe is the kernel's, not the process's to set.  But it is the path as the
process's own mount namespace sees it, and any user may make a user namespace with a mount
namespace of their own (``unshare --user --map-root-user --mount``), mount a tmpfs over a
directory there and put any program at /usr/sbin/nginx, or here /mnt/trusted-daemon.  Sharing the
host's network namespace, its listener is on the host; before, it passed under ``{exe:
/mnt/trusted-daemon}`` although no such file exists on the host.

Now the path of a process whose mount namespace belongs to a user namespace other than the host's
is not taken as its executable (a gap on the process's exe saying why): an exe exception matches it
neither way, and the listener is not_reviewed when the rules that could apply disagree.  A mount
namespace root made in the host's user namespace (a rootful container, a service's PrivateMounts)
gives its paths only where they name the same file on the host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.privileges import require_root

# In the namespaces it is started in: a tmpfs over /mnt, this interpreter copied there as
# /mnt/trusted-daemon, run to listen on the IPv4 wildcard; prints the port, holds it until stdin closes.
FAKE = textwrap.dedent(f"""\
    set -e
    mount -t tmpfs lbaudit-test /mnt
    cp {os.path.realpath(sys.executable)} /mnt/trusted-daemon
    exec /mnt/trusted-daemon -c 'import socket, sys
    s = socket.socket(); s.bind(("0.0.0.0", 0)); s.listen()
    print(s.getsockname()[1], flush=True)
    sys.stdin.read()'
""")


def _run(tmp_path: Path, *unshare: str) -> tuple[int, dict[str, Any]]:
    """The finding about the fake daemon's listener, started under ``unshare`` with ``unshare``'s
    options, judged with an exception for its executable path; and the pid."""
    daemon = subprocess.Popen(["unshare", *unshare, "--mount", "--propagation", "private", "sh", "-c", FAKE],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert daemon.stdout is not None and daemon.stdin is not None
    try:
        line = daemon.stdout.readline().strip()
        if not line.isdigit():
            daemon.stdin.close()
            pytest.skip(f"the daemon did not start ({daemon.communicate(timeout=10)[1].strip()})")
        port = int(line)
        assert not Path("/mnt/trusted-daemon").exists()  # the host has no such file
        policy = tmp_path / "policy.yaml"
        policy.write_text(textwrap.dedent("""\
            id: foreign-exe
            version: '1'
            owner: tests
            rules:
              - id: bind
                check: net.bind_addresses
                params:
                  allow: [loopback]
                  exceptions:
                    - match: {exe: /mnt/trusted-daemon}
                      allow: [any]
                      reason: the trusted daemon may listen anywhere
            """))
        out = tmp_path / "evidence.json"
        result = run_cli("evaluate", "--policy", policy, "--output", out, "--quiet", env={"LBAUDIT_CONFIG": ""})
        assert result.returncode in (0, 1, 3), result.stderr
        findings = json.loads(out.read_text())["result"]["findings"]
    finally:
        if not daemon.stdin.closed:
            daemon.stdin.close()
        daemon.wait(timeout=10)
    [finding] = [f for f in findings if f["subject"].startswith(f"tcp 0.0.0.0:{port} ")]
    return daemon.pid, finding


# before: pass, "which is allowed: exception 1 (the trusted daemon may listen anywhere) allows any"
@pytest.mark.live  # reads this host's listeners
def test_an_executable_path_from_a_users_own_mount_namespace_proves_nothing(tmp_path):
    require_root()
    _pid, finding = _run(tmp_path, "--user", "--map-root-user")
    assert finding["status"] == "not_reviewed"
    assert "(/mnt/trusted-daemon): it runs in mount namespace mnt:[" in finding["reason"]
    assert "the rules that could apply disagree: exception 1 would allow it, the default allow list would not" \
        in finding["reason"]


# A mount namespace root made (a rootful container, a service's PrivateMounts) gives paths as
# its own root sees them; one that names no file of the host proves nothing either (merged with
# the same-file rule of tests/hostile/test_waivers_exe_mount_namespace.py).
@pytest.mark.live  # reads this host's listeners
def test_a_path_a_root_made_mount_namespace_gives_proves_nothing_when_the_host_has_no_such_file(tmp_path):
    require_root()
    _pid, finding = _run(tmp_path)
    assert finding["status"] == "not_reviewed"
    assert "/mnt/trusted-daemon is the path of what it runs as its own mount namespace sees it" in finding["reason"]
    assert "no file is at that path" in finding["reason"]
