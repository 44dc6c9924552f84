"""Fleet evaluation as a library: many hosts' snapshots, one policy, evaluated in a process pool.

Targets only collect facts (``lbaudit collect``, or the Ansible module ``lbaudit_collect``); the
policy, the evaluation and the signing key stay here, on the controller, so a compromised host can
neither read the policy nor sign its own attestation::

    summary = evaluate_fleet(FleetJob(snapshots=[Path("fetched")], policy=Path("corp.yaml"),
                                      out_dir=Path("fleet-out"), sign_key=Path("keys/lbaudit.key"),
                                      store="history.db"))
    sys.exit(summary.exit_code)

Layout of ``--snapshots DIR``: Ansible's ``fetch`` layout ``DIR/<inventory_hostname>/*.snapshot.json``
names each host by its directory; a ``*.snapshot.json`` directly in ``DIR`` (or a file given
itself) is named by the host name its snapshot records.

Hosts are streamed: a worker loads one snapshot, evaluates it, writes (and signs) its evidence,
prepares its run's record, and hands back a small summary row; no evidence is held beyond its host.
The command records each host's run as it comes back, in one transaction that ends with the run's
files: a fleet run stopped part way (SIGTERM, Ctrl-C) keeps neither its hosts' files nor their runs.  A bad snapshot
fails its host (exit 2, the reason in the summary), never the fleet; the fleet's exit code is the
worst host's, in the order 0 < 3 (incomplete) < 1 (non-compliant) < 2 (bad input) < 70 (a bug).
"""

from __future__ import annotations

import errno
import itertools
import json
import multiprocessing
import os
import re
import signal
import stat
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from auditor.durations import duration_text
from auditor.errors import InputError, LbauditError, exit_code_of
from auditor.model.result import ExitCode, Severity, Status
from auditor.safeio import kind_of, path_problem
from auditor.text import inventory_host, quoted_name

SNAPSHOT_SUFFIX = ".snapshot.json"
SUMMARY_JSON = "fleet-summary.json"
SUMMARY_JUNIT = "fleet.junit.xml"
SUMMARY_HTML = "fleet-summary.html"  # rendered from SUMMARY_JSON alone (auditor/report/fleet_html.py)
SUMMARY_NAMES = (SUMMARY_JSON, SUMMARY_JUNIT, SUMMARY_HTML)  # the run's own files, beside the hosts'
SUMMARY_FORMAT = "lbaudit-fleet-summary/1"
# A fleet run judges the fleet as it is: its snapshots were collected for it (the Ansible play
# collects and fetches them just before).  One much older is a host whose collection failed and
# whose previous snapshot was left in the fetch directory: judged, it passed the host as it was.
# Seven days, as ``fleet report --stale-days``: a weekly run still judges every host it collected.
# The worst exit code first wins: a host that could not be judged (2) is worse than a failing
# one (1), which is worse than an incomplete one (3); a bug in lbaudit (70) is worst of all.
_EXIT_RANK = {ExitCode.COMPLIANT: 0, ExitCode.INCOMPLETE: 1, ExitCode.NON_COMPLIANT: 2, ExitCode.USAGE: 3,
              ExitCode.INTERNAL: 4}
# What one host's snapshot may record before a worker judges it (listening sockets and their
# processes, network namespaces, audit rules, interfaces, sysctl settings, gaps) is limited in one table,
# auditor.storage.snapshot.SECTION_LIMITS, each kind by its option (--max-listeners, ...), and the
# JSON values it holds in all by --max-snapshot-records (as every snapshot read is): a
# worker's memory grows with each record it judges, and there is a worker per CPU, so one target's
# snapshot could take the controller's memory.  The snapshot is read (at most MAX_SNAPSHOT_BYTES),
# parsed and counted before its models are built; a host with more fails alone, exit 2, and is
# judged on its own (lbaudit evaluate --snapshot) or with a higher limit.
# An inventory name becomes a file name: letters, digits, dot, dash, underscore, not starting with a dot,
# and short enough that its longest file, <host>.evidence.json.sig, is a name a file may have (255
# bytes): a name of 240 made the fleet stop on "File name too long" (exit 70) with no summary.
MAX_HOST_NAME = 255 - len(".evidence.json.sig")  # ASCII: characters are bytes
_HOST_NAME = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9._-]{{0,{MAX_HOST_NAME - 1}}}")
_HOST_NAME_RULE = f"letters, digits, '.', '-', '_'; at most {MAX_HOST_NAME} characters"


def worst_exit_code(codes: list[int]) -> int:
    """The fleet's exit code: the worst of its hosts' (0 for an empty list)."""
    return max(codes, key=lambda c: _EXIT_RANK.get(ExitCode(c) if c in ExitCode._value2member_map_ else
                                                   ExitCode.INTERNAL, 4), default=int(ExitCode.COMPLIANT))


@dataclass(frozen=True)
class HostInput:
    """One host to evaluate: its snapshot, and its inventory name when its directory gives one.
    ``problem`` is set when the host's directory holds no usable snapshot (the host fails, exit 2)."""

    snapshot: Path | None
    name: str | None = None
    problem: str | None = None


@dataclass
class HostOutcome:
    """The summary row of one host (everything else is in its evidence file)."""

    host: str
    snapshot: str | None
    exit_code: int
    verdict: str | None = None
    hostname: str | None = None
    machine_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    failing_rules: list[str] = field(default_factory=list)
    controls: dict[str, bool] = field(default_factory=dict)
    evidence: str | None = None
    evidence_sha256: str | None = None
    html: str | None = None  # the host's HTML report, with --host-html
    # When the host's facts were collected (its snapshot says), and how long before they were
    # judged: a reader sees a stale host even without --max-age.
    collected_at: str | None = None
    collection_age: str | None = None
    signed: bool = False
    run_id: int | None = None
    error: str | None = None
    # Why the run refused the host, when that changes what it does with it (_NOT_EXPECTED_HOST:
    # not recorded as a miss; _DUPLICATE_HOST: one of several claims of a name): carried beside the
    # reason, never read back out of it, since a reason quotes what the snapshot holds (a key the
    # strict model refuses), which a target writes as it likes.
    refused_as: str | None = field(default=None, repr=False)
    junit: str = field(default="", repr=False)  # this host's <testsuite>, assembled into the fleet JUnit
    # its tests, failures and errors; and where the run keeps ``junit`` once the host is back (offset
    # and length in FleetSummary.junit_spool: _spool_junit), not in memory: a suite is about 12 MB
    # for a host at --max-listeners
    junit_counts: tuple[int, ...] = field(default=(0, 0, 0), repr=False)
    junit_spooled: tuple[int, int] | None = field(default=None, repr=False)
    # the files a worker process wrote for this host, handed to the command (auditor.command_files.adopt)
    changes: list[Any] = field(default_factory=list, repr=False)
    # the run a worker process prepared for the history store (--record), for the command to record
    # with its files (auditor.history.store.PreparedRun)
    prepared_run: Any = field(default=None, repr=False)
    # the host's files as the command holds them, once they are its own: put back if another
    # snapshot turns out to name the same host (_withdraw_contested)
    written: list[Any] = field(default_factory=list, repr=False)

    def row(self) -> dict[str, Any]:
        data = asdict(self)
        del data["junit"], data["junit_counts"], data["junit_spooled"], data["changes"], data["prepared_run"]
        del data["written"], data["refused_as"]
        data["hostname"], data["machine_id"] = self.shown_hostname(), _bounded_host_text(self.machine_id)
        return data

    def shown_hostname(self) -> str | None:
        """The host name its snapshot records, as the summary and the JUnit show it: cut as a
        report cuts a host's text (the snapshot says what it likes: a name of a megabyte was a
        megabyte in fleet-summary.json and fleet.junit.xml, each).  The outcome keeps it whole, to
        compare it with the other hosts' names."""
        return _bounded_host_text(self.hostname)


def _bounded_host_text(text: str | None) -> str | None:
    from auditor.text import bounded_text

    return None if text is None else bounded_text(text, kept="in the host's snapshot")


@dataclass(frozen=True)
class FleetJob:
    """What ``lbaudit fleet evaluate`` was asked to do."""

    snapshots: list[Path]
    policy: Path
    out_dir: Path
    sign_key: Path | None = None
    # The separate waivers file (--waivers, or the configured ``waivers``), applied to every host
    # after the policy's own waivers and recorded in each host's evidence, as ``evaluate`` does.
    waivers: Path | None = None
    expiry_warning_days: int = 30  # --expiry-warning-days: the policy's and the file's waivers warned about
    store: str | None = None  # a history store location; None: do not record
    record: bool = False
    jobs: int | None = None  # worker processes; None: the CPUs this process may run on
    fail_on: Severity = Severity.INFO
    plugins: bool = True
    snapshot_pubkey: Path | None = None
    host_html: bool = False  # also write each host's HTML report, <host>.html beside its evidence
    # The hosts this run is about (the inventory's, --expect-hosts): one without a snapshot fails
    # (exit 2) rather than vanish from a compliant fleet, and a snapshot of a host not among them
    # (left by an earlier run) is not judged as this run's.  Empty: whatever is found.
    expect_hosts: tuple[str, ...] = ()
    force: bool = False  # --force: a host's file may replace a file that is not lbaudit's output of its kind
    # The oldest snapshot judged (--max-age): an older one fails its host (exit 2), as one that
    # claims a collection time ahead of the controller's clock always does.  None: no limit.
    max_age: timedelta | None = None
    # where --max-age came from when not the command line (" (from LBAUDIT_MAX_AGE)"), for the refusal
    max_age_source: str = ""
    # The most records of a kind a host's snapshot may hold, by the option that sets it
    # (("--max-listeners", 100), ...): one with more fails (exit 2) before it is judged.  A kind not
    # given has its default (auditor.storage.snapshot.SECTION_LIMITS).
    section_limits: tuple[tuple[str, int], ...] = ()
    # The most JSON values a host's snapshot may hold in all (--max-snapshot-records): one with more
    # fails (exit 2) before it is judged.  None: auditor.storage.snapshot.DEFAULT_MAX_SNAPSHOT_RECORDS.
    max_snapshot_records: int | None = None
    # A private directory of this run in which each host name is claimed (an empty file, made with
    # O_EXCL) before its files are written: set by evaluate_fleet, not by callers.
    claims: Path | None = None
    # The history store's files (SQLite: the database, its WAL and shared memory), which no host's
    # file may replace: set by evaluate_fleet, which opens the store, not by callers.
    store_files: tuple[Path, ...] = ()


@dataclass
class FleetSummary:
    started_at: datetime
    finished_at: datetime
    policy_id: str
    policy_version: str
    hosts: list[HostOutcome]
    policy_sha256: str | None = None  # of the resolved policy, as each host's evidence records it
    # What validating the policy and its waivers warned about (expired and expiring waivers, blanket
    # ones...), as ``evaluate`` warns: auditor.errors.Problem, for the command to print
    warnings: list[Any] = field(default_factory=list, repr=False)
    junit_spool: Any = field(default=None, repr=False)  # the file of the hosts' spooled JUnit suites

    @property
    def exit_code(self) -> int:
        return worst_exit_code([h.exit_code for h in self.hosts])

    def by_verdict(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for host in self.hosts:
            groups.setdefault(host.verdict or "not_evaluated", []).append(host.host)
        return groups

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": SUMMARY_FORMAT,
            "started_at": self.started_at.isoformat().replace("+00:00", "Z"),
            "finished_at": self.finished_at.isoformat().replace("+00:00", "Z"),
            "policy": {"id": self.policy_id, "version": self.policy_version, "sha256": self.policy_sha256},
            "exit_code": self.exit_code,
            "hosts_total": len(self.hosts),
            "hosts_by_verdict": {k: len(v) for k, v in sorted(self.by_verdict().items())},
            "hosts": [h.row() for h in self.hosts],
        }


# ------------------------------------------------------------------ discovery

def _mode(path: Path) -> int | OSError:
    """The mode of what ``path`` leads to, or why it cannot be known.  Path.is_dir and is_file raise
    on EACCES (a parent the controller's user may list but not search): exit 70, a traceback."""
    try:
        return os.stat(path).st_mode
    except OSError as exc:
        return exc


def _unseen(exc: OSError) -> str:
    return "no such file or directory" if isinstance(exc, FileNotFoundError) else (
        f"cannot be examined: {exc.strerror or exc}")


def _not_usable(path: Path) -> str:
    """Why ``path`` is neither a snapshot file nor a directory of them, in plain words."""
    mode = _mode(path)
    if isinstance(mode, OSError):
        return _unseen(mode)
    return f"is {kind_of(mode)}, not a snapshot file or a directory of them"


def _unusable_name(entry: Path) -> HostInput | None:
    """A host whose directory or snapshot file has a name no evidence can record (bytes that are
    not UTF-8: the fleet's summary, JUnit and evidence are UTF-8 text, and writing one was a
    UnicodeEncodeError, exit 70): that host fails, named with the bytes escaped."""
    problem = path_problem(str(entry))
    if problem is None:
        return None
    shown = os.fsencode(entry.name).decode("utf-8", "backslashreplace")
    where = os.fsencode(entry).decode("utf-8", "backslashreplace")
    return HostInput(snapshot=None, name=shown, problem=f"{where}: {problem}")


def discover(paths: list[Path]) -> Iterator[HostInput]:
    """The hosts under ``paths``, lazily, in a stable order (see the module's documentation), each
    snapshot file once under one name: ``--snapshots fetch --snapshots ./fetch`` (or a host's file
    given beside its directory) was each host evaluated twice, its evidence written over and two
    runs of it recorded, and the summary then said neither stands.  The same file under two
    names is still two hosts, and the second is refused (_claim)."""
    seen: set[tuple[int, int, str | None]] = set()
    for host in _discovered(paths):
        if host.snapshot is not None and host.problem is None:
            try:
                found = os.stat(host.snapshot)
            except OSError:
                yield host  # its evaluation says what is wrong with it
                continue
            identity = (found.st_dev, found.st_ino, host.name)
            if identity in seen:
                continue
            seen.add(identity)
        yield host


def _discovered(paths: list[Path]) -> Iterator[HostInput]:
    for path in paths:
        mode = _mode(path)
        if not isinstance(mode, OSError) and stat.S_ISREG(mode):
            yield HostInput(snapshot=path)
            continue
        if isinstance(mode, OSError) or not stat.S_ISDIR(mode):
            raise InputError(f"{path}: --snapshots: {_not_usable(path)}")
        try:
            entries = sorted(path.iterdir())
        except OSError as exc:
            raise InputError(f"{path}: cannot list: {exc.strerror or exc}") from exc
        for entry in entries:
            if (unusable := _unusable_name(entry)) is not None:
                yield unusable
            else:
                yield from _entry(entry)


# The snapshot files a host's reason names when its directory holds several: the reason is in the
# summary, the JUnit, the overview, the terminal and the store, and a directory of 100,000 of them
# made it megabytes in each.
NAMES_SHOWN = 10


def _entry(entry: Path) -> Iterator[HostInput]:
    """The host an entry of a --snapshots directory is, if any.  One that cannot be examined or
    listed (another owner's, mode 000: the controller runs as an ordinary user) fails its host
    alone: it ended the whole run with exit 2 before any host was judged, or with a traceback."""
    mode = _mode(entry)
    if isinstance(mode, OSError):
        if mode.errno == errno.ELOOP or (os.path.islink(entry)
                                         and isinstance(mode, (FileNotFoundError, NotADirectoryError))):
            # a host's directory linked to nothing (or a loop): its host fails, it does not vanish
            yield HostInput(snapshot=None, name=entry.name, problem=(
                f"{entry}: a symbolic link to nothing ({os.readlink(entry)}): the host's snapshot cannot be seen"))
        elif entry.name.endswith(SNAPSHOT_SUFFIX):
            yield HostInput(snapshot=entry)  # named by the host it records; its evaluation says what is wrong
        else:  # a host's directory, or not: which cannot be told, so it is not passed over
            yield HostInput(snapshot=None, name=entry.name, problem=f"{entry}: {_unseen(mode)}")
    elif stat.S_ISDIR(mode):
        try:
            found = sorted(p for p in entry.iterdir() if p.name.endswith(SNAPSHOT_SUFFIX))
        except OSError as exc:
            yield HostInput(snapshot=None, name=entry.name, problem=(
                f"{entry}: cannot list the host's directory: {exc.strerror or exc}"))
            return
        if len(found) == 1 and (unusable := _unusable_name(found[0])) is not None:
            yield HostInput(snapshot=None, name=entry.name, problem=unusable.problem)
        elif len(found) == 1:
            yield HostInput(snapshot=found[0], name=entry.name)
        else:
            named = ", ".join(p.name for p in found[:NAMES_SHOWN]) + (
                f", and {len(found) - NAMES_SHOWN:,} more" if len(found) > NAMES_SHOWN else "")
            yield HostInput(snapshot=None, name=entry.name, problem=(
                f"{entry}: no *{SNAPSHOT_SUFFIX} in the host's directory" if not found else
                f"{entry}: {len(found):,} snapshots in the host's directory, expected one: {named}"))
    elif entry.name.endswith(SNAPSHOT_SUFFIX):
        yield HostInput(snapshot=entry)
    elif not stat.S_ISREG(mode):
        # A FIFO, socket or device where a host's directory would be (web03, a FIFO): passed over,
        # the host vanished from a fleet run without --expect-hosts, which then passed.  A regular
        # file (a README beside the hosts' directories) is no host's place, and is passed over.
        yield HostInput(snapshot=None, name=entry.name, problem=(
            f"{entry}: is {kind_of(mode)}, not a host's directory (or a *{SNAPSHOT_SUFFIX} file)"))


# ------------------------------------------------------------------ workers

@dataclass
class _WorkerState:
    job: FleetJob
    registry: Any
    policy: Any
    key: Any = None  # the Ed25519 private key, loaded once per worker
    waiver_file: Any = None  # the --waivers file as each host's evidence records it (WaiverSource)
    warnings: list[Any] = field(default_factory=list)  # validating the policy and the waivers file


_STATE: _WorkerState | None = None
# The history store the command records its hosts' runs in (--record), open in the command's process
# only, in one transaction that ends with the command's files (HistoryStore.hold_until_command_ends):
# committed when the run ends well, rolled back when its files are put back (an error, SIGTERM,
# Ctrl-C), so a stopped fleet run leaves the store as it was.  A worker process never touches it (a
# connection shared across fork is the parent's): it prepares its hosts' runs (prepare_run) and
# hands them over with their files (_adopted).
_RECORDER: Any = None
# The hosts (_same_host) whose run the command has recorded in this fleet run: a second snapshot of
# one of them that got past the claim (the same file, named by its directory and given again
# directly) recorded a second run of it, chained to the first, which then could not be withdrawn.
_RECORDED: set[str] = set()


def _load_state(job: FleetJob) -> _WorkerState:
    """The policy and the separate waivers file, validated as ``evaluate`` validates them (one
    function, inspect_policy: a waivers file with a waiver of no rule, or none at all, is exit 2
    for the whole run)."""
    from auditor.engine.registry import load_registry
    from auditor.errors import PolicyError
    from auditor.policy.loader import inspect_policy

    registry = load_registry(plugins=job.plugins)
    checked = inspect_policy(job.policy, registry, waivers_path=job.waivers,
                             today=datetime.now(timezone.utc).date(), expiry_warning_days=job.expiry_warning_days)
    if checked.policy is None:
        raise PolicyError(f"{job.policy}: invalid policy", checked.problems)
    return _WorkerState(job=job, registry=registry, policy=checked.policy, waiver_file=checked.waiver_file,
                        warnings=checked.warnings)


def _run_inputs(state: _WorkerState) -> list[tuple[str, Path | None]]:
    """What every host's run reads, which no host's file may replace: the policy and each file it
    extends, the keys, the history store's files.  (A policy kept in the out dir as web01.html was
    replaced by host web01's page.)"""
    from auditor.policy.loader import source_files

    job = state.job
    return [*(("policy", path) for path in source_files(job.policy, state.policy)),
            ("waivers file", job.waivers), ("signing key", job.sign_key), ("snapshot public key", job.snapshot_pubkey),
            *(("history store", path) for path in job.store_files), *_snapshot_files_given(job)]


def _snapshot_files_given(job: FleetJob) -> list[tuple[str, Path]]:
    """The snapshot files given themselves (``--snapshots FILE``), which may lie anywhere, the out
    dir too: no host's file and no summary may replace one (with --force, web01's evidence replaced
    ``out/web01.evidence.json``, another host's snapshot).  A snapshot found in a --snapshots
    directory cannot be one of the run's files: the out dir is neither such a directory nor inside one."""
    return [("snapshot", path) for path in job.snapshots
            if not isinstance(mode := _mode(path), OSError) and stat.S_ISREG(mode)]


def _init_worker(job: FleetJob) -> None:
    """Each worker loads the policy (inherited from the parent when forked) and the signing key
    once: a host then costs its snapshot, its evaluation and its writes, nothing more."""
    global _STATE
    if multiprocessing.parent_process() is not None:
        from auditor.command_files import held_by_parent

        held_by_parent(job.out_dir)  # the fleet command holds its --out-dir until every worker is done
        signal.signal(STOP_WITH_THE_RUN, _stop_with_the_run)
        for stopping in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if stopping is not None and signal.getsignal(stopping) != signal.SIG_IGN:  # SIGHUP under nohup stays ignored
                signal.signal(stopping, _stopped_from_outside)
        _stop_when_the_run_dies()
    if _STATE is None or _STATE.job != job:
        _STATE = _load_state(job)
    if job.sign_key is not None and _STATE.key is None:
        from auditor.attest.signing import load_private_key

        _STATE.key = load_private_key(job.sign_key)


# How a fleet run that stops (SIGTERM, Ctrl-C, an error) stops its workers: each puts back the host
# it was writing and the hosts it handed over, which the run may not have received.  A plain SIGTERM
# is what a worker gets when the run goes on without it: ProcessPoolExecutor sends it to the live
# workers when another has died (terminate_broken), and the run keeps the hosts it received and
# evaluates the others again, so then only the host being written is put back.  But SIGTERM and
# SIGHUP also come from outside, to every process of the run at once (a closed terminal, `timeout`,
# `systemctl stop`), and then the run stops too: a worker told nothing else kept the hosts it had
# handed over and the run never received.  So a worker stopped by SIGTERM or SIGHUP puts back the
# host it was writing and waits a moment for the run's word: the run, as it stops, marks it in its
# private directory (RUN_STOPPING, before it sends STOP_WITH_THE_RUN), and the worker then puts back
# the hosts it handed over too; without it the run goes on and keeps them.  (A file, not only the
# signal: STOP_WITH_THE_RUN delivered with SIGHUP waits, in Python, until SIGHUP's handler returns.)
STOP_WITH_THE_RUN = signal.SIGUSR1
RUN_STOPPING = ".run-stopping"  # in FleetJob.claims; host names never start with a dot
RUN_WORD_SECONDS = 2.0  # the run, stopped by the same signal, marks it within milliseconds; below WORKER_STOP_SECONDS


def _stop_with_the_run(signum: int, frame: Any) -> None:
    from auditor.command_files import interrupt, stop_worker

    _ignore_stops()
    interrupt(stop_worker)


def _run_stopping(job: FleetJob) -> bool:
    return job.claims is not None and (job.claims / RUN_STOPPING).exists()


def _stopped_from_outside(signum: int, frame: Any) -> None:
    """SIGTERM or SIGHUP in a worker: the pool's (the run goes on) or everyone's (the run stops)."""
    from auditor.command_files import ignore_signal, interrupt

    for stopping in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if stopping is not None and signal.getsignal(stopping) is _stopped_from_outside:
            signal.signal(stopping, ignore_signal)  # not SIG_IGN: see ignore_signal
    interrupt(_stop_when_the_run_says)  # after the writer's step under way (a file and its record)


# prctl(2): the signal the kernel sends this process when the thread that forked it ends.
PR_SET_PDEATHSIG = 1


def _stop_when_the_run_dies() -> None:
    """A worker whose run is killed (SIGKILL, the OOM killer, the abort of a library that could not
    allocate) stops as if the run had stopped it, its files put back: before, it waited on the
    pool's task queue for ever, an orphan (the queue's write end is its own too, so no end of file
    ever came).  Linux's parent-death signal; elsewhere workers end with the pool's pipes."""
    if sys.platform != "linux":
        return
    import ctypes

    parent = multiprocessing.parent_process()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(STOP_WITH_THE_RUN), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent.pid:  # the run died before the signal was asked for
        os.kill(os.getpid(), STOP_WITH_THE_RUN)


def _stop_when_the_run_says() -> None:
    from auditor.command_files import put_back_unfinished, stop_worker

    put_back_unfinished(handed=False)  # the host being written: never the run's, whatever it says
    job = _STATE.job if _STATE is not None else None
    deadline = time.monotonic() + RUN_WORD_SECONDS
    while job is not None and not _run_stopping(job) and time.monotonic() < deadline:
        time.sleep(0.01)
    stop_worker(handed=job is not None and _run_stopping(job))


def _ignore_stops() -> None:
    from auditor.command_files import ignore_signal

    for stopping in (signal.SIGTERM, getattr(signal, "SIGHUP", None), STOP_WITH_THE_RUN):
        if stopping is not None and signal.getsignal(stopping) not in (signal.SIG_IGN, None):
            signal.signal(stopping, ignore_signal)  # not SIG_IGN: see ignore_signal


def _junit_suite(outcome: HostOutcome, evidence: Any, data: bytes) -> str:
    from auditor.report import ReportContext
    from auditor.report.junit import render_junit

    root = ET.fromstring(render_junit(evidence, ReportContext(evidence_bytes=data, evidence_path=outcome.evidence or "")))
    suite = root.find("testsuite")
    assert suite is not None  # render_junit always writes one suite
    suite.set("name", outcome.host)
    properties = suite.find("properties")
    if properties is not None:
        properties.insert(0, ET.Element("property", {"name": "host", "value": outcome.host}))
    for case in suite.iter("testcase"):
        case.set("classname", f"{outcome.host}.{case.get('classname')}")
    outcome.junit_counts = tuple(int(suite.get(name, "0")) for name in ("tests", "failures", "errors"))
    return _member_suite(suite)


def _member_suite(suite: ET.Element) -> str:
    """A host's ``testsuite`` as the fleet JUnit holds it: indented one level in, as fleet_junit
    writes it after the others without parsing it again."""
    from auditor.report.junit import plain_xml

    plain_xml(suite)
    suite.tail = None
    ET.indent(suite, space="  ", level=1)
    return ET.tostring(suite, encoding="unicode")


def _failed_suite(outcome: HostOutcome) -> str:
    suite = ET.Element("testsuite", {"name": outcome.host, "tests": "1", "failures": "0", "errors": "1",
                                     "skipped": "0", "time": "0.000", "hostname": outcome.shown_hostname() or outcome.host})
    case = ET.SubElement(suite, "testcase", {"name": "snapshot", "classname": f"{outcome.host}.lbaudit"})
    ET.SubElement(case, "error", {"type": f"exit {outcome.exit_code}", "message": outcome.error or ""})
    return _member_suite(suite)


def _utc_text(moment: datetime) -> str:
    return _utc(moment).isoformat().replace("+00:00", "Z")


def _host_name(host: HostInput, hostname: str | None) -> str:
    name = host.name or hostname or ""
    if not _HOST_NAME.fullmatch(name):
        raise InputError(f"{host.snapshot}: host name {quoted_name(name, 80)} cannot name a file ({_HOST_NAME_RULE})")
    return name


_NOT_EXPECTED = "is not one of the hosts this run expects"
_DUPLICATE = "appears more than once in the fleet: this snapshot was not evaluated, written or recorded"
_NOT_EXPECTED_HOST = "not_expected"
_DUPLICATE_HOST = "duplicate"


class _HostRefused(InputError):
    """A host refused for a reason that changes what the run does with it: ``kind`` says which
    (HostOutcome.refused_as)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _refused_as(exc: BaseException) -> str | None:
    return exc.kind if isinstance(exc, _HostRefused) else None


def _same_host(name: str) -> str:
    """The host ``name`` names, as two names of one host compare (the history store's replay check
    compares them so too): auditor.text.inventory_host."""
    return inventory_host(name)


def _expected(job: FleetJob) -> dict[str, str]:
    """The hosts ``--expect-hosts`` names, each as the run compares hosts (:func:`_same_host`), with
    its first spelling: compared exactly, web01 expected did not match web01's directory spelt
    ``WEB01`` (refused as a host not expected, and web01 failed as not scanned), and ``web01,WEB01``
    expected two hosts, one never found."""
    expected: dict[str, str] = {}
    for name in job.expect_hosts:
        expected.setdefault(_same_host(name), name)
    return expected


def _claim(job: FleetJob, name: str, host: HostInput, collection: Any = None, facts: str | None = None) -> None:
    """Take ``name`` for this host in this run, or fail the host: two snapshots that name one host
    (two files that record one host name, or a file and a directory) wrote one evidence file over
    the other and both recorded a run of that host in the store, so the store and the evidence kept
    whichever came last (with --jobs, by chance) although the summary said neither stands.

    With the snapshot's ``collection`` (its provenance), the collection is claimed too: one
    collection under two hosts' names (the same file, or a copy of it: one machine id, host name
    and collection time) is one host's facts judged as another's, and the later host fails.  A
    collection without a machine id (a bundle replayed from a Windows or macOS capture) is told by
    its host name and ``facts`` (HostSnapshot.facts_digest, independent of when and where they were
    read): its collection time is its files' modification times, which each copy of a bundle
    makes anew, so one bundle copied into two hosts' places was two hosts."""
    if job.claims is None:
        return
    # The claim names the snapshot that made it, written whole before the name is taken (link(2)
    # fails if the name exists): a host evaluated again after its worker was killed mid-host
    # (auditor/fleet.py _one_by_one) finds its own claim, and is not refused as its own duplicate.
    mine = os.fsencode(os.path.abspath(host.snapshot))
    # A host name in any case: DNS names are (RFC 4343), and "Web1" and "web1" name one evidence
    # file on a case-insensitive out dir (macOS, a CIFS share), the later written over the earlier.
    keys = [(_same_host(name), None)]
    if collection is not None:
        from auditor.model.base import sha256_hex

        # host names cannot start with a dot (_HOST_NAME): these never meet one
        keys.append((f".file-{collection.source_sha256}", "is the same file as"))
        if collection.machine_id:
            moment = collection.collected_at.isoformat()
            digest = sha256_hex(json.dumps([collection.machine_id, collection.hostname, moment]).encode())
            keys.append((f".collection-{digest}", f"records the same collection (machine id {collection.machine_id}, "
                                                  f"host name {collection.hostname!r}, collected at {moment}) as"))
        elif facts is not None:
            digest = sha256_hex(json.dumps([collection.hostname, facts]).encode())
            keys.append((f".facts-{digest}", f"records the same facts (host name {collection.hostname!r}, "
                                             "no machine id) as"))
    record = mine + b"\0" + name.encode()
    for key, same in keys:
        draft = job.claims / f".draft-{os.getpid()}-{threading.get_ident()}"
        draft.write_bytes(mine if same is None else record)
        try:
            os.link(draft, job.claims / key)
        except FileExistsError:
            held = (job.claims / key).read_bytes()
            if same is None and held != mine:
                raise _HostRefused(_DUPLICATE_HOST, f"{host.snapshot}: host {name!r} {_DUPLICATE}") from None
            if same is not None and held != record:
                other_file, _, other = held.partition(b"\0")
                raise InputError(
                    f"{host.snapshot}: host {name!r}: this snapshot {same} host {other.decode()!r}'s "
                    f"({os.fsdecode(other_file)}): one host's facts cannot be two hosts' evidence, so it was not "
                    "evaluated, written or recorded (collect each host on that host)") from None
        finally:
            draft.unlink()


def evaluate_host(host: HostInput) -> HostOutcome:
    """Evaluate one host in this worker; every problem ends in the host's outcome, never a raise."""
    state = _STATE
    assert state is not None, "_init_worker first"
    outcome = HostOutcome(host=host.name or (host.snapshot.name if host.snapshot else "?"),
                          snapshot=str(host.snapshot) if host.snapshot else None, exit_code=int(ExitCode.USAGE))
    try:
        if host.problem is not None or host.snapshot is None:
            raise InputError(host.problem or "no snapshot")
        from auditor.command_files import handed_over, transaction

        # A host that fails part way (its HTML, its record) leaves none of its files; a worker
        # process hands the files of a host that succeeds to the command, which keeps or puts them
        # back with its own (a fleet run stopped by SIGTERM leaves no host's evidence).
        in_worker = multiprocessing.parent_process() is not None
        with handed_over(outcome.changes) if in_worker else transaction(kept=outcome.written):
            _evaluate_into(state, host, outcome)
    except LbauditError as exc:
        _failed(outcome, exit_code_of(exc), exc.render(), _refused_as(exc))
    except Exception as exc:  # noqa: BLE001 - a bug on one host must not end the fleet run
        if os.environ.get("LBAUDIT_DEBUG"):
            raise
        _failed(outcome, int(ExitCode.INTERNAL), f"internal error: {type(exc).__name__}: {exc}")
    return outcome


def _failed(outcome: HostOutcome, exit_code: int, error: str, refused_as: str | None = None) -> None:
    """The host could not be judged, for ``error``: no verdict, its JUnit suite one error, and
    nothing of a judgement made before it failed (its files put back, its run not recorded): the
    summary of a host refused as it was recorded named its evidence file, gone, and its counts.
    ``error`` may quote what the host's place holds (a refused key's JSON pointer, its directory's
    file names): a lone surrogate there (the escape \\ud800, a name that is not UTF-8) is written as
    a visible escape, since no UTF-8 writer of the summary, JUnit or overview can write it (the
    whole run ended, exit 70).  And it is cut as every report cuts a host's text
    (:func:`auditor.report._shared.bounded_text`): a snapshot refused for a key of a megabyte quoted
    it whole in the terminal, the summary, the JUnit, the overview and the store's record of the
    host not scanned (and so in every fleet report after)."""
    from auditor.model.base import text_of_host
    from auditor.report._shared import bounded_text

    outcome.exit_code, outcome.error, outcome.verdict = exit_code, bounded_text(text_of_host(error), kept="not shown"), None
    outcome.refused_as = refused_as
    outcome.evidence = outcome.evidence_sha256 = outcome.html = None
    outcome.signed, outcome.run_id = False, None
    outcome.counts, outcome.failing_rules, outcome.controls = {}, [], {}
    outcome.junit = _failed_suite(outcome)


def _evaluate_into(state: _WorkerState, host: HostInput, outcome: HostOutcome) -> None:
    from auditor import pipeline
    from auditor.collect.targets import SnapshotFile
    from auditor.model.base import sha256_hex
    from auditor.model.result import Status
    from auditor.storage.outputs import plan_outputs, signature_of

    job = state.job
    assert host.snapshot is not None
    started = datetime.now(timezone.utc)
    snapshot, collect_ms = pipeline.timed_acquire(
        SnapshotFile(host.snapshot, job.snapshot_pubkey, before_validation=_within_limits(host, job),
                     max_values=job.max_snapshot_records),
        pipeline.plan(state.policy, state.registry))
    outcome.hostname, outcome.machine_id = snapshot.provenance.hostname, snapshot.provenance.machine_id
    outcome.collected_at = _utc_text(snapshot.provenance.collected_at)
    outcome.collection_age = duration_text(started - _utc(snapshot.provenance.collected_at))
    if snapshot.provenance.collected_from == "root":
        # an image's files say what the host would boot with, not what it runs: its listeners,
        # running sysctls and loaded rules are not_applicable there, and the host was "compliant"
        raise InputError(f"{host.snapshot}: its facts were collected from an offline root directory "
                         "(lbaudit collect --root), not from a running host: a fleet judges its hosts as they "
                         "run (judge an image on its own: lbaudit evaluate --snapshot)")
    outcome.host = _host_name(host, snapshot.provenance.hostname)
    if job.expect_hosts and _same_host(outcome.host) not in _expected(job):
        raise _HostRefused(_NOT_EXPECTED_HOST, f"{host.snapshot}: host {outcome.host!r} {_NOT_EXPECTED} "
                           "(--expect-hosts): a snapshot left by an earlier run is not this run's evidence")
    pipeline.check_collection_time(snapshot, started, job.max_age, job.max_age_source)  # a stale host is not judged
    _claim(job, outcome.host, host, snapshot.provenance,
           None if snapshot.provenance.machine_id else snapshot.facts_digest())
    evidence = pipeline.assess(state.policy, snapshot, state.registry, fail_on=job.fail_on, started_at=started,
                               collect_ms=collect_ms, waiver_file=state.waiver_file)
    del snapshot
    path = job.out_dir / f"{outcome.host}.evidence.json"
    page = job.out_dir / f"{outcome.host}.html"
    outputs = ([("evidence", path), ("evidence signature", signature_of(path))]
               + ([("host HTML report", page)] if job.host_html else []))
    for what, output in outputs:
        if output.name in SUMMARY_NAMES:  # written after every host: it would replace this host's file
            raise InputError(f"{host.snapshot}: host {outcome.host!r}: its {what} would be the fleet's {output.name}")
    plan_outputs(outputs, inputs=[("snapshot", host.snapshot), *_run_inputs(state)], force=job.force)
    data = pipeline.write(evidence, path)
    signed = None
    if state.key is not None:
        from auditor.attest.signing import sign_written

        signed = sign_written(path, data, state.key)
        outcome.signed = True
    result = evidence.result
    outcome.exit_code, outcome.verdict = int(result.exit_code), result.verdict.value
    outcome.evidence, outcome.evidence_sha256 = str(path), sha256_hex(data)
    outcome.counts = {s.value: n for s in Status if (n := sum(1 for f in result.findings if f.status == s))}
    outcome.failing_rules = sorted({f.rule_id for f in result.findings if f.status == Status.FAIL})
    outcome.controls = {c.id: bool(c.satisfied) for c in result.controls}
    outcome.junit = _junit_suite(outcome, evidence, data)
    if job.host_html:
        from auditor.report import ReportContext
        from auditor.report.html import render_html
        from auditor.storage.outputs import write_atomic

        context = ReportContext(evidence_bytes=data, evidence_path=path.name,
                                signature_fingerprint=signed.fingerprint if signed is not None else None)
        write_atomic(page, render_html(evidence, context))
        outcome.html = str(page)
    if job.record:
        from auditor.history.store import prepare_run

        prepared = prepare_run(data, evidence, signed.document if signed is not None else None)
        if multiprocessing.parent_process() is not None:
            outcome.prepared_run = prepared  # recorded by the command, with this host's files (_adopted)
        else:
            outcome.run_id = _record(prepared, outcome.host)


def _within_limits(host: HostInput, job: FleetJob) -> Any:
    """What refuses (InputError, the host fails) a parsed snapshot that records more of a kind than
    its limit (auditor.storage.snapshot.SECTION_LIMITS): what a worker's memory grows with as it
    builds the snapshot's models and judges them."""
    from auditor.storage.snapshot import over_limits

    def refuse_over_limits(data: Any) -> None:
        for limit, count, maximum in over_limits(data, dict(job.section_limits)):
            raise InputError(f"{host.snapshot}: records {count:,} {limit.noun}, more than {limit.option} {maximum:,}: "
                             f"not judged (a fleet worker's memory grows with each {limit.one} it judges; judge this "
                             f"host alone with lbaudit evaluate --snapshot, or give a higher {limit.option})")

    return refuse_over_limits


def _record(prepared: Any, host: str) -> int:
    """Record one host's run in the command's store (:data:`_RECORDER`); its id."""
    assert _RECORDER is not None, "evaluate_fleet opens the store"
    if _same_host(host) in _RECORDED:
        raise _HostRefused(_DUPLICATE_HOST, f"host {host!r} {_DUPLICATE}")
    # A fleet run judges each host as it is now: facts collected before those the store already
    # judged for this host (a snapshot kept from an earlier fetch, a known-good file handed over)
    # passed a host its later facts failed, with no age limit to stop it (or within --max-age).
    # The same facts judged again (another policy over the same fetch) are not older.
    # Runs whose facts claim to be collected ahead of this run's clock (recorded before the store
    # refused them) are passed over, and said so: counted, they made every genuine snapshot of the
    # host older than recorded, and the host was refused for ever.
    from auditor.history.store import AHEAD_OF_CLOCK

    _refuse_another_machine(prepared, host)
    found = _RECORDER.newest_collection(host, datetime.now(timezone.utc), prepared.machine_id, prepared.hostname)
    for run_id, collected, why in found.ahead:
        ahead_of = "ahead of this run's clock" if why == AHEAD_OF_CLOCK else "after it was evaluated"
        print(f"lbaudit: warning: host {host!r}: its run {run_id} in the history store claims facts collected at "
              f"{_utc_text(collected)}, {ahead_of}: not taken as its newest facts (retire or prune that run)",
              file=sys.stderr)
    newest = found.newest
    if newest is not None and prepared.collected < newest[1]:
        raise InputError(f"host {host!r}: its facts were collected at {_utc_text(prepared.collected)}, before those "
                         f"of its run {newest[0]} in the history store (collected {_utc_text(newest[1])}): an older "
                         "snapshot is not the host as it is now; not judged or recorded (collect the host again)")
    run_id = int(_RECORDER.record_prepared(prepared, trigger="fleet", inventory_name=host).run_id)
    _RECORDED.add(_same_host(host))
    return run_id


def _refuse_another_machine(prepared: Any, host: str) -> None:
    """Refuse (InputError, the host fails) a snapshot in ``host``'s place that records neither the
    machine id nor the host name of the host's latest recorded run: another machine's facts.  A
    fleet names a host by its directory and lets the host name a snapshot records differ (an
    inventory of addresses or aliases), so nothing else binds what a snapshot says of its own host
    (its signature covers it, but not where it was put) to the host it is judged as: db07's clean
    snapshot in web01's directory passed web01, db07 being no host of the run.  A host reinstalled
    (a new machine id, its name kept) or renamed (its machine id kept) is still itself; one rebuilt
    as another machine is judged once its runs are retired.  A host never recorded binds nothing."""
    assert _RECORDER is not None
    recorded = _RECORDER.recorded_identity(host)
    if recorded is None:
        return
    if prepared.machine_id is not None and prepared.machine_id == recorded.machine_id:
        return
    if _same_host(prepared.hostname) == _same_host(recorded.hostname):
        return

    def machine(machine_id: str | None) -> str:
        return f"machine id {machine_id}" if machine_id else "no machine id"

    raise InputError(
        f"host {host!r}: its snapshot records {machine(prepared.machine_id)} and host name {prepared.hostname!r}, but "
        f"its latest run in the history store (run {recorded.run_id}) records {machine(recorded.machine_id)} and host "
        f"name {recorded.hostname!r}: another machine's facts in this host's place are not its evidence; not judged "
        f"or recorded (collect the host again; if {host} was rebuilt as another machine, retire its runs first: "
        f"lbaudit history retire {recorded.inventory_name})")


# ------------------------------------------------------------------ the run

def default_jobs() -> int:
    """The CPUs this process may run on (its affinity, which a container or taskset narrows)."""
    try:
        return min(max(1, len(os.sched_getaffinity(0))), MAX_JOBS)
    except AttributeError:  # not Linux
        return min(max(1, os.cpu_count() or 1), MAX_JOBS)


def check_job(job: FleetJob) -> None:
    """Everything that would fail every host, refused before any host is evaluated (exit 2)."""
    from auditor.storage.outputs import check_out_dir, plan_outputs

    if not job.snapshots:
        raise InputError("--snapshots: give at least one directory or snapshot file")
    for path in job.snapshots:
        mode = _mode(path)
        if isinstance(mode, OSError) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise InputError(f"{path}: --snapshots: {_not_usable(path)}")
    if job.sign_key is not None:
        from auditor.attest.signing import load_private_key

        load_private_key(job.sign_key)  # an unusable or exposed key is exit 2 before any work
    if job.snapshot_pubkey is not None:
        from auditor.attest.signing import load_public_key

        # Each worker reads it again for its hosts; unusable, it failed every host in turn: a summary
        # of every host failed, their earlier evidence removed from the out dir, and with --record
        # the whole fleet recorded as not scanned, for a misspelt path.
        load_public_key(job.snapshot_pubkey)
    if job.jobs is not None and not 1 <= job.jobs <= MAX_JOBS:
        raise InputError(f"--jobs {job.jobs}: give 1 to {MAX_JOBS:,}")
    for name in job.expect_hosts:
        if not _HOST_NAME.fullmatch(name):
            raise InputError(f"--expect-hosts: {quoted_name(name, 80)} cannot name a host ({_HOST_NAME_RULE})")
    check_out_dir(job.out_dir)
    _refuse_out_dir_among_snapshots(job)
    plan_outputs([("fleet summary", job.out_dir / name) for name in SUMMARY_NAMES],
                 inputs=[("policy", job.policy), ("waivers file", job.waivers), ("signing key", job.sign_key),
                         *_snapshot_files_given(job)],
                 out_dir=job.out_dir, force=job.force)


def _refuse_out_dir_among_snapshots(job: FleetJob) -> None:
    """``--out-dir`` is neither a ``--snapshots`` directory nor inside one, however it is reached
    (a symlink, a bind mount: compared by device and inode up its resolved parents).  Inside one,
    the next run read the out dir (or a directory of it) as a host without a snapshot, a host that
    failed every run (exit 2); as the directory itself, each host's evidence and the fleet summary
    were written among the hosts' snapshots, the fetch layout the next run reads."""
    read: dict[tuple[int, int], Path] = {}
    for path in job.snapshots:
        try:
            found = os.stat(path)
        except OSError:
            continue
        if stat.S_ISDIR(found.st_mode):
            read[(found.st_dev, found.st_ino)] = path
    probe = Path(os.path.realpath(job.out_dir))
    while True:
        try:
            here = os.stat(probe)
            identity: tuple[int, int] | None = (here.st_dev, here.st_ino)
        except OSError:
            identity = None  # the out dir lbaudit will create
        if identity is not None and identity in read:
            where = "is" if probe == Path(os.path.realpath(job.out_dir)) else "is inside"
            raise InputError(f"--out-dir {job.out_dir} {where} the --snapshots directory {read[identity]}: "
                             "the next run would read the evidence and summaries written there among the hosts' "
                             "snapshots (a directory of them as a host without one); write them elsewhere")
        if probe.parent == probe:
            return
        probe = probe.parent


# The most worker processes a run may have (--jobs): each is a copy of the run with the policy and
# the checks loaded, judging a host at a time, so more than the CPUs only wait for them; four times
# the CPUs of a large controller.  (--jobs 2**62 ended the run with exit 70: its window of tasks
# in flight, two a worker, is more than a Python slice may count.)
MAX_JOBS = 1024
HOSTS_PER_TASK = 4  # a few hosts per task: results come back as workers finish, none is held longer


def evaluate_hosts(hosts: list[HostInput]) -> list[HostOutcome]:
    """One task of a worker: a few hosts, each evaluated as :func:`evaluate_host` does.  A worker
    stopped with SIGTERM puts back the files of the hosts it wrote before it dies
    (auditor/cli.py _raise_terminated, auditor.command_files.stop_worker)."""
    return [evaluate_host(host) for host in hosts]


def _lost(host: HostInput, why: str) -> HostOutcome:
    """The outcome of a host whose worker process died under it: not judged, exit 70."""
    outcome = HostOutcome(host=host.name or (host.snapshot.name if host.snapshot else "?"),
                          snapshot=str(host.snapshot) if host.snapshot else None, exit_code=int(ExitCode.INTERNAL),
                          error=f"the worker process evaluating this host ended abnormally ({why}); "
                                "nothing of this host was kept: evaluate it again")
    outcome.junit = _failed_suite(outcome)
    return outcome


def _worker_exits(executor: Any) -> str:
    """How the pool's workers ended, in words ("killed by signal 9"), from their exit codes; the
    SIGTERM the pool itself sends the others once one has died is left out."""
    codes = {p.exitcode for p in list((getattr(executor, "_processes", None) or {}).values())
             if p.exitcode not in (None, 0)}
    codes = (codes - {-signal.SIGTERM}) or codes
    return ", ".join(f"killed by signal {-c}" if c < 0 else f"exit status {c}" for c in sorted(codes)) or "it exited"


WORKER_STOP_SECONDS = 5.0  # for a worker to put back the files of the host it was writing


def _stop_workers(executor: Any, job: FleetJob, *, run_goes_on: bool = False) -> None:
    """Stop the pool's workers and let the pool go without waiting for their tasks: STOP_WITH_THE_RUN,
    which a worker answers by putting back the files of the host it was writing and of those it
    handed over, and exiting (SIGTERM when ``run_goes_on``: the hosts it handed over stay), then
    SIGKILL for any still there after WORKER_STOP_SECONDS.  ``shutdown(wait=True)`` would wait for every
    host in flight, and Pool.terminate() (what this replaced) could wait for ever on a lock a killed
    worker held."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    if not run_goes_on and job.claims is not None and any(p.exitcode is None for p in processes):
        try:
            (job.claims / RUN_STOPPING).touch()  # for a worker stopped by the same signal (_stop_when_the_run_says)
        except OSError:
            pass
    for process in processes:
        try:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGTERM if run_goes_on else STOP_WITH_THE_RUN)
        except (OSError, ValueError):  # already gone, or already closed by the pool
            pass
    deadline = time.monotonic() + WORKER_STOP_SECONDS
    for process in processes:
        try:
            process.join(max(deadline - time.monotonic(), 0.0))
            if process.is_alive():
                process.kill()
        except (OSError, ValueError):
            pass
    if processes:
        _end_result_reader(executor)
    manager = getattr(executor, "_executor_manager_thread", None)  # shutdown() lets go of it
    executor.shutdown(wait=False, cancel_futures=True)
    # Its workers gone, the pool's manager thread ends: waited for (bounded), so that it has closed its
    # wake-up pipe before the interpreter's exit wakes it (concurrent.futures' _python_exit).  A wake-up
    # written while the thread closed that pipe (a race of CPython 3.11's _ThreadWakeup) printed
    # "Exception ignored ... OSError: [Errno 9] Bad file descriptor" after "terminated by SIGHUP".
    if manager is not None and manager is not threading.current_thread():
        manager.join(WORKER_STOP_SECONDS)


def _end_result_reader(executor: Any) -> None:
    """Let the pool's result reader end once its workers are gone.  A worker stopped (or killed)
    while it sent its task's result (hosts' outcomes and prepared runs, more than a pipe holds) left
    half a message in the result pipe; the pool's thread reading it waited for the rest for ever,
    and the interpreter, joining that thread at exit, never ended: "terminated" printed, the process
    still there.  The command holds the pipe's other end too, so closing it is the end of file the
    reader needs (it then takes the pool for broken and ends)."""
    writer = getattr(getattr(executor, "_result_queue", None), "_writer", None)
    if writer is not None:
        try:
            writer.close()
        except OSError:
            pass


def _pool(job: FleetJob, jobs: int) -> Any:
    from concurrent.futures import ProcessPoolExecutor

    # fork where there is one: the workers inherit the loaded policy and checks (no re-import)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() and sys.platform == "linux" else "spawn"
    _keep_manager_failures()
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method), initializer=_init_worker,
                               initargs=(job,))


def _remove_leftovers(out_dir: Path, host: str) -> None:
    """The temporary files and previous versions a worker killed while writing ``host``'s files
    left beside them (``.NAME.RANDOM.tmp``, ``.NAME.RANDOM.previous``, see command_files.at_free_name):
    the run holds the out dir, so nobody else's are there."""
    if not _HOST_NAME.fullmatch(host):
        return
    from auditor.command_files import hidden_stem

    for name in (f"{host}.evidence.json", f"{host}.evidence.json.sig", f"{host}.html"):
        for suffix in ("tmp", "previous"):
            stem = hidden_stem(name, suffix)
            for leftover in out_dir.glob(f".{stem}.*.{suffix}"):
                if re.fullmatch(r"[0-9a-f]{12}", leftover.name[len(stem) + 2:-len(suffix) - 1]):
                    try:
                        leftover.unlink()
                    except OSError:
                        pass


def _adopted(outcomes: Iterable[HostOutcome]) -> Iterator[HostOutcome]:
    """The outcomes of hosts a worker process evaluated, their runs recorded in the command's store
    and their files made this command's (auditor.command_files.adopt): kept or put back, and
    committed or rolled back, with its own, so a fleet run stopped part way leaves no host's
    evidence and no host's record.  A host whose run cannot be recorded (a clock set back since its
    last run) fails, its files put back, as it would have in the worker."""
    from auditor.command_files import adopt, put_back

    for outcome in outcomes:
        prepared, outcome.prepared_run = outcome.prepared_run, None
        if prepared is not None:
            try:
                outcome.run_id = _record(prepared, outcome.host)
            except LbauditError as exc:
                put_back(outcome.changes)
                outcome.changes = []
                _failed(outcome, exit_code_of(exc), exc.render(), _refused_as(exc))
        adopt(outcome.changes)
        outcome.written, outcome.changes = outcome.changes, []
        yield outcome


# A worker killed while it sends its task's result (more than a pipe holds) leaves half a message
# in the result pipe, and the pool's manager thread, reading it, waits for the rest for ever: it
# never sees the worker gone, and the run waited for that task for ever (test_a_worker_killed_mid_
# host..., about once in twenty runs under load).  The run watches the workers itself: one that has
# exited while the pool is not broken after a grace period (the manager notices in milliseconds
# when it can) is taken as the pool broken, and the workers are stopped, which ends the reader.
WORKER_WATCH_SECONDS = 0.5
WORKER_DEATH_GRACE_SECONDS = 2.0


# The pool's manager thread (which feeds the workers their tasks and reads their results) dead of an
# exception: under ulimit -v it could not start the thread that writes the task queue ("can't start
# new thread"), and the run waited for ever on workers that were never given their task.  What
# killed it is kept here (threading.excepthook) and raised in the run: exit 71, naming the limit.
_MANAGER_FAILURES: dict[threading.Thread, BaseException] = {}


def _keep_manager_failures() -> None:
    previous = threading.excepthook
    if getattr(previous, "keeps_manager_failures", False):
        return

    def keep(args: Any) -> None:
        if type(args.thread).__name__ == "_ExecutorManagerThread" and args.exc_value is not None:
            _MANAGER_FAILURES[args.thread] = args.exc_value  # raised by the run (_DeathWatch), not printed
            return
        previous(args)

    keep.keeps_manager_failures = True  # type: ignore[attr-defined]
    threading.excepthook = keep


class _DeathWatch:
    """Whether a worker of ``executor`` has exited unnoticed for longer than the grace period, or its
    manager thread has ended (what killed it is raised)."""

    def __init__(self, executor: Any) -> None:
        self._executor = executor
        self._seen_dead: float | None = None

    def broken(self) -> bool:
        manager = getattr(self._executor, "_executor_manager_thread", None)
        manager_ended = manager is not None and not manager.is_alive()
        if manager_ended and manager in _MANAGER_FAILURES:
            raise _MANAGER_FAILURES.pop(manager)
        processes = list((getattr(self._executor, "_processes", None) or {}).values())
        if not manager_ended and not any(process.exitcode is not None for process in processes):
            self._seen_dead = None
            return False
        now = time.monotonic()
        if self._seen_dead is None:
            self._seen_dead = now
        return now - self._seen_dead >= WORKER_DEATH_GRACE_SECONDS


def _result_or_broken(executor: Any, future: Any) -> Any:
    """``future.result()``, or BrokenProcessPool when its worker died unnoticed (:class:`_DeathWatch`)."""
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    watch = _DeathWatch(executor)
    while True:
        try:
            return future.result(timeout=WORKER_WATCH_SECONDS)
        except FutureTimeout:
            if watch.broken():
                raise BrokenProcessPool("a worker exited and the pool did not notice") from None


def _submitted(executor: Any, in_flight: dict[Any, list[HostInput]], task: list[HostInput]) -> list[HostInput]:
    """Submit ``task`` to ``executor`` and add it to ``in_flight``; the hosts that are lost: ``task``
    itself when the pool broke before it could be submitted, and none otherwise."""
    from concurrent.futures.process import BrokenProcessPool

    # A worker can die between the wait that returned and this submit (the pool breaks while the
    # run writes a finished task's hosts); submit then raises, and the task was never started.
    try:
        in_flight[executor.submit(evaluate_hosts, task)] = task
    except BrokenProcessPool:
        return list(task)
    return []


def _one_by_one(job: FleetJob, hosts: list[HostInput]) -> Iterator[HostOutcome]:
    """Hosts whose worker died under them, each again alone in a worker: one that kills its worker
    again fails by itself (exit 70), the others of its task are judged."""
    from concurrent.futures.process import BrokenProcessPool

    executor = None
    try:
        for host in hosts:
            executor = executor or _pool(job, 1)
            try:
                outcomes = _result_or_broken(executor, executor.submit(evaluate_hosts, [host]))
            except BrokenProcessPool:
                outcomes = [_lost(host, _worker_exits(executor))]
                _stop_workers(executor, job, run_goes_on=True)
                executor = None
            for outcome in outcomes:
                _remove_leftovers(job.out_dir, outcome.host)
            yield from outcomes
        if executor is not None:
            # every host done: the worker is let go and waited for; stopping it would have it put
            # back the hosts it handed over, which the run keeps
            executor.shutdown(wait=True)
    finally:
        if executor is not None:
            _stop_workers(executor, job)  # an error or an interruption part way (a no-op after shutdown)


def _outcomes(job: FleetJob, hosts: Iterator[HostInput]) -> Iterator[HostOutcome]:
    jobs = job.jobs or default_jobs()
    if jobs == 1:
        _init_worker(job)
        for host in hosts:
            yield evaluate_host(host)
        return
    from concurrent.futures import FIRST_COMPLETED, Future, wait
    from concurrent.futures.process import BrokenProcessPool

    tasks = iter(lambda: list(itertools.islice(hosts, HOSTS_PER_TASK)), [])
    # A worker that dies mid-task (the OOM killer, a kill -9, a crash in a C library) lost its task
    # with multiprocessing.Pool: the run then waited for that task's result for ever.  The executor
    # breaks instead: the hosts of every task in flight are evaluated again one by one, each alone
    # in a worker (the one that kills its worker again fails, exit 70, saying how it ended), and a
    # new pool goes on with the hosts not yet started.
    while True:
        window = list(itertools.islice(tasks, 2 * jobs))  # a bounded window: hosts stay streamed
        if not window:
            return
        # No more workers than the tasks at hand: the pool forks every worker it may have at once,
        # so --jobs 5000 over a fleet of three hosts forked 5,000 copies of the run (the CPUs'
        # count is the default; a --jobs far above it is taken at its word, up to the hosts).
        executor = _pool(job, min(jobs, len(window)))
        in_flight: dict[Future[list[HostOutcome]], list[HostInput]] = {}
        lost: list[HostInput] = []
        try:
            for number, task in enumerate(window):
                lost += _submitted(executor, in_flight, task)
                if lost:  # the pool broke: the tasks of the window not submitted are evaluated alone
                    lost += [host for rest in window[number + 1:] for host in rest]
                    break
            watch = _DeathWatch(executor)
            while in_flight and not lost:
                done, _ = wait(in_flight, timeout=WORKER_WATCH_SECONDS, return_when=FIRST_COMPLETED)
                if not done and watch.broken():
                    lost = [host for task in in_flight.values() for host in task]
                    in_flight.clear()
                    break
                for future in done:
                    task = in_flight.pop(future)
                    try:
                        yield from _adopted(future.result())
                    except BrokenProcessPool:
                        lost += task
                if not lost:
                    for task in itertools.islice(tasks, len(done)):
                        lost += _submitted(executor, in_flight, task)
                        if lost:
                            break
            if not lost:
                executor.shutdown(wait=True)  # every host done: the workers are let go and waited for
                return
        finally:
            # an error or an interruption: stop what is left; a broken pool: stop the live workers
            # and go on (the hosts of the tasks in flight are evaluated again below)
            _stop_workers(executor, job, run_goes_on=bool(lost))
        for task in in_flight.values():
            lost += task
        yield from _adopted(_one_by_one(job, lost))


def evaluate_fleet(job: FleetJob) -> FleetSummary:
    """Evaluate every host under ``job.snapshots``; write the per-host evidence and the summaries."""
    import shutil
    import tempfile
    from dataclasses import replace

    check_job(job)
    claims = Path(tempfile.mkdtemp(prefix="lbaudit-fleet-hosts-"))
    try:
        return _evaluate_fleet(replace(job, claims=claims))
    finally:
        shutil.rmtree(claims, ignore_errors=True)


def _evaluate_fleet(job: FleetJob) -> FleetSummary:
    global _STATE, _RECORDER
    from dataclasses import replace

    _STATE = _load_state(job)  # a bad policy is exit 2 for the whole run, before any host
    _plan_summary(_STATE)
    # (before the store: a run that ends here creates nothing, not even an empty store)
    hosts = discover(job.snapshots)
    first = next(hosts, None)
    if first is not None:
        hosts = itertools.chain([first], hosts)
    elif not job.expect_hosts:
        # No host at all is no evidence of any: "0 hosts, exit 0" would pass a fleet whose fetch failed.
        # With --expect-hosts the run knows its hosts, and its summary says each was not scanned (exit
        # 2): refused, the run wrote nothing, and when every host of the Ansible play was unreachable
        # an earlier run's summary stayed in the out dir as this one's.
        raise InputError(f"{', '.join(map(str, job.snapshots))}: --snapshots: no host found (expected "
                         f"*{SNAPSHOT_SUFFIX} files, or one directory per host holding one)")
    if job.record:
        from auditor.history import open_store

        _RECORDER = open_store(job.store)  # created and migrated once, before any host
        _RECORDED.clear()
        try:
            job = replace(job, store_files=tuple(_RECORDER.files))
            _STATE = replace(_STATE, job=job)
            _plan_summary(_STATE)  # the store's files are inputs now
            # Its write lock held from here until the command ends (another recorder waits up to the
            # busy timeout, then exit 75), as evaluate --record holds it until its summary is out.
            _RECORDER.hold_until_command_ends()
        except BaseException:
            _RECORDER.close()
            _RECORDER = None
            raise
    try:
        return _evaluate_hosts_into_summary(job, hosts)
    finally:
        if _RECORDER is not None:
            _RECORDER.close()  # a record still pending closes when committed or rolled back with the files
            _RECORDER = None


def _plan_summary(state: _WorkerState) -> None:
    """The fleet summary's files checked against every input of the run, as each host's files are
    (_run_inputs): check_job, before the policy is read, knew only the file given, and with --force
    the summary replaced a file the policy extends."""
    from auditor.storage.outputs import plan_outputs

    job = state.job
    plan_outputs([("fleet summary", job.out_dir / name) for name in SUMMARY_NAMES], inputs=_run_inputs(state),
                 out_dir=job.out_dir, force=job.force)


def _evaluate_hosts_into_summary(job: FleetJob, hosts: Iterator[HostInput]) -> FleetSummary:
    import tempfile

    from auditor.storage.outputs import make_out_dir

    make_out_dir(job.out_dir)
    # The hosts' JUnit suites until the fleet JUnit is written (_spool_junit): a file without a name
    # (O_TMPFILE) on the out dir's file system, where the evidence and that JUnit go, so none is
    # left behind whatever stops the run, and none takes memory as a tmpfs /tmp would.
    try:
        spool = tempfile.TemporaryFile(dir=job.out_dir, prefix=".lbaudit-fleet-junit-")
    except OSError as exc:
        raise InputError(f"{job.out_dir}: cannot keep the hosts' JUnit suites there: {exc.strerror or exc}") from exc
    try:
        return _judged_into_summary(job, hosts, spool)
    finally:
        try:
            spool.close()
        except OSError:
            # What it still buffered could not be flushed (the disk is full): the file has no name
            # and its descriptor is closed all the same, and the error that ended the run (or the
            # summary it gave) is the one to tell, not this flush's.
            pass


def _judged_into_summary(job: FleetJob, hosts: Iterator[HostInput], spool: Any) -> FleetSummary:
    assert _STATE is not None
    started = datetime.now(timezone.utc)
    outcomes = []
    for outcome in _outcomes(job, hosts):
        _spool_junit(outcome, spool, job.out_dir)
        outcomes.append(outcome)
    named: dict[str, list[HostOutcome]] = {}
    for outcome in outcomes:
        named.setdefault(_same_host(outcome.host), []).append(outcome)
    # newest first: a later host's files were written over an earlier one's (the same file reached
    # twice), and putting them back restores the earlier, which is put back next
    for outcome in reversed(outcomes):
        claimants = named[_same_host(outcome.host)]
        if len(claimants) > 1 and (outcome.error is None or outcome.refused_as == _DUPLICATE_HOST):
            # two snapshots claim one name: which of them is the host's cannot be told, so neither
            # stands (the first to claim the name was evaluated, the others were refused: _claim),
            # and nothing of the one evaluated is kept or recorded
            _withdraw(outcome)
            spellings = sorted({o.host for o in claimants})
            outcome.exit_code = int(ExitCode.USAGE)
            outcome.error = f"host {outcome.host!r} appears {len(claimants)} times" + (
                f" (as {', '.join(map(repr, spellings))})" if len(spellings) > 1 else "")
            outcome.verdict = None  # not judged, as every host with a reason
            outcome.refused_as = _DUPLICATE_HOST
    _withdraw_other_hosts_facts(outcomes, job.expect_hosts)
    found = {_same_host(o.host) for o in outcomes}
    for host, name in _expected(job).items():
        if host not in found:  # unreachable, failed before its fetch, or not in --snapshots at all
            missing = HostOutcome(host=name, snapshot=None, exit_code=int(ExitCode.USAGE), error=(
                f"host {name!r} is expected (--expect-hosts) but no snapshot of it was found under "
                f"{', '.join(map(str, job.snapshots))}: it was not scanned in this run"))
            missing.junit = _failed_suite(missing)
            outcomes.append(missing)
    outcomes.sort(key=lambda o: o.host)
    from auditor.engine.evidence import policy_digest

    policy = _STATE.policy
    if _RECORDER is not None:
        _record_missed(outcomes, policy.id, started)
    _remove_earlier_files(outcomes, job.out_dir)
    summary = FleetSummary(started_at=started, finished_at=datetime.now(timezone.utc), policy_id=policy.id,
                           policy_version=policy.version, hosts=outcomes, policy_sha256=policy_digest(policy),
                           junit_spool=spool, warnings=list(_STATE.warnings))
    write_summary(summary, job.out_dir)
    summary.junit_spool = None  # it goes with the run: the suites are in the fleet JUnit
    for outcome in outcomes:
        outcome.junit_spooled = None
    return summary


def _withdraw_other_hosts_facts(outcomes: list[HostOutcome], expected: tuple[str, ...]) -> None:
    """Fail each host judged from a snapshot that records, as its host name, another host of this
    run (another host's directory or file, or a name of --expect-hosts).  A host name other than the
    inventory's is common (an inventory of addresses or aliases) and refuses nothing; another host's
    name is that host's facts in this host's place (a fetch that went to the wrong place, a
    known-good file handed over): a different collection than the other host's own, so not refused
    as one collection under two names (_claim), it was judged and recorded as this host's.  Checked
    once every host is back: a worker sees only the hosts claimed before its own.

    A name is another host's when it names that host by its short name or its fully qualified one
    (:func:`_names_of`): compared whole, web01's snapshot in web02.example.com's place (an inventory
    of FQDNs, targets whose host name is the short name, or the reverse) named no host of the run
    and was judged as web02's.  A snapshot whose name so names its own host is its host's, unless
    the name is another host's whole (web01 recorded in web01.example.com's place beside web01's own:
    two inventory names of one machine, refused as before)."""
    hosts = {_same_host(o.host) for o in outcomes} | {_same_host(name) for name in expected}
    # each name's label prefixes (web01 of web01.example.com), with the hosts they begin
    begun: dict[str, set[str]] = {}
    for host in hosts:
        for prefix in (p for p in _names_of(host) if p != host):
            begun.setdefault(prefix, set()).add(host)
    for outcome in reversed(outcomes):  # newest first, as _withdraw puts files back
        recorded = outcome.hostname
        if outcome.error is not None or recorded is None:
            continue
        own, name = _same_host(outcome.host), _same_host(recorded)
        if name == own:
            continue
        # another host's very name; else a host its short or full name names, none of them its own
        named = {prefix for prefix in _names_of(name) if prefix in hosts} | begun.get(name, set())
        if name not in hosts and (not named or own in named):
            continue
        _withdraw(outcome)
        _failed(outcome, int(ExitCode.USAGE), (
            f"{outcome.snapshot}: host {outcome.host!r}: its snapshot records the host name {recorded!r}, another host "
            "of this fleet: one host's facts are not another's evidence, so it was not kept or recorded (collect "
            "each host on that host)"))


def _names_of(name: str) -> list[str]:
    """``name`` and the names it has with its last labels taken off, shortest first: web01,
    web01.example, web01.example.com.  A host's short name and its fully qualified one name it.
    Only those an inventory name may be (at most MAX_HOST_NAME characters): a snapshot's host name
    is the target's word, and one of a megabyte of dots had a million prefixes of up to a megabyte."""
    names = []
    end = name.find(".")
    while 0 <= end <= MAX_HOST_NAME:
        names.append(name[:end])
        end = name.find(".", end + 1)
    return names + ([name] if len(name) <= MAX_HOST_NAME else [])


def _record_missed(outcomes: list[HostOutcome], policy_id: str, started: datetime) -> None:
    """Record in the store each host of this run that could not be judged, with its reason: the
    store held only the runs of hosts judged, so ``fleet report`` showed an unreachable host (or one
    whose snapshot failed) by its last judged run, compliant, for up to --stale-days.  Only hosts
    named as the fleet names them (their directory, --expect-hosts, their snapshot's host name); not
    a file that never said which host it is, nor a host this run does not expect."""
    assert _RECORDER is not None
    for outcome in outcomes:
        if outcome.error is None or outcome.run_id is not None or not _HOST_NAME.fullmatch(outcome.host):
            continue
        if outcome.refused_as == _NOT_EXPECTED_HOST or (outcome.snapshot is not None
                                              and outcome.host == Path(outcome.snapshot).name):
            continue
        _RECORDER.record_missed(outcome.host, policy_id, started, outcome.exit_code, outcome.error)


def _remove_earlier_files(outcomes: list[HostOutcome], out_dir: Path) -> None:
    """Remove from the out dir the files an earlier run wrote for each host this run could not judge
    (with the run: put back if it fails).  They stayed beside this run's summary, which says the host
    was not scanned, and whoever opened the out dir (or archived its ``*.evidence.json``) took the
    earlier evidence for this run's.  Only lbaudit's own output of each kind is removed."""
    from auditor.storage.outputs import recognised, remove_file, signature_of

    for outcome in outcomes:
        if outcome.error is None or not _HOST_NAME.fullmatch(outcome.host):
            continue
        evidence = out_dir / f"{outcome.host}.evidence.json"
        for role, path in (("evidence", evidence), ("evidence signature", signature_of(evidence)),
                           ("host HTML report", out_dir / f"{outcome.host}.html")):
            if path.is_file() and not path.is_symlink() and recognised(path, role):
                remove_file(path, f"{role} of an earlier run")


def _withdraw(outcome: HostOutcome) -> None:
    """Take back what this run wrote and recorded for ``outcome``'s host: another snapshot named the
    same host after this one was judged.  Its evidence, signature and page were kept and its run
    recorded, so the store said the host was judged (compliant, perhaps) by whichever snapshot
    claimed the name first (with --jobs, by chance) while the summary said neither stands; the
    other snapshot, perhaps the failing one, was silently dropped."""
    from auditor.command_files import put_back

    put_back(outcome.written)
    outcome.written = []
    if outcome.run_id is not None and _RECORDER is not None:
        _RECORDER.withdraw(outcome.run_id)
    outcome.run_id = None
    outcome.evidence = outcome.evidence_sha256 = outcome.html = None
    outcome.signed = False
    outcome.counts, outcome.failing_rules, outcome.controls = {}, [], {}


def _spool_junit(outcome: HostOutcome, spool: Any, out_dir: Path) -> None:
    """Keep the JUnit suite of a host that is back at the end of ``spool``, not in memory: every
    host's suite was held until the fleet JUnit was written, and then all of them parsed at once,
    about 48 MB of the command's memory a host at --max-listeners (a fleet of such hosts took the
    controller's memory, whatever the workers' limits)."""
    if not outcome.junit:
        return
    data = outcome.junit.encode("utf-8")
    try:
        offset = spool.seek(0, os.SEEK_END)
        spool.write(data)
        spool.flush()  # a full disk is met here, for this host, not at some later seek
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot keep the JUnit suite of host {outcome.host!r} there: "
                         f"{exc.strerror or exc}") from exc
    outcome.junit_spooled, outcome.junit = (offset, len(data)), ""


_FAILED_SUITE_COUNTS = (1, 0, 1)  # tests, failures, errors of _failed_suite


def _suite_of(host: HostOutcome, spool: Any) -> str:
    """The host's suite in the fleet JUnit (``spool``: where _spool_junit kept it)."""
    if host.error is not None:
        return _failed_suite(host)
    if host.junit_spooled is not None:
        offset, length = host.junit_spooled
        spool.seek(offset)
        return str(spool.read(length).decode("utf-8"))
    return host.junit


def fleet_junit(summary: FleetSummary) -> Iterator[bytes]:
    """One ``testsuite`` per host (its JUnit report, renamed to the host), under one ``testsuites``,
    host by host: each host's suite is read, written and let go (see _spool_junit)."""
    from auditor.report.junit import plain_xml, xml_document

    totals = [0, 0, 0]
    for host in summary.hosts:
        counts = _FAILED_SUITE_COUNTS if host.error is not None else host.junit_counts
        totals = [total + count for total, count in zip(totals, counts)]
    duration = (summary.finished_at - summary.started_at).total_seconds()
    root = ET.Element("testsuites", {
        "name": f"lbaudit fleet {summary.policy_id}", "time": f"{max(duration, 0.0):.3f}",
        "tests": str(totals[0]), "failures": str(totals[1]), "errors": str(totals[2]),
    })
    if not summary.hosts:
        yield xml_document(root)
        return
    # the document xml_document wrote of them all (indented, every text plain), a suite at a time
    root.text = "\n  "  # not empty: written as an opening tag
    opening = ET.tostring(plain_xml(root), encoding="unicode")
    yield ('<?xml version="1.0" encoding="UTF-8"?>\n' + opening[:opening.index(">") + 1]).encode("utf-8")
    for host in summary.hosts:
        yield ("\n  " + _suite_of(host, summary.junit_spool)).encode("utf-8")
    yield b"\n</testsuites>\n"


def write_summary(summary: FleetSummary, out_dir: Path) -> list[Path]:
    """The summary JSON (the record), the fleet JUnit, and the HTML overview rendered from that JSON's
    bytes as written (what the page says is what the record says, never a second evaluation)."""
    from auditor.report.fleet_html import render_fleet_html
    from auditor.storage.outputs import write_atomic

    record = (json.dumps(summary.as_dict(), indent=2, sort_keys=True) + "\n").encode()
    written = []
    for name, data in ((SUMMARY_JSON, record), (SUMMARY_JUNIT, None),
                       (SUMMARY_HTML, render_fleet_html(json.loads(record), links_from=out_dir))):
        write_atomic(out_dir / name, fleet_junit(summary) if data is None else data)
        written.append(out_dir / name)
    return written


# ------------------------------------------------------------------ the fleet from the history store

def _host_of(run: dict[str, Any]) -> str:
    return run["host"]["inventory_name"] or run["host"]["hostname"]


# A host's place in hosts_by_verdict is its worst latest verdict over the policies it is judged by;
# a compliant run older than --stale-days says nothing about the host now ("stale"), nor does a
# latest run that was pruned ("pruned"; "stale" as well once older than --stale-days).
_STALE = "stale"
_PRUNED = "pruned"
# A host a fleet run expected and could not judge after its latest run is "not_scanned": no verdict
# of its own in that run, so no better than a pruned one, and worse than a host judged incomplete.
_NOT_SCANNED = "not_scanned"
_VERDICT_RANK = {"compliant": 0, _STALE: 1, _PRUNED: 2, _NOT_SCANNED: 3, "incomplete": 4, "non_compliant": 5}


def _utc(moment: datetime) -> datetime:
    """A recorded moment in UTC (a naive one is UTC, as the evidence model reads it)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _identity_of(run: dict[str, Any]) -> str:
    """What makes runs one host's, as the store keys them (:func:`host_key`): two machines that
    both call themselves ``localhost`` are two hosts, each with its own latest run."""
    from auditor.history.store import host_key

    host = run["host"]
    return host_key(host["machine_id"], host["hostname"], host["inventory_name"])


def _names(identities: set[str], runs: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Each host's name in the report, one per host: its inventory or host name, with its machine id
    beside it when another host of the store goes by the same name (else the two rows read as one
    host).  Hosts still named alike (one machine keyed by its inventory name in a fleet run and by
    its machine id in an ``evaluate --record``, or two hosts without a machine id) are named with
    the key the store gives them: the report's rows are keyed by name, and one of the two vanished
    from it, its newest run (a failure) hidden behind the other's compliant one."""
    plain = {identity: _host_of(runs[identity]) for identity in identities}
    taken = Counter(plain.values())
    named = {identity: name if taken[name] == 1 or not runs[identity]["host"]["machine_id"]
             else f"{name} (machine-id {runs[identity]['host']['machine_id']})"
             for identity, name in plain.items()}
    alike = Counter(named.values())
    named = {identity: name if alike[name] == 1 else f"{plain[identity]} ({identity})"
             for identity, name in named.items()}
    # A host name may itself read "web01 (machine-id:...)": whatever still collides is numbered, in
    # the order of the store's keys.
    alike = Counter(named.values())
    seen: Counter[str] = Counter()
    for identity in sorted(named):
        name = named[identity]
        if alike[name] > 1:
            seen[name] += 1
            named[identity] = f"{name} #{seen[name]}"
    return named


def _started(run: dict[str, Any]) -> datetime:
    """When a run (or a pruned run's link) started, as a moment (its text drops zero microseconds)."""
    return _utc(datetime.fromisoformat(run["started_at"].replace("Z", "+00:00")))


def _finished(run: dict[str, Any]) -> datetime:
    """When a run finished, as a moment."""
    return _utc(datetime.fromisoformat(run["finished_at"].replace("Z", "+00:00")))


def _latest_runs(store: Any, policy: str | None, moment: datetime
                 ) -> tuple[dict[tuple[str, str], list[dict[str, Any]]], list[tuple[tuple[str, str], dict[str, Any]]]]:
    """Each host's (and policy's) two latest runs, newest first, and the runs passed over as dated
    ahead (auditor.history.store.run_dated_ahead, the rule of every choice of a latest run): started,
    or over facts collected, more than the store's FUTURE_TOLERANCE after ``moment``, or over facts
    collected after they were evaluated.  Recorded before the store refused such runs (an edited file
    imported: facts of year 2999), one sorted first, or was taken as the later scan, and stood as its
    host's latest run, its verdict the host's for ever, whatever the host's genuine runs said since;
    the fleet's replay check passes them over too (HistoryStore.newest_collection).  Each host's runs
    are read no further than its two latest that stand (HistoryStore.standing_runs)."""
    standing, passed_over = store.standing_runs(policy=policy, now=moment, count=2)
    latest = {(_identity_of(runs[0]), runs[0]["policy"]["id"]): runs for runs in standing if runs}
    ahead = [((_identity_of(run), run["policy"]["id"]), run) for run in passed_over]
    return latest, ahead


def fleet_report(store: Any, *, policy: str | None = None, stale_days: int = 7, top: int = 10,
                 now: datetime | None = None) -> dict[str, Any]:
    """The fleet as the history store knows it, from each host's latest run (per policy): hosts by
    verdict, the rules failing on most hosts, controls by the share of hosts that satisfy them,
    hosts that regressed since their previous run, and hosts not scanned for ``stale_days`` days."""
    from datetime import timedelta

    from auditor.analysis.diff import diff_scans, reversed_order
    from auditor.report._shared import MAX_REPORT_TEXT_CHARS, bounded_text

    # A reason the fleet run cut as it recorded it (_failed) is not cut again: its marker is room
    # beyond the bound.  One recorded whole (an older lbaudit, an export imported) is cut here.
    RECORDED_REASON_CHARS = MAX_REPORT_TEXT_CHARS + 128
    moment = _utc(now or datetime.now(timezone.utc))
    by_identity, ahead = _latest_runs(store, policy, moment)
    # A pruned run leaves its link: a host whose every run was pruned (or whose latest was) is
    # still a host of the fleet, not scanned since that run, never one that silently ages out.
    gone: dict[tuple[str, str], dict[str, Any]] = {}
    for link in store.newest_pruned(policy=policy, now=moment):
        chain = (_identity_of(link), link["policy"])
        if link["dated_ahead"] is not None:  # passed over as a run dated ahead is
            ahead.append((chain, _ahead_entry(link, "pruned_run", link["run_id"])))
            continue
        runs = by_identity.get(chain)
        if not runs or _started(link) > _started(runs[0]):
            gone[chain] = link
            by_identity.pop(chain, None)  # its runs still held are not its latest: not its verdict now
    # A host a fleet run expected and could not judge after its latest run (or pruned link) ran
    # (unreachable, its snapshot refused: auditor.history.store.HistoryStore.record_missed) is not
    # scanned now: its last judged run, compliant perhaps, is context in its reason, never its verdict.
    missed: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any] | None]] = {}
    for miss in store.newest_missed(policy=policy, now=moment):
        chain = (_identity_of(miss), miss["policy"])
        if miss["dated_ahead"] is not None:
            ahead.append((chain, _ahead_entry(miss, "missed_scan", None)))
            continue
        runs, link = by_identity.get(chain), gone.get(chain)
        latest = max([_started(entry) for entry in [*(runs[:1] if runs else []), *([link] if link else [])]],
                     default=None)
        if latest is not None and latest >= _started(miss):
            continue  # judged again since
        missed[chain] = (miss, runs[0] if runs else link)
        by_identity.pop(chain, None)
        gone.pop(chain, None)
    # A host retired (history retire) is out of the fleet until it records a run again (or a fleet
    # run expects it again): neither stale nor pruned, only listed as retired.
    retired = []
    retired_chains: set[tuple[str, str]] = set()
    for retirement in store.retired(policy=policy):
        chain = (_identity_of(retirement), retirement["policy"])
        if chain in missed and _started(missed[chain][0]) > _started({"started_at": retirement["retired_at"]}):
            continue  # expected by a fleet run since it was retired: back in the fleet, not scanned
        retired.append(retirement)
        retired_chains.add(chain)
        by_identity.pop(chain, None)
        gone.pop(chain, None)
        missed.pop(chain, None)
    # A host whose every run is dated ahead has no run to stand for it now: not scanned, never left
    # out of the fleet (nor judged by a run that claims year 2999).
    only_ahead: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for chain, run in ahead:
        if chain not in by_identity and chain not in gone and chain not in missed and chain not in retired_chains:
            only_ahead.setdefault(chain, []).append(run)
    names = _names({identity for identity, _ in [*by_identity, *gone, *missed, *only_ahead]},
                   {**{identity: runs[0] for (identity, _), runs in only_ahead.items()},
                    **{identity: miss for (identity, _), (miss, _) in missed.items()},
                    **{identity: link for (identity, _), link in gone.items()},
                    **{identity: runs[0] for (identity, _), runs in by_identity.items()}})
    latest = {(names[identity], policy_id): runs for (identity, policy_id), runs in by_identity.items()}
    verdicts: dict[str, str] = {}  # host -> its worst latest verdict over its policies ("stale" when old)
    failing_rules: dict[str, set[str]] = {}  # host -> rules failing in any of its latest runs
    satisfied: dict[str, dict[str, bool]] = {}  # host -> control -> satisfied in every latest run judging it
    regressed: list[dict[str, Any]] = []
    stale: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for (host, policy_id), runs in sorted(latest.items()):
        last = runs[0]
        evidence, _ = store.run_evidence(last["id"])
        previous = None
        if len(runs) == 2:
            previous, _ = store.run_evidence(runs[1]["id"])
            if reversed_order(previous, evidence):
                # The run evaluated last judged older facts (a backfill, a new policy over an old
                # snapshot): the host as it is now is the other run's, and the diff goes that way.
                runs = [runs[1], runs[0]]
                last, evidence, previous = runs[0], previous, evidence
        # The verdict, exit code and counts from the run's evidence (checked against its findings when
        # read), not from the run's row: a row edited in the database (`history verify` calls it a
        # record_mismatch) would otherwise show a non-compliant host as compliant.
        recorded = evidence.result.verdict.value
        # Stale by when its facts were collected: a month-old snapshot evaluated today is a month old.
        started = _started(last)
        seen = min(started, _utc(evidence.snapshot.provenance.collected_at))
        old = moment - seen > timedelta(days=stale_days)
        verdict = _STALE if old and recorded == "compliant" else recorded
        if _VERDICT_RANK.get(verdict, len(_VERDICT_RANK)) > _VERDICT_RANK.get(verdicts.get(host, ""), -1):
            verdicts[host] = verdict
        failing_here = sorted({f.rule_id for f in evidence.result.findings if f.status.value == "fail"})
        failing_rules.setdefault(host, set()).update(failing_here)
        rows.append({"host": host, "policy": last["policy"], "run_id": last["id"], "started_at": last["started_at"],
                     "finished_at": last["finished_at"], "verdict": recorded, "exit_code": evidence.result.exit_code,
                     "counts": {s.value: n for s in Status if (n := evidence.result.summary.by_status.get(s.value, 0))},
                     "failing_rules": failing_here,
                     "controls": {c.id: bool(c.satisfied) for c in evidence.result.controls},
                     "signed": last["signature"]["state"] == "signed", "evidence": None, "error": None,
                     "collected_at": _utc_text(evidence.snapshot.provenance.collected_at),
                     "collection_age": duration_text(started - _utc(evidence.snapshot.provenance.collected_at))})
        host_controls = satisfied.setdefault(host, {})
        for control in evidence.result.controls:
            # a control of a stale run is not known to hold now; one policy's pass does not
            # outweigh another's failure on the same host
            host_controls[control.id] = host_controls.get(control.id, True) and bool(control.satisfied) and not old
        # Always diffed: the same snapshot and policy judged again can differ (a --waivers file, a
        # check of another version), and those changes are what a gate must see.
        if previous is not None:
            changes = diff_scans(previous, evidence)
            # the runs of one inventory host: renamed or re-imaged, it is still that host
            if changes.regressed(allow_host_change=True):
                regressed.append({"host": host, "policy": policy_id, "run": last["id"], "previous_run": runs[1]["id"],
                                  "verdict": {"before": changes.verdict_before, "after": changes.verdict_after,
                                              "worsened": changes.verdict_worsened},
                                  "regressions": [c.as_dict() for c in changes.regressions],
                                  "lost_coverage": [c.as_dict() for c in changes.lost_coverage]})
        if old:
            stale.append({"host": host, "policy": policy_id, "last_run": last["id"], "last_started_at": last["started_at"],
                          "collected_at": _utc(evidence.snapshot.provenance.collected_at).isoformat()
                          .replace("+00:00", "Z"),
                          "verdict": recorded, "days": (moment - seen).days, "state": "run"})
    for (identity, policy_id), link in sorted(gone.items(), key=lambda item: (names[item[0][0]], item[0][1])):
        host = names[identity]
        # Its result is gone with the run: no verdict, no failing rule, no control it satisfies.
        old = moment - _started(link) > timedelta(days=stale_days)
        verdict = _STALE if old else _PRUNED
        if _VERDICT_RANK[verdict] > _VERDICT_RANK.get(verdicts.get(host, ""), -1):
            verdicts[host] = verdict
        rows.append({"host": host, "policy": {"id": policy_id, "version": None, "sha256": None},
                     "run_id": link["run_id"], "started_at": link["started_at"], "finished_at": None,
                     "verdict": None, "exit_code": int(ExitCode.USAGE), "counts": {}, "failing_rules": [],
                     "controls": {}, "signed": False, "evidence": None,
                     "error": f"its latest run (run {link['run_id']}, started {link['started_at']}) was pruned: "
                              "the store no longer holds its result"})
        # its policy's controls (as the runs of other hosts judge them) are not known to hold on it
        host_controls = satisfied.setdefault(host, {})
        for control_id in sorted({c for row in rows if row["verdict"] is not None and row["policy"]["id"] == policy_id
                                  for c in row["controls"]}):
            host_controls[control_id] = False
        if old:
            stale.append({"host": host, "policy": policy_id, "last_run": link["run_id"],
                          "last_started_at": link["started_at"], "collected_at": None, "verdict": None,
                          "days": (moment - _started(link)).days, "state": "pruned"})
    for (identity, policy_id), (miss, last) in sorted(missed.items(), key=lambda item: (names[item[0][0]], item[0][1])):
        host = names[identity]
        if _VERDICT_RANK[_NOT_SCANNED] > _VERDICT_RANK.get(verdicts.get(host, ""), -1):
            verdicts[host] = _NOT_SCANNED
        if last is None:
            context = "never judged"
        elif "id" in last:
            context = f"last judged in run {last['id']} (started {last['started_at']}): {last['verdict']}"
        else:
            context = f"its last run (run {last['run_id']}, started {last['started_at']}) was pruned"
        rows.append({"host": host, "policy": {"id": policy_id, "version": None, "sha256": None},
                     "run_id": None, "started_at": miss["started_at"], "finished_at": None,
                     "verdict": None, "exit_code": int(miss["exit_code"]), "counts": {}, "failing_rules": [],
                     "controls": {}, "signed": False, "evidence": None,
                     # the reason as recorded (by an older lbaudit, or imported): cut as the fleet run cuts it
                     "error": f"not scanned in the latest fleet run (started {miss['started_at']}): "
                              f"{bounded_text(miss['reason'], RECORDED_REASON_CHARS, 'in the store')}; {context}"})
        host_controls = satisfied.setdefault(host, {})
        for control_id in sorted({c for row in rows if row["verdict"] is not None and row["policy"]["id"] == policy_id
                                  for c in row["controls"]}):
            host_controls[control_id] = False  # not known to hold on a host not judged
        seen = _started(last) if last is not None else _started(miss)
        if moment - seen > timedelta(days=stale_days):
            stale.append({"host": host, "policy": policy_id, "last_run": None if last is None else
                          last.get("id", last.get("run_id")), "last_started_at": None if last is None else
                          last["started_at"], "collected_at": None, "verdict": None, "days": (moment - seen).days,
                          "state": _NOT_SCANNED})
    for (identity, policy_id), runs in sorted(only_ahead.items(), key=lambda item: (names[item[0][0]], item[0][1])):
        host = names[identity]
        if _VERDICT_RANK[_NOT_SCANNED] > _VERDICT_RANK.get(verdicts.get(host, ""), -1):
            verdicts[host] = _NOT_SCANNED
        rows.append({"host": host, "policy": runs[0]["policy"], "run_id": None, "started_at": runs[0]["started_at"],
                     "finished_at": None, "verdict": None, "exit_code": int(ExitCode.USAGE), "counts": {},
                     "failing_rules": [], "controls": {}, "signed": False, "evidence": None,
                     "error": f"its only {'run is' if len(runs) == 1 else 'runs are'} dated ahead"
                              f"{_ahead_of_what(runs)} ({_ahead_text(runs)}): not taken as its latest, so no run "
                              "stands for the host now (retire or prune them)"})
        host_controls = satisfied.setdefault(host, {})
        for control_id in sorted({c for row in rows if row["verdict"] is not None and row["policy"]["id"] == policy_id
                                  for c in row["controls"]}):
            host_controls[control_id] = False  # not known to hold on a host not judged
    rows.sort(key=lambda row: (row["host"], row["policy"]["id"]))
    stale.sort(key=lambda row: (row["host"], row["policy"]))
    by_verdict: dict[str, list[str]] = {}
    for host, verdict in verdicts.items():
        by_verdict.setdefault(verdict, []).append(host)
    failing = Counter(rule for rules in failing_rules.values() for rule in rules)
    controls: dict[str, list[int]] = {}  # id -> [hosts satisfied, hosts judged]
    for host_controls in satisfied.values():
        for control_id, ok in host_controls.items():
            counts = controls.setdefault(control_id, [0, 0])
            counts[0] += 1 if ok else 0
            counts[1] += 1
    return {
        "format": "lbaudit-fleet-report/1",
        "hosts_total": len(verdicts),
        "policies": sorted({policy_id for _, policy_id in latest}),
        "hosts_by_verdict": {v: sorted(hosts) for v, hosts in sorted(by_verdict.items())},
        "rules_failing_on_most_hosts": [{"rule": rule, "hosts": n} for rule, n in
                                        sorted(failing.items(), key=lambda item: (-item[1], item[0]))[:top]],
        "controls_by_share_satisfied": [
            {"control": cid, "hosts_satisfied": ok, "hosts": total, "share": round(ok / total, 4)}
            for cid, (ok, total) in sorted(controls.items(), key=lambda item: (item[1][0] / item[1][1], item[0]))],
        "regressed_since_previous_run": regressed,
        "not_scanned_for_days": {"days": stale_days, "hosts": stale},
        "retired": [{"host": _host_of(r), "policy": r["policy"], "retired_at": r["retired_at"],
                     "reason": None if r["reason"] is None else bounded_text(r["reason"], RECORDED_REASON_CHARS,
                                                                             "in the store"),
                     "link": r["run_id"]} for r in retired],
        "hosts": rows,  # each host's latest run, in the fleet summary's row form
        # runs passed over as dated ahead of the report's clock (_latest_runs), by host and policy
        "dated_ahead": sorted(({"host": names.get(identity, _host_of(run)), "policy": policy_id, "run": run["id"],
                                "started_at": run["started_at"], "collected_at": run["collected_at"],
                                "reason": run["dated_ahead"], "kind": run.get("kind", "run")}
                               for (identity, policy_id), run in ahead),
                              key=lambda row: (row["host"], row["policy"], row["kind"], row["run"] or 0,
                                               row["started_at"])),
    }


def _ahead_entry(entry: dict[str, Any], kind: str, run_id: int | None) -> dict[str, Any]:
    """A pruned run's link (``pruned_run``) or a fleet run's record of a host it could not judge
    (``missed_scan``) started ahead of the report's clock, in the form of a run passed over as dated
    ahead.  Imported from an edited export (year 2999), the link stood as its host's latest run for
    ever, "pruned", its genuine runs (failing) hidden, and the record made the host not scanned for
    ever."""
    return {"id": run_id, "host": entry["host"], "policy": {"id": entry["policy"], "version": None, "sha256": None},
            "started_at": entry["started_at"], "collected_at": None, "dated_ahead": entry["dated_ahead"], "kind": kind}


def _ahead_of_what(runs: list[dict[str, Any]]) -> str:
    from auditor.history.store import AHEAD_OF_CLOCK

    return " of this report's clock" if all(run["dated_ahead"] == AHEAD_OF_CLOCK for run in runs) else ""


def _ahead_text(runs: list[dict[str, Any]]) -> str:
    from auditor.history.store import AHEAD_OF_CLOCK

    return "; ".join(_ahead_run_text(run) + ("" if run["dated_ahead"] == AHEAD_OF_CLOCK else " (after it was evaluated)")
                     for run in runs[:5]) + (f"; ... {len(runs) - 5} more" if len(runs) > 5 else "")


def _ahead_run_text(run: dict[str, Any]) -> str:
    kind = run.get("kind", "run")
    if kind == "pruned_run":
        return f"the link of pruned run {run['id']}: started {run['started_at']}"
    if kind == "missed_scan":
        return f"a fleet run's record that it was not scanned: started {run['started_at']}"
    return f"run {run['id']}: started {run['started_at']}, facts collected {run['collected_at']}"


def report_as_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The store's fleet report in the fleet summary's form, for the HTML overview (``fleet report
    --html``): one policy's latest run per host, plus the regressions and the hosts not scanned
    lately.  Raises InputError when the runs are of several policies (give ``--policy``)."""
    rows = report["hosts"]
    policies = sorted({row["policy"]["id"] for row in rows})
    if len(policies) > 1:
        raise InputError(f"--html: the store holds runs of {len(policies)} policies ({', '.join(policies)}): "
                         "give --policy ID")
    judged = [row for row in rows if row["verdict"] is not None]  # not a host whose latest run was pruned
    # By the moments the texts name, not the texts: a start of a whole second is written without its
    # fraction ("...:05Z" sorts after "...:05.5Z"), and the run that started last, or the span the
    # overview names, was then another's.
    newest = max(judged, key=lambda row: (_started(row), row["host"]), default=None)
    first = min(judged, key=lambda row: (_started(row), row["host"]), default=None)
    last = max(judged, key=lambda row: (_finished(row), row["host"]), default=None)
    versions = {(row["policy"]["version"], row["policy"]["sha256"]) for row in judged}
    policy = (dict(newest["policy"]) if newest else  # no host judged: every latest run was pruned
              {"id": policies[0] if policies else "none", "version": "", "sha256": None})
    if len(versions) > 1:  # hosts last judged against different versions of the policy
        policy["version"] = ", ".join(sorted({v for v, _ in versions}))
        policy["sha256"] = f"{len(versions)} versions: " + ", ".join(sorted(sha for _, sha in versions))
    return {
        "format": SUMMARY_FORMAT,
        "started_at": first["started_at"] if first else "",
        "finished_at": last["finished_at"] if last else "",
        "policy": policy,
        "exit_code": worst_exit_code([row["exit_code"] for row in rows]),
        "hosts_total": len(rows),
        "hosts_by_verdict": {v: len(hosts) for v, hosts in report["hosts_by_verdict"].items()},
        "hosts": rows,
        "regressed_since_previous_run": report["regressed_since_previous_run"],
        "not_scanned_for_days": report["not_scanned_for_days"],
    }
