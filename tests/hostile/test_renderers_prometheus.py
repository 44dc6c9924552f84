"""Hostile host names in the Prometheus textfile, read the way its consumers read it.

The defect: a label value escaped only backslash, double quote and line feed (the exposition
format's three escapes), so a host name from a snapshot file with a raw carriage return went into
the file as it was.  node_exporter reads only line feeds as line ends, but whoever reads the file in
Python's text mode (universal newlines: prometheus_client's parser on ``open(path).read()``) or with
``str.splitlines`` saw the sample split in two, and the host name's own text as a line of the file:
``web01\\rlbaudit_compliant 1\\r`` was a sample ``lbaudit_compliant 1`` beside a file that no longer
parsed.  Every other control character, line separator and bidi control of a label value is now
its escape text (as the terminal shows it); a line feed keeps the format's own escape.

Each file is read twice: by a strict parser written from the exposition format (lines end at a
line feed and nowhere else; a label value holds no raw line end and only the escapes \\\\, \\" and
\\n), and by prometheus_client's parser on the file as Python's text mode reads it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.model.result import Verdict
from auditor.report import ReportContext
from auditor.report.prometheus import REPORTER
from auditor.storage.evidence import evidence_bytes
from tests.evidence_fixtures import make_evidence, make_policy
from tests.report.conftest import conformance_module

parser = conformance_module("prometheus_client.parser", "prometheus_client reads the exposition format back")

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(rf"({_NAME})(?:\{{((?:{_LABEL})(?:,{_LABEL})*)?\}})? (\S+)")
_COMMENT = re.compile(rf"# (HELP|TYPE) ({_NAME}) (.*)")
_LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
# What Python's str.splitlines takes as a line end besides the line feed.
_OTHER_LINE_ENDS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\\"n])", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def strict_samples(data: bytes) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Metric name -> (labels, value) of every sample, by the exposition format's grammar; raises
    AssertionError on any line that is not a HELP, TYPE or sample line."""
    text = data.decode("utf-8")  # node_exporter refuses a file that is not UTF-8
    assert text.endswith("\n")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for number, line in enumerate(text[:-1].split("\n"), 1):
        comment = _COMMENT.fullmatch(line)
        if comment:
            if comment.group(1) == "TYPE":
                assert comment.group(3) == "gauge", line
            continue
        sample = _SAMPLE.fullmatch(line)
        assert sample, f"line {number} is not a sample: {line!r}"
        labels = {k: _unescape(v) for k, v in _LABEL_PAIR.findall(sample.group(2) or "")}
        samples.setdefault(sample.group(1), []).append((labels, float(sample.group(3))))
    return samples


def client_samples(path: Path) -> dict[str, list]:
    """prometheus_client's parser on the file as Python's text mode reads it (universal newlines)."""
    with path.open(encoding="utf-8") as handle:
        return {family.name: family.samples for family in parser.text_string_to_metric_families(handle.read())}


def written(tmp_path: Path, hostname: str):
    evidence = make_evidence(hostname=hostname)
    path = tmp_path / "corp-baseline.prom"
    path.write_bytes(REPORTER.render(evidence, ReportContext(evidence_bytes(evidence))))
    return evidence, path


INJECTED = "web01\rlbaudit_compliant 1\r"


@pytest.mark.parametrize(("hostname", "label"), [
    (INJECTED, "web01\\x0dlbaudit_compliant 1\\x0d"),
    ("web01\r\nlbaudit_compliant 1", "web01\\x0d\nlbaudit_compliant 1"),  # the line feed keeps its escape
    ("web01\x0b\x0c\x1c\x85\u2028\u2029x", "web01\\x0b\\x0c\\x1c\\x85\\u2028\\u2029x"),
    ("web01\x1b[2K\x07", "web01\\x1b[2K\\x07"),
    ("web\u202e10bew", "web\\u202e10bew"),
])
def test_a_host_name_with_line_ends_stays_one_label_value(tmp_path, hostname, label):
    evidence, path = written(tmp_path, hostname)
    data = path.read_bytes()
    assert not _OTHER_LINE_ENDS.search(data.decode("utf-8"))
    strict = strict_samples(data)
    assert "lbaudit_compliant" not in strict
    assert [labels["host"] for labels, _ in strict["lbaudit_scan_info"]] == [label]
    client = client_samples(path)
    assert sorted(client) == sorted(strict)
    assert [s.labels["host"] for s in client["lbaudit_scan_info"]] == [label]
    verdicts = {s.labels["verdict"]: s.value for s in client["lbaudit_verdict"]}
    assert evidence.result.verdict == Verdict.NON_COMPLIANT
    assert verdicts == {"compliant": 0.0, "non_compliant": 1.0, "incomplete": 0.0}


def test_control_case_an_ordinary_host_name_is_the_label_value_as_it_is(tmp_path):
    _, path = written(tmp_path, "web01.example.test")
    strict = strict_samples(path.read_bytes())
    assert [labels["host"] for labels, _ in strict["lbaudit_scan_info"]] == ["web01.example.test"]
    assert [s.labels["host"] for s in client_samples(path)["lbaudit_scan_info"]] == ["web01.example.test"]


def test_control_case_a_raw_carriage_return_as_the_old_renderer_wrote_it_breaks_a_text_mode_reader(tmp_path):
    """The old output, as it was: the strict parser reads it (a raw CR is no line end to it), but a
    reader with universal newlines does not -- so the client check above is the one that matters."""
    _, path = written(tmp_path, "web01")
    old = path.read_bytes().replace(b'host="web01"', b'host="web01\rlbaudit_compliant 1\r"')
    path.write_bytes(old)
    assert "lbaudit_compliant" not in strict_samples(old)
    with pytest.raises(ValueError):
        client_samples(path)


def test_passes_beside_waived_failures_are_a_waived_rule_not_a_pass(tmp_path):
    """wildcard-listeners with every failing listener waived: passing and waived findings.  rule_status
    said ``pass`` (the worst of pass and waived), so a dashboard of rule_status{status="pass"} showed
    the accepted deviations green; JUnit skips such a rule as waived, and so does this file now."""
    from tests.hostile.test_renderings import all_failures_waived

    evidence = all_failures_waived()
    assert {f.status.value for f in evidence.result.findings} == {"pass", "waived"}
    path = tmp_path / "corp-baseline.prom"
    path.write_bytes(REPORTER.render(evidence, ReportContext(evidence_bytes(evidence))))
    rules = {(s.labels["rule"], s.labels["status"]): s.value for s in client_samples(path)["lbaudit_rule_status"]}
    assert {key: value for key, value in rules.items() if value == 1} == {("wildcard-listeners", "waived"): 1.0}
    assert [labels for labels, value in strict_samples(path.read_bytes())["lbaudit_rule_status"] if value == 1] == [
        {"policy": "corp-baseline", "rule": "wildcard-listeners", "status": "waived"}]


def test_control_case_a_rule_with_nothing_but_passes_is_a_pass(tmp_path):
    from tests.hostile.test_renderings import evidence_for, only

    evidence = evidence_for(only(make_policy(), "privileged-ports"))
    path = tmp_path / "corp-baseline.prom"
    path.write_bytes(REPORTER.render(evidence, ReportContext(evidence_bytes(evidence))))
    rules = {(s.labels["rule"], s.labels["status"]): s.value for s in client_samples(path)["lbaudit_rule_status"]}
    assert {key: value for key, value in rules.items() if value == 1} == {("privileged-ports", "pass"): 1.0}
