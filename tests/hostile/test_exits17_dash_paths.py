"""``-`` is standard output only where an option says so; every other path option refuses it (exit 2).

The defect: ``evaluate`` and ``report`` refused ``--pdf -`` and ``--out-dir -`` one option at a time
(cli.py's ``_refuse_stdout``), and the options that list forgot went on: ``fleet report --html -``
wrote the HTML overview into a file called ``-`` in the working directory (exit 0), ``fleet evaluate
--out-dir -`` made a directory called ``-`` and wrote every host's evidence there, and ``validate -``
or ``--policy -`` looked for a file called ``-``.  Now the rule is the parameter type's
(``cli.py`` ``_GuardedValue``, click's ``allow_dash``), for every path option of every command.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

ENV = {"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_CONFIG": ""}
USAGE = 2


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    for host in ("h1", "h2"):
        (tmp_path / "fetch" / host).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname=host),
                       tmp_path / "fetch" / host / "lbaudit.snapshot.json")
    done = run_cli("fleet", "evaluate", "--snapshots", "fetch", "--policy", "policy.yaml", "--out-dir", "out", "-q",
                   "--record", "--store", "h.db", cwd=tmp_path, env=ENV)
    assert done.returncode == 1, done.stderr
    return tmp_path


@pytest.mark.parametrize("args", [
    ("fleet", "report", "--store", "h.db", "--html", "-"),
    ("fleet", "evaluate", "--snapshots", "fetch", "--policy", "policy.yaml", "--out-dir", "-", "-q"),
    ("validate", "-"),
    ("evaluate", "--policy", "-", "--snapshot", "fetch/h1/lbaudit.snapshot.json", "-o", "e.json"),
    ("report", "out/h1.evidence.json", "--pdf", "-"),
])
def test_dash_is_refused_where_it_is_not_standard_output_and_nothing_called_dash_is_made(work, args):
    before = sorted(os.listdir(work))
    done = run_cli(*args, cwd=work, env=ENV)
    # before: fleet report exit 0 and a file called -, fleet evaluate a directory called -
    assert done.returncode == USAGE, done.stderr
    assert "only -o/--output takes -" in done.stderr
    assert sorted(os.listdir(work)) == before


@pytest.mark.parametrize("args", [
    ("evaluate", "--policy", "policy.yaml", "--snapshot", "fetch/h1/lbaudit.snapshot.json", "-o", "e.json", "-q",
     "--record", "--store", "-"),
    ("history", "list", "--store", "-"),
    ("fleet", "report", "--store", "-"),
])
def test_a_history_store_called_dash_is_refused(work, args):
    before = sorted(os.listdir(work))
    done = run_cli(*args, cwd=work, env=ENV)
    # before: evaluate --record --store - made an SQLite file called - (exit 1)
    assert done.returncode == USAGE, done.stderr
    assert "--store -" in done.stderr
    assert sorted(os.listdir(work)) == before
