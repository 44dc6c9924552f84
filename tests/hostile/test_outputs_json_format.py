"""``lbaudit report E --format json --out-dir D`` wrote nothing, said nothing and exited 0.

The json format is the evidence file itself, never written twice, so nothing goes into D; but a
user shipping D to an auditor read the silence as "done there".  Now the command names where the
json report is: the evidence file, not copied.  Real processes, a real evidence file.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli import run_cli
from tests.factories import loopback_only_policy, snapshot


def _evidence(tmp_path: Path) -> Path:
    from auditor.storage.snapshot import write_snapshot

    (tmp_path / "policy.yaml").write_text(loopback_only_policy("jsonfmt"))
    write_snapshot(snapshot(), tmp_path / "snap.json")
    run = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json", "-q",
                  cwd=tmp_path, env={"LBAUDIT_CONFIG": ""})
    assert run.returncode in (0, 1, 3), run.stderr
    return tmp_path / "e.json"


def test_report_format_json_names_the_evidence_as_the_json_report(tmp_path: Path) -> None:
    evidence = _evidence(tmp_path)
    before = evidence.read_bytes()
    run = run_cli("report", "e.json", "--format", "json,sarif", "--out-dir", "out", cwd=tmp_path,
                  env={"LBAUDIT_CONFIG": ""})
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["report: out/jsonfmt.sarif",
                                       "report: e.json (json: the evidence file itself, not copied)"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["jsonfmt.sarif"]
    assert evidence.read_bytes() == before


def test_quiet_prints_nothing(tmp_path: Path) -> None:
    _evidence(tmp_path)
    run = run_cli("report", "e.json", "--format", "json", "-q", cwd=tmp_path, env={"LBAUDIT_CONFIG": ""})
    assert (run.returncode, run.stdout) == (0, "")
