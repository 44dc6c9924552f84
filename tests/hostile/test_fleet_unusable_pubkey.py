"""An unusable ``--snapshot-pubkey`` in ``fleet evaluate``: what fails every host is exit 2 before any work.

The signing key (--sign-key) was checked before any host, the snapshot public key was not: a
misspelt path, a FIFO or a file that is no key failed each host in turn, and so the run wrote a
summary of every host failed, removed each host's evidence of the earlier run from the out dir (a
host this run could not judge keeps none), and with --record recorded every host of the fleet as
not scanned: ``fleet report`` then said the whole fleet unscanned (exit 3) for a typing error.
Now it is exit 2 naming the key, and the out dir and the store are as they were.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot


def _fleet(tmp_path: Path, *extra: object):
    return run_cli("fleet", "evaluate", "--snapshots", tmp_path / "fetch", "--policy", tmp_path / "lo.yaml",
                   "--out-dir", tmp_path / "out", "--record", "--store", tmp_path / "history.db", "-j", "1", "-q",
                   *extra, timeout=120)


@pytest.mark.parametrize("case", ["missing", "fifo", "not-a-key"])
def test_an_unusable_snapshot_public_key_is_exit_2_before_any_host(tmp_path: Path, case: str):
    (tmp_path / "lo.yaml").write_text(loopback_only_policy("lo"))
    for number, host in enumerate(("web01", "web02")):
        (tmp_path / "fetch" / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=host, machine_id=f"{number + 1:032x}",
                                collected_at=datetime.now(timezone.utc)),
                       tmp_path / "fetch" / host / "lbaudit.snapshot.json")
    assert _fleet(tmp_path).returncode == 0
    before = {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir()}
    pubkey = tmp_path / "snapshots.pub"
    if case == "fifo":
        os.mkfifo(pubkey)
    elif case == "not-a-key":
        pubkey.write_text("not a key\n")
    result = _fleet(tmp_path, "--snapshot-pubkey", pubkey)
    assert result.returncode == 2
    assert result.stderr.startswith(f"lbaudit: {pubkey}: ")
    assert {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir()} == before
    report = run_cli("fleet", "report", "--store", tmp_path / "history.db", "--json")
    assert (report.returncode, json.loads(report.stdout)["hosts_by_verdict"]) == (0, {"compliant": ["web01", "web02"]})
