"""A file of a kernel pseudo file system (/proc, /sys) given where a person's file belongs is refused
unread, exit 2 naming the file and what it is, never read and never waited on.

Reading some of those files takes what they hold: /proc/kmsg hands the kernel log to whoever reads
it first (rsyslog then misses it), and blocks until there is some.  The policy, waivers, snapshot,
evidence and key loaders refused them unread already; these did not:

* ``--org-logo`` and ``--pdf-cert`` / ``--pdf-cert-key`` read the file: /proc/self/environ was read
  through and judged "not a PNG or JPEG" / "not an X.509 certificate", /proc/kmsg read until it said
  "Resource temporarily unavailable" (or, with messages waiting, took them);
* ``history verify --expect-head FILE`` read it the same way;
* ``--store /proc/kmsg`` (a regular file by stat(2)) was handed to SQLite, whose read blocked: the
  command hung for ever (``evaluate --record``, ``history list``);
* an output path (``collect -o /proc/kmsg``) was read, 64 KiB of it, to tell whether lbaudit's own
  earlier output was there (strace sees it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.scans import CORP, write_scan_snapshot

REPO = Path(__file__).resolve().parents[2]
ENVIRON = "/proc/self/environ"  # readable by anyone: a read of it is seen in the message it gave
KMSG = "/proc/kmsg"
needs_kmsg = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(KMSG), reason="/proc/kmsg is root's")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snap") / "host.snapshot.json"
    write_scan_snapshot(path, wildcard_redis=False)
    return path


def _refused_as_kernel_file(result, name: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert name in result.stderr and "procfs" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("option", ["--org-logo", "--pdf-cert"])
def test_pdf_input_on_proc_is_refused_unread(tmp_path, snapshot, option):
    extra = ["--pdf-cert-key", ENVIRON] if option == "--pdf-cert" else []
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", tmp_path / "e.json",
                     "--pdf", tmp_path / "e.pdf", option, ENVIRON, *extra, timeout=120)
    _refused_as_kernel_file(result, ENVIRON)
    assert list(tmp_path.iterdir()) == []


def test_expect_head_on_proc_is_refused_unread(tmp_path, snapshot):
    store = tmp_path / "history.db"
    recorded = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", tmp_path / "e.json", "-q",
                       "--record", "--store", store, timeout=120)
    assert recorded.returncode in (0, 1, 3), recorded.stderr
    result = run_cli("history", "verify", "--store", store, "--expect-head", ENVIRON, timeout=60)
    _refused_as_kernel_file(result, ENVIRON)


@needs_kmsg
@pytest.mark.parametrize("command", [["history", "list"], ["evaluate", "--record", "-q"]])
def test_store_on_proc_kmsg_is_refused_not_waited_on(tmp_path, snapshot, command):
    args = [*command, "--store", KMSG]
    if command[0] == "evaluate":
        args += ["--policy", CORP, "--snapshot", snapshot, "-o", tmp_path / "e.json"]
    # A process of its own: the blocked read is inside SQLite, which an alarm here would not end.
    result = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['lbaudit'] + sys.argv[1:]; "
                             "from auditor.entry import main; main()", *map(str, args)],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "LBAUDIT_CONFIG": "",
                                 "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "HOME": str(tmp_path)})
    _refused_as_kernel_file(result, KMSG)
    assert not (tmp_path / "e.json").exists()


needs_strace = pytest.mark.skipif(not shutil.which("strace"), reason="strace sees the reads")


@needs_kmsg
@needs_strace
def test_output_path_on_proc_kmsg_is_not_read_to_recognise_it(tmp_path):
    """``collect -o /proc/kmsg`` looked at the file there to tell whether it was lbaudit's own
    output: its first 64 KiB were read, which took the kernel's log messages from rsyslog."""
    trace = tmp_path / "trace"
    result = subprocess.run(["strace", "-f", "-y", "-e", "trace=read,pread64,readv,preadv", "-o", str(trace),
                             sys.executable, "-c", "import sys; sys.argv = ['lbaudit'] + sys.argv[1:]; "
                             "from auditor.entry import main; main()", "collect", "--section", "sysctl", "-o", KMSG],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "LBAUDIT_CONFIG": "",
                                 "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "HOME": str(tmp_path)})
    if "PTRACE" in result.stderr or "Operation not permitted" in result.stderr and not trace.exists():
        pytest.skip("ptrace is not allowed here")
    assert result.returncode == 2, result.stderr
    assert KMSG in result.stderr and "Traceback" not in result.stderr
    reads = [line for line in trace.read_text().splitlines() if f"<{KMSG}>" in line]
    assert reads == []
