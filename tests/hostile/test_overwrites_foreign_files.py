"""Hostile outputs that land on a file lbaudit did not write: one rule for every command.

The defect: an output replaced any existing regular file that held no PEM key, whatever it was:
``collect -o ~/.bashrc`` put a snapshot in the shell's start-up file, ``evaluate -o other.yaml``
replaced another policy with evidence, ``--pdf notes.txt`` and a ``--out-dir`` or
``--textfile-dir`` holding a file of the report's name lost that file, and ``fleet evaluate`` /
``fleet report --html`` did the same to files in their out dir.  Now (auditor/storage/outputs.py,
``plan_outputs``) an existing file is replaced only when it is recognisably the same kind of
lbaudit output (an earlier run's evidence, SARIF log, PDF, ...), or is empty, or the command was
given ``--force``; never an input of the run, a key (``keygen --force`` only), or a non-regular
file, ``--force`` or not.  ``init`` never replaces a policy and ``keygen`` replaces only with
``--force`` (their own, older rule).  Every refusal is exit 2 before any work, the file's bytes and
inode unchanged, and nothing else written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

USAGE = 2
WRITTEN = 1  # the snapshot's listener binds 0.0.0.0: a run that writes fails its rule
FOREIGN = b"# ~/.bashrc\nalias ll='ls -l'\nexport PATH=$HOME/bin:$PATH\n"
REFUSAL = "a file is there that is not an lbaudit"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    return tmp_path


def state(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_ino


def tree(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(directory)): state(p) for p in sorted(directory.rglob("*")) if p.is_file()}


def foreign(path: Path) -> Path:
    path.write_bytes(FOREIGN)
    return path


def evaluate(work: Path, *args: object):
    return run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", *args, cwd=work)


def assert_refused(result, work: Path, before: dict) -> None:
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert REFUSAL in result.stderr and "--force" in result.stderr
    assert tree(work) == before  # the file as it was (bytes and inode), and nothing written beside it


# ------------------------------------------------------------------ refused without --force

BUNDLE = Path(__file__).parents[1] / "fixtures" / "bundles" / "macos-audited"


@pytest.mark.parametrize("args", [
    ["collect", "--replay", BUNDLE, "-o", "bashrc"],
    ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-o", "bashrc"],
], ids=["collect-o", "evaluate-o"])
def test_an_output_onto_a_foreign_file_is_refused(work, args):
    foreign(work / "bashrc")
    before = tree(work)
    assert_refused(run_cli(*args, "-q", cwd=work), work, before)


def test_another_policy_is_not_replaced_by_evidence(work):
    (work / "other.yaml").write_text(loopback_only_policy("other"))
    before = tree(work)
    assert_refused(evaluate(work, "-o", "other.yaml"), work, before)


@pytest.mark.parametrize("where", ["--pdf", "--out-dir", "--textfile-dir"])
def test_a_report_onto_a_foreign_file_is_refused(work, where):
    (work / "out").mkdir()
    if where == "--pdf":
        foreign(work / "out" / "notes.txt")
        args = ["--pdf", "out/notes.txt"]
    elif where == "--out-dir":
        foreign(work / "out" / "corp.sarif")
        args = ["--out-dir", "out", "--format", "sarif"]
    else:
        foreign(work / "out" / "corp.prom")
        args = ["--textfile-dir", "out"]
    before = tree(work)
    assert_refused(evaluate(work, "-o", "e.json", *args), work, before)


def test_an_lbaudit_output_of_another_kind_is_refused(work):
    assert evaluate(work, "-o", "e.json", "--format", "sarif").returncode == WRITTEN
    before = tree(work)  # corp.sarif is lbaudit's, but a SARIF log, not evidence
    assert_refused(evaluate(work, "-o", "corp.sarif"), work, before)


def test_a_symlink_to_a_foreign_file_is_refused_and_stays_a_link(work):
    foreign(work / "profile")
    os.symlink("profile", work / "latest.json")
    before = tree(work)
    result = evaluate(work, "-o", "latest.json")
    assert_refused(result, work, before)
    assert "it leads to" in result.stderr and os.readlink(work / "latest.json") == "profile"


def test_report_onto_a_foreign_file_is_refused(work):
    assert evaluate(work, "-o", "e.json").returncode == WRITTEN
    (work / "out").mkdir()
    foreign(work / "out" / "corp.junit.xml")
    before = tree(work)
    assert_refused(run_cli("report", "e.json", "--format", "junit", "--out-dir", "out", "-q", cwd=work), work, before)


def test_fleet_evaluate_onto_a_foreign_summary_is_refused_before_any_host(work):
    (work / "fetched").mkdir()
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname="web01"),
                   work / "fetched" / "web01.snapshot.json")
    (work / "out").mkdir()
    foreign(work / "out" / "fleet-summary.json")
    before = tree(work)
    result = run_cli("fleet", "evaluate", "--snapshots", "fetched", "--policy", "policy.yaml", "--out-dir", "out",
                     "-q", cwd=work)
    assert_refused(result, work, before)


def test_fleet_evaluate_onto_a_foreign_host_file_fails_that_host_and_keeps_the_file(work):
    (work / "fetched").mkdir()
    for host in ("web01", "web02"):
        write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname=host, machine_id=host[-1] * 32),
                       work / "fetched" / f"{host}.snapshot.json")
    (work / "out").mkdir()
    kept = state(foreign(work / "out" / "web01.evidence.json"))
    result = run_cli("fleet", "evaluate", "--snapshots", "fetched", "--policy", "policy.yaml", "--out-dir", "out",
                     "-q", cwd=work)
    assert result.returncode == USAGE  # the worst host's code: web01 failed with exit 2
    assert state(work / "out" / "web01.evidence.json") == kept
    summary = json.loads((work / "out" / "fleet-summary.json").read_bytes())
    rows = {row["host"]: row for row in summary["hosts"]}
    assert rows["web01"]["exit_code"] == USAGE and REFUSAL in rows["web01"]["error"]
    assert rows["web02"]["exit_code"] == WRITTEN and (work / "out" / "web02.evidence.json").is_file()


def test_fleet_report_html_onto_a_foreign_file_is_refused(work):
    assert evaluate(work, "-o", "e.json", "--record", "--store", "h.db").returncode == WRITTEN
    foreign(work / "index.html")
    before = tree(work)
    result = run_cli("fleet", "report", "--store", "h.db", "--html", "index.html", cwd=work)
    assert (result.returncode, result.stdout) == (USAGE, "")
    assert REFUSAL in result.stderr
    assert tree(work) == before


def test_init_and_keygen_keep_their_own_rule(work):
    foreign(work / "corp.yaml")
    (work / "keys").mkdir()
    foreign(work / "keys" / "lbaudit.key")
    before = tree(work)
    assert run_cli("init", "-o", "corp.yaml", cwd=work).returncode == USAGE  # never, --force or not
    assert run_cli("keygen", "--out", "keys", cwd=work).returncode == USAGE  # without --force
    assert tree(work) == before


# ------------------------------------------------------------------ what may be replaced

def test_control_case_an_earlier_run_of_the_same_kind_is_replaced(work):
    args = ["-o", "e.json", "--format", "sarif,junit,html,text,oscal,hdf,prometheus", "--out-dir", "out",
            "--pdf", "out/a.pdf"]
    assert evaluate(work, *args).returncode == WRITTEN
    first = tree(work / "out")
    assert evaluate(work, *args).returncode == WRITTEN  # every file is recognised as its own kind
    assert sorted(tree(work / "out")) == sorted(first)
    assert all(state(work / "out" / name)[1] != inode for name, (_, inode) in first.items())  # each one replaced


def test_control_case_an_empty_file_is_replaced(work):
    (work / "e.json").write_bytes(b"")
    assert evaluate(work, "-o", "e.json").returncode == WRITTEN
    assert json.loads((work / "e.json").read_bytes())["schema"] == "lbaudit/evidence"


@pytest.mark.parametrize("command", ["collect", "evaluate"])
def test_force_replaces_a_foreign_file(work, command):
    foreign(work / "bashrc")
    if command == "collect":
        result = run_cli("collect", "--replay", BUNDLE, "-o", "bashrc", "-q", "--force", cwd=work)
        assert result.returncode == 0, result.stderr
        assert json.loads((work / "bashrc").read_bytes())["schema"] == "lbaudit/snapshot"
    else:
        assert evaluate(work, "-o", "bashrc", "--force").returncode == WRITTEN
        assert json.loads((work / "bashrc").read_bytes())["schema"] == "lbaudit/evidence"


def test_force_never_replaces_an_input_a_key_or_a_non_regular_file(work):
    from auditor.attest.signing import generate_keypair

    generate_keypair(work / "keys")
    os.link(work / "policy.yaml", work / "hard.json")
    os.mkfifo(work / "fifo")
    before = tree(work)
    for target in ("policy.yaml", "hard.json", "keys/lbaudit.pub", "fifo"):
        result = evaluate(work, "-o", target, "--force")
        assert (result.returncode, result.stdout) == (USAGE, ""), (target, result.stderr)
    assert tree(work) == before


def test_control_case_large_reports_of_an_earlier_run_are_replaced(work):
    # recognised by their first bytes, not refused as "too large": an HTML report of a few hundred
    # findings is larger than the head read
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", port) for port in range(20000, 20300)]),
                   work / "snap.json")
    args = ["-o", "e.json", "--format", "html,junit,text,sarif", "--out-dir", "out"]
    assert evaluate(work, *args).returncode == WRITTEN
    assert min((work / "out" / name).stat().st_size for name in ("corp.html", "corp.junit.xml", "corp.txt")) > 64 * 1024
    result = evaluate(work, *args)
    assert result.returncode == WRITTEN, result.stderr
