"""Evidence whose policy id was edited into a path: ``report`` names each report after the policy
id (``<out-dir>/<policy id><extension>``), and the id of the policy the evidence records was any
string.  A policy file's id must match ``ID_PATTERN`` (letters, digits, ``._-``), but the evidence's
copy of the policy was not held to it, and the policy's digest is no defence (whoever edits the
file writes the digest of the edited policy beside it): evidence whose policy id was
``../../escaped`` made ``report --out-dir sub/out`` write ``escaped.sarif`` two directories up, and
``/tmp/.../abs`` wrote to that absolute path, whatever ``--out-dir`` said.

Now the evidence's policy (and each of its rules) is held to the id pattern of the policy file it
was loaded from: such evidence is refused (exit 2, naming ``/policy/id``) and nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.jsonfile import canonical_sha256
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

USAGE = 2


def _with_policy_id(directory: Path, policy_id: str) -> Path:
    """The fixture evidence with its policy id edited and the policy digest written to match."""
    path, raw = write_evidence_file(directory, make_evidence())
    data = json.loads(raw)
    data["policy"]["id"] = policy_id
    data["policy_sha256"] = canonical_sha256(data["policy"])
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    return path


def _files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


@pytest.mark.parametrize("policy_id", ["../../escaped", "sub/escaped", "..", "", "x\nreport: y"])
def test_a_policy_id_that_is_a_path_is_refused_and_nothing_is_written(tmp_path: Path, policy_id: str):
    work = tmp_path / "a" / "b"
    evidence = _with_policy_id(work, policy_id)
    (work / "out").mkdir()
    (work / "sub").mkdir()
    before = _files_under(tmp_path)
    run = run_cli("report", evidence, "--format", "sarif,junit,text", "--out-dir", work / "out",
                  "--pdf", work / "out" / "x.pdf")
    # before: exit 0, and ../../escaped.sarif, .junit.xml and .txt written in tmp_path, outside --out-dir
    assert run.returncode == USAGE, (run.stdout, run.stderr)
    assert "/policy/id: String should match pattern" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert _files_under(tmp_path) == before


def test_an_absolute_policy_id_writes_nothing_where_it_points(tmp_path: Path):
    evidence = _with_policy_id(tmp_path / "e", str(tmp_path / "abs"))
    run = run_cli("report", evidence, "--format", "sarif", "--out-dir", tmp_path / "out")
    assert run.returncode == USAGE, (run.stdout, run.stderr)
    assert not (tmp_path / "abs.sarif").exists()
    assert not (tmp_path / "out").exists()


def test_show_refuses_it_too(tmp_path: Path):
    evidence = _with_policy_id(tmp_path, "../escaped")
    run = run_cli("show", evidence)
    assert run.returncode == USAGE, (run.stdout, run.stderr)
    assert "/policy/id: String should match pattern" in run.stderr


def test_control_case_the_evidence_as_written_renders_into_out_dir(tmp_path: Path):
    path, _ = write_evidence_file(tmp_path, make_evidence())
    run = run_cli("report", path, "--format", "sarif", "--out-dir", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert _files_under(tmp_path / "out") == ["corp-baseline.sarif"]
