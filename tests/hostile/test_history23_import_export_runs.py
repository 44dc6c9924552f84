"""``history import --export`` recorded what recording itself refuses.

An export line files its run under the host the line names.  Only a host keyed by its name was
checked against the run's evidence: a line naming another machine id was imported as that machine's
run (exit 0; only a later ``history verify`` said so).  And a run given twice, the second a copy of
its evidence re-indented (other bytes, the same start, end, facts and policy), was imported as two
runs: listed, diffed and summed by trend twice, and ``history verify`` of the copy passed, where
``history import EVIDENCE`` and ``evaluate --record`` refuse such a copy as the run it is.  Both are
now refused (exit 2) naming FILE:LINE, and nothing is recorded.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # real evaluations


def _exported(tmp_path: Path) -> list[dict]:
    """Two hosts' runs recorded and exported with their evidence: the export's lines."""
    store = tmp_path / "source.db"
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("lo"))
    for name, machine, port in (("a", "1" * 32, 22), ("b", "2" * 32, 22), ("c", "1" * 32, 23)):
        write_snapshot(snapshot(listeners=[listener("127.0.0.1", port)], hostname=f"web-{machine[0]}",
                                machine_id=machine), tmp_path / f"{name}.json")
        recorded = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / f"{name}.json",
                           "--record", "--store", store, "-q", "-o", tmp_path / f"{name}.evidence.json")
        assert recorded.returncode == 0, recorded.stderr
    exported = run_cli("history", "export", "--with-evidence", "--store", store)
    assert exported.returncode == 0, exported.stderr
    return [json.loads(line) for line in exported.stdout.splitlines()]


def _import(tmp_path: Path, lines: list[dict]):
    export = tmp_path / "edited.jsonl"
    export.write_text("".join(json.dumps(line) + "\n" for line in lines))
    copy = tmp_path / "copy.db"
    return run_cli("history", "import", "--export", export, "--store", copy), copy


def test_a_line_naming_another_machine_is_refused(tmp_path: Path):
    lines = _exported(tmp_path)
    assert lines[1]["host"]["machine_id"] == "2" * 32
    lines[1]["host"] = {**lines[1]["host"], "machine_id": "3" * 32}
    result, copy = _import(tmp_path, lines)
    # before: exit 0, run 2 recorded as machine 333...'s
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"edited.jsonl:2: its host is 'machine-id:{'3' * 32}', its evidence's 'machine-id:{'2' * 32}'" in result.stderr
    assert not copy.exists()  # nothing recorded


def test_a_run_given_twice_in_other_bytes_is_refused(tmp_path: Path):
    lines = _exported(tmp_path)
    last = lines[-1]
    text = json.dumps(json.loads(last["evidence"]), indent=1) + "\n"  # the same run, re-indented
    again = {**last, "id": last["id"] + 1, "evidence": text, "evidence_sha256": hashlib.sha256(text.encode()).hexdigest(),
             "prev_evidence_sha256": last["evidence_sha256"]}
    result, copy = _import(tmp_path, [*lines, again])
    # before: exit 0, "recorded 4 runs", and history verify of the copy passed
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"edited.jsonl:4: run {again['id']} is run {last['id']} again" in result.stderr
    assert not copy.exists()


def test_control_the_export_as_written_imports_and_verifies(tmp_path: Path):
    result, copy = _import(tmp_path, _exported(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "recorded 3 runs" in result.stdout
    verified = run_cli("history", "verify", "--store", copy)
    assert verified.returncode == 0, verified.stdout + verified.stderr
