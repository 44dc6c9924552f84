"""The Prometheus textfile format: read back by prometheus_client's own parser, every number checked
against the evidence it is rendered from, written atomically where node_exporter reads."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from auditor.model.result import Severity, Status, Verdict, rollup_status
from auditor.report import ReportContext
from auditor.report.prometheus import REPORTER
from auditor.storage.evidence import evidence_bytes
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file
from tests.report.conftest import check_golden, conformance_module

# Imported when the module is collected: prometheus_client's own import lists /proc/self/fd (its
# process collector), which the host-read guard would pin on whichever test imported it first.
parser = conformance_module("prometheus_client.parser", "prometheus_client reads the exposition format back")


def parse(text: str) -> dict[str, list]:
    """Metric family name -> samples, by prometheus_client's text parser (it raises on malformed input)."""
    families = {}
    for family in parser.text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        families[family.name] = family.samples
    return families


def render(evidence) -> str:
    return REPORTER.render(evidence, ReportContext(evidence_bytes(evidence))).decode("utf-8")


def values(samples, *keys):
    return {tuple(s.labels[k] for k in keys): s.value for s in samples}


def test_golden(evidence, context):
    check_golden("report.prom", REPORTER.render(evidence, context))


def test_every_number_matches_the_evidence(evidence):
    metrics = parse(render(evidence))
    result = evidence.result
    assert {s.labels["policy"] for samples in metrics.values() for s in samples} == {"corp-baseline"}
    verdicts = values(metrics["lbaudit_verdict"], "verdict")
    assert verdicts == {(v.value,): float(v == result.verdict) for v in Verdict}
    assert values(metrics["lbaudit_exit_code"]) == {(): result.exit_code}
    findings = values(metrics["lbaudit_findings"], "status", "severity")
    counted = Counter((f.status.value, f.severity.value) for f in result.findings)
    assert findings == {(s.value, v.value): counted[(s.value, v.value)] for s in Status for v in Severity}
    by_status = Counter()
    for (status, _), count in findings.items():
        by_status[status] += count
    assert {k: v for k, v in by_status.items() if v} == {k: v for k, v in result.summary.by_status.items() if v}
    rules = values(metrics["lbaudit_rule_status"], "rule", "status")
    enabled = [r.id for r in evidence.policy.rules if r.enabled]
    assert {rule for rule, _ in rules} == set(enabled)  # the disabled rule is not a series
    for rule in enabled:
        worst = rollup_status([f.status for f in result.findings if f.rule_id == rule])
        assert [status for (r, status), v in rules.items() if r == rule and v == 1] == [worst.value]
    duration = (evidence.run.finished_at - evidence.run.started_at).total_seconds()
    assert values(metrics["lbaudit_run_duration_seconds"]) == {(): duration}
    assert values(metrics["lbaudit_scan_timestamp_seconds"]) == {(): evidence.run.finished_at.timestamp()}
    states = Counter(w.state for w in result.waivers)
    assert values(metrics["lbaudit_waivers"], "state") == {(s,): states[s] for s in ("applied", "expired", "unused")}
    upcoming = min(w.expires for w in result.waivers if w.expires >= evidence.run.evaluated_on)
    assert values(metrics["lbaudit_waiver_next_expiry_days"]) == {(): (upcoming - evidence.run.evaluated_on).days}


def test_last_successful_scan_only_when_everything_was_judged():
    incomplete = make_evidence()
    assert not incomplete.result.complete  # a check errors, a fact is missing
    assert "lbaudit_last_successful_scan_timestamp_seconds" not in parse(render(incomplete))
    complete = make_evidence(only_rules=["wildcard-listeners", "port-range"])
    assert complete.result.complete and complete.result.verdict == Verdict.NON_COMPLIANT
    metrics = parse(render(complete))
    assert values(metrics["lbaudit_last_successful_scan_timestamp_seconds"]) == {
        (): complete.run.finished_at.timestamp()}


def test_no_waiver_in_force_no_expiry_series():
    evidence = make_evidence(only_rules=["port-range"])
    assert not [w for w in evidence.result.waivers if w.expires >= evidence.run.evaluated_on]
    assert "lbaudit_waiver_next_expiry_days" not in parse(render(evidence))


@pytest.mark.parametrize("hostname", ['we"b\\01\nx', "web}01 # x", "ünïcødé"])
def test_hostile_label_values_are_escaped(hostname):
    evidence = make_evidence(hostname=hostname)
    (sample,) = parse(render(evidence))["lbaudit_scan_info"]
    assert sample.labels["host"] == hostname


def test_same_evidence_same_bytes(evidence):
    assert render(evidence) == render(evidence.model_validate_json(evidence_bytes(evidence)))


def test_report_writes_into_the_textfile_directory(tmp_path, evidence):
    path, _ = write_evidence_file(tmp_path / "evidence", evidence)
    textfiles = tmp_path / "node-exporter"
    textfiles.mkdir()
    (textfiles / "corp-baseline.prom").write_text("# HELP lbaudit_scan_info an older scan\n", encoding="utf-8")
    os.chmod(textfiles / "corp-baseline.prom", 0o640)
    result = run_cli("report", path, "--textfile-dir", textfiles)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in textfiles.iterdir()) == ["corp-baseline.prom"]  # no temporary left behind
    written = textfiles / "corp-baseline.prom"
    assert written.stat().st_mode & 0o777 == 0o640  # replaced atomically, its mode kept
    assert parse(written.read_text(encoding="utf-8"))["lbaudit_exit_code"][0].value == evidence.result.exit_code
    assert sorted(p.name for p in (tmp_path / "evidence").iterdir()) == ["evidence.json"]


def test_format_prometheus_goes_to_out_dir(tmp_path, evidence):
    path, _ = write_evidence_file(tmp_path, evidence)
    result = run_cli("report", path, "--format", "prometheus", "--out-dir", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "lbaudit_verdict" in parse((tmp_path / "out" / "corp-baseline.prom").read_text(encoding="utf-8"))


def test_missing_textfile_directory_is_refused_before_any_work(tmp_path, evidence):
    path, _ = write_evidence_file(tmp_path, evidence)
    result = run_cli("report", path, "--textfile-dir", tmp_path / "absent")
    assert result.returncode == 2
    assert "absent" in result.stderr and "does not exist" in result.stderr
    assert not (tmp_path / "absent").exists()


def test_evaluate_writes_the_textfile_with_the_evidence(tmp_path):
    from auditor.storage.snapshot import write_snapshot
    from tests.factories import listener, snapshot

    snap = tmp_path / "snap.json"
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 23)]), snap)
    textfiles = tmp_path / "node-exporter"
    textfiles.mkdir()
    result = run_cli("evaluate", "--policy", "policies/corp.yaml", "--snapshot", snap, "--out-dir", tmp_path / "out",
                     "--textfile-dir", textfiles, "-q")
    written = parse((textfiles / "corp-baseline.prom").read_text(encoding="utf-8"))
    assert values(written["lbaudit_exit_code"]) == {(): result.returncode}
    assert result.returncode == 1
    assert values(written["lbaudit_rule_status"], "rule", "status")[("listeners-loopback-only", "fail")] == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["corp-baseline.evidence.json"]


def test_evaluate_refuses_a_missing_textfile_dir_before_collecting(tmp_path):
    result = run_cli("evaluate", "--policy", "policies/corp.yaml", "--snapshot", tmp_path / "never-read.json",
                     "--out-dir", tmp_path / "out", "--textfile-dir", tmp_path / "absent", "-q")
    assert result.returncode == 2
    assert "absent" in result.stderr
    assert not (tmp_path / "out").exists()
