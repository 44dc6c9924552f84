"""An entry of a --snapshots directory that is a FIFO, a socket or a device where a host's
directory would be (``web03``, a FIFO) was passed over without a word: the host vanished from a
fleet run without --expect-hosts, which then passed (exit 0).  It now fails as that host (exit 2),
saying what the entry is, without opening it (a FIFO with no writer would block the run); a regular
file that is not a snapshot (a README beside the hosts' directories) is still passed over.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot


def test_a_fifo_or_socket_in_a_hosts_place_fails_that_host(tmp_path: Path):
    fetch = tmp_path / "fetch"
    (fetch / "web01").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname="web01", machine_id="1" * 32,
                            collected_at=datetime.now(timezone.utc)), fetch / "web01" / "lbaudit.snapshot.json")
    os.mkfifo(fetch / "web03")
    bound = socket.socket(socket.AF_UNIX)
    try:
        bound.bind(str(fetch / "web04"))
        (fetch / "README").write_text("fetched by the scan play\n")
        policy = tmp_path / "lo.yaml"
        policy.write_text(loopback_only_policy("lo"))
        result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", tmp_path / "out",
                         "--jobs", "1", "-q", timeout=60)
    finally:
        bound.close()
    assert result.returncode == 2, result.stdout + result.stderr
    rows = {row["host"]: row for row in json.loads((tmp_path / "out" / "fleet-summary.json").read_text())["hosts"]}
    assert sorted(rows) == ["web01", "web03", "web04"]
    assert (rows["web01"]["verdict"], rows["web01"]["error"]) == ("compliant", None)
    assert (rows["web03"]["exit_code"], rows["web03"]["error"]) == (
        2, f"{fetch / 'web03'}: is a FIFO, not a host's directory (or a *.snapshot.json file)")
    assert (rows["web04"]["exit_code"], rows["web04"]["error"]) == (
        2, f"{fetch / 'web04'}: is a socket, not a host's directory (or a *.snapshot.json file)")
