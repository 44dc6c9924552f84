"""Scan-to-scan drift from two evidence files."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

from auditor.analysis.diff import diff_scans
from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import load_registry
from auditor.model.facts import ProcessInfo
from auditor.model.policy import Policy, PolicySource, ResolvedRule
from auditor.storage.evidence import write_evidence
from tests.cli import run_cli
from tests.factories import listener, snapshot

REPO = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(plugins=False)
POLICY = Policy(
    id="p", version="1", owner="o", description="",
    rules=[ResolvedRule(id="bind", check="net.bind_addresses", params={"allow": ["loopback"]}, severity="high",
                        controls=["CM-7"], enabled=True, source="p.yaml:3")],
    waivers=[], sources=[PolicySource(path="p.yaml", sha256="0" * 64)],
)


def evidence_of(*listeners):
    snap = snapshot(listeners=list(listeners))
    result = evaluate(POLICY, snap, REGISTRY, today=date(2026, 11, 22))
    when = datetime(2026, 11, 22, tzinfo=timezone.utc)
    return build_evidence(policy=POLICY, snapshot=snap, registry=REGISTRY, result=result, started_at=when,
                          finished_at=when, evaluated_on=when.date())


def db(pid: int, address: str = "127.0.0.1"):
    return listener(address, 5432, processes=[ProcessInfo(pid=pid, name="postgres")])


def test_restart_is_not_drift_and_a_new_wildcard_is_a_regression():
    before = evidence_of(db(812))
    after = evidence_of(db(4711), listener("0.0.0.0", 6379, processes=[ProcessInfo(pid=99, name="redis")]))
    result = diff_scans(before, after)
    assert [c.subject for c in result.regressions] == ["tcp 0.0.0.0:6379 redis pid 99"]
    assert result.regressions[0].before is None and result.regressions[0].after == "fail"
    assert result.improvements == [] and result.other_changes == []


def test_fixing_a_listener_is_an_improvement():
    result = diff_scans(evidence_of(db(812, "0.0.0.0")), evidence_of(db(812)))
    assert len(result.improvements) == 1 and result.improvements[0].before == "fail"
    assert result.regressions == []


def test_command_exit_codes(tmp_path):
    write_evidence(evidence_of(db(812)), tmp_path / "before.json")
    write_evidence(evidence_of(db(812, "0.0.0.0")), tmp_path / "after.json")
    run = run_cli("diff", tmp_path / "before.json", tmp_path / "after.json", "--json", cwd=REPO)
    assert run.returncode == 1, run.stderr
    assert len(json.loads(run.stdout)["regressions"]) == 1
    same = run_cli("diff", tmp_path / "before.json", tmp_path / "before.json", cwd=REPO)
    assert same.returncode == 0 and "regressions: 0" in same.stdout
    bad = run_cli("diff", tmp_path / "missing.json", tmp_path / "before.json", cwd=REPO)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
