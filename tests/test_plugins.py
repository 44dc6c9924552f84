"""Plugins (auditor/plugins.py): the one entry-point loader, and what a run records of the plugins it
loaded.  A check plugin is recorded as its check's ``origin``; reporter plugins (the code that turns
the evidence into reports) are recorded beside the checks, in ``reporter_plugins``, and the field is
left out of evidence that loaded none, so evidence written without plugins keeps its bytes.

The plugins are a real installed distribution: a directory on ``sys.path`` holding a module and a
``*.dist-info`` with ``METADATA`` and ``entry_points.txt``, which ``importlib.metadata`` finds as it
finds any installed package.  Run in this process (``monkeypatch.syspath_prepend`` puts it on the
path and takes it off again); tests/hostile/test_renderings.py keeps the subprocess cases where
``PYTHONPATH`` itself is the point.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.model.evidence import Evidence
from auditor.plugins import load_entry_points
from auditor.report import REPORTERS_GROUP, reporter_plugin_records, select_reporters
from auditor.storage.evidence import evidence_bytes, parse_evidence
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"

PLUGIN_MODULE = """
from auditor.model.check import CheckParams, check, failed, passed
from auditor.model.result import Severity
from auditor.report import Reporter


class CountParams(CheckParams):
    max_settings: int = 1000


@check(name="{dist}.sysctl_count", title="Few sysctl settings", version="0.3", needs=["sysctl"],
       params=CountParams, severity=Severity.LOW, controls=["CM-6"],
       rationale="A test plugin.", remediation="None.")
def sysctl_count(snapshot, params):
    count = len(snapshot.facts.sysctl.persistent or ()) if snapshot.facts.sysctl else 0
    judge = passed if count <= params.max_settings else failed
    yield judge("sysctl", f"{{count}} settings", observed=count, expected=params.max_settings)


REPORTER = Reporter(name="{dist}fmt", extension=".{dist}", description="a test plugin",
                    render=lambda evidence, context: evidence.policy.id.encode())
"""


def _install(site: Path, dist: str, version: str, *, reporters: bool = True, checks: bool = True) -> None:
    """A distribution ``dist`` ``version`` in ``site`` whose module registers a check and a reporter."""
    site.mkdir(exist_ok=True)
    (site / f"{dist}.py").write_text(textwrap.dedent(PLUGIN_MODULE.format(dist=dist)), encoding="utf-8")
    info = site / f"{dist}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
    groups = []
    if reporters:
        groups.append(f"[{REPORTERS_GROUP}]\n{dist}-report = {dist}:REPORTER\n")
    if checks:
        groups.append(f"[lbaudit.checks]\n{dist}-checks = {dist}\n")
    (info / "entry_points.txt").write_text("\n".join(groups), encoding="utf-8")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """An empty site directory on sys.path (taken off again, with the modules it brought)."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    monkeypatch.delenv("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    before = set(sys.modules)
    yield path
    for name in set(sys.modules) - before:
        if name.startswith("fakeplug"):
            del sys.modules[name]


def _policy(tmp_path: Path, check: str | None) -> Path:
    rules = """
  - id: ephemeral-pool
    check: net.ephemeral_port_range
    severity: medium
    params: {min_pool_size: 1000}
"""
    if check:
        rules += f"""
  - id: few-settings
    check: {check}
    severity: low
"""
    path = tmp_path / "policy.yaml"
    path.write_text(f"id: plugged\nversion: '1'\nowner: Test <t@example.com>\nrules:{rules}", encoding="utf-8")
    return path


def test_the_loader_names_the_distribution_and_version_of_each_entry_point(site):
    _install(site, "fakeplug", "2.5.1")
    (ep,) = load_entry_points(REPORTERS_GROUP)
    assert (ep.name, ep.value, ep.distribution, ep.version) == ("fakeplug-report", "fakeplug:REPORTER", "fakeplug",
                                                                "2.5.1")
    assert ep.origin == "plugin fakeplug 2.5.1"
    assert reporter_plugin_records(plugins=True)[0].model_dump() == {
        "entry_point": "fakeplug-report", "format": "fakeplugfmt", "distribution": "fakeplug", "version": "2.5.1"}
    assert reporter_plugin_records(plugins=False) == []


def test_evaluate_records_reporter_plugins_beside_the_check_plugins(site, tmp_path):
    _install(site, "fakeplug", "2.5.1")
    _install(site, "fakeplugtwo", "0.9", checks=False)
    out = tmp_path / "out"
    run = run_cli("evaluate", "--policy", _policy(tmp_path, "fakeplug.sysctl_count"), "--target", f"root:{ROOT}",
                  "-q", "--out-dir", out, "--format", "fakeplugfmt")
    assert run.returncode == 0, run.stderr
    data = json.loads((out / "plugged.evidence.json").read_bytes())
    origins = {c["name"]: c["origin"] for c in data["checks"]}
    assert origins["fakeplug.sysctl_count"] == "plugin fakeplug 2.5.1"
    assert origins["net.ephemeral_port_range"].startswith("builtin lbaudit ")
    # every reporter plugin loaded for the run, the one that rendered and the one that did not
    assert data["reporter_plugins"] == [
        {"entry_point": "fakeplug-report", "format": "fakeplugfmt", "distribution": "fakeplug", "version": "2.5.1"},
        {"entry_point": "fakeplugtwo-report", "format": "fakeplugtwofmt", "distribution": "fakeplugtwo",
         "version": "0.9"},
    ]
    assert (out / "plugged.fakeplug").read_bytes() == b"plugged"
    assert [f["status"] for f in data["result"]["findings"] if f["rule_id"] == "few-settings"] == ["pass"]
    evidence = parse_evidence((out / "plugged.evidence.json").read_bytes(), "evidence")
    assert [r.distribution for r in evidence.reporter_plugins] == ["fakeplug", "fakeplugtwo"]


@pytest.mark.parametrize("switch", ["--no-plugins", "env"])
def test_no_reporter_plugins_field_when_autoload_is_off(site, tmp_path, switch):
    _install(site, "fakeplug", "2.5.1")
    out = tmp_path / "out"
    args = ["evaluate", "--policy", _policy(tmp_path, None), "--target", f"root:{ROOT}", "-q", "--out-dir", out]
    run = (run_cli(*args, "--no-plugins") if switch == "--no-plugins"
           else run_cli(*args, env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}))
    assert run.returncode == 0, run.stderr
    data = json.loads((out / "plugged.evidence.json").read_bytes())
    assert "reporter_plugins" not in data
    assert "fakeplug" not in sys.modules


def test_a_check_plugin_alone_records_no_reporter_plugins(site, tmp_path):
    _install(site, "fakeplug", "2.5.1", reporters=False)
    out = tmp_path / "out"
    run = run_cli("evaluate", "--policy", _policy(tmp_path, "fakeplug.sysctl_count"), "--target", f"root:{ROOT}",
                  "-q", "--out-dir", out)
    assert run.returncode == 0, run.stderr
    data = json.loads((out / "plugged.evidence.json").read_bytes())
    assert "reporter_plugins" not in data
    assert {c["origin"] for c in data["checks"] if c["name"] == "fakeplug.sysctl_count"} == {"plugin fakeplug 2.5.1"}
    with pytest.raises(KeyError, match="fakeplugfmt"):
        select_reporters(["fakeplugfmt"], plugins=True)


def test_evidence_without_reporter_plugins_keeps_its_bytes_and_with_them_round_trips():
    evidence = make_evidence()
    assert evidence.reporter_plugins == []
    assert b"reporter_plugins" not in evidence_bytes(evidence)
    plugged = evidence.model_copy(update={"reporter_plugins": reporter_records()})
    raw = evidence_bytes(plugged)
    assert json.loads(raw)["reporter_plugins"][0]["distribution"] == "fakeplug"
    assert parse_evidence(raw, "plugged") == plugged
    # the JSON Schema (`lbaudit schema evidence`) says the field may be absent
    schema = Evidence.model_json_schema(by_alias=True, mode="serialization")
    assert "reporter_plugins" in schema["properties"] and "reporter_plugins" not in schema.get("required", [])


def reporter_records():
    from auditor.model.evidence import ReporterPluginRecord

    return [ReporterPluginRecord(entry_point="fakeplug-report", format="fakeplugfmt", distribution="fakeplug",
                                 version="2.5.1")]


def test_a_distribution_installed_after_a_scan_is_seen_and_one_removed_is_gone(site):
    """The scan of installed entry points is kept while sys.path's directories are unchanged: a
    distribution installed (or removed) since is seen on the next call, in the same process."""
    assert load_entry_points(REPORTERS_GROUP) == []
    _install(site, "fakeplug", "1.0", checks=False)
    assert [ep.name for ep in load_entry_points(REPORTERS_GROUP)] == ["fakeplug-report"]
    for path in sorted(site.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    sys.modules.pop("fakeplug", None)
    assert load_entry_points(REPORTERS_GROUP) == []
