"""A process holding more than 1,024 open descriptors when lbaudit's collectors run.

select(2) takes descriptors below FD_SETSIZE (1024) only.  A collector that waited on a pipe or a
pidfd with select() failed in such a process ("ValueError: filedescriptor out of range in
select()"): the network-namespace and audit sections were not reviewed, and a service that embeds
lbaudit, or runs it with many connections open, never had them judged.  Every wait now goes
through auditor.fdwait (poll(2), which takes any descriptor number).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from auditor import fdwait

REPO = Path(__file__).resolve().parents[2]


def _high_descriptor() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard) if hard != resource.RLIM_INFINITY else 4096, hard))
    return 1500


def test_a_pipe_numbered_past_1024_is_waited_on() -> None:
    read_end, write_end = os.pipe()
    high = _high_descriptor()
    moved_read, moved_write = os.dup2(read_end, high), os.dup2(write_end, high + 1)
    try:
        assert fdwait.ready(moved_write, write=True, timeout=1)
        assert not fdwait.ready(moved_read, read=True, timeout=0.05)
        os.write(moved_write, b"x")
        assert fdwait.ready(moved_read, read=True, timeout=1)
    finally:
        for fd in (read_end, write_end, moved_read, moved_write):
            os.close(fd)


def test_collect_in_a_process_with_1100_open_descriptors_fails_no_section(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.json"
    program = (
        "import os, resource, sys\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))\n"
        "held = [os.open('/dev/null', os.O_RDONLY) for _ in range(1100)]\n"
        "from auditor.entry import main\n"
        f"sys.argv = ['lbaudit', 'collect', '-o', {str(snapshot)!r}]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode in (0, 3), done.stderr
    text = snapshot.read_text()
    assert "out of range" not in text and "ValueError" not in text
    assert json.loads(text)["facts"]["netns"] is not None
