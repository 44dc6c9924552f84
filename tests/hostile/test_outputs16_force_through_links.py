"""``--force`` through a symbolic link planted at an output path.

An output named through a link is written through it (``-o latest.json``, a link to store/e.json,
replaces store/e.json), but only onto what lbaudit may replace there: its own output of that kind,
or an empty file.  ``--force`` lets an output replace a file that is not lbaudit's, and it reached
through the link too: ``report e.json --format text --out-dir out --force``, where out/corp.txt had
been made a link to a file outside the out dir, replaced *that* file with the report (the link stayed,
pointing at it), and so did ``--pdf LINK --force``, ``evaluate -o LINK --force``, ``collect -o LINK
--force``, a fleet's host file and ``fleet report --html LINK --force``.  ``--force`` means "replace
the file at this path"; a link's target is not at the path.  Now it is refused, exit 2 before any
work, naming the link and the file it leads to; the link and that file are left as they were.
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
FOREIGN = b"root:x:0:0:root:/root:/bin/bash\n"  # a file of the user's own, made for the test
BUNDLE = Path(__file__).parents[1] / "fixtures" / "bundles" / "macos-audited"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "policy.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), work / "snap.json")
    (tmp_path / "elsewhere").mkdir()
    return work


def victim(work: Path, name: str) -> Path:
    """A file outside the work directory, not lbaudit's, that a link at an output path leads to."""
    path = work.parent / "elsewhere" / name
    path.write_bytes(FOREIGN)
    return path


def plant(link: Path, target: Path) -> None:
    link.parent.mkdir(exist_ok=True)
    os.symlink(target, link)


def evaluate(work: Path, *args: object):
    return run_cli("evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "-q", *args, cwd=work)


def assert_refused_through(result, link: Path, target: Path) -> None:
    assert (result.returncode, result.stdout) == (USAGE, ""), result.stderr
    assert f"is a symbolic link to {target}" in result.stderr, result.stderr
    assert "--force replaces the file at the path given, never one a link there leads to" in result.stderr
    assert target.read_bytes() == FOREIGN  # before: the report
    assert os.readlink(link) == str(target)


@pytest.mark.parametrize("how", ["out-dir", "pdf"])
def test_report_force_does_not_write_through_a_link(work, how):
    assert evaluate(work, "-o", "e.json").returncode == WRITTEN
    if how == "out-dir":
        link, target = work / "out" / "corp.txt", victim(work, "notes.txt")
        args = ["--format", "text", "--out-dir", "out"]
    else:
        link, target = work / "attestation.pdf", victim(work, "notes.pdf")
        args = ["--pdf", "attestation.pdf"]
    plant(link, target)
    result = run_cli("report", "e.json", *args, "--force", "-q", cwd=work)
    assert_refused_through(result, link, target)
    assert sorted(p.name for p in link.parent.iterdir()) == [link.name] + (["e.json", "policy.yaml", "snap.json"]
                                                                           if how == "pdf" else [])


def test_evaluate_force_does_not_write_evidence_through_a_link(work):
    link, target = work / "latest.json", victim(work, "profile")
    plant(link, target)
    assert_refused_through(evaluate(work, "-o", "latest.json", "--force"), link, target)


def test_collect_force_does_not_write_a_snapshot_through_a_link(work):
    link, target = work / "snapshot.json", victim(work, "profile")
    plant(link, target)
    result = run_cli("collect", "--replay", BUNDLE, "-o", "snapshot.json", "-q", "--force", cwd=work)
    assert_refused_through(result, link, target)


def test_fleet_evaluate_force_does_not_write_a_host_file_through_a_link(work):
    (work / "fetched").mkdir()
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname="web01"),
                   work / "fetched" / "web01.snapshot.json")
    link, target = work / "out" / "web01.evidence.json", victim(work, "profile")
    plant(link, target)
    result = run_cli("fleet", "evaluate", "--snapshots", "fetched", "--policy", "policy.yaml", "--out-dir", "out",
                     "-q", "--force", cwd=work)
    assert result.returncode == USAGE, result.stderr  # web01 failed with exit 2: the worst host's code
    assert target.read_bytes() == FOREIGN and os.readlink(link) == str(target)
    row, = json.loads((work / "out" / "fleet-summary.json").read_bytes())["hosts"]
    assert row["exit_code"] == USAGE and f"is a symbolic link to {target}" in row["error"]


def test_fleet_report_html_force_does_not_write_through_a_link(work):
    assert evaluate(work, "-o", "e.json", "--record", "--store", "h.db").returncode == WRITTEN
    link, target = work / "index.html", victim(work, "index.html")
    plant(link, target)
    result = run_cli("fleet", "report", "--store", "h.db", "--html", "index.html", "--force", cwd=work)
    assert_refused_through(result, link, target)


def test_control_case_force_replaces_a_foreign_file_named_by_its_own_path(work):
    assert evaluate(work, "-o", "e.json").returncode == WRITTEN
    (work / "out").mkdir()
    (work / "out" / "corp.txt").write_bytes(FOREIGN)
    result = run_cli("report", "e.json", "--format", "text", "--out-dir", "out", "--force", "-q", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "out" / "corp.txt").read_bytes().startswith(b"lbaudit ")


def test_control_case_force_through_a_link_to_lbaudits_own_output_writes_it(work):
    # a link to an earlier run's report of the same kind is written through, --force or not
    assert evaluate(work, "-o", "e.json", "--format", "text", "--out-dir", "store").returncode == WRITTEN
    earlier = (work / "store" / "corp.txt").read_bytes()
    (work / "store" / "corp.txt").write_bytes(earlier.replace(b"web01.example.test", b"old01.example.test"))
    plant(work / "out" / "corp.txt", work / "store" / "corp.txt")
    result = run_cli("report", "e.json", "--format", "text", "--out-dir", "out", "--force", "-q", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "store" / "corp.txt").read_bytes() == earlier
    assert os.path.islink(work / "out" / "corp.txt")


@pytest.mark.parametrize("command", ["report", "keygen"])
def test_control_case_force_over_a_hard_link_replaces_the_name_and_keeps_the_other(work, command):
    # a second name of the file at the output path (st_nlink 2) keeps its bytes: the output is a new
    # file renamed over the name given, never the old file written in place
    other = victim(work, "other-name")
    if command == "report":
        assert evaluate(work, "-o", "e.json").returncode == WRITTEN
        (work / "out").mkdir()
        name = work / "out" / "corp.txt"
        os.link(other, name)
        result = run_cli("report", "e.json", "--format", "text", "--out-dir", "out", "--force", "-q", cwd=work)
    else:
        (work / "keys").mkdir()
        name = work / "keys" / "lbaudit.key"
        os.link(other, name)
        result = run_cli("keygen", "--out", "keys", "--force", "-q", cwd=work)
    assert result.returncode == 0, result.stderr
    assert other.read_bytes() == FOREIGN and os.stat(other).st_nlink == 1
    assert name.read_bytes() != FOREIGN and os.stat(name).st_nlink == 1
