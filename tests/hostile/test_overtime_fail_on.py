"""The failure threshold raised between two scans.  The same wildcard redis fails in both, but the
second run was evaluated with ``--fail-on critical``: its verdict is compliant, and ``diff`` said
"verdict: non_compliant -> compliant" with no change of any kind, exit 0, as if something had been
fixed.  Now a raised ``--fail-on`` is lost coverage (as a rule's severity lowered is), exit 1 unless
--allow-policy-change; a lowered one is a note."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import FIXED_TIME, listener, loopback_only_policy, snapshot


def _evidence(tmp_path: Path, name: str, day: int, fail_on: str) -> Path:
    listeners = [listener("0.0.0.0", 6379, processes=[ProcessInfo(pid=977, name="redis-server")])]
    write_snapshot(snapshot(listeners=listeners, collected_at=FIXED_TIME + timedelta(days=day)),
                   tmp_path / f"{name}.snapshot.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("threshold"))
    evidence = tmp_path / f"{name}.evidence.json"
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / f"{name}.snapshot.json",
                     "-o", evidence, "-q", "--fail-on", fail_on)
    assert result.returncode == (0 if fail_on == "critical" else 1), result.stderr
    return evidence


def test_a_raised_fail_on_is_lost_coverage_not_a_fix(tmp_path: Path):
    before = _evidence(tmp_path, "before", 0, "info")
    after = _evidence(tmp_path, "after", 1, "critical")
    result = run_cli("diff", before, after, "--json")
    data = json.loads(result.stdout)
    assert (result.returncode, data["verdict"]) == (1, {"before": "non_compliant", "after": "compliant"})
    assert [(c["kind"], c["detail"], c["loses_coverage"]) for c in data["policy_changes"]] == [
        ("fail_on_raised", "--fail-on info -> critical: failures below it no longer make the run non-compliant", True)]
    assert run_cli("diff", before, after, "--allow-policy-change").returncode == 0


def test_control_case_a_lowered_fail_on_is_a_note(tmp_path: Path):
    before = _evidence(tmp_path, "before", 0, "critical")
    after = _evidence(tmp_path, "after", 1, "info")
    result = run_cli("diff", before, after, "--json")
    data = json.loads(result.stdout)
    # the verdict got worse (compliant -> non_compliant): exit 1 for that, not for the threshold
    assert (result.returncode, data["verdict_worsened"], data["lost_coverage"]) == (1, True, 0)
    assert [(c["kind"], c["loses_coverage"]) for c in data["policy_changes"]] == [("fail_on_lowered", False)]
