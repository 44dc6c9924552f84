"""A reporter plugin whose extension is not a file name suffix.

A report's file is ``<out-dir>/<policy id><extension>``: the out dir is the user's, the policy id
is checked (a file name), and a built-in format's extension is lbaudit's own (".sarif").  A reporter
plugin's extension was taken as it was declared, so one holding a "/" put the report in a directory
the user never named: ``.d/report.txt`` wrote ``out/corp.d/report.txt``, through ``out/corp.d`` when
that was a symbolic link to a directory elsewhere (with ``--force``, over a file there), and
``/../../escaped.txt`` wrote beside the out dir's parent.  Now a plugin's extension must be a suffix
of a file name (a dot, then letters, digits, ".", "-", "_"), checked when the plugin is loaded: a
RegistryError (exit 2) naming the plugin, on every run that loads it, and nothing written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.plugin_distribution import install_plugin

USAGE = 2
FOREIGN = b"a file of the user's own, outside the report directory\n"

PLUGIN = """
import os

from auditor.report import Reporter


def _render(evidence, context):
    return b"lbaudit report rendered by the plugin"


REPORTER = Reporter(name="spread", extension=os.environ["EXTPLUG_EXTENSION"], description="a reporter",
                    render=_render)
"""


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    install_plugin(tmp_path / "site", monkeypatch, "extplug", PLUGIN, "[lbaudit.reporters]\nspread = extplug:REPORTER\n")
    work = tmp_path / "work"
    (work / "out").mkdir(parents=True)
    (work / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), work / "snap.json")
    (tmp_path / "elsewhere").mkdir()
    return work


def files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_an_extension_with_a_directory_is_refused_and_nothing_is_written_through_a_link(work, command):
    elsewhere = work.parent / "elsewhere"
    (elsewhere / "report.txt").write_bytes(FOREIGN)
    os.symlink(elsewhere, work / "out" / "corp.d")  # a directory the user never named, planted as a link
    if command == "report":
        made = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                       "--no-plugins", cwd=work)
        assert made.returncode == 1, made.stderr
        args = ["report", "e.json"]
    else:
        args = ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json"]
    before = files(work)
    result = run_cli(*args, "--format", "spread", "--out-dir", "out", "--force", "-q", cwd=work,
                     env={"EXTPLUG_EXTENSION": ".d/report.txt"})
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert "extension '.d/report.txt' is not a file name suffix" in result.stderr, result.stderr
    assert (elsewhere / "report.txt").read_bytes() == FOREIGN  # before: the plugin's report, through the link
    assert files(work) == before


@pytest.mark.parametrize("extension", ["/../../escaped.txt", "", "txt", ".", ".t\nxt", "." + "x" * 64])
def test_an_extension_that_is_not_a_suffix_is_refused(work, extension):
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json",
                     "--format", "spread", "--out-dir", "out", "-q", cwd=work, env={"EXTPLUG_EXTENSION": extension})
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert "is not a file name suffix" in result.stderr and "extplug" in result.stderr, result.stderr
    assert not (work / "e.json").exists() and not (work.parent / "escaped.txt").exists()
    assert list((work / "out").iterdir()) == []


def test_control_case_a_suffix_is_written_in_the_out_dir(work):
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json",
                     "--format", "spread", "--out-dir", "out", "-q", cwd=work,
                     env={"EXTPLUG_EXTENSION": ".spread.txt"})
    assert result.returncode == 1, result.stderr
    assert (work / "out" / "corp.spread.txt").read_bytes() == b"lbaudit report rendered by the plugin"
