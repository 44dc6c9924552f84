"""The assessment pipeline as a library (auditor.pipeline), run the way a timer or a fleet runner
would: no click, one step after another, and the same evidence as ``lbaudit evaluate`` writes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor import pipeline
from auditor.cli import COMMANDS, cli
from auditor.collect.targets import RootDir, SnapshotFile
from auditor.engine.registry import load_registry
from auditor.errors import InputError
from auditor.model.result import Severity
from auditor.policy.loader import load_policy
from auditor.storage.evidence import load_evidence

REPO = Path(__file__).resolve().parents[1]
POLICY = REPO / "policies" / "corp.yaml"
ROOT = REPO / "tests" / "fixtures" / "roots" / "socket-units"


def _without_times(path: Path) -> dict:
    """The evidence with its time fields (when it ran, how long each step took) taken out."""
    data = json.loads(path.read_bytes())
    for key in ("started_at", "finished_at", "timings_ms"):
        data["run"].pop(key)
    data["snapshot"]["provenance"].pop("collected_at")
    return data


def _scheduled_run(out: Path, target, sign_key: Path | None = None) -> int:
    """What a scheduler would do: every step of an assessment, through the library only."""
    registry = load_registry(plugins=False)
    policy = load_policy(POLICY, registry)
    started = datetime.now(timezone.utc)
    snapshot, collect_ms = pipeline.timed_acquire(target, pipeline.plan(policy, registry))
    evidence = pipeline.assess(policy, snapshot, registry, fail_on=Severity.INFO, started_at=started,
                               collect_ms=collect_ms)
    data = pipeline.write(evidence, out)
    assert data == out.read_bytes()
    if sign_key is not None:
        pipeline.sign(out, sign_key, data)
    return evidence.result.exit_code


def test_library_run_writes_the_evidence_the_cli_writes(tmp_path: Path):
    library_out = tmp_path / "library.evidence.json"
    cli_out = tmp_path / "cli.evidence.json"
    code = _scheduled_run(library_out, RootDir(ROOT))
    result = CliRunner().invoke(cli, ["evaluate", "--policy", str(POLICY), "--root", str(ROOT), "--no-plugins",
                                      "-q", "-o", str(cli_out)])
    assert result.exit_code == code, result.output
    assert _without_times(library_out) == _without_times(cli_out)
    timings = json.loads(library_out.read_bytes())["run"]["timings_ms"]
    assert {"collect", "evaluate"} <= set(timings)
    # the run is one of an offline image: the provenance says which target, and the evidence loads
    evidence, _ = load_evidence(library_out)
    assert (evidence.snapshot.provenance.target_kind, evidence.snapshot.provenance.target_id) == ("root", str(ROOT))


def test_library_run_from_a_snapshot_target_judges_the_saved_facts(tmp_path: Path):
    snapshot_path = tmp_path / "image.snapshot.json"
    registry = load_registry(plugins=False)
    policy = load_policy(POLICY, registry)
    pipeline.write_snapshot(pipeline.acquire(RootDir(ROOT), pipeline.plan(policy, registry)), snapshot_path)
    from_root, from_snapshot = tmp_path / "root.evidence.json", tmp_path / "snapshot.evidence.json"
    assert _scheduled_run(from_root, RootDir(ROOT)) == _scheduled_run(from_snapshot, SnapshotFile(snapshot_path))
    root_data, snapshot_data = _without_times(from_root), _without_times(from_snapshot)
    assert root_data["result"] == snapshot_data["result"]
    assert snapshot_data["snapshot"]["provenance"]["target_kind"] == "snapshot"
    assert snapshot_data["snapshot"]["provenance"]["target_id"] == str(snapshot_path)


def test_library_acquire_refuses_a_missing_root_as_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="no such directory"):
        pipeline.acquire(RootDir(tmp_path / "absent"), frozenset({"sysctl"}))


def test_writing_evidence_removes_a_stale_signature(tmp_path: Path):
    out = tmp_path / "e.json"
    stale = tmp_path / "e.json.sig"
    stale.write_text("{}")
    _scheduled_run(out, RootDir(ROOT))
    assert not stale.exists()


# ---------------------------------------------------------------- the command table

def test_every_command_in_the_table_is_the_command_of_that_name_with_that_help():
    group_context = cli.make_context("lbaudit", ["--help"], resilient_parsing=True)
    for name, (where, short_help) in COMMANDS.items():
        command = cli.get_command(group_context, name)
        assert command is not None and command.name == name, where
        assert (command.help or "").split("\n\n")[0].replace("\n", " ") == short_help, name


def test_help_lists_every_command_without_importing_their_modules():
    code = ("import sys; from auditor.cli import main; sys.argv = ['lbaudit', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('auditor.commands.') and m != 'auditor.commands.options'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    *help_lines, imported = done.stdout.rstrip("\n").split("\n")
    assert imported == "[]"
    listed = [line.split()[0] for line in help_lines if line.startswith("  ") and not line.startswith("   ")
              and line.split()[0] in COMMANDS]
    assert listed == sorted(COMMANDS)
    assert "  collect      Collect facts only, without a policy, into a snapshot for..." in help_lines


def test_an_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_the_garbage_collector_is_paused_only_inside_a_step_and_restored_as_it_was() -> None:
    import gc

    from auditor.gcpause import cycle_collector_paused

    assert gc.isenabled()
    with cycle_collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with cycle_collector_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
    with pytest.raises(ValueError), cycle_collector_paused():
        raise ValueError("a failing step")
    assert gc.isenabled()
