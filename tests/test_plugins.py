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
import os
import subprocess
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


def _as_found(entry_points) -> list[tuple[str, str, str, str]]:
    return [(ep.name, ep.value, ep.group, ep.dist.name if ep.dist else "?") for ep in entry_points]


def _importlib_metadata_says(group: str) -> list[tuple[str, str, str, str]]:
    from importlib import metadata

    return _as_found(sorted(metadata.entry_points(group=group), key=lambda e: e.name))


def _dist_info(parent: Path, directory: str, name: str, entry_points: str) -> None:
    info = parent / directory
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


@pytest.mark.parametrize("layout", ["none", "plain", "upper-case", "egg", "zip", "shadowed", "comment-only",
                                    "other-group"])
def test_the_entry_points_found_are_importlib_metadatas_for_every_layout(site, tmp_path, monkeypatch, layout):
    """auditor.plugins reads the installed distributions' entry_points.txt itself and asks
    importlib.metadata only when one names the group; what it finds is importlib.metadata's answer,
    for each place a distribution can be: a *.dist-info (any case), an *.egg directory's EGG-INFO, a
    zip on sys.path, one shadowed by an earlier distribution of the same name (importlib.metadata
    reads only the first), one naming the group only in a comment or in another group's value."""
    from auditor import plugins

    declared = "[lbaudit.checks]\nfakeplugd = fakeplugd\n"
    if layout == "plain":
        _dist_info(site, "fakeplugd-1.0.dist-info", "fakeplugd", declared)
    elif layout == "upper-case":
        _dist_info(site, "FakePlugD-1.0.DIST-INFO", "FakePlugD", declared)
    elif layout == "egg":
        egg = tmp_path / "fakeplugd-1.0.egg"
        _dist_info(egg, "EGG-INFO", "fakeplugd", declared)
        monkeypatch.syspath_prepend(str(egg))
    elif layout == "zip":
        import zipfile

        archive = tmp_path / "plugins.zip"
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("fakeplugd-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: fakeplugd\nVersion: 1.0\n")
            zipped.writestr("fakeplugd-1.0.dist-info/entry_points.txt", declared)
        monkeypatch.syspath_prepend(str(archive))
    elif layout == "shadowed":
        _dist_info(site, "fakeplugd-2.0.dist-info", "fakeplugd", "[console_scripts]\nfakeplugd = fakeplugd:main\n")
        later = tmp_path / "later"
        _dist_info(later, "fakeplugd-1.0.dist-info", "fakeplugd", declared)
        monkeypatch.setattr(sys, "path", [*sys.path, str(later)])
    elif layout == "comment-only":
        _dist_info(site, "fakeplugd-1.0.dist-info", "fakeplugd", "# [lbaudit.checks]\n[console_scripts]\nx = y:z\n")
    elif layout == "other-group":
        _dist_info(site, "fakeplugd-1.0.dist-info", "fakeplugd", "[console_scripts]\nlbaudit.checks = y:z\n")
    found = _as_found(plugins._declared("lbaudit.checks"))
    assert found == _importlib_metadata_says("lbaudit.checks")
    expected = {"none": [], "shadowed": [], "comment-only": [], "other-group": [],
                "upper-case": [("fakeplugd", "fakeplugd", "lbaudit.checks", "FakePlugD")]}
    assert found == expected.get(layout, [("fakeplugd", "fakeplugd", "lbaudit.checks", "fakeplugd")])


def test_importlib_metadata_is_not_imported_when_no_distribution_declares_a_plugin(tmp_path):
    """Importing importlib.metadata (email, zipfile, csv: about 7 ms) only to learn that no plugin is
    installed was a tenth of `lbaudit evaluate` (issue 16); with one installed it is asked, as before."""
    probe = ("import sys\nfrom auditor.plugins import load_entry_points\n"
             "found = [ep.name for group in ('lbaudit.checks', 'lbaudit.reporters') for ep in load_entry_points(group)]\n"
             "print(found, 'importlib.metadata' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("LBAUDIT_DISABLE_PLUGIN_AUTOLOAD", None)
    run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert run.stdout == "[] False\n"
    site = tmp_path / "site"
    _install(site, "fakeplug", "1.0")
    env["PYTHONPATH"] = f"{site}{os.pathsep}{REPO}"
    run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert run.stdout == "['fakeplug-checks', 'fakeplug-report'] True\n"
