"""An output path changed between the check of a run's outputs and the write.

Every output is checked before any work (storage/outputs.py ``plan_outputs``): what is there, where
a link there leads, whether it is lbaudit's own output of its kind.  The write came later (after a
live collection, the rendering of the reports before it) and looked only at what a write must never
replace (a FIFO, a key): a link put at a report's path meanwhile, to a file that is not lbaudit's,
was written through, and that file replaced with the report, with no ``--force`` and no check of
it.  Now the write refuses a path that leads to another file than the one checked, or where a file
appeared or was replaced since (exit 2, naming it; the run's files put back).

What changes the directory meanwhile is a real reporter plugin rendering the first format: the
stand-in for any other process writing in the out dir while lbaudit runs.
"""

from __future__ import annotations

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
    planted = os.environ["SWAPPLUG_PLANT"]
    if os.environ["SWAPPLUG_HOW"] == "link":
        os.symlink(os.environ["SWAPPLUG_TARGET"], planted)
    else:
        with open(planted, "wb") as handle:
            handle.write(b"written meanwhile by another program\\n")
    return b"lbaudit report of the plugin"


REPORTER = Reporter(name="swapper", extension=".swap", description="a reporter", render=_render)
"""


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    install_plugin(tmp_path / "site", monkeypatch, "swapplug", PLUGIN, "[lbaudit.reporters]\nswapper = swapplug:REPORTER\n")
    work = tmp_path / "work"
    (work / "out").mkdir(parents=True)
    (work / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), work / "snap.json")
    (tmp_path / "elsewhere").mkdir()
    return work


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_a_link_put_at_a_report_path_after_the_check_is_not_written_through(work, command):
    target = work.parent / "elsewhere" / "notes.txt"
    target.write_bytes(FOREIGN)
    if command == "report":
        made = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", "-o", "e.json",
                       "--no-plugins", cwd=work)
        assert made.returncode == 1, made.stderr
        args = ["report", "e.json"]
    else:
        args = ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json"]
    result = run_cli(*args, "--format", "swapper,text", "--out-dir", "out", "-q", cwd=work,
                     env={"SWAPPLUG_HOW": "link", "SWAPPLUG_PLANT": str(work / "out" / "corp.txt"),
                          "SWAPPLUG_TARGET": str(target)})
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert f"out/corp.txt: changed since it was checked (it now leads to {target})" in result.stderr, result.stderr
    assert target.read_bytes() == FOREIGN  # before: the text report
    assert sorted(p.name for p in (work / "out").iterdir()) == ["corp.txt"]  # the plugin's link alone: put back
    if command == "evaluate":
        assert not (work / "e.json").exists()


def test_a_file_put_at_a_report_path_after_the_check_is_not_replaced(work):
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json",
                     "--format", "swapper,text", "--out-dir", "out", "-q", cwd=work,
                     env={"SWAPPLUG_HOW": "file", "SWAPPLUG_PLANT": str(work / "out" / "corp.txt")})
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert "out/corp.txt: changed since it was checked (a file is there now that was not)" in result.stderr
    assert (work / "out" / "corp.txt").read_bytes() == b"written meanwhile by another program\n"


def test_control_case_nothing_changed_writes_every_report(work):
    result = run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "e.json",
                     "--format", "swapper,text", "--out-dir", "out", "-q", cwd=work,
                     env={"SWAPPLUG_HOW": "file", "SWAPPLUG_PLANT": str(work / "unrelated.txt")})
    assert result.returncode == 1, result.stderr
    assert sorted(p.name for p in (work / "out").iterdir()) == ["corp.swap", "corp.txt"]


def test_a_file_put_at_the_path_while_it_is_written_is_not_replaced(tmp_path):
    # the evidence is written as it is made (a piece at a time): a file put at its path meanwhile
    # was replaced by the rename that ends the write
    from auditor.errors import InputError
    from auditor.storage.outputs import write_atomic

    path = tmp_path / "e.json"

    def pieces():
        yield b"{"
        path.write_bytes(b"written meanwhile by another program\n")
        yield b"}\n"

    with pytest.raises(InputError, match=r"e\.json: changed while lbaudit wrote it \(another file is there now\)"):
        write_atomic(path, pieces())
    assert path.read_bytes() == b"written meanwhile by another program\n"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left
