"""Hostile ends of ``evaluate --record``: a run whose outputs were not all written is not recorded.

The defect: the run was committed to the history store as soon as its evidence and reports were
written, before its summary was printed and its streams flushed.  A standard output that could not
take the summary (a reader that closed the pipe, a full disk: exit 74) or a SIGTERM while printing
(exit 143) put the evidence and reports back, as a failed command does, yet the store kept a run
whose files were never there: ``history list``, ``fleet report`` and ``history verify`` showed it,
and the next run chained to it.  Now the record is committed only when the command ends well, after
its last output (:meth:`auditor.history.store.HistoryStore.record_with_command`), and rolled back
with the files otherwise.  Real processes, real pipes, a real /dev/full, a real tmpfs, a real signal.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import REPO
from tests.factories import listener, loopback_only_policy, snapshot

pytestmark = pytest.mark.slow  # a real process per case

IO_ERROR = 74
TERMINATED = 128 + signal.SIGTERM
NON_COMPLIANT = 1
F_SETPIPE_SZ = 1031  # linux/fcntl.h
EVALUATE = ["evaluate", "--policy", "policy.yaml", "--snapshot", "snap.json", "--record", "--store", "h.db"]


def _env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1",
            "LBAUDIT_CONFIG": "", "LBAUDIT_LOCK_WAIT": "5"}


def _start(args: list[str], cwd: Path, stdout: int | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "auditor.cli", *args], cwd=cwd, env=_env(),
                            stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE)


def _lbaudit(args: list[str], cwd: Path, stdout: int | None = None) -> tuple[int, bytes, bytes]:
    process = _start(args, cwd, stdout)
    out, err = process.communicate(timeout=120)
    return process.returncode, out or b"", err


def _runs(store: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return db.execute("SELECT id, evidence_sha256 FROM runs ORDER BY id").fetchall()


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name not in ("h.db", "h.db-wal", "h.db-shm")}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("failed-runs"))
    # many failing listeners: a summary of a few hundred lines, more than a small pipe holds
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", port) for port in range(20000, 20400)]),
                   tmp_path / "snap.json")
    code, _, err = _lbaudit([*EVALUATE, "-o", "first.json", "-q"], tmp_path)  # the store and one run
    assert code == NON_COMPLIANT, err
    return tmp_path


def test_control_case_a_run_that_ends_well_is_recorded_once(work):
    before = _runs(work / "h.db")
    code, out, err = _lbaudit([*EVALUATE, "-o", "e.json", "--json"], work)
    assert code == NON_COMPLIANT, err
    import json

    recorded = json.loads(out)["recorded"]
    assert _runs(work / "h.db") == [*before, (recorded["run"], recorded["evidence_sha256"])]


@pytest.mark.parametrize("args", [["-o", "e.json"], ["-o", "e.json", "--json"], ["-o", "-"]],
                         ids=["summary", "json", "evidence-to-stdout"])
def test_a_full_standard_output_records_nothing(work, args):
    before_runs, before_files = _runs(work / "h.db"), _tree(work)
    with open("/dev/full", "wb") as full:
        code, _, err = _lbaudit([*EVALUATE, *args], work, stdout=full.fileno())
    assert (code, err.decode()) == (IO_ERROR, "lbaudit: standard output: cannot write: No space left on device\n")
    assert _tree(work) == before_files  # the evidence put back...
    assert _runs(work / "h.db") == before_runs  # ...and no run recorded for it (before: one more row)


def _closed_pipe(args: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the run starts (`| head -0`)
    try:
        return _lbaudit([*EVALUATE, *args], cwd, stdout=write_end)
    finally:
        os.close(write_end)


def test_a_reader_that_closed_the_pipe_of_the_json_record_records_nothing(work):
    before_runs, before_files = _runs(work / "h.db"), _tree(work)
    code, _, err = _closed_pipe(["-o", "e.json", "--json"], work)
    assert (code, err.decode()) == (IO_ERROR, "lbaudit: standard output: the reader closed the pipe before "
                                              "everything was written\n")
    assert _tree(work) == before_files
    assert _runs(work / "h.db") == before_runs  # before: one more row, for an evidence file put back


def test_control_case_a_reader_that_stops_reading_the_summary_keeps_run_and_record_together(work):
    # `| head` of the human summary is forgiven (auditor.stdio.forgive): the run ended well, so its
    # evidence stays and so does its record; what matters is that the two agree
    before_runs = _runs(work / "h.db")
    code, _, err = _closed_pipe(["-o", "e.json"], work)
    assert code == NON_COMPLIANT, err
    assert (work / "e.json").is_file()
    import hashlib

    assert _runs(work / "h.db")[:-1] == before_runs
    assert _runs(work / "h.db")[-1][1] == hashlib.sha256((work / "e.json").read_bytes()).hexdigest()


def _blocked_writing(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/wchan").read_text().endswith("pipe_write")  # "anon_pipe_write" on 6.x
    except OSError:
        return False


def test_sigterm_while_the_summary_is_printed_records_nothing(work):
    before_runs, before_files = _runs(work / "h.db"), _tree(work)
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, F_SETPIPE_SZ, 4096)  # one page: the summary cannot fit, the run blocks printing it
    process = _start([*EVALUATE, "-o", "e.json"], work, stdout=write_end)
    os.close(write_end)
    try:
        deadline = time.monotonic() + 60
        while not _blocked_writing(process.pid):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the run never blocked writing its summary"
            time.sleep(0.02)
        assert (work / "e.json").exists()  # the evidence is written: the run is past its files
        assert _runs(work / "h.db") == before_runs  # and not recorded while its summary is not out
        process.send_signal(signal.SIGTERM)
        # the reader was slow, not gone: it reads on (what is left of the summary, then EOF)
        drained = threading.Thread(target=lambda: [None for _ in iter(lambda: os.read(read_end, 65536), b"")])
        drained.start()
        _, err = process.communicate(timeout=60)
        drained.join(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(read_end)
    assert (process.returncode, err.decode()) == (TERMINATED, "terminated\n")
    assert _tree(work) == before_files
    assert _runs(work / "h.db") == before_runs  # before: the run of the evidence put back stayed recorded


def test_a_pdf_that_fills_its_disk_records_nothing(work):
    mount = work / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (root and mount(8) needed)")
    try:
        before_runs, before_files = _runs(work / "h.db"), _tree(work)
        code, _, err = _lbaudit([*EVALUATE, "-o", "e.json", "--pdf", "small/report.pdf", "-q"], work)
        assert code == IO_ERROR, err  # a full disk is EX_IOERR, as the README's History section says
        assert b"No space left on device" in err
        assert _tree(work) == before_files
        assert list(mount.iterdir()) == []
        assert _runs(work / "h.db") == before_runs
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def _attestations(store: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return db.execute("SELECT run_id, kind FROM attestations ORDER BY id").fetchall()


def test_a_report_whose_summary_cannot_be_written_marks_no_run_attested(work):
    # `report --store` marks the recorded run attested by the OSCAL it renders: a report put back
    # (exit 74) attests nothing, or prune would keep the run for a document that was never issued.
    # The store is held (a writer's lock) until the report is rendered; then the reader of its
    # output goes away and the lock is let go: marking comes first, the line saying so fails.
    before_files = _tree(work)
    holder = sqlite3.connect(work / "h.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    read_end, write_end = os.pipe()
    process = _start(["report", "first.json", "--format", "oscal", "--out-dir", "out", "--store", "h.db"], work,
                     stdout=write_end)
    os.close(write_end)
    try:
        deadline = time.monotonic() + 60
        while not (work / "out" / "failed-runs.oscal.json").exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the report was never rendered"
            time.sleep(0.01)
        os.close(read_end)  # the reader has gone
        holder.execute("COMMIT")  # the store is free: the run marks, then says so, to no one
        _, err = process.communicate(timeout=60)
    finally:
        holder.close()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (process.returncode, err.decode()) == (IO_ERROR, "lbaudit: standard output: the reader closed the pipe "
                                                            "before everything was written\n")
    assert _tree(work) == before_files and not (work / "out").exists()
    assert _attestations(work / "h.db") == []  # before: run 1 marked attested by a report put back
    code, out, err = _lbaudit(["report", "first.json", "--format", "oscal", "--out-dir", "out", "--store", "h.db"],
                              work)
    assert (code, out.decode().splitlines()[-1]) == (0, "attested: run 1"), err
    assert _attestations(work / "h.db") == [(1, "oscal")]
