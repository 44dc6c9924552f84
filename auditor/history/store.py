"""The history store: every recorded run, its findings and its evidence, in SQLite or PostgreSQL.

One class, :class:`HistoryStore`, opened on a location (:mod:`auditor.history.location`), migrated to
the schema of :mod:`auditor.history.schema` by the shipped Alembic migrations, and asked questions
by the ``lbaudit history`` commands.  Every problem a user can cause or fix (an unreachable server,
a file that is not a database, a store made by a newer lbaudit, a run id that does not exist) is an
:class:`~auditor.errors.InputError` (exit 2) naming the store, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
import zlib
from collections import defaultdict
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from auditor.errors import Busy, InputError, io_failure
from auditor.history import schema as t
from auditor.history.location import SUPPORTED_SCHEMES, is_url
from auditor.resource_limits import descriptors_exhausted, file_size_limit
from auditor.text import inventory_host, one_line

if TYPE_CHECKING:
    from auditor.model.evidence import Evidence

# The evidence model and loader are imported where evidence is read or recorded: `history list`
# and `trend` answer from the tables alone and do not pay for building the pydantic models.
MAX_EVIDENCE_BYTES = 256 * 1024 * 1024  # auditor.storage.evidence.MAX_EVIDENCE_BYTES (tested equal)


def parse_evidence(raw: bytes, name: str) -> "Evidence":
    from auditor.storage.evidence import parse_evidence as parse

    return parse(raw, name)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
EVIDENCE_ENCODING = "zlib"
BUSY_TIMEOUT_MS = 10_000
# A PostgreSQL store has LBAUDIT_STORE_TIMEOUT seconds (auditor.config.store_timeout) to connect and
# to answer each exchange (auditor.history.deadline); past it the command gives up on it, exit 2.
WRITING = "lbaudit_writing"  # execution option of a connection that will write (SQLite: BEGIN IMMEDIATE)


def _lock_wait_ran_out(error: BaseException) -> bool:
    """Whether a driver's error says a lock was waited for until the wait ran out: SQLite's
    SQLITE_BUSY ("database is locked") after the busy timeout, PostgreSQL's lock_not_available
    (SQLSTATE 55P03) after lock_timeout."""
    if getattr(error, "sqlstate", None) == "55P03":
        return True
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED and their extended codes
    return type(error).__name__ == "OperationalError" and str(error).startswith(("database is locked",
                                                                                 "database table is locked"))


def _read_only(error: BaseException) -> bool:
    """Whether a driver's error is SQLite's SQLITE_READONLY: a write to a store opened read-only
    (:func:`_read_only_uri`), or one on a file this user cannot write."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) == 8


class AlreadyRecorded(InputError):
    """The same evidence bytes are already a recorded run (an import run twice, say).  ``signed_now``:
    the recorded run was unsigned and took this item's signature, which signs its evidence."""

    def __init__(self, message: str, run_id: int, signed_now: bool = False):
        super().__init__(message)
        self.run_id = run_id
        self.signed_now = signed_now


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    from auditor.model.base import canonical_json as canonical

    return canonical(value)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def _aware_utc(moment: datetime) -> datetime:
    """``moment`` in UTC, with its zone (a naive one is UTC, as the evidence model reads it)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    aware = _aware(moment)
    return aware.isoformat().replace("+00:00", "Z") if aware else None


def control_family(control_id: str) -> str:
    """``SC-7(5)`` -> ``SC``: the NIST SP 800-53 family of a control id."""
    return control_id.split("-", 1)[0].upper()


def dated_ahead(evidence: "Evidence", now: datetime) -> str | None:
    """Why ``evidence`` cannot be recorded at ``now``, or None.  The latest run is the one that ran
    last: evidence dated ahead of the recording clock would stay "latest" (fleet report, history
    diff, prune --keep-last) and never stale, whatever runs after it.  Its facts' collection time
    likewise: a fleet refuses facts collected before those the store last judged for a host
    (:meth:`HistoryStore.newest_collection`), so one run whose facts claim year 2999 would have
    every later scan of the host refused as older."""
    return _dated_ahead(_naive_utc(evidence.run.started_at), _aware_utc(evidence.snapshot.provenance.collected_at),
                        _naive_utc(now))


def _dated_ahead(started: datetime, collected: datetime, now: datetime) -> str | None:
    """:func:`dated_ahead` of a run that started at ``started`` (naive UTC, as ``now``) over facts
    collected at ``collected`` (UTC, aware), allowing :data:`FUTURE_TOLERANCE` of clock skew
    between the machine that evaluated and the one that records."""
    allowance = f"more than {int(FUTURE_TOLERANCE.total_seconds() // 60)} minutes ahead"
    if started > now + FUTURE_TOLERANCE:
        return (f"says it was evaluated at {started.isoformat()}Z, after the time it is recorded "
                f"({now.isoformat()}Z, {allowance}): a clock ahead or an edited date; not recorded")
    collected_naive = _naive_utc(collected)
    if collected_naive > now + FUTURE_TOLERANCE:
        return (f"says its facts were collected at {collected_naive.isoformat()}Z, after the time it is recorded "
                f"({now.isoformat()}Z, {allowance}): a clock ahead or an edited date; not recorded (a fleet "
                "would refuse every later scan of the host as older facts)")
    if collected_naive > started + FUTURE_TOLERANCE:
        # facts are judged after they are collected: the host's clock and the evaluating one agree
        # to within the tolerance, or the date was edited
        return (f"says its facts were collected at {collected_naive.isoformat()}Z, after it was evaluated "
                f"({started.isoformat()}Z, {allowance}): a clock ahead or an edited date; not recorded")
    return None


# Why a recorded run stands for no moment of its host (run_dated_ahead): dated ahead of the clock
# that reads the store, or over facts collected after it was evaluated.
AHEAD_OF_CLOCK = "ahead of the clock"
FACTS_AFTER_EVALUATION = "facts collected after it was evaluated"


def run_dated_ahead(started: datetime, collected: datetime, now: datetime) -> str | None:
    """Why a recorded run that started at ``started`` over facts collected at ``collected`` cannot
    be its host's latest or previous run at ``now`` (:data:`AHEAD_OF_CLOCK` or
    :data:`FACTS_AFTER_EVALUATION`), or None: the rule every choice of "the latest run" and "the
    previous run" applies (fleet report, history diff, list's mark, prune --keep-last, the fleet's
    replay check).  Such a run was recorded before the store refused them (:func:`dated_ahead`; an
    edited file imported).  Dated ahead, it sorted first, or was taken as the later scan, and stood
    as its host's latest run for ever; over facts collected after it ran (in the past, so no clock
    catches it), the comparison of two runs by their facts (auditor.analysis.diff.reversed_order)
    took it as the later scan of a host whose genuine runs started after it.  Times in UTC (a naive
    one is UTC); FUTURE_TOLERANCE of skew between two machines' clocks is allowed."""
    started, collected, limit = _aware_utc(started), _aware_utc(collected), _aware_utc(now) + FUTURE_TOLERANCE
    if started > limit or collected > limit:
        return AHEAD_OF_CLOCK
    if collected > started + FUTURE_TOLERANCE:
        return FACTS_AFTER_EVALUATION
    return None


def newest_facts_first() -> tuple[Any, ...]:
    """The order of one chain's runs, newest first, in which every choice of a host's latest and
    previous run takes them (history diff, fleet report, prune --keep-last, the fleet's replay
    check): by when their facts were collected, then when they were evaluated, then recording
    order, as :func:`auditor.analysis.diff.reversed_order` orders two scans.  By start alone, a
    backfill (older facts judged again later) was the host's "latest" run: fleet report judged the
    host by its old facts, history diff compared the newest facts with the backfill's (a listener
    reopened since the scan before read as "no change", exit 0), and ``prune --keep-last 1``
    removed the newest facts and kept the backfill.  A run recorded before revision 0006 has no
    ``collected_at``: its start stands in (facts are judged after they are collected), and the two
    runs chosen are put in the order of their facts once their evidence is read."""
    runs = t.runs.c
    return sa.func.coalesce(runs.collected_at, runs.started_at).desc(), runs.started_at.desc(), runs.id.desc()


def started_ahead(started: datetime, now: datetime) -> bool:
    """Whether an entry of the store that has only a start (a pruned run's link, a fleet run's record
    of a host it could not judge) started more than FUTURE_TOLERANCE after ``now``: the part of
    :func:`run_dated_ahead` its time can tell.  Imported from an edited export (year 2999), such a
    link stood as its host's latest run for ever, "pruned", its genuine failing runs hidden."""
    return _aware_utc(started) > _aware_utc(now) + FUTURE_TOLERANCE


def dated_ahead_words(reason: str) -> str:
    """How a report (fleet report, history diff, history list) says why a run was passed over."""
    return "ahead of this report's clock" if reason == AHEAD_OF_CLOCK else "after it was evaluated"


def _ids_text(ids: list[int]) -> str:
    return "run " + ", ".join(str(i) for i in ids[:10]) + (f", ... {len(ids) - 10} more" if len(ids) > 10 else "")


def host_key(machine_id: str | None, hostname: str, inventory_name: str | None = None) -> str:
    """What makes two runs one host's: the inventory name when a fleet gives one (hosts that share a
    machine, such as containers or network namespaces, share its machine id and often its host name;
    the machine id and host name are kept beside it), else the machine id where the snapshot has
    one of its own (:func:`auditor.model.facts.own_machine_id`), else the name.  Keyed by whatever
    /etc/machine-id held, every unbooted image ("uninitialized") was one host of the store, renamed
    at each run: fleet report listed the last image recorded, and another's failing run under its name."""
    from auditor.model.facts import own_machine_id

    if inventory_name:
        return f"inventory:{inventory_name}"
    own = own_machine_id(machine_id)
    return f"machine-id:{own}" if own else f"hostname:{hostname}"


def refuse_unnamed_host(machine_id: str | None, hostname: str, inventory_name: str | None) -> None:
    """A run recorded without an inventory name names its host itself, or is refused (InputError):
    the store keys it by its host name (:func:`host_key`), and "unknown" (an image without
    /etc/hostname) or "localhost" is every unnamed host's, so the runs of two such images were one
    host's, the later hiding the other (fleet report, history list, history diff)."""
    from auditor.model.facts import names_its_host

    if inventory_name or names_its_host(hostname, machine_id):
        return
    raise InputError(f"this evidence names no host of its own (host name {one_line(hostname)[:64]!r}, machine id "
                     f"{one_line(machine_id or 'none')[:40]!r}), and the store would take its runs for those of "
                     "every other host that names none; not recorded: record it under a name of its own "
                     "(lbaudit history import EVIDENCE --host NAME), or give the host /etc/hostname or "
                     "/etc/machine-id")


def _sqlite_path(location: str, create: bool = True) -> Path:
    """The file of a path-form location, checked: a directory, device or FIFO is refused; a missing
    one is created only when ``create`` (a command that records), else refused: a command that
    reads (``history verify``, ``list``, ``fleet report``) given a misspelt path found an empty
    store it had just created, and ``history verify`` said the history held."""
    from auditor.safeio import pseudo_file_system_at
    from auditor.storage.outputs import refuse_shared_links

    path = Path(location).expanduser()
    refuse_shared_links(path, "the history store", "use")  # SQLite would write where another user's link leads
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InputError(f"{path}: cannot use as the history store: {exc.strerror or exc}") from exc
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file; the history store is an SQLite file (or give a URL)")
    if info is not None and (kernels := pseudo_file_system_at(path)) is not None:
        # stat(2) calls /proc/kmsg a regular file: SQLite's read of it blocked for ever, and took
        # the kernel log rsyslog reads when there was some.
        raise InputError(f"{path}: a file of {kernels}, a kernel pseudo file system, not a history store (not "
                         "opened); the history store is an SQLite file (or give a URL)")
    if info is not None and info.st_nlink > 1:
        # Every other output is replaced by a new file, so a second name keeps the old one; SQLite
        # writes the store in place, so a second name (ln, cp -l: a "backup") changed with every
        # run, and SQLite keeps its journal beside the name it opened, one per name of one file
        # (sqlite.org/howtocorrupt.html, "Multiple links to the same file").
        raise InputError(f"{path}: the history store has {info.st_nlink} names (hard links); SQLite writes it in "
                         "place, so every other name would change with it, and keeps its journal beside one name "
                         "only: give the store a name of its own (copy it, or remove the other names)")
    if info is None and not create:
        raise InputError(f"{path}: no history store here (nothing was recorded in it; evaluate --record or "
                         "history import creates it)")
    if info is None:
        from auditor.storage.outputs import create_private_file, make_directories

        if path.is_symlink():
            # A link to a store not made yet (/var/lib/lbaudit/history.db -> /data/...): the store
            # is its target.  Created here, the target is made as every new store is (mode 0600,
            # removed again by a command that fails); left to SQLite through the link (the private
            # creation refuses to follow links), it was made with the umask's mode, 0644:
            # world-readable, and it stayed behind a command that failed.
            path = Path(os.path.realpath(path))
        parent = path.parent
        if not parent.exists():
            try:
                # The store holds what every listener and its process looked like: owner only, and
                # so is every directory created for it (a command that fails removes them again).
                make_directories(parent, 0o700)
            except InputError as exc:
                raise InputError(f"{parent}: cannot create the history store's directory: {exc}") from exc
        elif not parent.is_dir():
            raise InputError(f"{parent}: not a directory, so it cannot hold the history store")
        # Created empty with mode 0600 before SQLite opens it, so no umask makes it world-readable;
        # a command that fails after this (a policy that does not load) removes it again.
        # SQLite's files beside it go with it: a run on a full disk, whose store could not be made,
        # left 190 KB of -wal and -shm that SQLite could not remove itself.
        try:
            create_private_file(path, beside=SQLITE_FILES_BESIDE)
        except InputError as exc:
            raise InputError(f"{path}: cannot create the history store: {exc}") from exc
    real = path.resolve()
    _check_companions(real)
    return real


# The files SQLite keeps beside a database, each opened by name when it exists: the rollback journal
# (opened read-only to see whether it is hot, at every connection), the write-ahead log and its index.
SQLITE_COMPANIONS = {"-journal": "rollback journal", "-wal": "write-ahead log", "-shm": "write-ahead log index"}


def _check_companions(database: Path) -> None:
    """Refuse a store beside which a companion file of SQLite's is not a regular file.  SQLite opens
    ``DB-journal`` read-only when it exists, and ``open`` of a FIFO waits for a writer that never
    comes: every command on the store (a nightly ``evaluate --record`` too) hung for ever.  A
    device, a directory or a link there is SQLite's "disk I/O error" at best, which names neither
    the file nor what is wrong with it.  Nor one with a second name (a hard link), which SQLite's
    writes in place would change too."""
    from auditor.safeio import kind_of

    for suffix, role in SQLITE_COMPANIONS.items():
        companion = Path(f"{database}{suffix}")
        try:
            info = companion.lstat()
            mode = info.st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise InputError(f"{companion}: cannot use the history store's {role}: {exc.strerror or exc}") from exc
        if not stat.S_ISREG(mode):
            what = "a symbolic link" if stat.S_ISLNK(mode) else kind_of(mode)
            raise InputError(f"{companion}: is {what}, not a regular file: SQLite keeps the history store's {role} "
                             "there (remove it, or restore the store and its files from a backup)")
        if info.st_nlink > 1:
            # SQLite writes it in place: a -wal that was a second name of the user's notes was
            # overwritten with the log's frames, and kept them once SQLite removed its own name
            raise InputError(f"{companion}: has {info.st_nlink} names (hard links): SQLite writes the history "
                             f"store's {role} there in place, which would change every other name too (remove it, "
                             "or restore the store and its files from a backup)")


SQLITE_FILES_BESIDE = ("-wal", "-shm", "-journal")  # what SQLite writes beside a database file


def store_file(location: str) -> Path | None:
    """The database file the store at ``location`` is, read as :func:`make_engine` reads it (a path,
    or any sqlite URL: ``sqlite:///``, ``sqlite+pysqlite:///``); None for a server or an in-memory
    store, and for a URL make_engine will refuse."""
    if not is_url(location):
        return Path(location)
    try:
        url = _parsed_url(location)
    except InputError:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _shown_url(location: str) -> str:
    """A URL that could not be parsed, as an error message quotes it: its password (``user:PASSWORD@``)
    hidden as URL.render_as_string hides it, cut to 200 characters."""
    from auditor.config import hidden_password

    hidden = hidden_password(location)
    return repr(hidden if len(hidden) <= 200 else hidden[:197] + "...")


def _parsed_url(location: str) -> sa.engine.URL:
    """``location`` as SQLAlchemy reads a URL; InputError (exit 2) when it is none.  make_url raises
    ArgumentError for a URL of no known form, but int()'s ValueError for a port that is no number
    (``postgresql://h:abc/db``, ``postgresql://[::1/db``), which was exit 70."""
    try:
        url = sa.engine.make_url(location)
    except ArgumentError as exc:
        raise InputError(f"--store {_shown_url(location)}: not a SQLAlchemy URL ({exc})") from None
    except ValueError:  # its message is int()'s, or Python's advice past 4,300 digits
        raise InputError(f"--store {_shown_url(location)}: not a SQLAlchemy URL (what follows the host is no "
                         "port number: expected HOST:PORT or [IPv6 address]:PORT)") from None
    if url.get_backend_name() == "sqlite":
        _refuse_sqlite_url_extras(url, location)
    return url


def _refuse_sqlite_url_extras(url: sa.engine.URL, location: str) -> None:
    """An SQLite URL names its file and nothing more: lbaudit opens the file itself (its busy
    timeout, a read-only opening for commands that only read).  A query string went to the driver
    unread: ``?check_same_thread=maybe`` and ``?timeout=abc`` were its ValueError (exit 70),
    ``?uri=true&mode=ro`` recorded into a second file named ``h.db?mode=ro``, ``?detect_types=1``
    made every later read call the store damaged, and ``?timeout=5`` was silently overridden.  A
    file name with a NUL byte (``%00``) was ``os.stat``'s ValueError, exit 70."""
    if url.query:
        raise InputError(f"--store {_shown_url(location)}: an SQLite store's URL names its file only; lbaudit opens "
                         f"the file itself, so its parameters ({', '.join(sorted(url.query))}) would be ignored or "
                         "break it: give sqlite:////PATH without '?...'")
    if url.database is not None and "\x00" in url.database:
        raise InputError(f"--store {_shown_url(location)}: the store's file name holds a NUL byte (%00), which no "
                         "file name can")


def refuse_in_memory(location: str) -> None:
    """InputError (exit 2) for an in-memory SQLite store (``sqlite://``, ``sqlite:///:memory:``):
    the database ends with the command, and every run "recorded" there with it.  evaluate --record
    said "recorded: run 1 in sqlite://" of a run no one could read again, and schedule install
    installed a nightly scan that recorded into nothing."""
    if not is_url(location):
        return
    url = _parsed_url(location)
    if url.get_backend_name() == "sqlite" and (not url.database or url.database == ":memory:"):
        shown = location if len(location) <= 200 else location[:197] + "..."  # as given: it holds no password
        raise InputError(f"--store {shown}: an in-memory SQLite database keeps "
                         "nothing past the command (every run recorded in it would be lost): give a file path or "
                         "sqlite:///PATH")


def store_backend(location: str) -> str | None:
    """The backend of the store URL ``location`` (``sqlite``, ``postgresql``) as :func:`make_engine`
    reads it, None for a file path; InputError (exit 2) for a URL no command opens: not a URL, a
    backend lbaudit does not support, an SQLite driver that is not installed.  Told by the scheme's first
    letters instead, ``schedule install`` took ``sqlitex://`` and ``sqlite+nosuch://`` for SQLite
    files and installed them, and every scheduled run refused the store."""
    if not is_url(location):
        return None
    url = _parsed_url(location)
    backend = url.get_backend_name()
    if backend not in SUPPORTED_SCHEMES:
        raise InputError(f"--store: {backend!r} stores are not supported (use a file path, sqlite:///PATH "
                         "or postgresql+psycopg://...)")
    if backend != "sqlite":
        return backend  # a server's driver is make_engine's to judge (_psycopg_url: psycopg 3 only)
    try:
        url.get_dialect()  # the dialect's module only: its DBAPI is imported when an engine is made
    except (NoSuchModuleError, ImportError) as exc:
        from auditor.config import hidden_password  # libpq's ?password= too, which render_as_string shows

        shown = hidden_password(url.render_as_string(hide_password=True))
        raise InputError(f"{shown}: the driver is not installed ({exc}); for SQLite use sqlite:///PATH or a "
                         "file path") from None
    return backend


def make_engine(location: str, create: bool = True) -> tuple[Engine, str]:
    """An engine for the store at ``location`` and the name to show for it (no password)."""
    if is_url(location):
        refuse_in_memory(location)
        backend = store_backend(location)
        url = _parsed_url(location)
        from auditor.config import hidden_password  # libpq's ?password= too, which render_as_string shows

        shown = hidden_password(url.render_as_string(hide_password=True))
        if backend == "sqlite":
            url = url.set(database=str(_sqlite_path(str(url.database), create)))
        if backend == "postgresql":
            url = _psycopg_url(url, shown)
    else:
        url = sa.engine.URL.create("sqlite", database=str(_sqlite_path(location, create)))
        shown = str(url.database)
    if create and url.get_backend_name() == "sqlite" and not os.access(str(url.database), os.W_OK):
        # SQLite's own word for it, at the first write, is "unable to open database file"
        raise InputError(f"{shown}: cannot record in the history store: this user cannot write it, or it is on a "
                         "read-only file system (the commands that read it can)")
    try:
        if url.get_backend_name() == "sqlite":
            read_only = None if create else _read_only_uri(Path(str(url.database)))
            if read_only is None:
                engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            else:
                engine = sa.create_engine(url, creator=lambda: sqlite3.connect(
                    read_only, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False))
            _sqlite_pragmas(engine, read_only=read_only is not None)
        else:
            from auditor.config import store_timeout
            from auditor.history.deadline import bound_exchanges

            seconds = store_timeout()
            _refuse_endless_connect(url, shown)
            engine = sa.create_engine(url, pool_pre_ping=True, connect_args=_server_limits(url, seconds))
            given = url.query.get("connect_timeout")
            bound_exchanges(engine, seconds, given if isinstance(given, str) else None)
            _postgresql_writer_lock(engine)
    except (NoSuchModuleError, ImportError) as exc:
        raise InputError(f"{shown}: the driver is not installed ({exc}); for PostgreSQL install lbaudit[postgres] "
                         "(psycopg 3)") from None
    except ArgumentError as exc:
        # The dialect reads the URL's query once more: ?port=x is "Received non-integer port
        # arguments" here, after make_url took it (exit 70 before)
        raise InputError(f"{shown}: cannot open the history store: {str(exc)[:200]}") from None
    return engine, shown


def _read_only_uri(path: Path) -> str | None:
    """The SQLite URI that opens the store ``path`` read-only, for a command that only reads it,
    when this process cannot write the file or create files beside it; None when it can.  Opened
    as usual, a store on read-only media (a backup mounted for an auditor, a read-only bind mount
    into a container) or in a directory this user cannot write failed every read with SQLite's
    "unable to open database file": a store in WAL mode is read through its ``-shm`` index, which
    SQLite must create.  On a read-only file system nothing can change the file, so it is opened
    immutable (no -shm needed), unless a -wal or -journal beside it holds writes not yet in the
    file (a store copied mid-write): ignored, those would be the newest runs missing from every
    answer.  Elsewhere another process may be writing it: read-only, through the -shm its writer
    keeps (:func:`_check_read_only` says why when there is none)."""
    # SQLite writes the file, and makes its -wal and -shm beside it unless they are there to write
    writable = os.access(path, os.W_OK) and (os.access(path.parent, os.W_OK | os.X_OK) or all(
        os.access(f"{path}{suffix}", os.W_OK) for suffix in ("-wal", "-shm")))
    if writable:
        return None
    from urllib.parse import quote

    uri = "file:" + quote(str(path), safe="/")
    try:
        read_only_fs = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        read_only_fs = False
    pending = [suffix for suffix in ("-wal", "-journal") if _size(Path(f"{path}{suffix}"))]
    if read_only_fs and not pending:
        return uri + "?immutable=1"
    _check_read_only(path, uri + "?mode=ro", pending)
    return uri + "?mode=ro"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _check_read_only(path: Path, uri: str, pending: list[str]) -> None:
    """InputError naming why the store ``path``, which this process cannot write, cannot be read
    read-only through ``uri`` either (SQLite says only "unable to open database file")."""
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) != 14:  # not SQLITE_CANTOPEN: the store's own answer
            return
        held = (f"; {', '.join(f'{path}{suffix}' for suffix in pending)} holds writes not yet in the store"
                if pending else "")
        raise InputError(f"{path}: cannot read the history store ({exc}): this user cannot write it or its "
                         f"directory, and SQLite reads a store in WAL mode through {path}-shm, which it cannot "
                         f"create there{held}: run as the store's owner, or copy the store and the files beside it "
                         "to a directory you can write") from None


def _psycopg_url(url: sa.engine.URL, shown: str) -> sa.engine.URL:
    """The URL of a PostgreSQL store, talked to through psycopg 3: the one driver whose every
    exchange lbaudit bounds (auditor.history.deadline).  ``postgresql://``, no driver named, is read
    as ``postgresql+psycopg://`` whatever SQLAlchemy's default is (psycopg2 before SQLAlchemy 2.1);
    another driver is refused (exit 2), as a store it talks to could hang a nightly scan."""
    from auditor.history.deadline import STORE_DRIVER

    if "+" not in url.drivername:
        return url.set(drivername=f"postgresql+{STORE_DRIVER}")
    if url.get_driver_name() != STORE_DRIVER:
        raise InputError(f"{shown}: lbaudit talks to PostgreSQL through psycopg 3 only (postgresql+psycopg://...), "
                         f"not {url.get_driver_name()}: it alone lets lbaudit give up on a server that does not answer")
    return url


def _refuse_endless_connect(url: sa.engine.URL, shown: str) -> None:
    """A ``connect_timeout`` in the URL replaces LBAUDIT_STORE_TIMEOUT for the connection, and libpq
    reads 0 or less (``0``, ``-1``, ``00``, `` 0``) as no limit at all: a server that takes the
    connection and never answers held the command for ever, the one wait the store timeout could not
    end (the deadline of auditor.history.deadline starts once the connection is made).  Such a value
    is refused, exit 2, and so is one that is no whole number of seconds (``0.5``, ``1e-3``: psycopg
    reads them as 0, no limit, and waited its own 130 s)."""
    given = url.query.get("connect_timeout")
    for value in [given] if isinstance(given, str) else list(given or ()):
        text = value.strip()
        if re.fullmatch(r"[+-]?[0-9]{1,18}", text) and int(text) <= 0:
            raise InputError(f"{shown}: connect_timeout={value} in the URL: libpq would wait for the server for ever; "
                             "give a number of seconds (2 or more), or leave it out for LBAUDIT_STORE_TIMEOUT")
        if not re.fullmatch(r"\+?[0-9]{1,18}", text):
            # psycopg reads it as int(float(value)): 0.5 is 0, "no limit", which it makes its own
            # 130 s; lbaudit gives each host its share of it (auditor.history.deadline)
            raise InputError(f"{shown}: connect_timeout={value} in the URL is not a whole number of seconds (libpq's "
                             "form): give a number of seconds (2 or more), or leave it out for LBAUDIT_STORE_TIMEOUT")


def _server_limits(url: sa.engine.URL, seconds: int) -> dict[str, Any]:
    """libpq's limits for a server store, unless the URL sets them itself.  Without them a store
    that is unreachable (packets dropped) or vanishes in the middle of a query made a nightly scan
    or a release gate hang: libpq waits for ever to connect, the kernel retransmits for about 15
    minutes, and a lock held by another session is waited for without end.  ``seconds`` is
    LBAUDIT_STORE_TIMEOUT, which bounds every exchange besides (auditor.history.deadline, for a
    server that acknowledges and never answers); a lock is waited for BUSY_TIMEOUT_MS, as in
    SQLite (a store timeout at or below that ends such a wait first, as a server not answering)."""
    limits: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        limits["connect_timeout"] = seconds
    if "tcp_user_timeout" not in url.query:
        limits["tcp_user_timeout"] = seconds * 1000
    if "options" not in url.query:
        limits["options"] = f"-c lock_timeout={BUSY_TIMEOUT_MS}"
    return limits


def _sqlite_pragmas(engine: Engine, read_only: bool = False) -> None:
    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, as IMMEDIATE
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not read_only:  # a store opened read-only is read in the mode it is in (the pragma writes)
            cursor.execute("PRAGMA journal_mode = WAL")  # readers never block the nightly writer
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        # A deferred transaction that reads (the chain's last digest) and then writes can fail with
        # SQLITE_BUSY without waiting; a writing one begins IMMEDIATE and waits for the busy timeout
        # instead.  Readers begin deferred: in WAL mode they never wait for a writer.
        writing = connection.get_execution_options().get(WRITING, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


# The key of the advisory lock every writing transaction of a PostgreSQL store holds (any fixed
# 64-bit number: the lock is of the store's database, which holds nothing else).
WRITER_LOCK_KEY = 0x6C62617564697400  # "lbaudit\0"


def _postgresql_writer_lock(engine: Engine) -> None:
    """One writer at a time, as SQLite's BEGIN IMMEDIATE makes it: each writing transaction first
    takes the store's advisory lock, held to its end and waited for up to lock_timeout (exit 75,
    as a locked SQLite store).  Under read committed, a recorder read "this evidence is not
    recorded yet" (and the chain's head, and prune what no run refers to) before another's commit
    and went on from it: two imports of one evidence at once recorded it twice."""
    @sa.event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITING, False):
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%(key)s)", {"key": WRITER_LOCK_KEY})


@dataclass(frozen=True)
class RecordedRun:
    run_id: int
    evidence_sha256: str
    prev_evidence_sha256: str | None
    host_id: int


class RecordedIdentity(NamedTuple):
    """What a fleet host's latest recorded run says of the machine it was
    (:meth:`HistoryStore.recorded_identity`): that run's id, the host's machine id and host name, and
    its inventory name as the store spells it (what ``history retire`` takes)."""

    run_id: int
    machine_id: str | None
    hostname: str
    inventory_name: str


class CollectionsRecorded(NamedTuple):
    """What :meth:`HistoryStore.newest_collection` found of a host: its newest collection judged
    (run id, time), None without one, and the runs whose collection time is ahead of the clock
    (passed over)."""

    newest: tuple[int, datetime] | None
    ahead: list[tuple[int, datetime, str]]  # run id, its facts' time, why (run_dated_ahead)


class LastTwo(NamedTuple):
    """What :meth:`HistoryStore.last_two` chose: the earlier and the later of a host's last two runs
    that stand, and the later runs passed over as dated ahead (run, started_at, collected_at, reason)."""

    before: int
    after: int
    passed_over: list[dict[str, Any]]


@dataclass(frozen=True)
class PreparedRun:
    """One run as the store records it, everything that needs no database already done: its
    evidence parsed, digested and compressed, its signature checked, its rows built (:func:`prepare_run`).
    Plain values, so that a fleet worker process prepares its host's run and the fleet command records
    it (:meth:`HistoryStore.record_prepared`) in the transaction that ends with its files."""

    sha256: str
    size: int
    content: bytes  # the evidence, zlib-compressed
    signature: str | None  # the .sig document, when it signs this evidence under the key it names
    signature_key: str | None
    machine_id: str | None
    hostname: str
    started: datetime  # naive UTC
    collected: datetime  # when its facts were collected, UTC (a fleet refuses facts older than those recorded)
    policy: dict[str, Any]  # its row of ``policies``
    run: dict[str, Any]  # its row of ``runs``, less what the store decides (id, host, trigger, times, chain)
    findings: list[dict[str, Any]]  # its rows of ``findings``, less the run id
    families: list[tuple[str, str, int]]  # (family, status, findings) for ``family_counts``


def prepare_run(raw: bytes, evidence: Evidence | None, signature: bytes | None) -> PreparedRun:
    """Everything recorded of one run that does not need the database (validated first, so a bad
    item of a batch records nothing).  ``evidence`` is ``raw`` parsed, or None to parse it here."""
    if evidence is None:
        evidence = parse_evidence(raw, "the evidence")
    signature_text, signature_key = None, None
    if signature is not None:
        from auditor.attest.signing import (
            EvidenceChangedSinceSigned,
            _holds_by_its_own_key,
            key_that_signed,
            parse_signature,
        )

        _parse_signature(signature)
        # One whose signature does not hold under the key it names (a fingerprint written by hand)
        # signs nothing: the run is not listed as signed by a key that never signed it.
        document = parse_signature(signature, Path("the evidence signature"))
        signature_key = key_that_signed(document, raw)
        if signature_key is None and _holds_by_its_own_key(document):
            # One that holds under its key over another digest proves the evidence was changed
            # after that key signed it (a failure turned pass, counts to match): recorded as an
            # unsigned run, exit 0, where `lbaudit report` refuses it (exit 10), as verify fails it.
            raise EvidenceChangedSinceSigned(
                f"changed after it was signed: its .sig signs {document.signed_sha256} (key "
                f"{document.public_key_sha256}), not this evidence; not recorded (if the evidence is not meant "
                "to be signed, remove its .sig)")
        if signature_key is not None:
            signature_text = signature.decode("utf-8")
    digest = sha256_hex(raw)
    provenance = evidence.snapshot.provenance
    refuse_unkeepable(t.hosts, {"machine_id": provenance.machine_id, "hostname": provenance.hostname})
    started = _naive_utc(evidence.run.started_at)
    collected = _aware_utc(provenance.collected_at)
    counts = _counts(evidence)
    prepared = PreparedRun(
        sha256=digest, size=len(raw), content=zlib.compress(raw, 6), signature=signature_text,
        signature_key=signature_key, machine_id=provenance.machine_id, hostname=provenance.hostname, started=started,
        collected=collected, policy=_policy_row(evidence),
        run={"policy_sha256": evidence.policy_sha256, "policy_id": evidence.policy.id, "started_at": started,
             "finished_at": _naive_utc(evidence.run.finished_at), "collected_at": _naive_utc(collected),
             "day": started.date().isoformat(),
             "evaluated_on": evidence.run.evaluated_on, "tool_version": evidence.tool.version,
             "snapshot_sha256": evidence.facts_sha256, "evidence_sha256": digest,
             "signature_state": "signed" if signature_text else "unsigned", "signature": signature_text,
             "signature_key": signature_key, "verdict": evidence.result.verdict.value,
             "exit_code": evidence.result.exit_code, "complete": evidence.result.complete,
             **{f"n_{status}": n for status, n in counts.items()}},
        findings=[{"finding_id": f.id, "rule_id": f.rule_id, "check": f.check, "status": f.status.value,
                   "severity": f.severity.value, "subject": f.subject, "controls": ",".join(f.controls)}
                  for f in evidence.result.findings],
        families=[(family, status, n) for (family, status), n in _family_counts(evidence).items()])
    refuse_unkeepable(t.policies, prepared.policy)
    refuse_unkeepable(t.runs, prepared.run)
    for row in prepared.findings:
        refuse_unkeepable(t.findings, row)
    for family, status, _ in prepared.families:
        refuse_unkeepable(t.family_counts, {"family": family, "status": status})
    return prepared


def keepable_reason(reason: str) -> str:
    """A reason the store keeps of a host it could not judge (:meth:`HistoryStore.record_missed`),
    its NUL characters written as the visible escape ``\\x00`` (as :func:`auditor.text.one_line`
    shows one).  A reason is lbaudit's words about the host, not evidence, and quotes what the host
    handed over: a snapshot refused for a key holding a NUL.  PostgreSQL refuses a NUL in text, so
    the fleet run's record of the host failed on a team store (the host never listed as not
    scanned), and an SQLite history holding one could not be imported into PostgreSQL."""
    return reason.replace("\x00", "\\x00")


class UnkeepableText(InputError):
    """A text of a run that the store cannot keep on both backends (:func:`refuse_unkeepable`)."""


def refuse_unkeepable(table: sa.Table, values: dict[str, Any]) -> None:
    """InputError (exit 2) when a text of ``values`` cannot be kept in its column of ``table`` by
    both backends: longer than the column, or holding a NUL character.  PostgreSQL refuses either
    ("value too long for type character varying(255)", "text fields cannot contain NUL (0x00)
    bytes"), naming neither the value nor its column, and SQLite keeps both, so the same run (a
    snapshot's 300-character host name, a process name with a NUL in it) was recorded in one store
    and refused by the other, and a history exported from SQLite could not be imported into
    PostgreSQL.  Refused on both, before anything is written."""
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        column = table.c.get(name)
        length = getattr(column.type, "length", None) if column is not None else None
        if length is not None and len(value) > length:
            raise UnkeepableText(f"{table.name}.{name} would be {len(value)} characters ({_shown(value)}), more than the "
                             f"{length} the history store keeps; not recorded")
        if "\x00" in value:
            raise UnkeepableText(f"{table.name}.{name} would hold a NUL character ({_shown(value)}), which a PostgreSQL "
                             "history store cannot keep; not recorded")


# The policy row of the last policy prepared: a fleet's hosts share one policy, whose document and
# checks are serialised once per process rather than once per host.
_LAST_POLICY_ROW: list[dict[str, Any]] = []


def _policy_row(evidence: Evidence) -> dict[str, Any]:
    if _LAST_POLICY_ROW and _LAST_POLICY_ROW[0]["sha256"] == evidence.policy_sha256:
        return _LAST_POLICY_ROW[0]
    row = {"sha256": evidence.policy_sha256, "policy_id": evidence.policy.id, "version": evidence.policy.version,
           "document": canonical_json(evidence.policy.model_dump(mode="json")).decode("utf-8"),
           "checks": canonical_json([c.model_dump(mode="json") for c in evidence.checks]).decode("utf-8"),
           "control_map": canonical_json({r.id: list(r.controls) for r in evidence.policy.rules
                                          if r.enabled}).decode("utf-8")}
    _LAST_POLICY_ROW[:] = [row]
    return row


@dataclass
class PruneReport:
    pruned: list[int] = field(default_factory=list)
    kept_attested: list[int] = field(default_factory=list)
    orphan_evidence: int = 0
    dry_run: bool = False
    # runs not counted among the newest --keep-last of their host (run_dated_ahead), by id
    dated_ahead: list[int] = field(default_factory=list)
    # runs older by their facts than the newest --keep-last of their host, kept because they were
    # evaluated after its newest facts (a backfill): a pruned run's link keeps only its start, and
    # would stand as the host's newest entry (fleet report: "pruned", not its newest facts' verdict)
    evaluated_later: list[int] = field(default_factory=list)
    # records of hosts a fleet run could not judge, older than --older-than and not their chain's newest
    missed_scans: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "pruned": self.pruned, "kept_attested": self.kept_attested,
                "orphan_evidence_removed": self.orphan_evidence, "dated_ahead": self.dated_ahead,
                "evaluated_later": self.evaluated_later, "missed_scans_removed": self.missed_scans}


@dataclass(frozen=True)
class ChainBreak:
    run_id: int
    host: str
    policy_id: str
    kind: str  # evidence_missing, evidence_digest, evidence_invalid, record_mismatch, chain_link, signature,
    # head_missing, store_damaged (of neither a run nor a chain: run id 0), run_missing (rows of a deleted run)
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "host": self.host, "policy": self.policy_id, "kind": self.kind,
                "detail": self.detail}


@dataclass(frozen=True)
class PinnedHead:
    """An evidence digest the store must still hold (``history verify --expect-head``), and where it
    was found: ``run`` (a recorded run), ``pruned`` (the link a pruned run left), ``retired`` (the
    link ``history retire`` wrote), or None."""

    evidence_sha256: str
    found: str | None
    run_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"evidence_sha256": self.evidence_sha256, "found": self.found, "run_id": self.run_id}


@dataclass
class VerifyReport:
    runs: int = 0
    chains: int = 0
    signatures_checked: int = 0
    retirements: int = 0  # history retire links walked
    breaks: list[ChainBreak] = field(default_factory=list)
    heads: list[PinnedHead] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "runs": self.runs, "chains": self.chains, "retirements": self.retirements,
                "signatures_checked": self.signatures_checked,
                "first_break": self.breaks[0].as_dict() if self.breaks else None,
                "breaks": [b.as_dict() for b in self.breaks],
                "expected_heads": [h.as_dict() for h in self.heads]}


def _counts(evidence: Evidence) -> dict[str, int]:
    counts = dict.fromkeys(t.STATUSES, 0)
    for finding in evidence.result.findings:
        counts[finding.status.value] += 1
    return counts


def _family_counts(evidence: Evidence) -> dict[tuple[str, str], int]:
    """Findings by (family, status); a finding mapped to controls of two families counts in each."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for finding in evidence.result.findings:
        for family in sorted({control_family(c) for c in finding.controls}):
            counts[(family, finding.status.value)] += 1
    return dict(counts)


def _collected_at(raw: bytes, name: str) -> datetime:
    """When the facts of the evidence ``raw`` were collected (UTC), read from its JSON alone: the
    whole document validated for one time cost a fleet run a parse of each host's last evidence."""
    try:
        # The strict reader, as every JSON lbaudit reads: a store's file may be anyone's (json.loads
        # raised RecursionError, a traceback, on a document nested 100,000 deep).  Imported here:
        # its module brings pydantic, which history list and trend do without.
        from auditor.storage.jsonfile import loads_strict

        text = loads_strict(raw)["snapshot"]["provenance"]["collected_at"]
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{name}: no time of collection can be read from it ({type(exc).__name__}: {exc})") from None
    return _aware_utc(moment)


def _decompress(content: Any, size: Any) -> bytes:
    if not isinstance(content, bytes) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
        # SQLite keeps any value in any column: a row edited outside lbaudit
        raise ValueError(f"the stored row holds {_shown(content)} of size {_shown(size)}, not compressed bytes "
                         "and their length")
    inflater = zlib.decompressobj()
    data = inflater.decompress(content, min(size, MAX_EVIDENCE_BYTES) + 1)
    if not inflater.eof:
        raise ValueError("the stored evidence is truncated or longer than recorded")
    return data


class DamagedRow(ValueError):
    """A row of the store holds a value its column cannot hold: SQLite keeps any value in any column,
    so a store edited outside lbaudit can hold a time that is no time or text where a count goes."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# The columns a row read from the store may hold, by the name the row gives them (the labels of
# _run_query included): the Python type each one must have, whether it may be NULL, and its name.
_ROW_TYPES: dict[str, tuple[type, bool, str]] = {
    name: (column.type.python_type, bool(column.nullable), f"{column.table.name}.{column.name}")
    for name, column in {
        **{c.name: c for table in (t.findings, t.hosts, t.policies, t.pruned_runs, t.retirements, t.runs)
                   for c in table.columns},
        "policy_version": t.policies.c.version,
    }.items()
}


def _checked(row: Any, table: sa.Table | None = None) -> Any:
    """``row``, once every value in it has its column's type (a DamagedRow otherwise).  ``table``:
    the one table the row was read from, whose columns then name what is damaged (``policy_id`` is
    a column of runs, pruned_runs and retirements alike)."""
    for name, value in row._mapping.items():
        if table is not None and name in table.c:
            own = table.c[name]
            known: tuple[type, bool, str] | None = (own.type.python_type, bool(own.nullable), f"{table.name}.{name}")
        else:
            known = _ROW_TYPES.get(name)
        if known is None:
            continue
        expected, nullable, column = known
        if value is None and nullable:
            continue
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise DamagedRow(f"{column} holds {_shown(value)}, not {expected.__name__} "
                             "(the store was changed outside lbaudit)")
    return row


def _said(value: Any) -> str:
    """A value of a run's record as verify quotes it: a time or date in ISO form, anything else as repr."""
    return repr(value.isoformat()) if isinstance(value, (date, datetime)) else repr(value)


def _signing_key(signature: str | None, raw: bytes) -> str | None | bool:
    """The fingerprint of the key the stored ``.sig`` document ``signature`` proves signed the
    evidence ``raw`` (as recording found it), None for no signature or one that proves none, False
    when the document cannot be read."""
    if signature is None:
        return None
    from auditor.attest.signing import key_that_signed, parse_signature

    try:
        return key_that_signed(parse_signature(signature.encode("utf-8"), Path("the stored signature")), raw)
    except InputError:
        return False


def _parse_signature(raw: bytes) -> dict[str, Any]:
    """The fields of an evidence ``.sig`` document (InputError when it is not one)."""
    from auditor.attest.signing import SIGNATURE_SCHEMA, SIGNATURE_SCHEMA_VERSION, _is_hex_digest
    from auditor.storage.jsonfile import parse_document

    data = parse_document(raw, "the evidence signature", "an lbaudit evidence signature")
    if (not isinstance(data, dict) or data.get("schema") != SIGNATURE_SCHEMA
            or data.get("schema_version") != SIGNATURE_SCHEMA_VERSION
            or not _is_hex_digest(data.get("evidence_sha256")) or not _is_hex_digest(data.get("public_key_sha256"))):
        raise InputError("the evidence signature is not an lbaudit evidence signature (lbaudit/evidence-signature 1.0)")
    return data


# The statements of recording, built once: SQLAlchemy then compiles each once per engine.
_RUN_BY_EVIDENCE = sa.select(t.runs.c.id).where(t.runs.c.evidence_sha256 == sa.bindparam("sha")).limit(1)
# The run an evidence is of, whatever its bytes: the same start and end, facts and policy.  Its
# digest is of the file's bytes, so a copy re-indented by a tool (an archive pretty-printed, other
# line endings) was another run: counted twice by trend, and diffed against itself by history diff
# and fleet report (a regression since the scan before read as no change).
_SAME_RUN = (sa.select(t.runs.c.id).where(t.runs.c.started_at == sa.bindparam("started"),
                                           t.runs.c.finished_at == sa.bindparam("finished"),
                                           t.runs.c.snapshot_sha256 == sa.bindparam("facts"),
                                           t.runs.c.policy_sha256 == sa.bindparam("policy"))
             .order_by(t.runs.c.id).limit(1))


def _same_run(conn: Connection, item: "PreparedRun") -> int | None:
    """The id of the recorded run ``item`` is another copy of (:data:`_SAME_RUN`), or None."""
    found = conn.execute(_SAME_RUN, {"started": item.started, "finished": item.run["finished_at"],
                                     "facts": item.run["snapshot_sha256"],
                                     "policy": item.run["policy_sha256"]}).scalar()
    return None if found is None else int(found)


_POLICY_KNOWN = sa.select(t.policies.c.sha256).where(t.policies.c.sha256 == sa.bindparam("sha"))
_HOST_FOR_UPDATE = sa.select(t.hosts).where(t.hosts.c.host_key == sa.bindparam("key")).with_for_update()
_LAST_RUN = (sa.select(t.runs.c.id, t.runs.c.evidence_sha256, t.runs.c.recorded_at)
             .where(t.runs.c.host_id == sa.bindparam("host"), t.runs.c.policy_id == sa.bindparam("policy"))
             .order_by(t.runs.c.id.desc()).limit(1))
# The next run id SQLite may hand out: its tables have no AUTOINCREMENT, so once the run of the
# largest id is pruned its rowid would be given again, to another run: an id a PDF or a ticket names
# would then name other evidence, and the pruned link of that id would break the chain for verify.
# How far ahead of the recording clock an evidence's run may be dated (two machines' clocks).
FUTURE_TOLERANCE = timedelta(hours=1)
_NEXT_RUN_ID = sa.select(sa.func.max(
    sa.func.coalesce(sa.select(sa.func.max(t.runs.c.id)).scalar_subquery(), 0),
    sa.func.coalesce(sa.select(sa.func.max(t.pruned_runs.c.run_id)).scalar_subquery(), 0),
    sa.func.coalesce(sa.select(sa.func.max(t.retirements.c.run_id)).scalar_subquery(), 0)) + 1)
SQLITE_LARGEST_INTEGER = 2**63 - 1
_LAST_RETIRED = (sa.select(t.retirements.c.run_id, t.retirements.c.digest)
                 .where(t.retirements.c.host_id == sa.bindparam("host"),
                        t.retirements.c.policy_id == sa.bindparam("policy"))
                 .order_by(t.retirements.c.run_id.desc()).limit(1))
RETIREMENT_FORMAT = "lbaudit-retirement/1"
SCHEMA_LOCK_KEY = 0x6C62_6175_6469_7401  # PostgreSQL advisory lock of the schema ("lbaudit", 1)
MAX_DAMAGE_SHOWN = 20  # of SQLite's integrity check, the problems verify reads (it stops there)
# The tables through which the read commands find, order and count runs: checked by SQLite before
# a read answers from them (HistoryStore._refuse_damaged_index).  Not evidence and findings, the
# bulk of the file: what is read of them is checked against the evidence digests.
INDEX_CHECKED_TABLES = ("hosts", "policies", "runs", "pruned_runs", "retirements", "missed_scans", "family_counts",
                        "attestations")


def _integrity_problems(conn: Connection, argument: str | int) -> list[str]:
    """What ``PRAGMA integrity_check(argument)`` of an SQLite store finds wrong (a table name: that
    table and its indexes; a number: the whole file, at most that many problems), each cut to 200
    characters; none when it says ``ok``."""
    lines = [str(line) for line in conn.exec_driver_sql(f"PRAGMA integrity_check({argument})").scalars()]
    return [line[:200] for line in lines if line != "ok"]


def retirement_digest(host_key_text: str, policy_id: str, prev: str | None, retired_at: datetime,
                      reason: str | None) -> str:
    """The digest of a retirement link: the SHA-256 of the canonical JSON of everything it says, so
    that ``history verify`` recomputes it and an edited link is a break."""
    return sha256_hex(canonical_json({"format": RETIREMENT_FORMAT, "host_key": host_key_text, "policy": policy_id,
                                      "prev_evidence_sha256": prev, "retired_at": _iso(retired_at),
                                      "reason": reason}))


_LAST_PRUNED = (sa.select(t.pruned_runs.c.run_id, t.pruned_runs.c.evidence_sha256)
                .where(t.pruned_runs.c.host_id == sa.bindparam("host"),
                       t.pruned_runs.c.policy_id == sa.bindparam("policy"))
                .order_by(t.pruned_runs.c.run_id.desc()).limit(1))


def _last_entries(conn: Connection, host_id: int, policy_id: str) -> tuple[Any, Any, Any]:
    """The newest recorded run, pruned link and retirement of one chain (host and policy), or None
    for each kind it has none of: rows whose first column is the entry's id, the second its digest."""
    params = {"host": host_id, "policy": policy_id}
    found = ((conn.execute(query, params).first(), table)
             for query, table in ((_LAST_RUN, t.runs), (_LAST_PRUNED, t.pruned_runs), (_LAST_RETIRED, t.retirements)))
    live, gone, retired = (None if row is None else _checked(row, table) for row, table in found)
    return live, gone, retired


def _newest(*entries: Any) -> Any:
    """The newest of a chain's last entries (by id: one id space, recording order), or None."""
    return max((entry for entry in entries if entry is not None), key=lambda entry: entry[0], default=None)


def _alembic_version_table() -> sa.Table:
    """The table in which Alembic keeps a database's revision, as Alembic itself defines it
    (``alembic.runtime.migration.MigrationContext``: ``version_num`` String(32), primary key
    ``alembic_version_pkc``), so that later migrations read the stamp of a store created at head."""
    return sa.Table("alembic_version", sa.MetaData(), sa.Column("version_num", sa.String(32), nullable=False),
                    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))


class HistoryStore:
    """An opened, migrated history store.  Use as a context manager, or call :meth:`close`."""

    def __init__(self, engine: Engine, shown: str):
        self.engine = engine
        self.shown = shown
        self._insert_statements: dict[str, Any] = {}
        self._pending: Connection | None = None  # the open transaction of record_with_command
        self._closed = False  # close() was called while a record was pending: closed when it ends
        # Whether the tables that choose runs were checked (:meth:`_refuse_damaged_index`); verify
        # checks the whole file itself and reports its damage as a break, exit 10.
        self._indexes_checked = False

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, location: str, *, migrate: bool = True, create: bool = True) -> "HistoryStore":
        engine, shown = make_engine(location, create)
        store = cls(engine, shown)
        try:
            store._check_schema(migrate, create)
        except BaseException:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        """Close the store's connections; a record still pending (:meth:`record_with_command`, whose
        command closes the store before its transaction ends) closes it when committed or rolled back."""
        self._closed = True
        if self._pending is None:
            self.engine.dispose()

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def files(self) -> list[Path]:
        """The files of an SQLite store (the database, its WAL and shared memory, and its rollback
        journal, which SQLite writes before the store is in WAL mode and deletes, as stale, when it
        finds one that is not its own): inputs no output of the run may replace, or take the name
        of.  None for a server.  ``-o STORE-journal`` wrote the evidence there, and the next
        command that opened the store deleted it."""
        database = self.engine.url.database
        if self.dialect != "sqlite" or not database or database == ":memory:":
            return []
        return [Path(database + suffix) for suffix in ("", *SQLITE_FILES_BESIDE)]

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction that will write: committed at the end, rolled back on an exception.  While
        a run's record is pending (:meth:`record_with_command`) it is a savepoint of that one: a
        second connection would wait for the write lock the pending record holds.  A row read in it
        that holds a value its column cannot hold is an InputError naming the store, as in a read
        (:class:`_Reading`), and the transaction is rolled back: ``history retire`` and ``evaluate
        --record`` over a row edited outside lbaudit were exit 70."""
        try:
            if self._pending is not None:
                with self._pending.begin_nested():
                    yield self._pending
                return
            with self.engine.connect().execution_options(**{WRITING: True}) as conn, conn.begin():
                yield conn
        except (ValueError, TypeError, OverflowError) as exc:
            damaged = self._damaged(exc)
            if damaged is None:
                raise
            raise damaged from None

    def _fail(self, action: str, exc: BaseException) -> Exception:
        """The error to show for a database error while ``action``: Busy (exit 75, EX_TEMPFAIL) when
        another writer held the store past the lock wait, else an InputError (exit 2).  A nightly scan
        that found the store locked by a long prune or backfill is "try again", not a usage error a
        monitor would page on as a broken schedule; nothing was written either way (rolled back)."""
        detail = getattr(exc, "orig", None) or exc
        first = str(detail).strip().splitlines()[0] if str(detail).strip() else type(detail).__name__
        if first == "unable to open database file":
            exhausted = descriptors_exhausted()
            if exhausted is not None:  # ulimit -n, not the store: exit 71 naming the limit, as cli says an OSError's
                return OSError(exhausted, os.strerror(exhausted), self.shown)
        if _read_only(detail):
            upgrade = ("; its schema is older than this lbaudit's, and is upgraded when the store is opened where it "
                       "can be written" if action == "migrate" else "")
            return InputError(f"{self.shown}: cannot {action} the history store: {first} (this user cannot write it, "
                              f"or it is on a read-only file system{upgrade}); nothing was written")
        if _lock_wait_ran_out(detail):
            return Busy(f"{self.shown}: cannot {action} the history store: another process held it for longer than "
                        f"{BUSY_TIMEOUT_MS // 1000} s ({first}); nothing was written, run again")
        held = file_size_limit() if io_failure(detail) else None
        if held is not None:
            # SQLite names no file and no errno: "disk I/O error" sent the user to a disk that was fine
            first += (f" (ulimit -f lets lbaudit write files of at most {held} bytes; SQLite keeps an index of "
                      "32 KiB (-shm) and a log (-wal) beside the store, read-only commands too: raise the limit)")
        return InputError(f"{self.shown}: cannot {action} the history store: {first}")

    def _damaged(self, exc: BaseException) -> InputError | None:
        """The InputError naming the store for an error raised while reading a row that holds a value
        its column cannot hold (a DamagedRow of :func:`_checked`, or SQLAlchemy's own reading of a
        typed column: a DATETIME that is no ISO time); None for any other error (a bug stays one)."""
        if isinstance(exc, DamagedRow):
            return InputError(f"{self.shown}: a row of the history store is damaged: {exc}")
        if _raised_by_sqlalchemy(exc.__traceback__):
            return InputError(f"{self.shown}: a row of the history store is damaged: a value cannot be read as its "
                              f"column's type: {type(exc).__name__}: {_shown(str(exc))} (the store was changed "
                              "outside lbaudit)")
        return None

    def revision(self) -> str | None:
        """The Alembic revision the store is at, or None for an empty database."""
        try:
            with self.engine.connect() as conn:
                self._refuse_views(conn)
                # The common case, one query: a store at some revision.  Anything else is inspected.
                try:
                    with conn.begin_nested():
                        stamped = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                    if stamped is not None:
                        return str(stamped)
                except (SQLAlchemyError, DBAPIError):
                    pass
                inspector = sa.inspect(conn)
                tables = set(inspector.get_table_names())
                if "alembic_version" not in tables:
                    if tables:
                        raise InputError(f"{self.shown}: the database holds tables but is not an lbaudit history "
                                         "store (no alembic_version); give another --store")
                    return None
                stamped = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                if stamped is None and tables & set(t.metadata.tables):
                    # Read as an empty database, it was "no history store here (the database is empty)"
                    # of a store of runs, and a command that records failed on "table hosts already exists"
                    raise InputError(f"{self.shown}: the store holds lbaudit's tables but no schema revision (its "
                                     "alembic_version table is empty): it was changed outside lbaudit; restore it "
                                     "from a backup, or stamp the revision it was at")
                return None if stamped is None else str(stamped)
        except InputError:
            raise
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("open", exc) from None

    def _refuse_views(self, conn: Connection) -> None:
        """InputError when an SQLite store holds a view where one of lbaudit's tables belongs.  A
        file changed outside lbaudit can hold a recursive view named ``runs`` (or
        ``alembic_version``) that never ends: every command on the store then read it for ever, the
        nightly scan too.  A server store bounds each query (LBAUDIT_STORE_TIMEOUT); SQLite has no
        such bound, so what it reads must be tables."""
        if self.dialect != "sqlite":
            return
        names = sorted({*t.metadata.tables, "alembic_version"})
        marks = ", ".join("?" * len(names))
        views = conn.exec_driver_sql(f"SELECT name FROM sqlite_master WHERE type = 'view' AND name IN ({marks}) "
                                     "ORDER BY name", tuple(names)).scalars().all()
        if views:
            raise InputError(f"{self.shown}: {', '.join(views)} {'is a view' if len(views) == 1 else 'are views'}, not "
                             "lbaudit's table: the store was changed outside lbaudit (restore it from a backup, or "
                             "give another --store)")

    def _check_schema(self, migrate: bool, create: bool = True) -> None:
        current = self.revision()
        if current == t.HEAD_REVISION:
            return
        if current is None and not create:
            # An empty database (an existing empty SQLite file, a fresh PostgreSQL database) holds
            # no history: a command that only reads must neither build a schema in it nor say
            # "verified" of it, the same as for a missing SQLite file.
            raise InputError(f"{self.shown}: no history store here (the database is empty; nothing was recorded "
                             "in it; evaluate --record or history import creates it)")
        known = [path.name.split("_", 1)[0] for path in sorted((MIGRATIONS / "versions").glob("[0-9]*.py"))]
        if current is not None and current not in known:
            raise InputError(f"{self.shown}: the store's schema (revision {current}) is newer than this lbaudit "
                             f"knows ({t.HEAD_REVISION}); upgrade lbaudit")
        if not migrate:
            raise InputError(f"{self.shown}: the store's schema is at revision {current}, not {t.HEAD_REVISION}")
        if current is None and self._create():
            return
        self.upgrade()

    def _create(self) -> bool:
        """Build an empty database's schema at once and stamp it at the head revision: Alembic's
        documented way to start a fresh database ("create_all, then stamp head"), without
        importing Alembic (about half a second) or replaying every migration (about 60 ms on
        SQLite).  ``tests/history/test_migrations.py`` proves the migrations from an empty database
        and from revision 0001 build this same schema.  False when, by the time the write lock is
        held, another process has begun the store: the migrations then take it from there."""
        try:
            with self._writing() as conn:
                self._lock_schema(conn)
                if sa.inspect(conn).get_table_names():
                    return False
                t.metadata.create_all(conn)
                version = _alembic_version_table()
                version.create(conn)
                conn.execute(version.insert().values(version_num=t.HEAD_REVISION))
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("create", exc) from None
        return True

    def _lock_schema(self, conn: Connection) -> None:
        """Hold, until ``conn``'s transaction ends, the lock under which a PostgreSQL store's schema
        is built or migrated.  Without it, processes opening one new store at once (a fleet's
        nightly timers into a team store) each built the schema in a transaction of its own and
        all but one failed, exit 2 ("duplicate key value violates unique constraint"; an upgrade:
        "column ... already exists"); with it, the others wait (up to the lock timeout: Busy,
        exit 75) and then find the schema built.  SQLite's writing transactions are IMMEDIATE:
        one at a time already."""
        if self.dialect == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))

    def upgrade(self, target: str = "head") -> None:
        """Run the shipped migrations up to ``target`` (Alembic is imported only here)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self._writing() as conn:
                self._lock_schema(conn)  # Alembic reads the revision after it: another's upgrade is seen
                config.attributes["connection"] = conn
                command.upgrade(config, target)
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("migrate", exc) from None

    # ------------------------------------------------------------------ recording

    def record(self, evidence_bytes: bytes, evidence: Evidence | None = None, *, trigger: str = "manual",
               inventory_name: str | None = None, signature: bytes | None = None,
               recorded_at: datetime | None = None) -> RecordedRun:
        """Record one run from its evidence file's exact bytes (and its ``.sig`` when signed)."""
        return self.record_many([(evidence_bytes, evidence, signature)], trigger=trigger,
                                inventory_name=inventory_name, recorded_at=recorded_at)[0]

    def record_with_command(self, evidence_bytes: bytes, evidence: Evidence | None = None, *,
                            trigger: str = "manual", signature: bytes | None = None) -> RecordedRun:
        """Record one run in a transaction committed only when the command that made the run ends
        well (:meth:`hold_until_command_ends`): after its last output is written and its streams
        flushed.  A run whose evidence, reports or summary could not be written (a full disk, a
        closed standard output: exit 74, SIGTERM: 143) is not recorded, as its files are put back;
        a record that cannot be committed fails the command and puts its files back.  Outside a
        command's transaction (a library call) it is committed at once, as :meth:`record`."""
        self.hold_until_command_ends()
        return self.record(evidence_bytes, evidence, trigger=trigger, signature=signature)

    def hold_until_command_ends(self) -> None:
        """Make every write to this store from now on part of one transaction that ends with the
        command's files (:func:`auditor.command_files.ends_with_files`): committed when the command
        ends well, after its last output; rolled back when its files are put back (an error, exit
        74, Ctrl-C, SIGTERM), so the store never says what the command's files do not (a run whose
        evidence was put back, a report marked attested that was never written).  Until then the
        store's write lock is held (SQLite; PostgreSQL: the rows written), so other writers wait
        (up to the busy timeout) for this command to print its summary.  Outside a command's
        transaction (a library call) each write commits on its own, as before."""
        from auditor.command_files import current, ends_with_files

        if self._pending is not None or current() is None:
            return
        conn = self.engine.connect().execution_options(**{WRITING: True})
        try:
            transaction = conn.begin()
        except BaseException as exc:
            conn.close()
            if isinstance(exc, (SQLAlchemyError, DBAPIError)):
                raise self._fail("write to", exc) from None
            raise

        def commit() -> None:
            try:
                transaction.commit()
            except (SQLAlchemyError, DBAPIError) as exc:
                raise self._fail("record in", exc) from None
            finally:
                ended()

        def roll_back() -> None:
            ended()  # closing a connection rolls back its transaction

        def ended() -> None:
            self._pending = None
            conn.close()
            if self._closed:
                self.engine.dispose()

        self._pending = conn
        ends_with_files(commit, roll_back)

    def record_many(self, items: list[tuple[bytes, Evidence | None, bytes | None]], *, trigger: str = "manual",
                    inventory_name: str | None = None, recorded_at: datetime | None = None) -> list[RecordedRun]:
        """Record several runs, in this order, in one transaction (a backfill): all or none.
        Each item is (evidence bytes, the parsed evidence or None, the ``.sig`` document or None)."""
        if trigger not in t.TRIGGERS:
            raise InputError(f"trigger {trigger!r} is not one of {', '.join(t.TRIGGERS)}")
        prepared = [prepare_run(raw, evidence, signature) for raw, evidence, signature in items]
        return self._record_all(prepared, trigger, inventory_name, recorded_at)

    def import_prepared(self, prepared: list[PreparedRun], *, trigger: str = "manual",
                        inventory_name: str | None = None, names: list[str] | None = None
                        ) -> list[tuple[int, bool, bool]]:
        """Record a backfill (``history import``), in this order, in one transaction: all or none.
        A run whose evidence is already recorded (an import run twice, one file given twice) is
        left as it is: (its run id, False, False), or (its run id, False, True) when it was unsigned
        and took the signature of this copy (:meth:`_sign_recorded`); a run recorded here is (its
        id, True, False).  Any other
        refusal records none of them: an import that failed on its fifth file had recorded the four
        before it, and said only that the fifth was not.  ``names``: the files of the runs, which a
        refusal then names (a clock set back is found only here, against the host's chain)."""
        if trigger not in t.TRIGGERS:
            raise InputError(f"trigger {trigger!r} is not one of {', '.join(t.TRIGGERS)}")
        from auditor.attest.signing import EvidenceChangedSinceSigned

        results: list[tuple[int, bool, bool]] = []
        try:
            with self._writing() as conn:
                for index, item in enumerate(prepared):
                    try:
                        run = self._record_in(conn, item, trigger, inventory_name, None)
                    except AlreadyRecorded as exc:  # raised before the item wrote anything but its signature
                        results.append((exc.run_id, False, exc.signed_now))
                        continue
                    except InputError as exc:
                        if names is None or type(exc) not in (InputError, UnkeepableText):
                            raise
                        raise InputError(f"{names[index]}: {exc}") from None
                    except EvidenceChangedSinceSigned as exc:
                        if names is None:
                            raise
                        raise EvidenceChangedSinceSigned(f"{names[index]}: {exc}") from None
                    results.append((run.run_id, True, False))
        except InputError:
            raise
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("record in", exc) from None
        return results

    def record_prepared(self, prepared: PreparedRun, *, trigger: str = "manual",
                        inventory_name: str | None = None) -> RecordedRun:
        """Record one run prepared elsewhere (:func:`prepare_run`, in a fleet worker process)."""
        if trigger not in t.TRIGGERS:
            raise InputError(f"trigger {trigger!r} is not one of {', '.join(t.TRIGGERS)}")
        return self._record_all([prepared], trigger, inventory_name, None)[0]

    def withdraw(self, run_id: int) -> None:
        """Take back run ``run_id``, which this command recorded and has not committed (a fleet
        host found, after it was recorded, to be one of two snapshots naming one host): its rows
        go, and its evidence and host rows when nothing else of the store holds them, so the store
        says what the command's files say.  Only the newest run of its host's chain, and only while
        the command's transaction holds it (:meth:`hold_until_command_ends`): a committed run is
        the history, and is pruned or retired, never withdrawn."""
        if self._pending is None:
            raise InputError(f"{self.shown}: run {run_id} is committed: it can be retired or pruned, not withdrawn")
        runs = t.runs.c
        try:
            with self._writing() as conn:
                row = conn.execute(sa.select(runs.host_id, runs.evidence_sha256).where(runs.id == run_id)).one()
                if conn.execute(sa.select(runs.id).where(runs.prev_evidence_sha256 == row.evidence_sha256)).first():
                    raise InputError(f"{self.shown}: run {run_id} has a later run chained to it: it cannot be withdrawn")
                for table in (t.findings, t.family_counts, t.attestations):
                    conn.execute(table.delete().where(table.c.run_id == run_id))
                conn.execute(t.runs.delete().where(runs.id == run_id))
                if conn.execute(sa.select(runs.id).where(runs.evidence_sha256 == row.evidence_sha256)).first() is None:
                    conn.execute(t.evidence.delete().where(t.evidence.c.sha256 == row.evidence_sha256))
                if not any(conn.execute(sa.select(table.c.host_id).where(table.c.host_id == row.host_id)).first()
                           for table in (t.runs, t.pruned_runs, t.retirements, t.family_counts, t.missed_scans)):
                    conn.execute(t.hosts.delete().where(t.hosts.c.id == row.host_id))
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("withdraw a run from", exc) from None

    def _record_all(self, prepared: list[PreparedRun], trigger: str, inventory_name: str | None,
                    recorded_at: datetime | None) -> list[RecordedRun]:
        recorded = []
        try:
            with self._writing() as conn:
                for item in prepared:
                    recorded.append(self._record_in(conn, item, trigger, inventory_name, recorded_at))
        except InputError:
            raise
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("record in", exc) from None
        return recorded

    def _record_in(self, conn: Connection, item: PreparedRun, trigger: str, inventory_name: str | None,
                   recorded_at: datetime | None) -> RecordedRun:
        digest = item.sha256
        existing = conn.execute(_RUN_BY_EVIDENCE, {"sha": digest}).scalar()
        if existing is not None:
            raise AlreadyRecorded(f"this evidence (SHA-256 {digest[:16]}...) is already recorded as run "
                                  f"{existing}", existing, self._sign_recorded(conn, int(existing), item))
        same = _same_run(conn, item)
        if same is not None:
            raise AlreadyRecorded(f"this evidence (SHA-256 {digest[:16]}...) is of a run already recorded as run {same} "
                                  "(the same start, end, facts and policy, in other bytes: a copy re-indented or "
                                  "edited)", same, self._sign_recorded(conn, same, item))
        ahead = _dated_ahead(item.started, item.collected, _naive_utc(recorded_at or datetime.now(timezone.utc)))
        if ahead:
            raise InputError(f"this evidence {ahead}")
        refuse_unnamed_host(item.machine_id, item.hostname, inventory_name)
        host_id = self._host(conn, item.machine_id, item.hostname, inventory_name, item.started)
        # read once the host's chain is locked (SQLite: the write lock), so that of two recorders
        # waiting for each other the later-recorded run has the later time
        now = _naive_utc(recorded_at or datetime.now(timezone.utc))
        if conn.execute(_POLICY_KNOWN, {"sha": item.policy["sha256"]}).first() is None:
            self._insert_missing(conn, t.policies, "sha256", item.policy)
        self._insert_missing(conn, t.evidence, "sha256", {
            "sha256": digest, "size": item.size, "encoding": EVIDENCE_ENCODING, "content": item.content})
        prev = self._chain_head(conn, host_id, item.run["policy_id"], now)
        explicit_id = {"id": self._next_run_id(conn, "record in")} if self.dialect == "sqlite" else {}
        inserted = conn.execute(t.runs.insert(), {
            **explicit_id, **item.run, "host_id": host_id, "recorded_at": now, "trigger": trigger,
            "prev_evidence_sha256": prev,
        }).inserted_primary_key
        assert inserted is not None  # an INSERT of one row always has its key
        run_id = int(inserted[0])
        if item.findings:
            conn.execute(t.findings.insert(), [{"run_id": run_id, **row} for row in item.findings])
        if item.families:
            conn.execute(t.family_counts.insert(), [
                {"run_id": run_id, "family": family, "status": status, "count": n, "day": item.run["day"],
                 "host_id": host_id, "policy_id": item.run["policy_id"]}
                for family, status, n in item.families])
        return RecordedRun(run_id, digest, prev, host_id)

    def _sign_recorded(self, conn: Connection, run_id: int, item: PreparedRun) -> bool:
        """Give the recorded run ``run_id`` the signature of ``item``, another copy of it, when the run
        is unsigned and that signature signs the evidence the store holds of it (the same canonical
        document); True when it did.  An unsigned copy imported before the signed original kept the
        run unsigned: list, export and verify --require-signed denied a signature handed to the store.
        A signature of what the recorded copy does not say is refused (EvidenceChangedSinceSigned):
        the run recorded is not the run that was signed."""
        if item.signature is None:
            return False
        row = _checked(conn.execute(sa.select(t.runs.c.signature, t.runs.c.evidence_sha256)
                                    .where(t.runs.c.id == run_id)).one())
        if row.signature is not None:
            return False  # signed already: the run keeps the signature it was recorded with
        if row.evidence_sha256 != item.sha256:  # a copy in other bytes: does the signature sign it?
            from auditor.attest.signing import EvidenceChangedSinceSigned, key_that_signed, parse_signature

            stored = self._evidence_in(conn, row.evidence_sha256)
            document = parse_signature(item.signature.encode("utf-8"), Path("the evidence signature"))
            if key_that_signed(document, stored) != item.signature_key:
                raise EvidenceChangedSinceSigned(
                    f"its .sig (key {item.signature_key}) does not sign the evidence recorded of this run as run "
                    f"{run_id} (the same start, end, facts and policy, another document): the run recorded is not "
                    "the one that was signed; not recorded (history show --evidence " + str(run_id) + " shows it)")
        conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(
            signature_state="signed", signature=item.signature, signature_key=item.signature_key))
        return True

    def _next_run_id(self, conn: Connection, action: str) -> int:
        """The id of the next run or link of an SQLite store (its tables have no AUTOINCREMENT: see
        _NEXT_RUN_ID).  Past the largest integer SQLite holds (an id set there outside lbaudit),
        SQLite's sum is a REAL, and binding it as the new row's id was Python's OverflowError
        (exit 70): an InputError naming the store instead."""
        found = conn.execute(_NEXT_RUN_ID).scalar_one()
        next_id = int(found)
        if next_id > SQLITE_LARGEST_INTEGER:
            raise InputError(f"{self.shown}: cannot {action} the history store: the next run id would be {next_id}, "
                             f"past the largest SQLite holds ({SQLITE_LARGEST_INTEGER}): the store's ids were changed "
                             "outside lbaudit")
        return next_id

    def _insert_missing(self, conn: Connection, table: sa.Table, key: str, values: dict[str, Any]) -> None:
        statement = self._insert_statements.get(table.name)
        if statement is None:
            if self.dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
            statement = insert(table).on_conflict_do_nothing(index_elements=[key])
            self._insert_statements[table.name] = statement
        conn.execute(statement, values)

    def _host(self, conn: Connection, machine_id: str | None, hostname: str, inventory_name: str | None,
              started: datetime | None = None) -> int:
        """The host's id (its row made if new), its name and machine id brought up to those of a run
        that started at ``started``, unless a run of the host recorded before started later: a
        backfill (``history import`` of an older scan) set the host's name back to the one it had
        then, and every list, report and diff named the host by its old name."""
        key = host_key(machine_id, hostname, inventory_name)
        refuse_unkeepable(t.hosts, {"inventory_name": inventory_name, "host_key": key})
        # Locked for the rest of the transaction (PostgreSQL; SQLite's transaction is immediate), so
        # two recorders of one host cannot both take the same chain head.
        row = conn.execute(_HOST_FOR_UPDATE, {"key": key}).first()
        if row is None:
            self._insert_missing(conn, t.hosts, "host_key", {"host_key": key, "machine_id": machine_id,
                                                             "hostname": hostname, "inventory_name": inventory_name})
            row = conn.execute(_HOST_FOR_UPDATE, {"key": key}).one()
        changes: dict[str, Any] = {}
        if started is not None and (row.hostname != hostname or row.machine_id != machine_id):
            later = sa.select(t.runs.c.id).where(t.runs.c.host_id == row.id, t.runs.c.started_at > started).limit(1)
            if conn.execute(later).first() is not None:
                hostname, machine_id = row.hostname, row.machine_id  # an older scan: the newer one's names stand
        if row.hostname != hostname:
            changes["hostname"] = hostname  # renamed; the machine id says it is the same host
        if row.machine_id != machine_id:
            # A fleet host (keyed by its inventory name) reinstalled: its machine id as last recorded,
            # as its host name is, is what a fleet run binds its next snapshot to (recorded_identity).
            changes["machine_id"] = machine_id
        if inventory_name is not None and row.inventory_name != inventory_name:
            changes["inventory_name"] = inventory_name
        if changes:
            conn.execute(t.hosts.update().where(t.hosts.c.id == row.id).values(**changes))
        return int(row.id)

    def _chain_head(self, conn: Connection, host_id: int, policy_id: str, now: datetime) -> str | None:
        """The evidence digest of the newest run (recorded or pruned) of this host and policy.

        A recording clock behind the one that recorded that run is refused (InputError): a clock
        set back dates the new scan before the last one, and "the latest run" (history diff,
        fleet report, prune --keep-last) is the one that ran last by those dates, so the newest
        scan would be diffed as the older one, its regressions read as improvements.  (A backfill,
        `history import` of older scans, is recorded by a clock that is right: not refused.)"""
        live, gone, retired = _last_entries(conn, host_id, policy_id)
        if live is not None and isinstance(live.recorded_at, datetime) and now < live.recorded_at:
            raise InputError(f"the clock says {now.isoformat()}Z, before run {live.id} of this host and policy was "
                             f"recorded ({live.recorded_at.isoformat()}Z): a clock set back; not recorded (fix the "
                             "clock: a scan dated before the last one would be taken for the older)")
        newest = _newest(live, gone, retired)
        return newest[1] if newest is not None else None

    # ------------------------------------------------------------------ retire

    def retire(self, host: str, *, policy: str | None = None, reason: str | None = None,
               now: datetime | None = None) -> list[dict[str, Any]]:
        """Retire the host ``host`` names (host name, machine id or inventory name), from every
        policy it was recorded with or from ``policy`` alone: each of its chains gets a retirement
        link after its newest entry, so that ``fleet report`` no longer lists it and ``history
        verify`` still walks every chain whole.  Its runs are kept.  A name of several hosts, a
        host the store never recorded or a policy it was never judged by is an InputError; a chain
        already retired is left as it is.  Returns the links written (and those already there)."""
        ids = self._known_host_ids(host)
        if len(ids) > 1:
            with self._reading() as conn:
                keys = sorted(conn.execute(sa.select(t.hosts.c.host_key).where(t.hosts.c.id.in_(ids))).scalars())
            raise InputError(f"{self.shown}: {host!r} names {len(ids)} hosts ({', '.join(keys)}): give the machine id "
                             "or inventory name of the one to retire")
        host_id = ids[0]
        moment = _naive_utc(now or datetime.now(timezone.utc))
        done: list[dict[str, Any]] = []
        try:
            with self._writing() as conn:
                key = _checked(conn.execute(sa.select(t.hosts.c.host_key).where(t.hosts.c.id == host_id)).one()).host_key
                # a host fleet runs expected and never judged (record_missed) is retired too: else it
                # stayed "not scanned" in every fleet report after it left the inventory
                chains = {_checked(row, table).policy_id for table in (t.runs, t.pruned_runs, t.missed_scans)
                          for row in conn.execute(sa.select(table.c.policy_id).where(table.c.host_id == host_id))}
                if policy is not None:
                    if policy not in chains:
                        raise InputError(f"{self.shown}: host {host!r} has no run of policy {policy!r} in the history "
                                         "store")
                    chains = {policy}
                for policy_id in sorted(chains):
                    live, gone, retired = _last_entries(conn, host_id, policy_id)
                    newest = _newest(live, gone, retired)  # None: a host only ever missed (no run, no link)
                    if retired is not None and newest is not None and retired.run_id == newest[0]:
                        done.append({"policy": policy_id, "run_id": retired.run_id, "digest": retired.digest,
                                     "already": True})
                        continue
                    if self.dialect == "postgresql":  # the runs' own sequence: one id space, recording order
                        entry_id = int(conn.execute(sa.select(sa.func.nextval(
                            sa.func.pg_get_serial_sequence("runs", "id")))).scalar_one())
                    else:
                        entry_id = self._next_run_id(conn, "retire a host in")
                    prev = newest[1] if newest is not None else None
                    digest = retirement_digest(key, policy_id, prev, moment, reason)
                    conn.execute(t.retirements.insert().values(
                        run_id=entry_id, host_id=host_id, policy_id=policy_id, digest=digest,
                        prev_evidence_sha256=prev, retired_at=moment, reason=reason))
                    done.append({"policy": policy_id, "run_id": entry_id, "digest": digest, "already": False})
        except InputError:
            raise
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("retire a host in", exc) from None
        return done

    def retired(self, *, policy: str | None = None) -> list[dict[str, Any]]:
        """The chains (host and policy id) whose newest entry is a retirement: hosts out of the fleet."""
        entries = sa.union_all(
            sa.select(t.runs.c.id.label("run_id"), t.runs.c.host_id, t.runs.c.policy_id),
            sa.select(t.pruned_runs.c.run_id, t.pruned_runs.c.host_id, t.pruned_runs.c.policy_id)).subquery()
        newest_other = (sa.select(sa.func.max(entries.c.run_id)).where(
            entries.c.host_id == t.retirements.c.host_id, entries.c.policy_id == t.retirements.c.policy_id)
            .scalar_subquery())
        newest_retirement = sa.select(sa.func.max(t.retirements.c.run_id)).group_by(
            t.retirements.c.host_id, t.retirements.c.policy_id)
        query = (sa.select(t.retirements, t.hosts.c.hostname, t.hosts.c.machine_id, t.hosts.c.inventory_name,
                           t.hosts.c.host_key)
                 .join(t.hosts, t.hosts.c.id == t.retirements.c.host_id)
                 .where(t.retirements.c.run_id.in_(newest_retirement),
                        sa.or_(newest_other.is_(None), newest_other < t.retirements.c.run_id))
                 .order_by(t.retirements.c.run_id))
        if policy is not None:
            query = query.where(t.retirements.c.policy_id == policy)
        with self._reading() as conn:
            rows = [_checked(row) for row in conn.execute(query)]
        return [{"host": {"hostname": row.hostname, "machine_id": row.machine_id, "inventory_name": row.inventory_name},
                 "host_key": row.host_key, "policy": row.policy_id, "run_id": row.run_id, "digest": row.digest,
                 "retired_at": _iso(row.retired_at), "reason": row.reason} for row in rows]

    # ------------------------------------------------------------------ hosts a fleet run could not judge

    def record_missed(self, inventory_name: str, policy_id: str, started_at: datetime, exit_code: int,
                      reason: str, *, now: datetime | None = None) -> None:
        """Record that the fleet run started at ``started_at`` expected the host named
        ``inventory_name`` (the fleet's name for it, as its runs are recorded) and could not judge
        it against ``policy_id``, for ``reason``.  A host the store has never seen is added (by that
        name only), so that a host that was never reachable is listed too."""
        key = host_key(None, inventory_name, inventory_name)
        refuse_unkeepable(t.hosts, {"hostname": inventory_name, "inventory_name": inventory_name, "host_key": key})
        refuse_unkeepable(t.missed_scans, {"policy_id": policy_id})
        reason = keepable_reason(reason)
        try:
            with self._writing() as conn:
                row = conn.execute(_HOST_FOR_UPDATE, {"key": key}).first()
                if row is None:
                    self._insert_missing(conn, t.hosts, "host_key", {"host_key": key, "machine_id": None,
                                                                     "hostname": inventory_name,
                                                                     "inventory_name": inventory_name})
                    row = conn.execute(_HOST_FOR_UPDATE, {"key": key}).one()
                conn.execute(t.missed_scans.insert().values(
                    host_id=int(row.id), policy_id=policy_id, started_at=_naive_utc(started_at),
                    recorded_at=_naive_utc(now or datetime.now(timezone.utc)), exit_code=exit_code, reason=reason))
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("record a host not scanned in", exc) from None

    def newest_collection(self, inventory_name: str, now: datetime | None = None,
                          machine_id: str | None = None, hostname: str | None = None) -> CollectionsRecorded:
        """Of the fleet host named ``inventory_name`` (as ``fleet evaluate --record`` records it),
        and, given the ``machine_id`` its snapshot records, of the host the store keys by that machine
        id (recorded without an inventory name: ``lbaudit evaluate --record``, ``history import``
        without ``--host``; :func:`host_key`), or, for a snapshot without one, of the hosts the store
        keys by its ``hostname`` or by ``inventory_name`` as a host name (each in any spelling), the
        latest run of each policy it was judged by, the one whose facts were collected last: its
        id, and when its facts were collected (UTC).  None for a host without a run.  The time is
        the run's ``collected_at`` (revision 0006); a run recorded before that revision has none, and
        its evidence says.  Read in the command's pending transaction when there is one (a second
        connection of SQLite would wait for the write lock it holds).

        A run dated ahead (:func:`run_dated_ahead`: started, or over facts collected, more than
        FUTURE_TOLERANCE after ``now``, the fleet run's clock, or over facts collected after it was
        evaluated) is passed over, and named in ``ahead``: recorded before lbaudit refused such runs
        (year 2999, by ``history import``), it made every genuine snapshot of the host "older than
        recorded", and the host was refused for ever (or until the forged time, for facts said to
        be collected after the run that judged them).  The policy's latest run before it counts
        instead."""
        from auditor.model.facts import own_machine_id

        runs = t.runs.c
        moment = now or datetime.now(timezone.utc)
        newest: tuple[int, datetime] | None = None
        ahead: list[tuple[int, datetime, str]] = []
        try:
            with self._writing() as conn:
                # Every spelling of the host's name (case, a root's trailing dot: auditor.text.inventory_host), as
                # the fleet run compares its hosts: the host's directory renamed WEB01 or web01. was
                # a host without runs, and its older snapshot replayed was judged and recorded.
                # And the host as the store keys it without an inventory name, by its machine id: a host
                # recorded by plain evaluate --record was a host without runs on its first fleet run,
                # and an older snapshot of it replayed was judged and recorded.  Only the machine-id
                # key: hosts a fleet names apart (containers sharing a machine id) stay apart.
                named = sa.func.rtrim(sa.func.lower(t.hosts.c.inventory_name), ".") == inventory_host(inventory_name)
                if own_machine_id(machine_id):
                    same_machine = t.hosts.c.host_key == host_key(machine_id, "")
                else:
                    # No machine id: the store keys such a host by its host name alone, as typed
                    # (hostname:WEB01.), so every spelling of it counts, the snapshot's host name's and
                    # the inventory name's (a host whose name is its inventory name): else a replayed
                    # older snapshot without one was a host without runs, judged and recorded.
                    spellings = {host_key(None, inventory_host(name))
                                 for name in (hostname, inventory_name) if name}
                    # (a machine id that is no id, "uninitialized", keys by the name too: host_key)
                    same_machine = sa.and_(t.hosts.c.inventory_name.is_(None),
                                           sa.func.rtrim(sa.func.lower(t.hosts.c.host_key), ".").in_(spellings))
                hosts = list(conn.execute(sa.select(t.hosts.c.id).where(sa.or_(named, same_machine))).scalars())
                policies = [] if not hosts else list(conn.execute(
                    sa.select(runs.host_id, runs.policy_id).where(runs.host_id.in_(hosts)).distinct()))
                for host_id, policy_id in policies:
                    latest = conn.execute(
                        sa.select(runs.id, runs.evidence_sha256, runs.collected_at, runs.started_at)
                        .where(runs.host_id == host_id, runs.policy_id == policy_id)
                        .order_by(*newest_facts_first())).all()
                    for row in latest:
                        _checked(row, t.runs)
                        collected = self._run_collected(conn, row)
                        why = run_dated_ahead(row.started_at, collected, moment)
                        if why is not None:
                            ahead.append((int(row.id), collected, why))
                            continue
                        if newest is None or collected > newest[1]:
                            newest = (int(row.id), collected)
                        break
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("read", exc) from None
        return CollectionsRecorded(newest, sorted(ahead))

    def recorded_identity(self, inventory_name: str) -> RecordedIdentity | None:
        """The machine the fleet host ``inventory_name`` (any spelling of it, as newest_collection
        finds it) was when its latest run was recorded: the hosts row with the newest entry (a run or
        a pruned run's link) whose chains are not all retired, or None when it has none (a host never
        judged, one only ever not scanned, one retired).  Read in the command's pending transaction
        when there is one.  Each chain's newest entries are read by the (host, policy, id) indexes:
        a fleet run asks once a host, and a store keeps every run of every host."""
        def newest_by_policy(conn: Any, table: sa.Table, column: Any, host_id: int) -> dict[str, int]:
            return {policy_id: int(newest) for policy_id, newest in conn.execute(
                sa.select(table.c.policy_id, sa.func.max(column)).where(table.c.host_id == host_id)
                .group_by(table.c.policy_id))}

        try:
            with self._writing() as conn:
                named = sa.func.rtrim(sa.func.lower(t.hosts.c.inventory_name), ".") == inventory_host(inventory_name)
                hosts = [_checked(row, t.hosts) for row in conn.execute(
                    sa.select(t.hosts.c.id, t.hosts.c.machine_id, t.hosts.c.hostname, t.hosts.c.inventory_name)
                    .where(named))]
                found: RecordedIdentity | None = None
                for host in hosts:
                    entries = newest_by_policy(conn, t.runs, t.runs.c.id, host.id)
                    for policy_id, pruned in newest_by_policy(conn, t.pruned_runs, t.pruned_runs.c.run_id,
                                                              host.id).items():
                        entries[policy_id] = max(entries.get(policy_id, 0), pruned)
                    retired = newest_by_policy(conn, t.retirements, t.retirements.c.run_id, host.id)
                    # a chain whose newest entry is a retirement is out of the fleet
                    live = [entry for policy_id, entry in entries.items() if retired.get(policy_id, 0) < entry]
                    if live and (found is None or max(live) > found.run_id):
                        found = RecordedIdentity(max(live), host.machine_id, host.hostname, host.inventory_name)
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("read", exc) from None
        return found

    def _run_collected(self, conn: Any, row: Any) -> datetime:
        """When a run row's facts were collected (UTC): its ``collected_at``, or for a run recorded
        before revision 0006, what its evidence says."""
        if row.collected_at is not None:
            return _aware_utc(row.collected_at)
        return _collected_at(self._evidence_in(conn, row.evidence_sha256), f"{self.shown}: run {row.id}'s evidence")

    def collected_times(self, run_ids: list[int]) -> dict[int, datetime]:
        """When the facts of each run of ``run_ids`` were collected (UTC): its ``collected_at``, or
        for a run recorded before revision 0006, what its evidence says."""
        found: dict[int, datetime] = {}
        with self._reading() as conn:
            for start in range(0, len(run_ids), 500):  # within every backend's bound parameters
                for row in conn.execute(sa.select(t.runs.c.id, t.runs.c.evidence_sha256, t.runs.c.collected_at)
                                        .where(t.runs.c.id.in_(run_ids[start:start + 500]))):
                    _checked(row, t.runs)
                    found[int(row.id)] = self._run_collected(conn, row)
        return found

    def newest_missed(self, *, policy: str | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
        """Per host and policy id, the newest fleet run (by its start) that expected the host and
        could not judge it (:meth:`record_missed`), with its reason.  Oldest first.  Given ``now``,
        one that started ahead of it (:func:`started_ahead`) is passed over, and listed after them
        with ``dated_ahead`` set."""
        query = (sa.select(t.missed_scans, t.hosts.c.hostname, t.hosts.c.machine_id, t.hosts.c.inventory_name)
                 .join(t.hosts, t.hosts.c.id == t.missed_scans.c.host_id))
        if policy is not None:
            query = query.where(t.missed_scans.c.policy_id == policy)
        newest: dict[tuple[int, str], Any] = {}
        ahead: list[Any] = []
        with self._reading() as conn:
            for row in map(_checked, conn.execute(query)):
                chain = (row.host_id, row.policy_id)
                if now is not None and started_ahead(row.started_at, now):
                    ahead.append(row)
                elif chain not in newest or (row.started_at, row.id) > (newest[chain].started_at, newest[chain].id):
                    newest[chain] = row
        return [{"host": {"hostname": row.hostname, "machine_id": row.machine_id,
                          "inventory_name": row.inventory_name},
                 "policy": row.policy_id, "started_at": _iso(row.started_at), "exit_code": row.exit_code,
                 "reason": row.reason, "dated_ahead": why}
                for rows, why in ((newest.values(), None), (ahead, AHEAD_OF_CLOCK))
                for row in sorted(rows, key=lambda r: (r.started_at, r.id))]

    def mark_attested(self, evidence_sha256: str, kind: str, document: bytes,
                      at: datetime | None = None) -> list[int]:
        """Mark the runs whose evidence is ``evidence_sha256`` as attested by a ``kind`` document
        (a PDF or OSCAL rendered from it); return their ids (none when that evidence is not recorded)."""
        document_sha = sha256_hex(document)
        moment = _naive_utc(at or datetime.now(timezone.utc))
        marked = []
        try:
            with self._writing() as conn:
                ids = conn.execute(sa.select(t.runs.c.id).where(t.runs.c.evidence_sha256 == evidence_sha256)).scalars()
                for run_id in list(ids):
                    seen = conn.execute(sa.select(t.attestations.c.id).where(
                        t.attestations.c.run_id == run_id, t.attestations.c.kind == kind,
                        t.attestations.c.document_sha256 == document_sha)).first()
                    if seen is None:
                        conn.execute(t.attestations.insert().values(run_id=run_id, kind=kind,
                                                                     document_sha256=document_sha, attested_at=moment))
                    marked.append(run_id)
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("record an attestation in", exc) from None
        return marked

    # ------------------------------------------------------------------ reading

    def _run_query(self) -> sa.Select[Any]:
        attested = (sa.select(sa.func.count()).select_from(t.attestations)
                    .where(t.attestations.c.run_id == t.runs.c.id).scalar_subquery())
        return (sa.select(t.runs, t.hosts.c.hostname, t.hosts.c.machine_id, t.hosts.c.inventory_name, t.hosts.c.host_key,
                          t.policies.c.version.label("policy_version"), attested.label("attestations"))
                .join(t.hosts, t.hosts.c.id == t.runs.c.host_id)
                .join(t.policies, t.policies.c.sha256 == t.runs.c.policy_sha256))

    def _host_ids(self, host: str) -> list[int]:
        with self._reading() as conn:
            return list(conn.execute(sa.select(t.hosts.c.id).where(self._host_filter(host))).scalars())

    def _known_host_ids(self, host: str) -> list[int]:
        """The ids of the hosts ``host`` names; an InputError when the store never recorded one: a
        misspelt --host answered with an empty trend or list, no failure on any day, exit 0."""
        ids = self._host_ids(host)
        if not ids:
            raise InputError(f"{self.shown}: no host {host!r} in the history store (no host name, machine id or "
                             "inventory name is that)")
        return ids

    def _one_host_id(self, host: str, what: str) -> int:
        """The id of the one host ``host`` names; an InputError naming each host's key (which --host
        takes) when it names several: two machines called "web1" are two hosts of the store, and a
        trend of both summed one's failures with the other's runs (as history diff refuses them)."""
        ids = self._known_host_ids(host)
        if len(ids) == 1:
            return ids[0]
        with self._reading() as conn:
            keys = sorted(conn.execute(sa.select(t.hosts.c.host_key).where(t.hosts.c.id.in_(ids))).scalars())
        shown = ", ".join(f"--host {one_line(key)}" for key in keys[:10]) + (", ..." if len(keys) > 10 else "")
        raise InputError(f"{self.shown}: {one_line(host)!r} names several hosts ({len(ids)}: {shown}): {what} of one "
                         "host is asked for; give the key of one")

    def _known_policy(self, policy: str) -> None:
        """An InputError when no run of the store was ever of the policy id ``policy``."""
        with self._reading() as conn:
            known = conn.execute(sa.select(t.policies.c.sha256).where(t.policies.c.policy_id == policy).limit(1)).first()
        if known is None:
            raise InputError(f"{self.shown}: no policy {policy!r} in the history store (no run was of that policy id)")

    @staticmethod
    def _host_filter(host: str) -> Any:
        # And the store's key of the host (host_key: inventory:NAME, machine-id:ID, hostname:NAME), as
        # fleet report names two hosts that go by one name: one machine judged by a fleet run and by
        # evaluate --record is two hosts of the store sharing its host name and machine id, and no
        # other --host chose one of them (history diff refused both, "several hosts").
        return sa.or_(t.hosts.c.hostname == host, t.hosts.c.machine_id == host, t.hosts.c.inventory_name == host,
                      t.hosts.c.host_key == host)

    def standing_runs(self, *, policy: str | None = None, now: datetime | None = None, count: int = 2
                      ) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
        """Of each host and policy id of the store (of ``policy`` only, when given), its latest
        ``count`` runs that stand at ``now`` (:func:`run_dated_ahead`), newest first by their facts
        (:func:`newest_facts_first`), and the later runs passed over as dated ahead, each with its
        ``collected_at`` and the reason (``dated_ahead``).  Each host's runs are read newest first
        and no further than its ``count`` standing ones: a store of a year of runs of every host
        was read whole (every run as a dict) for the few latest (fleet report: 20 s and 580 MB for
        200,000 runs).  Hosts in the order of their latest run, newest first."""
        if policy is not None:
            self._known_policy(policy)
        moment = now or datetime.now(timezone.utc)
        runs = t.runs.c
        chains_query = sa.select(runs.host_id, runs.policy_id, sa.func.max(runs.started_at).label("latest"))
        if policy is not None:
            chains_query = chains_query.where(runs.policy_id == policy)
        chains_query = chains_query.group_by(runs.host_id, runs.policy_id)
        standing: list[list[dict[str, Any]]] = []
        passed_over: list[dict[str, Any]] = []
        with self._reading() as conn:
            chains = sorted(conn.execute(chains_query).all(), key=lambda c: (c.latest, c.host_id, c.policy_id),
                            reverse=True)
            for chain in chains:
                kept: list[dict[str, Any]] = []
                query = (self._run_query().where(runs.host_id == chain.host_id, runs.policy_id == chain.policy_id)
                         .order_by(*newest_facts_first()))
                # streamed: only as many rows are read as it takes to find ``count`` that stand
                result = conn.execute(query.execution_options(yield_per=64))
                try:
                    for row in result:
                        collected = self._run_collected(conn, _checked(row))
                        run = self._run_dict(row)
                        why = run_dated_ahead(row.started_at, collected, moment)
                        if why is None:
                            kept.append(run)
                            if len(kept) == count:
                                break
                        else:
                            passed_over.append({**run, "collected_at": _iso(collected), "dated_ahead": why})
                finally:
                    result.close()
                standing.append(kept)
        return standing, passed_over

    def list_runs(self, *, host: str | None = None, policy: str | None = None, verdict: str | None = None,
                  since: datetime | None = None, until: datetime | None = None,
                  limit: int | None = None) -> list[dict[str, Any]]:
        """Runs, newest first, filtered by host (name, machine id or inventory name), policy id,
        verdict and start time (``since`` inclusive, ``until`` exclusive).  A ``since`` not before
        ``until`` is an InputError: no run can start in between, and "no runs" (no failing run, for
        ``--verdict non_compliant``) was the answer to two dates given the wrong way round."""
        query = self._listed_query(host=host, policy=policy, verdict=verdict, since=since, until=until)
        query = query.order_by(t.runs.c.started_at.desc(), t.runs.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as conn:
            return [self._run_dict(row) for row in conn.execute(query)]

    def _listed_query(self, *, host: str | None = None, policy: str | None = None, verdict: str | None = None,
                      since: datetime | None = None, until: datetime | None = None) -> sa.Select[Any]:
        """The runs :meth:`list_runs` and :meth:`export_runs` choose, unordered."""
        if since is not None and until is not None and _naive_utc(since) >= _naive_utc(until):
            raise InputError(f"--since {_iso(_naive_utc(since))} is not before --until {_iso(_naive_utc(until))}: no run "
                             "can have started in between (--since is inclusive, --until exclusive)")
        query = self._run_query()
        if host is not None:
            # The few hosts first, then their runs through the (host, policy, id) index.
            query = query.where(t.runs.c.host_id.in_(self._known_host_ids(host)))
        if policy is not None:
            self._known_policy(policy)
            query = query.where(t.runs.c.policy_id == policy)
        if verdict is not None:
            query = query.where(t.runs.c.verdict == verdict)
        if since is not None:
            query = query.where(t.runs.c.started_at >= _naive_utc(since))
        if until is not None:
            query = query.where(t.runs.c.started_at < _naive_utc(until))
        return query

    def _reading(self) -> Any:
        return _Reading(self)

    def _refuse_damaged_index(self, conn: Connection) -> None:
        """InputError when SQLite's integrity check of the tables through which the read commands
        choose runs (:data:`INDEX_CHECKED_TABLES`) fails, once per opened store.  An index that lost
        a row (a torn write, a copy taken mid-write, garbage over one of its pages) leaves every row
        readable: history diff then compared the two runs before the newest and said "regressions:
        0", exit 0, of a host whose newest run regressed, and list, trend and fleet report answered
        without it.  Each row of these tables is small; the evidence and findings, most of the file,
        are left to the digest checks of what is read of them (and to history verify)."""
        if self._indexes_checked or self.dialect != "sqlite":
            return
        found = [line for table in INDEX_CHECKED_TABLES for line in _integrity_problems(conn, table)]
        if found:
            shown = "; ".join(found[:5]) + (f"; ... {len(found) - 5} more" if len(found) > 5 else "")
            raise InputError(f"{self.shown}: the history store's file is damaged: SQLite's integrity check "
                             f"failed: {shown} (its answers may leave runs out; restore the store from a "
                             "backup, and see lbaudit history verify)")
        self._indexes_checked = True

    @staticmethod
    def _run_dict(row: Any) -> dict[str, Any]:
        row = _checked(row)
        return {
            "id": row.id,
            "host": {"hostname": row.hostname, "machine_id": row.machine_id, "inventory_name": row.inventory_name},
            "policy": {"id": row.policy_id, "version": row.policy_version, "sha256": row.policy_sha256},
            "started_at": _iso(row.started_at), "finished_at": _iso(row.finished_at), "day": row.day,
            "evaluated_on": row.evaluated_on.isoformat(), "recorded_at": _iso(row.recorded_at),
            "trigger": row.trigger, "tool_version": row.tool_version,
            "snapshot_sha256": row.snapshot_sha256, "evidence_sha256": row.evidence_sha256,
            "prev_evidence_sha256": row.prev_evidence_sha256,
            "signature": {"state": row.signature_state, "key": row.signature_key},
            "verdict": row.verdict, "exit_code": row.exit_code, "complete": bool(row.complete),
            "counts": {status: getattr(row, f"n_{status}") for status in t.STATUSES},
            "attested": bool(row.attestations),
        }

    def get_run(self, run_id: int) -> dict[str, Any]:
        with self._reading() as conn:
            return self._run_in(conn, run_id)

    def _run_in(self, conn: Connection, run_id: int, row: Any = None) -> dict[str, Any]:
        """Run ``run_id`` as ``history show --json`` gives it (less the evidence's check), read in
        ``conn``; ``row``: its row of :meth:`_run_query`, when the caller has read it already."""
        if row is None:
            row = conn.execute(self._run_query().where(t.runs.c.id == run_id)).first()
        if row is None:
            raise InputError(f"{self.shown}: no run {run_id} in the history store")
        run = self._run_dict(row)
        run["findings"] = [
            {"id": f.finding_id, "rule": f.rule_id, "check": f.check, "status": f.status,
             "severity": f.severity, "subject": f.subject, "controls": f.controls.split(",") if f.controls else []}
            for f in map(_checked, conn.execute(sa.select(t.findings).where(t.findings.c.run_id == run_id)
                                  .order_by(t.findings.c.rule_id, t.findings.c.subject, t.findings.c.finding_id)))]
        run["attestations"] = [
            {"kind": a.kind, "document_sha256": a.document_sha256, "attested_at": _iso(a.attested_at)}
            for a in conn.execute(sa.select(t.attestations).where(t.attestations.c.run_id == run_id)
                                  .order_by(t.attestations.c.id))]
        return run

    def evidence_bytes(self, sha256: str) -> bytes:
        """The evidence file recorded under ``sha256``, byte for byte (InputError when missing or altered)."""
        with self._reading() as conn:
            return self._evidence_in(conn, sha256)

    def _evidence_in(self, conn: Connection, sha256: str) -> bytes:
        row = conn.execute(sa.select(t.evidence).where(t.evidence.c.sha256 == sha256)).first()
        if row is None:
            raise InputError(f"{self.shown}: no evidence {sha256} in the history store")
        try:
            data = _decompress(row.content, row.size)
        except (ValueError, zlib.error) as exc:
            raise InputError(f"{self.shown}: the stored evidence {sha256[:16]}... is damaged: {exc}") from None
        if sha256_hex(data) != sha256:
            raise InputError(f"{self.shown}: the stored evidence {sha256[:16]}... was altered (its SHA-256 is "
                             f"{sha256_hex(data)}); run lbaudit history verify")
        return data

    def run_evidence(self, run_id: int) -> tuple[Evidence, bytes]:
        run = self.get_run(run_id)
        raw = self.evidence_bytes(run["evidence_sha256"])
        return parse_evidence(raw, f"run {run_id}'s evidence"), raw

    def shown_run(self, run_id: int) -> dict[str, Any]:
        """:meth:`get_run`, its verdict, exit code, completeness, counts and findings' statuses checked
        against the run's evidence (itself checked against its findings when read): a row edited in
        the database must not show a non-compliant run as compliant (InputError, exit 2)."""
        run = self.get_run(run_id)
        evidence = parse_evidence(self.evidence_bytes(run["evidence_sha256"]), f"run {run_id}'s evidence")
        result = evidence.result
        shown = {"verdict": run["verdict"], "exit_code": run["exit_code"], "complete": run["complete"],
                 "counts": run["counts"], "findings": sorted((f["id"], f["status"]) for f in run["findings"])}
        truth = {"verdict": result.verdict.value, "exit_code": result.exit_code, "complete": result.complete,
                 "counts": _counts(evidence), "findings": sorted((f.id, f.status.value) for f in result.findings)}
        differ = [name for name in shown if shown[name] != truth[name]]
        if differ:
            raise InputError(f"{self.shown}: run {run_id}'s record contradicts its evidence ("
                             + "; ".join(f"{name}: the record says {shown[name]!r}, the evidence {truth[name]!r}"
                                         if name != "findings" else "findings: their statuses differ"
                                         for name in differ)
                             + "); the store was edited outside lbaudit: lbaudit history verify names every break")
        # The host's names are its newest; the run was of the names its evidence gives (a host renamed,
        # or reinstalled under its inventory name: an older run was shown as of the new machine id).
        provenance = evidence.snapshot.provenance
        run["scanned_as"] = {"hostname": provenance.hostname, "machine_id": provenance.machine_id}
        return run

    def last_two(self, host: str | None, policy: str | None, now: datetime | None = None) -> "LastTwo":
        """The ids of the last two runs of one host and policy that stand at ``now`` (the clock by
        default), and the later runs passed over as dated ahead (:func:`run_dated_ahead`, as fleet
        report passes them over); the host and policy may be left out when the store holds only one
        of them."""
        query = (sa.select(t.runs.c.id, t.runs.c.host_id, t.runs.c.policy_id, t.hosts.c.hostname, t.hosts.c.host_key)
                 .join(t.hosts, t.hosts.c.id == t.runs.c.host_id))
        if host is not None:
            query = query.where(self._host_filter(host))
        if policy is not None:
            query = query.where(t.runs.c.policy_id == policy)
        moment = now or datetime.now(timezone.utc)
        standing: list[int] = []
        passed_over: list[dict[str, Any]] = []
        with self._reading() as conn:
            matching = query.subquery()
            pairs = conn.execute(sa.select(matching.c.host_id, matching.c.policy_id, matching.c.hostname,
                                           matching.c.host_key).distinct()).all()
            if not pairs:
                raise InputError(f"{self.shown}: no recorded run matches"
                                 f"{' host ' + host if host else ''}{' policy ' + policy if policy else ''}")
            if len(pairs) > 1:
                # each with the store's key of its host, which --host takes: two hosts may share every name.
                # A host name is the host's text: one line (a line feed in it printed a line of its own)
                names = ", ".join(sorted(f"{one_line(p.hostname)}/{p.policy_id} (--host {one_line(p.host_key)})"
                                         for p in pairs)[:10])
                raise InputError(f"{self.shown}: runs of several hosts or policies match ({names}); "
                                 "give --host and --policy, or two run ids")
            host_id, policy_id = pairs[0].host_id, pairs[0].policy_id
            # The last two by their facts (newest_facts_first), as fleet report takes them: an older
            # scan imported or judged again later is not the latest (recorded order, or the order
            # they were evaluated in, diffed the newest facts against it).  A run
            # dated ahead is neither: it sorted first (or was taken as the later scan by its facts),
            # and every diff of the host was against the forged run, whatever its genuine runs said.
            rows = conn.execute(sa.select(t.runs.c.id, t.runs.c.evidence_sha256, t.runs.c.collected_at,
                                          t.runs.c.started_at)
                                .where(t.runs.c.host_id == host_id, t.runs.c.policy_id == policy_id)
                                .order_by(*newest_facts_first()))
            for row in map(_checked, rows):
                collected = self._run_collected(conn, row)
                why = run_dated_ahead(row.started_at, collected, moment)
                if why is None:
                    standing.append(int(row.id))
                    if len(standing) == 2:
                        break
                else:
                    passed_over.append({"run": int(row.id), "started_at": _iso(row.started_at),
                                        "collected_at": _iso(collected), "reason": why})
        if len(standing) < 2:
            counted = "only one run" if standing else "no run"
            ahead = (f" that is not dated ahead ({_ids_text([r['run'] for r in passed_over])}: "
                     f"{len(passed_over)} passed over)") if passed_over else ""
            raise InputError(f"{self.shown}: {counted} of {one_line(pairs[0].hostname)}/{policy_id} is recorded{ahead}; "
                             "a diff needs two")
        return LastTwo(standing[1], standing[0], passed_over)

    # ------------------------------------------------------------------ trend

    def trend(self, *, since: date, until: date, host: str | None = None,
              policy: str | None = None) -> dict[str, Any]:
        """Findings by status per day and per NIST family, summed over every run started from
        ``since`` to ``until`` (both inclusive, UTC days); per day, how many of its runs were
        non-compliant and how many incomplete; and the policy versions summed (``policies``)."""
        status_sums = [sa.func.sum(getattr(t.runs.c, f"n_{s}")).label(s) for s in t.STATUSES]
        by_day = (sa.select(t.runs.c.day, sa.func.count().label("runs"), *status_sums)
                  .where(t.runs.c.day >= since.isoformat(), t.runs.c.day <= until.isoformat()))
        counts = t.family_counts.c
        # Grouped by day first, in the order of the (day, family, status, count) index: a streaming
        # aggregate over the index alone (grouped by family only, SQLite sorted ~400k rows per 90
        # days of 1,000 hosts in a temporary B-tree); the days are then added up here.
        by_family = (sa.select(counts.day, counts.family, counts.status, sa.func.sum(counts.count).label("n"))
                     .where(counts.day >= since.isoformat(), counts.day <= until.isoformat()))
        # The runs of each day by policy version, verdict and completeness: how many were incomplete
        # or non-compliant (a run that judged nothing, every finding not applicable, summed to a day
        # of no failure and nothing unreviewed), and which policy versions the counts are of.
        runs = t.runs.c
        by_kind = (sa.select(runs.day, runs.policy_sha256, runs.verdict, runs.complete, sa.func.count().label("n"))
                   .where(runs.day >= since.isoformat(), runs.day <= until.isoformat()))
        if policy is not None:
            self._known_policy(policy)
            by_day = by_day.where(t.runs.c.policy_id == policy)
            by_family = by_family.where(counts.policy_id == policy)
            by_kind = by_kind.where(runs.policy_id == policy)
        if host is not None:
            host_id = self._one_host_id(host, "a trend")
            by_day = by_day.where(t.runs.c.host_id == host_id)
            by_family = by_family.where(counts.host_id == host_id)
            by_kind = by_kind.where(runs.host_id == host_id)
        with self._reading() as conn:
            days = [{"day": row.day, "runs": row.runs, **{s: int(getattr(row, s) or 0) for s in t.STATUSES}}
                    for row in conn.execute(by_day.group_by(t.runs.c.day).order_by(t.runs.c.day))]
            day_runs = {day["day"]: day for day in days}
            for day in days:
                day.update(missed_scans=0, non_compliant_runs=0, incomplete_runs=0)
            # The hosts a fleet run expected and could not judge (record_missed): no run of theirs is
            # summed, so a day that lost half the fleet read as half the failures, an improvement.
            # Each day says how many it missed, and a day of missed scans alone is a day of the trend.
            missed = t.missed_scans.c
            by_missed = sa.select(missed.started_at).where(
                missed.started_at >= datetime.combine(since, datetime.min.time()),
                missed.started_at < datetime.combine(until, datetime.min.time()) + timedelta(days=1))
            if policy is not None:
                by_missed = by_missed.where(missed.policy_id == policy)
            if host is not None:
                by_missed = by_missed.where(missed.host_id == host_id)
            for row in conn.execute(by_missed):
                day_text = _checked(row, t.missed_scans).started_at.date().isoformat()
                entry = day_runs.get(day_text)
                if entry is None:
                    entry = day_runs[day_text] = {"day": day_text, "runs": 0, **dict.fromkeys(t.STATUSES, 0),
                                                  "missed_scans": 0, "non_compliant_runs": 0, "incomplete_runs": 0}
                    days.append(entry)
                entry["missed_scans"] += 1
            days.sort(key=lambda entry: entry["day"])
            versions: dict[str, dict[str, Any]] = {}
            for row in conn.execute(by_kind.group_by(runs.day, runs.policy_sha256, runs.verdict, runs.complete)):
                entry = day_runs.get(row.day)
                if entry is None:  # a run recorded between the two reads (PostgreSQL reads committed)
                    continue
                n = int(row.n)
                if row.verdict == "non_compliant":
                    entry["non_compliant_runs"] += n
                if not row.complete:  # with gaps, whatever its verdict: a non-compliant run may have them too
                    entry["incomplete_runs"] += n
                version = versions.setdefault(row.policy_sha256, {"sha256": row.policy_sha256, "runs": 0,
                                                                 "first_day": row.day, "last_day": row.day})
                version["runs"] += n
                version["first_day"] = min(version["first_day"], row.day)
                version["last_day"] = max(version["last_day"], row.day)
            if versions:
                for row in conn.execute(sa.select(t.policies.c.sha256, t.policies.c.policy_id, t.policies.c.version)
                                        .where(t.policies.c.sha256.in_(list(versions)))):
                    versions[row.sha256].update(id=row.policy_id, version=row.version)
            families: dict[str, dict[str, Any]] = {}
            day_families: dict[tuple[str, str], dict[str, Any]] = {}
            for row in conn.execute(by_family.group_by(counts.day, counts.family, counts.status)
                                    .order_by(counts.day, counts.family, counts.status)):
                entry = families.setdefault(row.family, {"family": row.family, **dict.fromkeys(t.STATUSES, 0)})
                entry[row.status] += int(row.n)
                daily = day_families.setdefault((row.day, row.family), {"day": row.day, "family": row.family,
                                                                         **dict.fromkeys(t.STATUSES, 0)})
                daily[row.status] = int(row.n)
        # Every policy (id and version) whose runs are summed, in the order they were first used: more
        # than one is counts of different rules added up (a version that dropped a failing rule reads
        # as that failure fixed), which history trend says.
        policies = sorted(versions.values(), key=lambda v: (v["first_day"], v.get("id", ""), v.get("version", ""),
                                                             v["sha256"]))
        return {"since": since.isoformat(), "until": until.isoformat(), "host": host, "policy": policy,
                "policies": policies, "by_day": days, "by_family": [families[f] for f in sorted(families)],
                "by_day_family": [day_families[k] for k in sorted(day_families)]}

    # ------------------------------------------------------------------ prune

    def prune(self, *, older_than: timedelta | None = None, keep_last: int | None = None, force: bool = False,
              dry_run: bool = False, now: datetime | None = None) -> PruneReport:
        """Remove runs older than ``older_than`` and/or beyond the newest ``keep_last`` of each host
        and policy (a run is removed when every given rule lets it go); attested runs only with
        ``force``.  Each pruned run leaves its chain link behind; evidence no run refers to is removed."""
        if older_than is None and keep_last is None:
            raise InputError("prune needs --older-than and/or --keep-last")
        moment = now or datetime.now(timezone.utc)
        cutoff = _naive_utc(moment) - older_than if older_than is not None else None
        report = PruneReport(dry_run=dry_run)
        try:
            if dry_run:
                # Only reads: a deferred transaction, one snapshot of the store, no write lock.  A dry
                # run that began IMMEDIATE waited the whole busy timeout for a nightly writer (or a
                # backup holding the store) and then was exit 75, "nothing was written", for a
                # command that writes nothing.
                with self._reading() as conn:
                    self._prune_plan(conn, report, cutoff, keep_last, force, moment)
                    self._missed_plan(conn, report, cutoff, moment)
                return report
            with self._writing() as conn:
                doomed, orphans = self._prune_plan(conn, report, cutoff, keep_last, force, moment)
                missed = self._missed_plan(conn, report, cutoff, moment)
                for start in range(0, len(missed), 500):
                    conn.execute(t.missed_scans.delete().where(t.missed_scans.c.id.in_(missed[start:start + 500])))
                pruned_at = _naive_utc(datetime.now(timezone.utc))
                for start in range(0, len(doomed), 500):
                    batch = doomed[start:start + 500]
                    ids = [r.id for r in batch]
                    conn.execute(t.pruned_runs.insert(), [
                        {"run_id": r.id, "host_id": r.host_id, "policy_id": r.policy_id,
                         "evidence_sha256": r.evidence_sha256, "prev_evidence_sha256": r.prev_evidence_sha256,
                         "started_at": r.started_at, "pruned_at": pruned_at} for r in batch])
                    for table in (t.findings, t.family_counts, t.attestations):
                        conn.execute(table.delete().where(table.c.run_id.in_(ids)))
                    conn.execute(t.runs.delete().where(t.runs.c.id.in_(ids)))
                for start in range(0, len(orphans), 500):
                    conn.execute(t.evidence.delete().where(t.evidence.c.sha256.in_(orphans[start:start + 500])))
        except InputError:
            raise
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("prune", exc) from None
        except (ValueError, TypeError, OverflowError) as exc:
            damaged = self._damaged(exc)
            if damaged is None:
                raise
            raise damaged from None
        return report

    @staticmethod
    def _missed_plan(conn: Connection, report: PruneReport, cutoff: datetime | None, now: datetime) -> list[int]:
        """The ids of the records of hosts a fleet run could not judge (:meth:`record_missed`) that a
        prune by age removes: those started before ``cutoff``, but the newest of each host and policy,
        by which ``fleet report`` shows a host that never answered as not scanned (a host without a
        run has nothing else in the store).  Never pruned, they outlived every retention, each with
        its reason quoting the host.  None without ``cutoff``: ``--keep-last`` counts runs.  One that
        started ahead of ``now`` (:func:`started_ahead`, as fleet report passes it over) is no chain's
        newest."""
        if cutoff is None:
            return []
        columns = t.missed_scans.c
        newest: dict[tuple[int, str], tuple[datetime, int]] = {}
        old: list[tuple[tuple[int, str], datetime, int]] = []
        for row in map(_checked, conn.execute(sa.select(columns.id, columns.host_id, columns.policy_id,
                                                        columns.started_at))):
            chain = (row.host_id, row.policy_id)
            if not started_ahead(row.started_at, now) and (chain not in newest or (row.started_at, row.id) > newest[chain]):
                newest[chain] = (row.started_at, row.id)
            if row.started_at < cutoff:
                old.append((chain, row.started_at, row.id))
        doomed = sorted(missed_id for chain, started, missed_id in old if newest.get(chain) != (started, missed_id))
        report.missed_scans = len(doomed)
        return doomed

    def _prune_plan(self, conn: Connection, report: PruneReport, cutoff: datetime | None, keep_last: int | None,
                    force: bool, now: datetime) -> tuple[list[Any], list[str]]:
        """The rows of the runs ``prune`` removes (with what each leaves of its chain link) and the
        digests of the evidence no run left refers to; ``report`` is filled in.  Reads only: a dry
        run stops here.  A run dated ahead at ``now`` (:func:`run_dated_ahead`) is not one of the
        newest ``keep_last``: counted, it sorted first, and ``--keep-last 1`` removed the host's
        genuine latest run and kept the forged one, which fleet report and history diff pass over.
        It is kept, not counted, and named in ``report.dated_ahead``."""
        attested = set(conn.execute(sa.select(t.attestations.c.run_id).distinct()).scalars())
        seen: dict[tuple[int, str], int] = defaultdict(int)
        newest_started: dict[tuple[int, str], datetime] = {}  # of each chain's newest facts that stand
        doomed = []
        for row in map(_checked, conn.execute(
                sa.select(t.runs.c.id, t.runs.c.host_id, t.runs.c.policy_id, t.runs.c.started_at,
                          t.runs.c.evidence_sha256, t.runs.c.prev_evidence_sha256, t.runs.c.collected_at)
                # newest by their facts, as diff and fleet report take them: an older scan
                # imported or judged again later does not push the newest facts out
                .order_by(t.runs.c.host_id, t.runs.c.policy_id, *newest_facts_first()))):
            chain = (row.host_id, row.policy_id)
            if keep_last is not None and seen[chain] < keep_last:
                # only the runs that could be kept as among the newest are asked when their facts
                # were collected (a run recorded before revision 0006: from its evidence)
                if run_dated_ahead(row.started_at, self._run_collected(conn, row), now) is None:
                    seen[chain] += 1
                    newest_started.setdefault(chain, row.started_at)
                else:
                    # nor removed: its link would stand as the host's latest run, pruned (fleet
                    # report); history retire, or prune --older-than once it is old, lets it go
                    report.dated_ahead.append(row.id)
                continue
            if chain in newest_started and row.started_at > newest_started[chain]:
                # older facts, evaluated after the newest kept (a backfill): removed, its link (a
                # start alone) would stand as the host's newest entry over the facts kept
                report.evaluated_later.append(row.id)
                continue
            if cutoff is not None and row.started_at >= cutoff:
                continue
            if row.id in attested and not force:
                report.kept_attested.append(row.id)
                continue
            doomed.append(row)
        report.pruned = sorted(r.id for r in doomed)
        report.kept_attested.sort()
        report.dated_ahead.sort()
        report.evaluated_later.sort()
        doomed_ids = set(report.pruned)
        still_used = {sha for run_id, sha in conn.execute(sa.select(t.runs.c.id, t.runs.c.evidence_sha256))
                      if run_id not in doomed_ids}
        all_evidence = set(conn.execute(sa.select(t.evidence.c.sha256)).scalars())
        orphans = sorted(all_evidence - still_used)
        report.orphan_evidence = len(orphans)
        return doomed, orphans

    # ------------------------------------------------------------------ verify

    def verify(self, pubkey: Path | None = None, expect_heads: tuple[str, ...] = (),
               require_signed: bool = False) -> VerifyReport:
        """Walk every chain (host and policy id, in recording order, pruned links included): each
        run's previous digest must be its predecessor's evidence digest, each stored evidence must
        hash to its digest and say what the run row says, and each signature must be over it
        (verified with ``pubkey`` when given).  Every break is listed, the first first.

        The chain cannot tell that its newest runs were deleted (the run before them is then a
        valid end).  ``expect_heads`` are evidence digests kept outside the store (an evidence file
        archived elsewhere, ``history head`` output in a ticket): each must still be a run of the
        store, or the link its pruning left, else the break ``head_missing``; the walk then proves
        that chain intact up to that run.  Runs recorded after the newest pin are not covered.

        The chain and the records prove the runs consistent, not who made them: anyone who can
        write the store can append a run of evidence they wrote.  With ``pubkey``, a run that is
        unsigned after a signed run of its host and policy is a ``signature`` break (a run spliced
        in, or its signature removed); with ``require_signed`` every run must be signed."""
        self._indexes_checked = True  # the whole file's check below is verify's, a store_damaged break
        report = self._verify_chains(pubkey, require_signed)
        damage = self._file_damage()
        if damage:
            shown = "; ".join(damage[:5]) + (f"; ... {len(damage) - 5} more" if len(damage) > 5 else "")
            report.breaks.append(ChainBreak(0, "?", "?", "store_damaged", f"SQLite's integrity check of the file "
                                            f"failed: {shown} (restore the store from a backup; until then its "
                                            "answers may leave runs out)"))
        for digest in dict.fromkeys(expect_heads):
            pinned = self._find_head(digest)
            report.heads.append(pinned)
            if pinned.found is None:
                report.breaks.append(ChainBreak(0, "?", "?", "head_missing",
                                                f"the expected head {digest} is neither a run of the store nor a "
                                                "pruned run's link: runs recorded up to it were removed"))
        report.breaks.sort(key=lambda b: b.run_id)
        return report

    def _file_damage(self) -> list[str]:
        """What SQLite's integrity check finds wrong with the store's file (none for a server).  The
        chain is walked through the rows SQLite gives, and an index that lost a row (a torn write, a
        copy taken mid-write) leaves every row readable and every chain whole, while the commands
        that find runs through it answer from the wrong ones (history diff compared the runs before
        the newest): verify said "history verified" of such a file."""
        if self.dialect != "sqlite":
            return []
        with self._reading() as conn:
            return _integrity_problems(conn, MAX_DAMAGE_SHOWN)

    def _find_head(self, digest: str) -> PinnedHead:
        with self._reading() as conn:
            live = conn.execute(sa.select(t.runs.c.id).where(t.runs.c.evidence_sha256 == digest)
                                .order_by(t.runs.c.id.desc()).limit(1)).scalar()
            if live is not None:
                return PinnedHead(digest, "run", int(live))
            gone = conn.execute(sa.select(t.pruned_runs.c.run_id).where(t.pruned_runs.c.evidence_sha256 == digest)
                                .order_by(t.pruned_runs.c.run_id.desc()).limit(1)).scalar()
            if gone is not None:
                return PinnedHead(digest, "pruned", int(gone))
            retired = conn.execute(sa.select(t.retirements.c.run_id).where(t.retirements.c.digest == digest)
                                   .order_by(t.retirements.c.run_id.desc()).limit(1)).scalar()
        return PinnedHead(digest, "retired" if retired is not None else None,
                          int(retired) if retired is not None else None)

    def heads(self, *, host: str | None = None, policy: str | None = None) -> list[dict[str, Any]]:
        """The newest entry of every chain (host and policy id; a recorded run, or the link of a
        pruned one), by chain: what to keep outside the store and give ``verify`` as expected heads."""
        entries = sa.union_all(
            sa.select(t.runs.c.id.label("run_id"), t.runs.c.host_id, t.runs.c.policy_id, t.runs.c.evidence_sha256,
                      t.runs.c.started_at, sa.literal("run").label("state")),
            sa.select(t.pruned_runs.c.run_id, t.pruned_runs.c.host_id, t.pruned_runs.c.policy_id,
                      t.pruned_runs.c.evidence_sha256, t.pruned_runs.c.started_at,
                      sa.literal("pruned").label("state")),
            # a retired chain's head is its retirement (its digest in the evidence column, its time
            # in the started column: the one list of heads, whatever kind the newest entry is)
            sa.select(t.retirements.c.run_id, t.retirements.c.host_id, t.retirements.c.policy_id,
                      t.retirements.c.digest, t.retirements.c.retired_at,
                      sa.literal("retired").label("state"))).subquery()
        query = (sa.select(entries, t.hosts.c.hostname, t.hosts.c.machine_id, t.hosts.c.inventory_name)
                 .join(t.hosts, t.hosts.c.id == entries.c.host_id))
        if host is not None:
            query = query.where(self._host_filter(host))
        if policy is not None:
            query = query.where(entries.c.policy_id == policy)
        newest: dict[tuple[int, str], Any] = {}
        with self._reading() as conn:
            for row in map(_checked, conn.execute(query)):
                chain = (row.host_id, row.policy_id)
                # the chain's order is recording order (ids), as verify walks it and record links it
                if chain not in newest or row.run_id > newest[chain].run_id:
                    newest[chain] = row
        return [{"host": {"hostname": row.hostname, "machine_id": row.machine_id,
                          "inventory_name": row.inventory_name},
                 "policy": row.policy_id, "run_id": row.run_id, "state": row.state,
                 "started_at": _iso(row.started_at), "evidence_sha256": row.evidence_sha256}
                for row in sorted(newest.values(), key=lambda r: r.run_id)]

    def newest_pruned(self, *, policy: str | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
        """Per host and policy id, the link of its pruned run that ran last (by when it ran, as
        ``list_runs`` orders): the only trace of a host whose every run was pruned, and the proof
        that a host was scanned after the newest run the store still holds.  Oldest first.  Given
        ``now``, a link that started ahead of it (:func:`started_ahead`) is passed over, and listed
        after them with ``dated_ahead`` set."""
        query = (sa.select(t.pruned_runs.c.run_id, t.pruned_runs.c.host_id, t.pruned_runs.c.policy_id,
                           t.pruned_runs.c.started_at, t.hosts.c.hostname, t.hosts.c.machine_id,
                           t.hosts.c.inventory_name)
                 .join(t.hosts, t.hosts.c.id == t.pruned_runs.c.host_id))
        if policy is not None:
            query = query.where(t.pruned_runs.c.policy_id == policy)
        newest: dict[tuple[int, str], Any] = {}
        ahead: list[Any] = []
        with self._reading() as conn:
            for row in map(_checked, conn.execute(query)):
                chain = (row.host_id, row.policy_id)
                if now is not None and started_ahead(row.started_at, now):
                    ahead.append(row)
                elif chain not in newest or (row.started_at, row.run_id) > (newest[chain].started_at,
                                                                            newest[chain].run_id):
                    newest[chain] = row
        return [{"host": {"hostname": row.hostname, "machine_id": row.machine_id,
                          "inventory_name": row.inventory_name},
                 "policy": row.policy_id, "run_id": row.run_id, "started_at": _iso(row.started_at),
                 "dated_ahead": why}
                for rows, why in ((newest.values(), None), (ahead, AHEAD_OF_CLOCK))
                for row in sorted(rows, key=lambda r: (r.started_at, r.run_id))]

    def _verify_chains(self, pubkey: Path | None, require_signed: bool = False) -> VerifyReport:
        key = None
        if pubkey is not None:
            from auditor.attest.signing import load_public_key

            key = load_public_key(pubkey)
        report = VerifyReport()
        with self._reading() as conn:
            entries: dict[tuple[int, str], list[Any]] = defaultdict(list)
            for row in map(_checked, conn.execute(self._run_query().order_by(t.runs.c.id))):
                entries[(row.host_id, row.policy_id)].append(("run", row))
            for row in (_checked(r, t.pruned_runs) for r in conn.execute(sa.select(t.pruned_runs)
                                                                           .order_by(t.pruned_runs.c.run_id))):
                entries[(row.host_id, row.policy_id)].append(("pruned", row))
            for row in (_checked(r, t.retirements) for r in conn.execute(sa.select(t.retirements)
                                                                           .order_by(t.retirements.c.run_id))):
                entries[(row.host_id, row.policy_id)].append(("retired", row))
            names = dict(conn.execute(sa.select(t.hosts.c.id, t.hosts.c.hostname)).all())
            host_keys = dict(conn.execute(sa.select(t.hosts.c.id, t.hosts.c.host_key)).all())
            # The rows of a run whose run row is gone: lbaudit removes them with it (prune, withdraw),
            # so they are a run deleted outside lbaudit.  A chain cannot tell its newest run deleted,
            # and these rows can (trend --by family went on summing the deleted run's findings).
            left_behind: dict[int, list[str]] = defaultdict(list)
            for table in (t.findings, t.family_counts, t.attestations):
                for run_id in conn.execute(sa.select(table.c.run_id).distinct().where(
                        table.c.run_id.not_in(sa.select(t.runs.c.id)))).scalars():
                    left_behind[int(run_id)].append(table.name)
        for run_id, tables in left_behind.items():
            report.breaks.append(ChainBreak(run_id, "?", "?", "run_missing", f"its {', '.join(tables)} rows are in the "
                                            "store, its run is not: the run was deleted outside lbaudit"))
        report.chains = len(entries)
        for (host_id, policy_id), chain in sorted(entries.items(), key=lambda item: min(
                (r.id if k == "run" else r.run_id) for k, r in item[1])):
            chain.sort(key=lambda entry: entry[1].id if entry[0] == "run" else entry[1].run_id)
            previous: str | None = None
            signed_before = False
            for position, (kind, row) in enumerate(chain):
                run_id = row.id if kind == "run" else row.run_id
                host = names.get(host_id, str(host_id))

                def broken(what: str, detail: str, run_id: int = run_id, host: str = host,
                           policy_id: str = policy_id) -> None:
                    report.breaks.append(ChainBreak(run_id, host, policy_id, what, detail))

                # The first entry of a chain may point at nothing (the first run) only.
                if position > 0 and row.prev_evidence_sha256 != previous:
                    broken("chain_link", f"records the previous evidence as {row.prev_evidence_sha256 or 'none'}, "
                                         f"but the run before it has {previous}")
                elif position == 0 and row.prev_evidence_sha256 is not None:
                    broken("chain_link", f"records a previous evidence {row.prev_evidence_sha256} that no run or "
                                         "pruned link of this host and policy has: a run was removed")
                if kind == "retired":
                    report.retirements += 1
                    said = retirement_digest(host_keys.get(host_id, ""), policy_id, row.prev_evidence_sha256,
                                             row.retired_at, row.reason)
                    if said != row.digest:
                        broken("record_mismatch", f"is a retirement whose digest {row.digest} is not that of what it "
                                                  f"says ({said}): the retirement was changed")
                    previous = row.digest
                    continue
                previous = row.evidence_sha256
                if kind == "run":
                    report.runs += 1
                    if row.signature is None and require_signed:
                        broken("signature", "is unsigned, and --require-signed asks every run to be signed")
                    elif row.signature is None and key is not None and signed_before:
                        broken("signature", "is unsigned after a signed run of this host and policy: a run spliced "
                                            "in, or its signature removed (or signing was turned off)")
                    signed_before = signed_before or row.signature is not None
                    checked = self._verify_run(row, key, broken)
                    report.signatures_checked += checked
        report.breaks.sort(key=lambda b: b.run_id)
        return report

    def _verify_run(self, row: Any, key: Any, broken: Any) -> int:
        with self._reading() as conn:
            stored = conn.execute(sa.select(t.evidence).where(t.evidence.c.sha256 == row.evidence_sha256)).first()
            finding_rows = [(f.finding_id, f.rule_id, f.check, f.status, f.severity, f.subject, f.controls)
                            for f in map(_checked, conn.execute(
                                sa.select(t.findings).where(t.findings.c.run_id == row.id)))]
            family_rows = {(c.family, c.status): (c.count, c.day, c.host_id, c.policy_id) for c in conn.execute(
                sa.select(t.family_counts).where(t.family_counts.c.run_id == row.id))}
        if stored is None:
            broken("evidence_missing", f"its evidence {row.evidence_sha256} is not in the store")
            return 0
        try:
            raw = _decompress(stored.content, stored.size)
        except (ValueError, zlib.error) as exc:
            broken("evidence_digest", f"its stored evidence cannot be read back: {exc}")
            return 0
        actual = sha256_hex(raw)
        if actual != row.evidence_sha256 or len(raw) != stored.size:
            broken("evidence_digest", f"its stored evidence changed: SHA-256 {actual}, recorded {row.evidence_sha256}")
            return 0
        try:
            evidence = parse_evidence(raw, f"run {row.id}'s evidence")
        except InputError as exc:
            broken("evidence_invalid", str(exc))
            return 0
        said: dict[str, Any] = {"verdict": row.verdict, "policy_sha256": row.policy_sha256, "snapshot_sha256": row.snapshot_sha256,
                "counts": {s: getattr(row, f"n_{s}") for s in t.STATUSES}, "hostname": row.hostname,
                "machine_id": row.machine_id}
        shown: dict[str, Any] = {"verdict": evidence.result.verdict.value, "policy_sha256": evidence.policy_sha256,
                 "snapshot_sha256": evidence.facts_sha256, "counts": _counts(evidence),
                 "hostname": evidence.snapshot.provenance.hostname,
                 "machine_id": evidence.snapshot.provenance.machine_id}
        # Everything `history show`, `export`, `list`, `trend`, `diff` and `fleet report` answer from
        # the rows rather than the evidence: an edited exit code, completeness, finding or family
        # count, policy id or date otherwise passed verify while those commands showed the edit.
        started = _naive_utc(evidence.run.started_at)
        day = started.date().isoformat()
        if row.collected_at is not None:  # NULL: recorded before revision 0006, read from the evidence
            said["collected_at"] = row.collected_at
            shown["collected_at"] = _naive_utc(evidence.snapshot.provenance.collected_at)
        # The date waivers were judged against: edited, `history show` gave another and verify passed
        said["evaluated_on"], shown["evaluated_on"] = row.evaluated_on, evidence.run.evaluated_on
        said.update({"exit_code": row.exit_code, "complete": bool(row.complete), "policy_id": row.policy_id,
                     "policy_version": row.policy_version, "tool_version": row.tool_version,
                     "started_at": row.started_at, "finished_at": row.finished_at, "day": row.day,
                     "findings": sorted(finding_rows, key=repr), "family_counts": family_rows})
        shown.update({"exit_code": evidence.result.exit_code, "complete": evidence.result.complete,
                      "policy_id": evidence.policy.id, "policy_version": evidence.policy.version,
                      "tool_version": evidence.tool.version, "started_at": started,
                      "finished_at": _naive_utc(evidence.run.finished_at), "day": day,
                      "findings": sorted(((f.id, f.rule_id, f.check, f.status.value, f.severity.value, f.subject,
                                           ",".join(f.controls)) for f in evidence.result.findings), key=repr),
                      "family_counts": {key: (n, day, row.host_id, evidence.policy.id)
                                        for key, n in _family_counts(evidence).items()}})
        # The host row holds the host's newest name and machine id: of the two, only what keys the
        # host (host_key) is the same in every run of it, so only that is compared.  A host renamed
        # keeps its machine id; a host keyed by its inventory name (a fleet's) keeps that name over a
        # reinstall, which gives it a new machine id; a host keyed by its name alone may go from no
        # machine id to one of none's ("uninitialized").  Comparing the newest machine id with an
        # older run's evidence failed verify (exit 10, record_mismatch) of an untouched store.
        keyed_by = row.host_key.split(":", 1)[0]
        if keyed_by != "hostname":
            del said["hostname"], shown["hostname"]
        if keyed_by == "hostname":  # keyed by its name: it has no machine id of its own, nor had the run
            from auditor.model.facts import own_machine_id

            said["machine_id"], shown["machine_id"] = (own_machine_id(said["machine_id"]),
                                                       own_machine_id(shown["machine_id"]))
        elif keyed_by != "machine-id":
            del said["machine_id"], shown["machine_id"]
        for name in said:
            if said[name] != shown[name]:
                if name in ("findings", "family_counts"):
                    broken("record_mismatch", f"its {name.replace('_', ' ')} rows differ from its evidence's")
                else:
                    broken("record_mismatch", f"the run says {name} {_said(said[name])}, its evidence "
                                              f"{_said(shown[name])}")
        # The signature `history list` and `show` claim: an unsigned run edited to "signed" (by a key),
        # or a signed one to another key, passed verify, which read only the stored .sig document.
        state = "unsigned" if row.signature is None else "signed"
        if row.signature_state != state:
            broken("signature", f"the run says it is {row.signature_state!r}, but it holds "
                                f"{'no signature' if row.signature is None else 'a signature'}")
        signed_by = _signing_key(row.signature, raw)
        if signed_by is not False and row.signature_key != signed_by:  # False: unreadable, a break below
            broken("signature", f"the run says it was signed by key {row.signature_key}, but "
                                + (f"its signature proves key {signed_by}" if signed_by else "no key proved signing it"))
        if row.signature is None:
            return 0
        from auditor.attest.signing import _message, canonical_digest, parse_signature

        try:
            # read as lbaudit verify reads a .sig: a reader of the store's own, looser, let a stored
            # document without its signature (or a number there) end verify --pubkey in exit 70, and
            # decoded a signature that is not base64 leniently, counted as verified
            document = parse_signature(row.signature.encode("utf-8"), Path("the stored signature"))
        except InputError as exc:
            broken("signature", f"its stored signature cannot be read: {exc}")
            return 0
        # a key proved to have signed it (signed_by) signed this digest: not computed a second time
        if not signed_by and document.signed_sha256 != canonical_digest(raw):
            broken("signature", "its signature is over another document")
            return 0
        if key is None:
            return 0
        from cryptography.exceptions import InvalidSignature

        try:
            key.verify(document.signature, _message(document.signed_sha256))
        except (InvalidSignature, ValueError):
            broken("signature", "its Ed25519 signature does not verify with the given --pubkey")
        return 1

    # ------------------------------------------------------------------ export

    def export_runs(self, *, with_evidence: bool = False, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every run (filtered as :meth:`list_runs`), oldest first, with its findings; with
        ``with_evidence`` the evidence text as recorded, and its ``.sig`` document as recorded
        (``evidence_signature``, None when unsigned): without it a signed history moved to another
        store by export and import arrived unsigned, and ``history verify --require-signed`` of
        the copy failed every run.

        With ``with_evidence`` the export is one ``history import --export`` records again, so every
        line says what it is (``record``: ``run``), and after the runs come the other entries of the
        chosen hosts' chains and of their fleet runs (:data:`EXPORT_RECORDS`): a pruned run's link, a
        retirement, a host a fleet run could not judge.  Without them a retired host came back as
        "not scanned" in ``fleet report`` of the copy, and a chain with a pruned run failed verify."""
        # Streamed, oldest first, in one reading of the store: every run of the history was listed
        # (a dict each) before each was read again on a connection of its own; 60,000 runs took
        # 235 MB, and a prune between two of those readings made the export fail part way.
        query = self._listed_query(**filters).order_by(t.runs.c.started_at, t.runs.c.id)
        with self._reading() as conn:
            result = conn.execute(query.execution_options(yield_per=64))
            try:
                for row in map(lambda read: _checked(read, t.runs), result):
                    run = self._run_in(conn, row.id, row)
                    if with_evidence:
                        run["record"] = "run"
                        run["evidence"] = self._evidence_in(conn, run["evidence_sha256"]).decode("utf-8")
                        run["evidence_signature"] = row.signature
                    yield run
            finally:
                result.close()
        if with_evidence:
            yield from self._export_links(filters.get("host"), filters.get("policy"))

    def _export_links(self, host: str | None, policy: str | None) -> Iterator[dict[str, Any]]:
        """The pruned links, retirements and missed scans of the hosts and policy chosen, in id order."""
        host_ids = self._known_host_ids(host) if host is not None else None
        tables = ((t.pruned_runs, "pruned_run", t.pruned_runs.c.run_id), (t.retirements, "retirement",
                  t.retirements.c.run_id), (t.missed_scans, "missed_scan", t.missed_scans.c.id))
        with self._reading() as conn:
            for table, record, order in tables:
                query = (sa.select(table, t.hosts.c.hostname, t.hosts.c.machine_id, t.hosts.c.inventory_name)
                         .join(t.hosts, t.hosts.c.id == table.c.host_id).order_by(order))
                if host_ids is not None:
                    query = query.where(table.c.host_id.in_(host_ids))
                if policy is not None:
                    query = query.where(table.c.policy_id == policy)
                for row in map(_checked, conn.execute(query)):
                    line: dict[str, Any] = {
                        "record": record, "host": {"hostname": row.hostname, "machine_id": row.machine_id,
                                                   "inventory_name": row.inventory_name},
                        "policy_id": row.policy_id}
                    if record == "pruned_run":
                        line.update(id=row.run_id, evidence_sha256=row.evidence_sha256,
                                    prev_evidence_sha256=row.prev_evidence_sha256, started_at=_iso(row.started_at),
                                    pruned_at=_iso(row.pruned_at))
                    elif record == "retirement":
                        line.update(id=row.run_id, digest=row.digest, prev_evidence_sha256=row.prev_evidence_sha256,
                                    retired_at=_iso(row.retired_at), reason=row.reason)
                    else:
                        line.update(started_at=_iso(row.started_at), recorded_at=_iso(row.recorded_at),
                                    exit_code=row.exit_code, reason=row.reason)
                    yield line

    # ------------------------------------------------------------------ import of an export

    def import_export(self, entries: list[ExportEntry]) -> dict[str, int]:
        """Record the entries of a ``history export --with-evidence`` (:func:`read_export`) as they
        were: the same run ids, hosts, triggers, recording times, attestations, signatures, chain
        links, pruned links, retirements and missed scans, so ``history list``, ``show``, ``diff``,
        ``verify``, ``trend`` and ``fleet report`` of the copy answer as the original did.  In one
        transaction: all or none.  A run's line is recorded from its evidence, and what the store
        then says of it must be what the line says (an edited line is refused, naming it); what no
        evidence says (trigger, times of recording, the chain) is taken from the line and checked
        against the chain it joins.  The ids must be free: the copy goes to a fresh store, or after
        every run of the one it joins."""
        ordered = sorted(entries, key=lambda entry: (entry.line.get("id") is None, entry.line.get("id") or 0,
                                                     entry.where))
        counts = {record: 0 for record in EXPORT_RECORDS}
        try:
            with self._writing() as conn:
                first = next((entry for entry in ordered if entry.line.get("id") is not None), None)
                taken = max(int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(column), 0))).scalar_one())
                            for column in (t.runs.c.id, t.pruned_runs.c.run_id, t.retirements.c.run_id))
                if first is not None and int(first.line["id"]) <= taken:
                    raise InputError(f"{first.where}: run id {first.line['id']} is not free in {self.shown}, whose "
                                     f"runs reach id {taken}: an export is imported into a fresh store (or one whose "
                                     "runs all came before it); nothing was recorded")
                for entry in ordered:
                    self._import_entry(conn, entry)
                    counts[entry.line["record"]] += 1
                if self.dialect == "postgresql" and first is not None:
                    # the runs' sequence past the ids given, so that the next run recorded follows them
                    conn.execute(sa.select(sa.func.setval(sa.func.pg_get_serial_sequence("runs", "id"),
                                                          max(int(e.line["id"]) for e in ordered if "id" in e.line))))
        except InputError:
            raise
        except (SQLAlchemyError, DBAPIError) as exc:
            raise self._fail("record in", exc) from None
        return counts

    def _import_entry(self, conn: Connection, entry: ExportEntry) -> None:
        line, where = entry.line, entry.where
        host = line["host"]
        host_id = self._host(conn, host["machine_id"], host["hostname"], host["inventory_name"])
        policy_id = line["policy" if line["record"] == "run" else "policy_id"]
        policy_id = policy_id["id"] if isinstance(policy_id, dict) else policy_id
        if line["record"] != "missed_scan":
            newest = _newest(*_last_entries(conn, host_id, policy_id))
            head = newest[1] if newest is not None else None
            if head != line["prev_evidence_sha256"]:
                raise InputError(f"{where}: {line['record'].replace('_', ' ')} {line['id']} follows the evidence "
                                 f"{line['prev_evidence_sha256'] or 'none'} in its chain, but the entry before it "
                                 f"in the export and the store is {head or 'none'}: an entry of the chain is missing "
                                 "(export the whole store, without --since, --until or --verdict) or the line was "
                                 "edited; nothing was recorded")
        if line["record"] == "pruned_run":
            conn.execute(t.pruned_runs.insert().values(
                run_id=line["id"], host_id=host_id, policy_id=policy_id, evidence_sha256=line["evidence_sha256"],
                prev_evidence_sha256=line["prev_evidence_sha256"], started_at=entry.times["started_at"],
                pruned_at=entry.times["pruned_at"]))
            return
        if line["record"] == "retirement":
            key = conn.execute(sa.select(t.hosts.c.host_key).where(t.hosts.c.id == host_id)).scalar_one()
            said = retirement_digest(key, policy_id, line["prev_evidence_sha256"], entry.times["retired_at"],
                                     line["reason"])
            if said != line["digest"]:
                raise InputError(f"{where}: the retirement's digest {line['digest']} is not that of what it says "
                                 f"({said}): the line was edited; nothing was recorded")
            conn.execute(t.retirements.insert().values(
                run_id=line["id"], host_id=host_id, policy_id=policy_id, digest=line["digest"],
                prev_evidence_sha256=line["prev_evidence_sha256"], retired_at=entry.times["retired_at"],
                reason=line["reason"]))
            return
        if line["record"] == "missed_scan":
            conn.execute(t.missed_scans.insert().values(
                host_id=host_id, policy_id=policy_id, started_at=entry.times["started_at"],
                recorded_at=entry.times["recorded_at"], exit_code=line["exit_code"], reason=line["reason"]))
            return
        item = entry.prepared
        assert item is not None  # a run's entry is prepared by read_export
        if conn.execute(_RUN_BY_EVIDENCE, {"sha": item.sha256}).scalar() is not None:
            raise InputError(f"{where}: its evidence (SHA-256 {item.sha256[:16]}...) is already recorded in "
                             f"{self.shown}; nothing was recorded")
        # Another copy of a run already recorded (re-indented, or edited where no digest looks), as
        # recording refuses it (_same_run): imported, the one scan was two runs, listed, diffed and
        # counted twice by trend, and verify passed the copy.
        same = _same_run(conn, item)
        if same is not None:
            raise InputError(f"{where}: run {line['id']} is run {same} again (the same start, end, facts and policy, "
                             "in other bytes: a copy re-indented or edited); nothing was recorded")
        if conn.execute(_POLICY_KNOWN, {"sha": item.policy["sha256"]}).first() is None:
            self._insert_missing(conn, t.policies, "sha256", item.policy)
        self._insert_missing(conn, t.evidence, "sha256", {
            "sha256": item.sha256, "size": item.size, "encoding": EVIDENCE_ENCODING, "content": item.content})
        run_id = int(line["id"])
        conn.execute(t.runs.insert(), {
            **item.run, "id": run_id, "host_id": host_id, "recorded_at": entry.times["recorded_at"],
            "trigger": line["trigger"], "prev_evidence_sha256": line["prev_evidence_sha256"]})
        if item.findings:
            conn.execute(t.findings.insert(), [{"run_id": run_id, **row} for row in item.findings])
        if item.families:
            conn.execute(t.family_counts.insert(), [
                {"run_id": run_id, "family": family, "status": status, "count": n, "day": item.run["day"],
                 "host_id": host_id, "policy_id": item.run["policy_id"]} for family, status, n in item.families])
        for attestation, moment in zip(line["attestations"], entry.attested):
            conn.execute(t.attestations.insert().values(
                run_id=run_id, kind=attestation["kind"], document_sha256=attestation["document_sha256"],
                attested_at=moment))
        # What the store now says of the run is what the line said: a verdict, count, finding,
        # policy or signature edited in the line (its evidence unchanged) is refused here.
        recorded = self._run_in(conn, run_id)
        exported = {key: value for key, value in line.items()
                    if key not in ("record", "evidence", "evidence_signature")}
        differ = sorted(key for key in set(exported) | set(recorded) if exported.get(key) != recorded.get(key))
        if differ:
            field_name = differ[0]
            raise InputError(f"{where}: run {run_id}'s {field_name} is {_said(exported.get(field_name))[:200]} in the "
                             f"export, but its evidence (and signature) record {_said(recorded.get(field_name))[:200]}: "
                             "the line was edited"
                             f"{' (also: ' + ', '.join(differ[1:]) + ')' if differ[1:] else ''}; nothing was recorded")


EXPORT_RECORDS = ("run", "pruned_run", "retirement", "missed_scan")
_HOST_KEYS: dict[str, Any] = {"hostname": str, "machine_id": (str, type(None)), "inventory_name": (str, type(None))}
# What each entry of an export must hold (beyond ``record`` and ``host``): a type, or a tuple of them
_ENTRY_KEYS: dict[str, dict[str, Any]] = {
    "run": {"id": int, "evidence": str, "evidence_signature": (str, type(None)), "evidence_sha256": str,
            "prev_evidence_sha256": (str, type(None)), "trigger": str, "recorded_at": str, "attestations": list,
            "policy": dict},
    "pruned_run": {"id": int, "policy_id": str, "evidence_sha256": str, "prev_evidence_sha256": (str, type(None)),
                   "started_at": str, "pruned_at": str},
    "retirement": {"id": int, "policy_id": str, "digest": str, "prev_evidence_sha256": (str, type(None)),
                   "retired_at": str, "reason": (str, type(None))},
    "missed_scan": {"policy_id": str, "started_at": str, "recorded_at": str, "exit_code": int, "reason": str},
}
_ENTRY_TIMES = {"run": ("recorded_at",), "pruned_run": ("started_at", "pruned_at"), "retirement": ("retired_at",),
                "missed_scan": ("started_at", "recorded_at")}


@dataclass
class ExportEntry:
    """One line of an export, checked and (a run's) prepared: what :meth:`HistoryStore.import_export` records."""

    where: str  # FILE:LINE
    line: dict[str, Any]
    times: dict[str, datetime]  # its times, naive UTC
    attested: list[datetime]  # a run's attestation times, naive UTC
    prepared: PreparedRun | None = None


def _export_time(value: Any, what: str) -> datetime:
    if isinstance(value, str) and value.endswith("Z"):
        try:
            moment = datetime.fromisoformat(value[:-1] + "+00:00")
        except ValueError:
            moment = None
        if moment is not None:
            return _naive_utc(moment)
    raise InputError(f"{what} is {_said(value)}, not a UTC time (ISO 8601 ending in Z)")


def read_export(raw: bytes, name: str) -> list[ExportEntry]:
    """The entries of a ``history export --with-evidence`` output, every line checked and every
    run's evidence (and signature) validated before anything is recorded: a line that is not an
    export entry, or whose evidence or signature does not hold, is an InputError naming FILE:LINE
    (a signature over other evidence: EvidenceChangedSinceSigned, exit 10)."""
    from auditor.attest.signing import EvidenceChangedSinceSigned
    from auditor.storage.jsonfile import loads_strict

    entries: list[ExportEntry] = []
    ids: dict[int, str] = {}
    now = _naive_utc(datetime.now(timezone.utc))
    for number, text in enumerate(raw.split(b"\n"), start=1):
        if not text.strip():
            continue
        where = f"{name}:{number}"
        try:
            # The strict reader, as every JSON document lbaudit reads: json.loads took a line nested
            # 100,000 deep to a RecursionError (exit 70), and a key given twice as its last value.
            line = loads_strict(text)
        except ValueError as exc:  # UnicodeDecodeError too
            raise InputError(f"{where}: not a line of history export (JSON): {exc}") from None
        record = line.get("record") if isinstance(line, dict) else None
        if record not in EXPORT_RECORDS:
            hint = (" (an export without --with-evidence cannot be imported: export again with --with-evidence)"
                    if isinstance(line, dict) and "evidence" not in line else "")
            raise InputError(f"{where}: not an entry of history export --with-evidence: its record is "
                             f"{_said(record)}, expected one of {', '.join(EXPORT_RECORDS)}{hint}")
        host = line.get("host")
        if not isinstance(host, dict) or any(not isinstance(host.get(k), kind) for k, kind in _HOST_KEYS.items()):
            raise InputError(f"{where}: its host is {_said(host)}, expected hostname, machine_id and inventory_name")
        for key, kind in _ENTRY_KEYS[record].items():
            if key not in line or not isinstance(line[key], kind) or (kind is int and isinstance(line[key], bool)):
                raise InputError(f"{where}: its {key} is {_said(line.get(key))}, expected "
                                 f"{getattr(kind, '__name__', 'text or null')}")
        try:
            times = {key: _export_time(line[key], key) for key in _ENTRY_TIMES[record]}
            attested = [_export_time(a.get("attested_at") if isinstance(a, dict) else None, "attested_at")
                        for a in line.get("attestations", [])]
            refuse_unkeepable(t.hosts, {k: host[k] for k in _HOST_KEYS})
            if record == "missed_scan":  # recorded by an lbaudit that kept a NUL in it (SQLite)
                line["reason"] = keepable_reason(line["reason"])
            if record != "run":  # a run's texts are its evidence's, checked as it is prepared
                table = {"pruned_run": t.pruned_runs, "retirement": t.retirements}.get(record, t.missed_scans)
                refuse_unkeepable(table, {k: v for k, v in line.items() if k in table.c and k != "run_id"})
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        if "id" in line:
            if line["id"] < 1 or line["id"] > SQLITE_LARGEST_INTEGER:
                raise InputError(f"{where}: its id {line['id']} is not a run id (1 to {SQLITE_LARGEST_INTEGER})")
            if line["id"] in ids:
                raise InputError(f"{where}: id {line['id']} is given again (first at {ids[line['id']]})")
            ids[line["id"]] = where
        entry = ExportEntry(where, line, times, attested)
        if record == "run":
            # When a run was recorded is the line's alone (no evidence says it), and recording
            # refuses a clock behind the one that recorded a host's last run (_chain_head): a run
            # "recorded" in 2999 had every later run of its host refused as a clock set back.
            if times["recorded_at"] > now + FUTURE_TOLERANCE:
                raise InputError(f"{where}: recorded_at {line['recorded_at']} is ahead of this clock ({_iso(now)}, "
                                 f"more than {int(FUTURE_TOLERANCE.total_seconds() // 60)} minutes): the line was "
                                 "edited (every later run of its host would be refused as recorded by a clock set "
                                 "back); nothing was recorded")
            if line["trigger"] not in t.TRIGGERS:
                raise InputError(f"{where}: its trigger is {_said(line['trigger'])}, not one of {', '.join(t.TRIGGERS)}")
            for attestation in line["attestations"]:
                if not isinstance(attestation, dict) or not isinstance(attestation.get("kind"), str) or not \
                        isinstance(attestation.get("document_sha256"), str):
                    raise InputError(f"{where}: an attestation is {_said(attestation)}, expected kind, "
                                     "document_sha256 and attested_at")
                try:
                    refuse_unkeepable(t.attestations, {"kind": attestation["kind"],
                                                       "document_sha256": attestation["document_sha256"]})
                except InputError as exc:
                    raise InputError(f"{where}: {exc}") from None
            evidence = line["evidence"].encode("utf-8")
            signature = line["evidence_signature"]
            try:
                entry.prepared = prepare_run(evidence, None, None if signature is None else signature.encode("utf-8"))
            except EvidenceChangedSinceSigned as exc:
                raise EvidenceChangedSinceSigned(f"{where}: run {line['id']}'s evidence {exc}") from None
            except InputError as exc:
                raise InputError(f"{where}: run {line['id']}: {exc}") from None
            if entry.prepared.sha256 != line["evidence_sha256"]:
                raise InputError(f"{where}: run {line['id']}'s evidence has SHA-256 {entry.prepared.sha256}, but the "
                                 f"line says {line['evidence_sha256']}: the evidence was changed")
            if signature is not None and entry.prepared.signature is None:
                raise EvidenceChangedSinceSigned(f"{where}: run {line['id']}'s evidence_signature does not hold "
                                                 "over its evidence under the key it names")
            # The host the line files the run under must be the evidence's (its key: the machine id,
            # or the name of a host without one of its own); a line's machine id was taken as it
            # was, and the run of one machine imported as another's (exit 0; only verify told).
            # A fleet's host (keyed by its inventory name) is the one thing no evidence says.
            line_key = host_key(host["machine_id"], host["hostname"], host["inventory_name"])
            evidence_key = host_key(entry.prepared.machine_id, entry.prepared.hostname)
            if not line_key.startswith("inventory:") and line_key != evidence_key:
                raise InputError(f"{where}: its host is {_said(line_key)}, its evidence's {_said(evidence_key)}: the "
                                 "line was edited")
        entries.append(entry)
    if not entries:
        raise InputError(f"{name}: no entry of history export in it (an empty export)")
    return entries


class _Reading:
    """A connection for reading, every database error turned into an InputError naming the store."""

    def __init__(self, store: HistoryStore):
        self.store = store
        self.conn: Connection | None = None

    def __enter__(self) -> Connection:
        try:
            self.conn = self.store.engine.connect()
            self.store._refuse_damaged_index(self.conn)
        except (SQLAlchemyError, DBAPIError) as exc:
            if self.conn is not None:
                self.conn.close()
            raise self.store._fail("read", exc) from None
        except BaseException:
            if self.conn is not None:
                self.conn.close()
            raise
        return self.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.conn is not None
        self.conn.close()
        if isinstance(exc, (SQLAlchemyError, DBAPIError)):
            raise self.store._fail("read", exc) from None
        if isinstance(exc, (ValueError, TypeError, OverflowError)) and (damaged := self.store._damaged(exc)) is not None:
            raise damaged from None


def _raised_by_sqlalchemy(tb: Any) -> bool:
    """Whether the innermost frames of the traceback ``tb`` are SQLAlchemy's (reading a row), not ours."""
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    frame = last.tb_frame if last is not None else None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("sqlalchemy."):
            return True
        if module.startswith("auditor."):
            return False
        frame = frame.f_back
    return False


def dump_json_line(run: dict[str, Any]) -> str:
    """A run as one line of ``history export``: ASCII, every other character a JSON escape, so the
    host's text is exact once parsed and nothing of it is raw on a terminal (a process name's 0x9B
    or U+202E) or breaks the line for ``str.splitlines`` (U+2028, U+0085)."""
    return json.dumps(run, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
