"""Hostile outputs, the run as a whole: a command that fails part way leaves every file as it was.

Each file lbaudit writes is atomic on its own (tests/hostile/test_outputs.py); these cases break a
run *between* its files: a real disk that fills up (a tmpfs this test mounts, sized so that the
first file fits and a later one does not), SIGTERM while the reports render, a history store that
cannot record, a public key that cannot be written after the private key was, a timer link on a
read-only mount.  Each asserts the exact exit code and that the tree of files is what it was
before, byte for byte (no new evidence beside the previous run's reports, no temporary file, no
previous-version link left behind).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.history import open_store
from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO, run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.schedule.conftest import POLICY as SCHEDULED_POLICY
from tests.schedule.conftest import make_image_root, tree

POLICY = loopback_only_policy("run-outputs")
USAGE = 2
IO_ERROR = 74  # a disk that could not take a file: EX_IOERR, as for standard output (no usage error)
TERMINATED = 128 + signal.SIGTERM
PAGE = 4096


def _root_or_skip() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path):
    """A function mounting a tmpfs of ``size`` bytes at a directory of this test; all unmounted after."""
    _root_or_skip()
    mounted: list[Path] = []

    def mount(name: str, size: int) -> Path:
        point = tmp_path / name
        point.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point)], check=True,
                       capture_output=True, timeout=30)
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", str(point)], capture_output=True, timeout=30)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY)
    facts = snapshot(listeners=[listener("0.0.0.0", 5432 + n, processes=[ProcessInfo(pid=812 + n, name="postgres")])
                                for n in range(40)])
    write_snapshot(facts, tmp_path / "snap.json")
    return tmp_path


def _evaluate(work: Path, out: Path, *extra: object):
    return run_cli("evaluate", "--policy", work / "policy.yaml", "--snapshot", work / "snap.json", "-q",
                   "--out-dir", out, "--format", "html,sarif", *extra, cwd=work)


def _pages(size: int) -> int:
    return (size + PAGE - 1) // PAGE * PAGE


def test_a_disk_that_fills_up_at_a_later_report_leaves_the_previous_run_as_it_was(work, small_disk):
    # What the run writes, measured on a roomy disk: the evidence fits, the HTML report does not.
    roomy = work / "roomy"
    assert _evaluate(work, roomy).returncode == 1
    evidence = (roomy / "run-outputs.evidence.json").stat().st_size
    html = (roomy / "run-outputs.html").stat().st_size
    assert html > 2 * PAGE
    disk = small_disk("disk", _pages(evidence) + 2 * PAGE)
    (disk / "run-outputs.html").write_text("the previous run's report\n")
    before = tree(disk)
    result = _evaluate(work, disk, "--force")  # the files there are stand-ins for a previous run's
    assert result.returncode == IO_ERROR, result.stderr
    assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
    # before: the new evidence stood beside the previous run's report
    assert tree(disk) == before


def test_a_disk_that_fills_up_in_a_new_out_dir_leaves_no_out_dir(work, small_disk):
    roomy = work / "roomy"
    assert _evaluate(work, roomy).returncode == 1
    evidence = (roomy / "run-outputs.evidence.json").stat().st_size
    disk = small_disk("disk", _pages(evidence) + 2 * PAGE)
    before = tree(disk)
    result = _evaluate(work, disk / "reports")
    assert result.returncode == IO_ERROR, result.stderr
    assert tree(disk) == before  # the directory the run created is gone with its files


def test_sigterm_while_the_reports_render_puts_the_evidence_back_and_exits_143(work):
    out = work / "out"
    out.mkdir()
    (out / "run-outputs.evidence.json").write_text('{"previous": "run"}\n')
    (out / "run-outputs.html").write_text("the previous run's report\n")
    before = tree(out)
    evidence_inode = (out / "run-outputs.evidence.json").stat().st_ino
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # the PDF renders for about a second after the evidence is written: SIGTERM lands in between
    process = subprocess.Popen([sys.executable, "-m", "auditor.cli", "evaluate", "--policy", "policy.yaml",
                                "--snapshot", "snap.json", "-q", "--out-dir", str(out), "--format", "html",
                                "--pdf", str(out / "a.pdf"), "--force"], cwd=work, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while (out / "run-outputs.evidence.json").stat().st_ino == evidence_inode:
            assert process.poll() is None, "the run ended before writing its evidence"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == TERMINATED, (process.returncode, stderr)  # before: killed by the signal, -15
    assert "terminated" in stderr and "Traceback" not in stderr
    assert tree(out) == before  # before: the new evidence beside the previous run's report, no PDF


def test_a_history_store_that_cannot_record_leaves_no_evidence(work, small_disk):
    store_disk = small_disk("store", 1024 * 1024)
    store = store_disk / "history.db"
    open_store(str(store)).close()  # created and migrated
    # fill the store's disk, leaving room to open it (its -shm file) but not to record a run
    free = os.statvfs(store_disk).f_bavail * os.statvfs(store_disk).f_frsize
    (store_disk / "filler").write_bytes(b"\0" * (free - 48 * 1024))
    out = work / "out"
    out.mkdir()
    (out / "run-outputs.evidence.json").write_text('{"previous": "run"}\n')
    before = tree(out)
    result = _evaluate(work, out, "--record", "--store", store, "--force")
    assert result.returncode == IO_ERROR, result.stderr
    assert "cannot record in the history store" in result.stderr and "Traceback" not in result.stderr
    assert tree(out) == before  # before: the new evidence and reports stayed, recorded nowhere


def test_keygen_force_that_cannot_write_the_public_key_keeps_the_old_private_key(tmp_path):
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys, "-q").returncode == 0
    (keys / "lbaudit.pub").unlink()
    (keys / "lbaudit.pub").mkdir()
    before = tree(keys)
    result = run_cli("keygen", "--out", keys, "--force")
    assert result.returncode == USAGE
    assert "lbaudit.pub" in result.stderr and "not a regular file" in result.stderr
    assert tree(keys) == before  # before: the old private key was gone for good, its .pub never written


@pytest.fixture
def read_only_wants(tmp_path):
    """An image root whose timers.target.wants is a read-only bind mount of itself."""
    _root_or_skip()
    root = make_image_root(tmp_path)
    wants = root / "etc/systemd/system/timers.target.wants"
    wants.mkdir()
    subprocess.run(["mount", "--bind", str(wants), str(wants)], check=True, capture_output=True, timeout=30)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(wants)], check=True, capture_output=True, timeout=30)
        yield root
    finally:
        subprocess.run(["umount", str(wants)], capture_output=True, timeout=30)


def test_schedule_install_that_cannot_link_its_timer_leaves_no_unit_behind(read_only_wants):
    root = read_only_wants
    before = tree(root)
    result = run_cli("schedule", "install", "--backend", "systemd", "--root", root, "--executable",
                     "/usr/local/bin/lbaudit", "--policy", SCHEDULED_POLICY)
    assert result.returncode == USAGE, result.stderr
    assert "Read-only file system" in result.stderr and "Traceback" not in result.stderr
    assert tree(root) == before  # before: the service and timer stayed, the timer never enabled


def test_a_fleet_host_whose_page_does_not_fit_leaves_none_of_its_files(tmp_path, small_disk):
    fetch = tmp_path / "fetch"
    for name in ("web01", "web02"):
        (fetch / name).mkdir(parents=True)
        write_snapshot(snapshot(listeners=[listener("0.0.0.0", 8000 + n) for n in range(40)], hostname=name),
                       fetch / name / "lbaudit.snapshot.json")
    roomy = tmp_path / "roomy"
    args = ("fleet", "evaluate", "--snapshots", fetch, "--policy", REPO / "policies" / "corp.yaml", "--jobs", "1",
            "--host-html")
    assert run_cli(*args, "--out-dir", roomy, timeout=120).returncode == 1
    evidence = max(p.stat().st_size for p in roomy.glob("*.evidence.json"))
    disk = small_disk("disk", _pages(evidence) + PAGE)
    result = run_cli(*args, "--out-dir", disk / "fleet", timeout=120)
    # each host fails alone (exit 74, the reason in the summary), and none of its files stays:
    # before, each host's evidence stood in the out dir while the summary said the host failed
    assert result.returncode == IO_ERROR, result.stderr
    summary = json.loads((disk / "fleet" / "fleet-summary.json").read_text())
    assert {h["host"]: h["exit_code"] for h in summary["hosts"]} == {"web01": IO_ERROR, "web02": IO_ERROR}
    assert all("No space left on device" in h["error"] for h in summary["hosts"])
    assert sorted(p.name for p in (disk / "fleet").iterdir()) == ["fleet-summary.html", "fleet-summary.json",
                                                                  "fleet.junit.xml"]


def test_an_out_dir_that_is_a_regular_file_is_named_as_one(work):
    (work / "reports").write_text("not a directory\n")
    before = tree(work)
    result = _evaluate(work, work / "reports")
    assert result.returncode == USAGE
    # before: "it is not a regular file, not a directory"
    assert "reports: cannot write reports: it is a regular file, not a directory" in result.stderr
    assert tree(work) == before


@pytest.fixture
def read_only_disk(tmp_path):
    _root_or_skip()
    point = tmp_path / "ro"
    point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=65536", "tmpfs", str(point)], check=True,
                   capture_output=True, timeout=30)
    try:
        yield point
    finally:
        subprocess.run(["umount", str(point)], capture_output=True, timeout=30)


@pytest.mark.parametrize("args", [["-o", "{ro}/e.json"], ["-o", "{work}/e.json", "--out-dir", "{ro}/new"]])
def test_a_read_only_mount_is_named_as_one_before_any_work(work, read_only_disk, args):
    before = tree(work)
    result = run_cli("evaluate", "--policy", work / "policy.yaml", "--snapshot", work / "snap.json", "-q",
                     *[a.format(ro=read_only_disk, work=work) for a in args], cwd=work)
    assert result.returncode == USAGE
    # before: "permission denied in ...", which sent root looking at modes
    assert f"read-only file system at {read_only_disk}" in result.stderr
    assert tree(work) == before
