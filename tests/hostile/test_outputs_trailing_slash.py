"""An output file named with a trailing slash: ``-o results/``, ``--pdf reports/``.

A path that ends in "/" names a directory (POSIX pathname resolution: the shell's ``> results/``
and ``open("results/", O_CREAT)`` both fail), but the command line took the path through pathlib,
which drops the slash: ``evaluate -o results/`` wrote the evidence into a *file* called
``results`` (so the next ``--out-dir results`` was refused: not a directory), ``report --pdf
reports/`` a PDF called ``reports``, and ``-o earlier.json/`` replaced earlier.json, which the kernel
would have refused (not a directory).  Now an option that names a file refuses a value ending in
"/" (exit 2, naming the option) and nothing is written; a directory option (``--out-dir out/``)
takes it as before.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.evidence_fixtures import make_evidence, write_evidence_file
from tests.factories import listener, loopback_only_policy, snapshot

USAGE, NON_COMPLIANT = 2, 1


def _tree(directory: Path) -> dict[str, tuple[int, int, int]]:
    state = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            st = os.lstat(Path(root) / name)
            state[os.path.relpath(Path(root) / name, directory)] = (st.st_mode, st.st_ino, st.st_mtime_ns)
    return state


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("slash"), encoding="utf-8")
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    write_evidence_file(tmp_path, make_evidence(), "earlier.json")
    return tmp_path


EVALUATE = ("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q")


@pytest.mark.parametrize("args, option", [
    ((*EVALUATE, "-o", "results/"), "'--output' / '-o'"),
    ((*EVALUATE, "-o", "earlier.json/"), "'--output' / '-o'"),
    ((*EVALUATE, "-o", "results/."), "'--output' / '-o'"),
    ((*EVALUATE, "-o", "e.json", "--pdf", "reports/"), "'--pdf'"),
    (("report", "earlier.json", "--pdf", "reports/"), "'--pdf'"),
    (("collect", "--replay", "missing-bundle", "-o", "snaps/"), "'--output' / '-o'"),
    (("init", "-o", "policies/"), "'--output' / '-o'"),
    (("fleet", "report", "--store", "h.db", "--html", "fleet/"), "'--html'"),
])
def test_a_file_option_ending_in_a_slash_is_refused_and_nothing_is_written(work: Path, args, option):
    before = _tree(work)
    run = run_cli(*args, cwd=work, env={"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_CONFIG": ""})
    # before: exit 0 or 1 and a file called results, reports, snaps, policies or fleet; earlier.json replaced
    assert run.returncode == USAGE, (run.stdout, run.stderr)
    assert f"Invalid value for {option}" in run.stderr, run.stderr
    assert "ends with '/', which names a directory: give the path of the file" in run.stderr, run.stderr
    assert _tree(work) == before


def test_control_case_a_directory_option_takes_a_trailing_slash(work: Path):
    run = run_cli(*EVALUATE, "-o", "e.json", "--format", "sarif", "--out-dir", "out/", cwd=work)
    assert run.returncode == NON_COMPLIANT, run.stderr
    assert sorted(p.name for p in (work / "out").iterdir()) == ["slash.sarif"]
