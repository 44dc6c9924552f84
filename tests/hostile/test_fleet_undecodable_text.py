"""Text that is no UTF-8 in the reason a host failed: one target's snapshot ended the whole fleet run.

A host's reason quotes what its snapshot's place holds: the JSON pointer of a key that is refused,
the names of the files in its directory.  A key holding a lone surrogate (the JSON escape \\ud800,
half of a UTF-16 pair), or a second snapshot whose file name is not UTF-8 (Python carries such bytes
as lone surrogates), put a lone surrogate in the reason, and writing the fleet's HTML overview
failed on it: exit 70, no summary, every other host unjudged.  The reason now shows each as a
visible escape (\\ud800, \\xff), the host fails alone (exit 2), and the summary, JUnit and overview
are written.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest

from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot


def _snapshot(host: str) -> bytes:
    return snapshot_bytes(snapshot(listeners=[listener("127.0.0.1", 22)], hostname=host, machine_id=f"{len(host):032x}",
                                   collected_at=datetime.now(timezone.utc)))


def _surrogate_key(fetch: Path) -> str:
    document = json.loads(_snapshot("bad01"))
    document["facts"]["x\ud800"] = 1  # json.dumps writes it as the escape \ud800
    (fetch / "bad01").mkdir()
    (fetch / "bad01" / "lbaudit.snapshot.json").write_text(json.dumps(document))
    return "/facts/x\\ud800: the escape \\ud800 is half of a UTF-16 pair"


def _undecodable_name(fetch: Path) -> str:
    (fetch / "bad01").mkdir()
    (fetch / "bad01" / "lbaudit.snapshot.json").write_bytes(_snapshot("bad01"))
    (fetch / os.fsdecode(b"bad01/b\xff.snapshot.json")).write_bytes(_snapshot("bad01"))
    return "2 snapshots in the host's directory, expected one: b\\xff.snapshot.json, lbaudit.snapshot.json"


@pytest.mark.parametrize("make", [_surrogate_key, _undecodable_name], ids=["surrogate-key", "undecodable-file-name"])
def test_a_reason_holding_no_utf8_text_fails_its_host_alone(tmp_path: Path, make):
    fetch = tmp_path / "fetch"
    (fetch / "good01").mkdir(parents=True)
    (fetch / "good01" / "lbaudit.snapshot.json").write_bytes(_snapshot("good01"))
    shown = make(fetch)
    policy = tmp_path / "lo.yaml"
    policy.write_text(loopback_only_policy("lo"))
    out = tmp_path / "out"
    result = run_cli("fleet", "evaluate", "--snapshots", fetch, "--policy", policy, "--out-dir", out, "-j", "1",
                     timeout=120)
    assert result.returncode == 2, result.stderr
    rows = {row["host"]: row for row in json.loads((out / "fleet-summary.json").read_text())["hosts"]}
    assert (rows["good01"]["verdict"], rows["good01"]["exit_code"]) == ("compliant", 0)
    assert (rows["bad01"]["verdict"], rows["bad01"]["exit_code"]) == (None, 2)
    assert shown in rows["bad01"]["error"]
    assert shown in result.stdout
    suites = ET.parse(out / "fleet.junit.xml").getroot()
    assert shown in suites.find("testsuite[@name='bad01']/testcase/error").get("message")
    assert "bad01" in (out / "fleet-summary.html").read_text(encoding="utf-8")
