"""Evidence whose recorded policy holds one rule id twice: JUnit had two test cases of that name, HDF
two controls of one id, Prometheus one series, and their counts disagreed.

The policy loader refuses a rule id used twice, so the engine never records one; the evidence loader
checked each finding against ``{rule.id: rule}`` (the last rule of an id) and let the second copy
through (its ``summary.rules`` edited to match).  Every report then rendered the policy as recorded:
JUnit ``tests`` counted the rule twice and HDF held two controls with one id (readers key controls
by id, so one stood for both), while the Prometheus textfile keyed rules by id and had one; and a copy
with another severity (``critical`` beside the ``low`` its findings carry) showed the policy judging
the rule at a severity no finding had.  Now a rule id recorded twice is refused (exit 2, naming the
field), as the policy loader refuses it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from auditor.storage.jsonfile import canonical_sha256
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file

BAD_INPUT = 2


def _with_rule_twice(directory: Path, rule_id: str, **changes: object) -> tuple[Path, int]:
    path, raw = write_evidence_file(directory, make_evidence())
    data = json.loads(raw)
    rules = data["policy"]["rules"]
    rules.append({**copy.deepcopy(next(r for r in rules if r["id"] == rule_id)), **changes})
    data["result"]["summary"]["rules"] += 1 if rules[-1]["enabled"] else 0
    data["policy_sha256"] = canonical_sha256(data["policy"])
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    return path, len(rules) - 1


@pytest.mark.parametrize("changes", [{}, {"enabled": False}], ids=["copy", "disabled copy"])
def test_a_rule_recorded_twice_is_refused(tmp_path: Path, changes: dict):
    path, index = _with_rule_twice(tmp_path, "privileged-ports", **changes)
    run = run_cli("report", path, "--format", "junit,hdf,prometheus", "--out-dir", tmp_path / "out")
    # before: exit 0, JUnit with two test cases "privileged-ports", HDF with two controls of that id
    assert run.returncode == BAD_INPUT, (run.returncode, run.stderr)
    assert f"/policy/rules/{index}/id" in run.stderr and "privileged-ports" in run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_severity_raised_in_a_second_copy_is_refused(tmp_path: Path):
    # the findings of port-range carry its recorded severity; the first copy now says critical
    path, raw = write_evidence_file(tmp_path, make_evidence())
    data = json.loads(raw)
    rules = data["policy"]["rules"]
    first = next(r for r in rules if r["id"] == "port-range")
    rules.append(copy.deepcopy(first))
    first["severity"] = "critical"
    data["result"]["summary"]["rules"] += 1
    data["policy_sha256"] = canonical_sha256(data["policy"])
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    run = run_cli("show", str(path))
    assert run.returncode == BAD_INPUT, (run.returncode, run.stdout)
    assert "port-range" in run.stderr
