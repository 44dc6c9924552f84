"""Where lbaudit writes, and the one writer every output goes through.

An output never destroys anything it was not asked to replace:

* An existing file is replaced only when it is recognisably the same kind of lbaudit output (an
  evidence by an evidence, a SARIF log by a SARIF log lbaudit wrote: :func:`recognised`), or is
  empty, or the command was given ``--force``: ``collect -o ~/.bashrc``, ``evaluate -o
  other-policy.yaml`` or ``--pdf notes.txt`` replaced whatever was there.  Keys are replaced only
  by ``keygen --force``, a policy never (``init``), schedule files by their own rule.
* Only a regular file is ever replaced.  A path that exists as anything else (a device such as
  ``/dev/null``, a FIFO, a socket, a directory; ``/dev/stdout`` when it is a terminal or a pipe) is
  refused with exit 2, before any work; so is a path under a directory that does not exist: lbaudit
  does not create directory trees (``--out-dir`` alone may be created, one level, when its parent
  exists).
* A symbolic link is written *through*: the new bytes replace the file the link points to,
  atomically, and the link stays a link (as a shell's ``>`` would, but never half-written); never
  a link another user made in a shared sticky directory (:func:`refuse_shared_links`).  Through a
  link only what may be replaced without ``--force`` is replaced (lbaudit's own output of the kind,
  an empty file, or nothing yet): ``--force`` replaces the file at the path given, never the file a
  link there leads to; that is refused with exit 2 naming the link and its target.
* What is written is what was checked: a path that leads to another file at the write than when
  the run's outputs were checked (a link put there meanwhile), or where a file appeared or was
  replaced since, is not written (exit 2, the run's files put back): the check decided what may
  be replaced there, and anything but lbaudit may write in the directory while the run works.
* Two outputs of one run that are the same file, or an output that is one of the run's inputs (the
  policy, the snapshot, a key, the evidence a report is rendered from), are refused with exit 2
  before any work: compared by resolved path and, for files that exist, by ``(st_dev, st_ino)``; for
  files that do not exist yet, by the ``(st_dev, st_ino)`` of their directory and their name (one
  directory reached by two paths: a bind mount, ``/proc/self/fd/N``, a second link to it).
* A new file gets mode ``0664`` less the umask, a directory lbaudit creates ``0775`` less it: as
  ``touch`` and ``mkdir`` would, except that others never get write permission, whatever the umask
  (under ``umask 000`` anyone could rewrite evidence, a report, a policy or the public key that
  verifies signatures, and swap files in a report directory).  A file that is replaced keeps its
  permission bits; a private key is created ``0600`` whatever the umask.
* The files of one run are kept together or not at all: inside :func:`auditor.command_files.transaction`
  (the command line runs every command in one) each file replaced keeps its previous version as a hard link
  beside it (a copy where there can be none), and a run that fails part way (a disk full at its
  third report, a store that cannot record, SIGTERM) puts back every file it wrote, removed or
  created, so an exit 2 leaves what was there before, never new evidence beside the reports of the
  run before it.

Problems are :class:`~auditor.errors.InputError` (exit 2) naming the path.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from auditor import safeio
from auditor.command_files import (
    WRITING,
    Change,
    DirectoryBusy,
    at_free_name,
    checked_output,
    current,
    fsync_directory,
    lock_directories,
    previous_version,
    remember_checked,
    remove_if_empty,
    uninterrupted,
)
from auditor.errors import Busy, InputError
from auditor.model.records import record
from auditor.patterns import first_use
from auditor.safeio import kind_of, open_regular, pseudo_file_system

DOCUMENT_MODE = 0o664  # less the umask, which the kernel applies at creation; never writable by others
DIRECTORY_MODE = 0o775  # likewise for the directories lbaudit creates (--out-dir)
PRIVATE_MODE = 0o600

T = TypeVar("T")


class OutputExists(InputError):
    """A file that must not be overwritten (``replace=False``) already exists."""


def _stat(path: Path, what: str, follow: bool = True) -> os.stat_result | None:
    """``os.stat`` of an output path; None when nothing is there (yet)."""
    try:
        return os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError as exc:
        raise InputError(f"{path}: cannot write {what}: a component of the path is not a directory") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot write {what}: {exc.strerror or exc}") from exc


def _refuse_non_regular(path: Path, st: os.stat_result | None, what: str) -> None:
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: cannot write {what}: it is {kind_of(st.st_mode)}, not a regular file "
                         "(lbaudit replaces only regular files)")


def _check_directory(path: Path, directory: Path, what: str, will_create: Path | None = None) -> None:
    """The directory the output lands in must exist (or be the one ``--out-dir`` lbaudit will create)."""
    if will_create is not None and directory == will_create:
        return
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        raise InputError(f"{path}: cannot write {what}: directory {directory} does not exist "
                         "(lbaudit does not create it)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot write {what}: {directory}: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: cannot write {what}: {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"{path}: cannot write {what}: {_why_not_writable(directory)} {directory}")


def _why_not_writable(directory: Path) -> str:
    """Why ``os.access`` said no, as the start of "... in DIRECTORY": root is refused only by a
    read-only mount, which "permission denied" would send looking at modes."""
    try:
        read_only = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        read_only = False
    return "read-only file system at" if read_only else "permission denied in"


# PEM: "-----BEGIN [ENCRYPTED |EC |RSA ]PRIVATE KEY-----", "-----BEGIN PUBLIC KEY-----"
_KEY_MARKS = ((b"PRIVATE KEY-----", "private"), (b"PUBLIC KEY-----", "public"))


_HEAD = 64 * 1024  # the first bytes of an existing file a recogniser may look at
_CHUNK = 1024 * 1024  # a search through a file reads it this much at a time
_MARK_MAX = 256  # no mark searched for is longer: the end of one chunk kept for the next
_SEARCH_LIMIT = 256 * 1024 * 1024  # a file larger than this (st_size) is not searched through: not recognised


class _Sample:
    """What may be seen of an existing regular file at an output path, in bounded memory: its first
    bytes (``head``), and whether a byte pattern is anywhere in it (:meth:`contains`, read a chunk at
    a time, never whole).  The one way lbaudit looks at a file it is about to replace: for a PEM key
    (:func:`_held_key`) and for its own earlier output (:func:`recognised`)."""

    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self.size = size  # st_size when opened: nothing past it is read, however the file grows
        self.head = self._read(0, _HEAD)  # not bound by st_size: a file of /proc says 0

    def _read(self, offset: int, count: int) -> bytes:
        chunks: list[bytes] = []
        while count > 0:
            chunk = os.pread(self._fd, count, offset)
            if not chunk:
                break  # shrunk meanwhile
            chunks.append(chunk)
            offset += len(chunk)
            count -= len(chunk)
        return b"".join(chunks)

    def contains(self, mark: "re.Pattern[bytes]") -> bool:
        """Whether ``mark`` (a pattern matching at most ``_MARK_MAX`` bytes) is in the file.  A file
        larger than ``_SEARCH_LIMIT`` is not searched (False): no lbaudit output that is searched
        for its mark is that large, and searching it would only cost the time of reading it."""
        if self.size > _SEARCH_LIMIT:
            return False
        carry = b""  # the end of the previous chunk: a mark across two chunks is found too
        offset = 0
        while offset < self.size:
            chunk = self._read(offset, min(_CHUNK, self.size - offset))
            if not chunk:
                break
            window = carry + chunk
            if mark.search(window):
                return True
            carry = window[-_MARK_MAX:]
            offset += len(chunk)
        return False


def _look_at(path: Path, judge: Callable[[_Sample], T]) -> T | None:
    """``judge`` of the regular file at ``path``; None when it is not one or cannot be read.
    Opened without blocking (a FIFO put there meanwhile), judged through the descriptor opened."""
    try:
        # open_regular opens nothing but a regular file (a device's driver would run its open)
        fd, st = open_regular(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        if pseudo_file_system(fd) is not None:
            # No output of lbaudit is there, and reading some of them takes what they hold:
            # `-o /proc/kmsg` read the kernel's log messages away from rsyslog to judge them.
            return None
        return judge(_Sample(fd, st.st_size))
    except OSError:
        return None
    finally:
        os.close(fd)


def _held_key(path: Path) -> str | None:
    """"private" or "public" when the regular file at ``path`` holds a PEM key (its first 4 KiB)."""
    # what cannot be read here is judged by the write itself
    return _look_at(path, lambda sample: next((kind for mark, kind in _KEY_MARKS if mark in sample.head[:4096]),
                                              None))


def _refuse_private_key(path: Path, what: str) -> None:
    # `collect -o keys/lbaudit.key` replaced the signing key with a snapshot: gone for good, and
    # keygen itself refuses that without --force.  `collect -o keys/lbaudit.pub` replaced the key
    # verifiers trust the same way.  No report or snapshot ever holds a PEM key.
    kind = _held_key(path)
    if kind is not None:
        raise InputError(f"{path}: cannot write {what}: it holds a {kind} key, which lbaudit replaces only "
                         "with keygen --force")


MAX_SYMLINKS = 40  # as the kernel follows (ELOOP past it)


def refuse_shared_links(path: Path, what: str, verb: str = "write") -> None:
    """Refuse ``path`` when a symbolic link on the way to it was made by another user in a shared
    directory (sticky and writable by anyone: /tmp, /var/tmp, /dev/shm), unless that user owns the
    directory: the rule the kernel applies when it follows a link (fs.protected_symlinks).  lbaudit
    resolves a link itself (realpath) and writes what it leads to, which the kernel's rule never
    sees: ``evaluate -o /tmp/report.json`` run by root, where another user had made
    /tmp/report.json a link to /etc/ld.so.preload, created /etc/ld.so.preload holding the evidence.
    A link that cannot be looked at is left to the write itself."""
    try:
        # joined, not normalised: "LINK/.." is the parent of where LINK leads, as realpath takes it
        pending = os.path.join(os.getcwd(), os.fspath(path)).split("/")
    except OSError:  # no working directory: the write says so
        return
    pending.reverse()  # the next component is pending[-1]
    current = "/"
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, part)
        try:
            link = os.lstat(candidate)
        except OSError:
            return  # nothing there (yet): no link further on
        if not stat.S_ISLNK(link.st_mode):
            current = candidate
            continue
        hops += 1
        try:
            holder = os.stat(current)
            target = os.readlink(candidate)
        except OSError:
            return
        shared = holder.st_mode & stat.S_ISVTX and holder.st_mode & stat.S_IWOTH
        if shared and link.st_uid not in (os.geteuid(), holder.st_uid):
            raise InputError(f"{path}: cannot {verb} {what}: {candidate} is a symbolic link made by another user "
                             f"(uid {link.st_uid}) in {current}, a directory anyone may write in; lbaudit does not "
                             "follow it (nor would the kernel, with fs.protected_symlinks)")
        if hops > MAX_SYMLINKS:
            return  # a loop: the write says so
        if target.startswith("/"):
            current = "/"
        pending.extend(reversed(target.split("/")))


def resolve_target(path: Path, what: str = "output", will_create: Path | None = None,
                   may_replace_key: bool = False) -> tuple[Path, os.stat_result | None]:
    """The file that writing ``path`` replaces (symlinks resolved) and its stat if it exists.

    Raises InputError when it exists and is not a regular file, or holds a PEM key (only
    ``keygen --force`` replaces one: ``may_replace_key``), or its directory is missing or not
    writable.  ``will_create`` is a directory (resolved) that lbaudit creates before writing."""
    path = Path(path)
    refuse_shared_links(path, what)
    # stat() follows links the way open() would: /dev/stdout -> /proc/self/fd/1 -> a pipe or a tty.
    st = _stat(path, what)
    _refuse_non_regular(path, st, what)
    if st is not None and not may_replace_key:
        _refuse_private_key(path, what)
    target = Path(os.path.realpath(path))
    _refuse_proc_links(path, target, st, what)
    _check_directory(path, target.parent, what, will_create)
    return target, st


def _refuse_proc_links(path: Path, target: Path, st: os.stat_result | None, what: str) -> None:
    """Refuse ``path`` when its real path (where lbaudit writes) is another file than the kernel
    opens at ``path``: a link of /proc on the way (``/proc/PID/root/...`` of a container, whose
    text is the container's own view) has ``realpath`` name a directory of this host, and the
    output was written there (``-o /proc/PID/root/tmp/x.json``: this host's /tmp/x.json)."""
    try:
        same = (safeio.real_directory(path.parent) == os.path.realpath(path.parent)
                and (st is None or os.path.samestat(st, os.stat(target))))
    except OSError:
        return  # a directory that is not there, or cannot be looked at: the checks after say so
    if not same:
        raise InputError(f"{path}: cannot write {what}: it is reached through a link of /proc whose text names "
                         f"another file ({target}) than the one it leads to; give the file's own path")


@record
class PlannedFile:
    role: str  # "evidence", "signature", "sarif report", "policy", ...
    path: Path  # as given
    target: Path  # symlinks resolved
    identity: tuple[int, int] | None  # (st_dev, st_ino) when it exists
    # (st_dev, st_ino) of the directory it is (to be) in, and its name there: a file that does not
    # exist yet has no identity, and one directory reached by two paths (a bind mount) has two
    # resolved paths, so `--output /mnt/a/x --pdf /mnt/b/x` wrote the PDF over the evidence.
    slot: tuple[int, int, str] | None = None

    def same_file(self, other: "PlannedFile") -> bool:
        return (self.target == other.target or (self.identity is not None and self.identity == other.identity)
                or (self.slot is not None and self.slot == other.slot))


def _slot(target: Path) -> tuple[int, int, str] | None:
    try:
        st = os.stat(target.parent)
    except OSError:
        return None  # a directory --out-dir will create: nothing else can be in it yet
    return (st.st_dev, st.st_ino, target.name)


# ------------------------------------------------------------------ what an existing output may be

# Each kind of output is recognised by what lbaudit's own writer puts in it, in bounded memory
# (_Sample): the file's first 64 KiB, and a mark searched for through it a chunk at a time.  A JSON
# document that fits in those 64 KiB is parsed and its members looked at (whatever its layout); a
# larger one is never parsed: every JSON file lbaudit writes is indented by two spaces, so the lines
# that start with exactly two spaces and a quote are the members of its top-level object (a JSON
# string holds no raw newline), and the mark is such a member: the evidence's own "schema", not the
# "schema" of the snapshot nested in it.  Before, a JSON document or PDF there was read whole and
# parsed: an unrelated file of 4 GB at an output path cost 550 MiB of memory to be told apart (256
# MiB read, then joined), a JSON array of 64 MiB 400 MiB, an earlier run's 38 MB OSCAL report a
# parse of all of it.


def _json_of(data: bytes) -> Any:
    import json

    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _member(mark: bytes) -> "re.Pattern[bytes]":
    """A top-level member of an indented JSON object, from its key up to ``mark``'s end (a regular
    expression matching at most ``_MARK_MAX`` bytes)."""
    return re.compile(rb'\n  "' + mark)


def _json_document(check: Callable[[Any], bool], mark: "re.Pattern[bytes]",
                   start: bytes = b'{\n  "') -> Callable[[_Sample], bool]:
    """A JSON document: ``check`` of it parsed when it fits in the head, else its layout's ``start``
    and ``mark`` (``check`` and ``mark`` say the same of a document lbaudit wrote)."""
    def recognise(sample: _Sample) -> bool:
        if len(sample.head) < _HEAD:  # the whole file
            try:
                return bool(check(_json_of(sample.head)))
            except (KeyError, IndexError, TypeError):
                return False
        return sample.head.startswith(start) and sample.contains(mark)
    return recognise


def _schema_is(name: str) -> Callable[[_Sample], bool]:
    return _json_document(lambda document: document["schema"] == name,
                          _member(rb'schema": "' + re.escape(name.encode()) + rb'"'))


_signature = _json_document(
    lambda document: isinstance(document["schema"], str) and document["schema"].startswith("lbaudit/")
    and document["schema"].endswith("-signature"),
    _member(rb'schema": "lbaudit/[^"\n]{1,64}-signature"'))
# the first run's tool: in lbaudit's layout the run's first member, whose driver's first member is its name
_sarif = _json_document(lambda document: document["runs"][0]["tool"]["driver"]["name"] == "lbaudit",
                        _member(rb'runs": \[\n    \{\n      "tool": \{\n        "driver": \{\n'
                                rb'          "name": "lbaudit"'))
_oscal = _json_document(
    lambda document: str(document["assessment-results"]["metadata"]["title"]).startswith("lbaudit "),
    re.compile(rb'\n    "metadata": \{\n      "title": "lbaudit '), start=b'{\n  "assessment-results": {\n')
_hdf = _json_document(lambda document: isinstance(document["passthrough"], dict) and "lbaudit" in document["passthrough"],
                      _member(rb'passthrough": \{\n    "lbaudit": \{'))
_fleet_summary_json = _json_document(lambda document: str(document["format"]).startswith("lbaudit-fleet-summary/"),
                                     _member(rb'format": "lbaudit-fleet-summary/'))
_PDF_CREATOR = first_use(rb"/Creator \(lbaudit")
# The text report's first line (auditor/report/summary.py header_lines): "lbaudit VERSION policy ID
# VERSION on HOST (SOURCE...)", then "facts: ".  "lbaudit " alone let a file of notes that begins
# with the word ("lbaudit notes: rotate the keys") be replaced without --force.
_TEXT_HEADER = first_use(rb"lbaudit [^ \n]+ policy [^ \n]+ [^\n]*\nfacts: ")


def _junit(sample: _Sample) -> bool:
    return sample.head.startswith(b"<?xml") and b'<testsuites name="lbaudit' in sample.head


def _html(sample: _Sample) -> bool:
    head = sample.head
    return head.lstrip().lower().startswith(b"<!doctype html") and b'<meta name="generator" content="lbaudit' in head


_RECOGNISERS: dict[str, Callable[[_Sample], bool]] = {
    "evidence": _schema_is("lbaudit/evidence"),
    "snapshot": _schema_is("lbaudit/snapshot"),
    "evidence signature": _signature,
    "snapshot signature": _signature,
    "sarif report": _sarif,
    "oscal report": _oscal,
    "hdf report": _hdf,
    "fleet summary": lambda sample: _fleet_summary_json(sample) or _junit(sample) or _html(sample),
    "pdf report": lambda sample: sample.head.startswith(b"%PDF-") and sample.contains(_PDF_CREATOR()),
    "junit report": _junit,
    "html report": _html,
    "host HTML report": _html,
    "fleet overview": _html,
    "text report": lambda sample: _TEXT_HEADER().match(sample.head) is not None,
    "prometheus report": lambda sample: sample.head.startswith(b"# HELP lbaudit_"),
}


def _plugin_report(sample: _Sample) -> bool:
    """A report format of a plugin: a file that names lbaudit in its first 64 KiB."""
    return b"lbaudit" in sample.head


# Roles whose command has its own rule for a file already there (init never replaces a policy;
# keygen replaces keys with --force): not judged here.
_OWN_RULE = frozenset({"policy"})


def recognised(path: Path, role: str) -> bool:
    """Whether the existing file at ``path`` may be replaced by the ``role`` output without
    ``--force``: it is empty, or it is recognisably what lbaudit writes for that role.  A file that
    cannot be read is not recognised."""
    recognise = _RECOGNISERS.get(role, _plugin_report)
    return bool(_look_at(path, lambda sample: not sample.head or recognise(sample)))


def refuse_foreign(output: PlannedFile, force: bool) -> None:
    """An existing file an output would replace must be an lbaudit output of its kind (or empty),
    unless ``force``: InputError (exit 2) naming it.  ``force`` replaces the file at the path given,
    never one a symbolic link there leads to: ``report --pdf LINK --force`` replaced the file LINK
    pointed at (anything the user may write, outside the report directory too), and the link stayed."""
    if output.identity is None or output.role in _OWN_RULE:
        return
    linked = os.path.islink(output.path)
    if (force and not linked) or recognised(output.target, output.role):
        return
    if force:
        raise InputError(f"{output.path}: cannot write the {output.role}: it is a symbolic link to {output.target}, "
                         f"a file that is not an lbaudit {output.role}; --force replaces the file at the path "
                         "given, never one a link there leads to: remove the link, or name that file itself")
    shown = "" if os.fspath(output.target) == os.path.abspath(output.path) else f" (it leads to {output.target})"
    raise InputError(f"{output.path}{shown}: cannot write the {output.role}: a file is there that is not an lbaudit "
                     f"{output.role} (lbaudit replaces only its own output of the same kind, or an empty file); "
                     "move it away, or give --force to replace it")


@record
class InputTree:
    """A directory a run reads as a whole, an offline image's root (``--root``, ``root:DIR``): no
    output may be written anywhere inside it.  The image is somebody else's system under audit, and
    ``--output IMAGE/etc/sysctl.d/10-range.conf`` (or a link there) replaced the configuration the
    run had just judged, which the next run then read back as the image's own."""

    path: Path


def _inside_tree(role: str, tree: InputTree, output: PlannedFile) -> None:
    """Refuse ``output`` when it lands inside ``tree``: under its real path, or in a directory below
    the tree itself by identity (a tree given as ``/proc/PID/root``, a container's root, whose real
    path is this host's ``/``: the container's files are reached by its engine's path too)."""
    real = os.path.realpath(tree.path)
    try:
        top: os.stat_result | None = os.stat(tree.path)
    except OSError:
        top = None
    if (top is None and real == os.path.sep) or (top is not None and os.path.samestat(top, os.stat(os.path.sep))):
        return  # the root of this host (by any path to it): every output is in it, as for the local target
    inside = real != os.path.sep and os.path.commonpath([real, os.fspath(output.target)]) == real
    directory = output.target.parent
    while top is not None and not inside:
        try:
            inside = os.path.samestat(os.stat(directory), top)
        except OSError:
            pass  # not there yet (--out-dir makes it): its parents tell
        if directory == directory.parent:
            break
        directory = directory.parent
    if inside:
        shown = "" if os.fspath(output.target) == os.path.abspath(output.path) else f" (it leads to {output.target})"
        raise InputError(f"{output.path} ({output.role}){shown} is inside the {role} {tree.path}: writing it would "
                         f"change the image being audited; write outputs outside it")


def refuse_inside_trees(role: str, path: Path, inputs: Iterable[tuple[str, Path | InputTree | None]]) -> None:
    """A file a run writes outside the output plan (the history store's database, which SQLite
    creates and updates in place) is never inside an input tree either: checked before it is opened."""
    written = PlannedFile(role, Path(path), Path(os.path.realpath(path)), None)
    for tree_role, tree in inputs:
        if isinstance(tree, InputTree):
            _inside_tree(tree_role, tree, written)


def _input_file(role: str, path: Path) -> PlannedFile:
    """An input as an output is compared with it: by resolved path, and by identity when it exists.
    A missing input keeps its name: an output there would become the input of the next run (the
    ``.sig`` of the snapshot, a probe file of the bundle)."""
    target = Path(os.path.realpath(path))
    try:
        st = os.stat(path)
    except OSError:
        return PlannedFile(role, Path(path), target, None, _slot(target))  # reading it says what is wrong
    return PlannedFile(role, Path(path), target, (st.st_dev, st.st_ino), _slot(target))


def plan_outputs(outputs: Iterable[tuple[str, Path]], inputs: Iterable[tuple[str, Path | InputTree | None]] = (),
                 out_dir: Path | None = None, force: bool = False) -> list[PlannedFile]:
    """Check every output of a run before any work is done; return them resolved.

    ``outputs`` and ``inputs`` are ``(role, path)`` pairs; an input given as an :class:`InputTree`
    is a directory no output may be inside.  ``out_dir``, when given, is checked as the
    ``--out-dir`` that :func:`make_out_dir` will create if it is missing.  ``force`` (the command's
    ``--force``) lets an output replace an existing file that is not its own kind of lbaudit output
    (never an input, a key, or anything but a regular file)."""
    inputs = list(inputs)
    trees = [(role, p) for role, p in inputs if isinstance(p, InputTree)]
    will_create = check_out_dir(out_dir) if out_dir is not None else None
    # Keys are looked for after the inputs: "the same file as the signing key" says more.
    planned: list[PlannedFile] = [planned_file(Path(path), role, will_create) for role, path in outputs]
    for index, output in enumerate(planned):
        for other in planned[index + 1:]:
            if output.same_file(other):
                raise InputError(f"{output.path} ({output.role}) and {other.path} ({other.role}) are the same file: "
                                 "give each output its own path")
    for output in planned:
        _refuse_standard_stream(output)
    sources = [_input_file(role, Path(p)) for role, p in [*inputs, *_configuration_files()]
               if p is not None and not isinstance(p, InputTree)]
    for output in planned:
        for role, tree in trees:
            _inside_tree(role, tree, output)
    for output in planned:
        for source in sources:
            if output.same_file(source) and source.identity is None:
                raise InputError(f"{output.path} ({output.role}) is the place of the {source.role} {source.path}: "
                                 "writing it would make it an input of the next run")
            if output.same_file(source):
                raise InputError(f"{output.path} ({output.role}) is the same file as the {source.role} {source.path}: "
                                 "writing it would destroy an input")
    # Held before what is there is judged and remembered: a run that waited for another lbaudit
    # command writing the same files found them replaced by that command's, "changed since it was
    # checked", and refused to write its own (exit 2, "run again").
    # A missing --out-dir is made now, so that it is held like one that was there: unheld, two runs
    # creating it both found no file there, and the second to write refused its own ("changed since
    # it was checked", exit 2).  A run that fails removes it again while it is empty.  Only when a
    # file goes there: -o - with an --out-dir (LBAUDIT_OUT_DIR) writes none, and makes none.
    if will_create is not None and any(output.target.parent == will_create for output in planned):
        make_directory(will_create, DIRECTORY_MODE)
    hold_directories([output.target.parent for output in planned] + ([Path(out_dir)] if out_dir is not None else []))
    planned = [_looked_at_again(output, will_create) for output in planned]
    for output in planned:
        if output.identity is not None:
            _refuse_private_key(output.path, output.role)
            refuse_foreign(output, force)
        remember_checked(os.path.abspath(output.path), os.fspath(output.target), output.identity)
    return planned


def _looked_at_again(output: PlannedFile, will_create: Path | None) -> PlannedFile:
    """``output`` as it is now, once its directory is held: another lbaudit command that held it
    first may have written (or removed) the file meanwhile."""
    return planned_file(output.path, output.role, will_create)


def planned_file(path: Path, role: str, will_create: Path | None = None) -> PlannedFile:
    """``path`` as an output to be written, through :func:`resolve_target` (a PEM key there is
    judged by the caller: keygen --force replaces one, :func:`plan_outputs` refuses it later)."""
    target, st = resolve_target(path, role, will_create, may_replace_key=True)
    return PlannedFile(role, path, target, (st.st_dev, st.st_ino) if st is not None else None, _slot(target))


def _refuse_changed_since_checked(path: Path, target: Path, existing: os.stat_result | None) -> None:
    """Refuse to write ``path`` when it is not what :func:`plan_outputs` checked: it leads to another
    file now (a link put there), or a file is there that was not, or another one.  The check is what
    decided that the file there may be replaced (lbaudit's own output, or --force and no link); a
    link to a file that is not lbaudit's, put at a report's path while the run collected, was
    written through and that file replaced.  Directories are held against other lbaudit commands
    only (:func:`hold_directories`); anything else may write in them meanwhile."""
    checked = checked_output(os.path.abspath(path))
    if checked is None:
        return
    checked_target, checked_identity = checked
    now = (existing.st_dev, existing.st_ino) if existing is not None else None
    if os.fspath(target) != checked_target:
        change = f"it now leads to {target}"
    elif now is not None and now != checked_identity:
        change = "a file is there now that was not" if checked_identity is None else "another file is there now"
    else:
        return  # as checked, or gone since (a stale signature removed before the evidence is written)
    raise InputError(f"{path}: changed since it was checked ({change}) while lbaudit ran: not written (something "
                     "else writes there; run again)")


def refuse_standard_stream_file(path: Path, what: str) -> None:
    """Refuse (exit 2) to write ``path`` when it is the file standard output or standard error is
    open on (see :func:`_standard_stream_files`); for a writer outside :func:`plan_outputs` (keygen)."""
    _refuse_standard_stream(planned_file(Path(path), what))


def _refuse_standard_stream(output: PlannedFile) -> None:
    for stream in _standard_stream_files():
        if output.same_file(stream):
            raise InputError(f"{output.path} ({output.role}) is the file {stream.role} is open on (a shell "
                             "redirection, /dev/stdout, /dev/fd/N): lbaudit replaces a file by a new one, and "
                             f"what it prints on {stream.role} afterwards would go to the old one, unlinked, "
                             "where nobody can read it; write it to another path (-o - writes evidence or a "
                             "snapshot alone to standard output)")


def _standard_stream_files() -> list[PlannedFile]:
    """The regular files descriptors 1 and 2 are open on (``> out.json``, ``2>> run.log``), by
    identity alone: an output that is one of them (``-o /dev/stdout``, or the file by its name) was
    renamed over while the stream stayed open on the file it replaced, and the ``--json`` summary,
    the summary and every later message went into that file, unlinked.  A terminal, a pipe or
    /dev/null is refused as an output anyway (only regular files are replaced)."""
    streams = []
    for descriptor, role in ((1, "standard output"), (2, "standard error")):
        try:
            st = os.fstat(descriptor)
        except OSError:
            continue  # closed: the command line opens /dev/null there first (auditor/stdio.py)
        if stat.S_ISREG(st.st_mode):
            # target: a path no resolved output has (realpath resolves /proc/self/fd/N itself)
            streams.append(PlannedFile(role, Path(f"/proc/self/fd/{descriptor}"), Path(f"/proc/self/fd/{descriptor}"),
                                       (st.st_dev, st.st_ino)))
    return streams


def _configuration_files() -> list[tuple[str, Path]]:
    """The configuration files every command reads (auditor/config.py), inputs of every run, there
    or not: ``--force -o ~/.config/lbaudit/config.yaml`` (or ``$LBAUDIT_CONFIG``) replaced the file
    with evidence, and every later command refused to start on it."""
    from auditor.config import config_files

    return [("configuration file", path) for path in config_files()]


def hold_directories(directories: list[Path]) -> None:
    """Hold the directories a command writes in until it ends (:func:`auditor.command_files.lock_directories`),
    so that two commands writing the same files write one after the other, each its whole set."""
    try:
        lock_directories(directories)
    except DirectoryBusy as exc:
        raise Busy(f"{exc.directory}: {exc.strerror}") from None


def check_out_dir(out_dir: Path) -> Path | None:
    """``--out-dir`` exists as a directory, or only it is missing (its parent exists): then lbaudit
    creates that one level.  Returns the resolved directory when it is to be created, else None."""
    out_dir = Path(out_dir)
    refuse_shared_links(out_dir, "reports")
    st = _stat(out_dir, "reports")
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            kind = "a regular file" if stat.S_ISREG(st.st_mode) else kind_of(st.st_mode)
            raise InputError(f"{out_dir}: cannot write reports: it is {kind}, not a directory")
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise InputError(f"{out_dir}: cannot write reports: {_why_not_writable(out_dir)} it")
        return None
    resolved = Path(os.path.realpath(out_dir))
    _check_directory(out_dir, resolved.parent, "reports")
    return resolved


def make_out_dir(out_dir: Path | None) -> None:
    """Create ``--out-dir`` if it is missing (one level, mode 0775 less the umask)."""
    if out_dir is None:
        return
    try:
        make_directory(Path(os.path.realpath(out_dir)), DIRECTORY_MODE)
    except InputError as exc:
        raise InputError(f"{out_dir}: cannot create the report directory: {exc}") from exc
    if not os.path.isdir(out_dir):
        raise InputError(f"{out_dir}: cannot write reports: not a directory")


# ------------------------------------------------------------------ the files of one run, together

def remove_file(path: Path, what: str = "file") -> bool:
    """Remove ``path`` (a stale signature, a generated file that must not stay); in a transaction it
    is kept as a previous version until the run ends.  Returns whether there was something."""
    path = Path(path)
    if not os.path.lexists(path):
        return False
    hold_directories([path.parent])
    active = current()
    with uninterrupted():  # removed and recorded (with its previous version), or neither
        try:
            previous = previous_version(path) if active is not None else None
        except OSError as exc:  # it could not be put back: it stays
            raise InputError(f"{path}: cannot remove the {what}: cannot keep its previous version beside it: "
                             f"{exc.strerror or exc}") from exc
        try:
            os.unlink(path)
        except OSError as exc:
            if previous is not None:
                os.unlink(previous)
            raise InputError(f"{path}: cannot remove the {what}: {exc.strerror or exc}") from exc
        if active is not None:
            active.changes.append(Change(path, None, previous))
    return True


def remove_directory_if_empty(path: Path) -> None:
    """Remove a directory lbaudit created once it holds nothing; in a transaction, when the run ends
    well (until then it holds the previous versions of what the run removed from it)."""
    active = current()
    if active is not None:
        active.emptied.append(Path(path))
    else:
        remove_if_empty(Path(path))


def make_directory(path: Path, mode: int = DIRECTORY_MODE) -> bool:
    """Create one directory level (its parent must exist); an existing directory is fine.  Returns
    whether it was created; a failed run removes it again when it is still empty."""
    path = Path(path)
    with uninterrupted():  # created and recorded, or neither
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            if not os.path.isdir(path):
                raise InputError(f"{path}: cannot create the directory: something else exists there") from None
            return False
        except OSError as exc:
            raise InputError(f"{path}: cannot create the directory: {exc.strerror or exc}") from exc
        active = current()
        if active is not None:
            active.changes.append(Change(path, None, None, directory=True))
    return True


def make_directories(path: Path, mode: int) -> None:
    """Create ``path`` and whichever of its parents are missing, each with ``mode`` (less the umask),
    each recorded as :func:`make_directory` does: a failed run removes the ones it created.  For
    the history store's directory alone (``--store /var/lib/lbaudit/history.db`` on a fresh host);
    ``Path.mkdir(parents=True)`` gave the parents 0777 less the umask, so world-writable under
    ``umask 000``, and a refused run left them behind."""
    path = Path(path)
    missing: list[Path] = []
    while not os.path.lexists(path) and path.parent != path:
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        make_directory(directory, mode)


def create_private_file(path: Path, beside: tuple[str, ...] = ()) -> bool:
    """Create ``path`` empty, mode 0600 whatever the umask, unless something is there (never through
    a symlink).  Returns whether it was created; a failed run removes it again (when it is still
    the file created here), and the files ``path`` + each suffix of ``beside`` with it.  For the
    history store, which SQLite then fills in place (writing its -wal and -shm beside it)."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    with uninterrupted():  # created and recorded, or neither
        try:
            fd = os.open(path, flags, PRIVATE_MODE)
        except FileExistsError:
            return False
        except OSError as exc:
            raise InputError(f"{path}: cannot create: {exc.strerror or exc}") from exc
        try:
            os.fchmod(fd, PRIVATE_MODE)
            created = os.fstat(fd)
        finally:
            os.close(fd)
        active = current()
        if active is not None:
            active.changes.append(Change(path, (created.st_dev, created.st_ino), None, beside=beside))
    return True


def write_symlink(path: Path, link_to: str) -> None:
    """Make ``path`` a symbolic link to ``link_to``, replacing a link (never a file) atomically."""
    path = Path(path)
    existing = _stat(path, "link", follow=False)
    if existing is not None and not stat.S_ISLNK(existing.st_mode):
        raise InputError(f"{path}: cannot link: it is {kind_of(existing.st_mode)}, not a symbolic link")
    hold_directories([path.parent])
    active = current()

    def link(tmp: Path) -> Path:
        os.symlink(link_to, tmp)
        return tmp

    with uninterrupted():  # the link in place and recorded, or neither, and no temporary link left
        try:
            tmp = at_free_name(path.parent, path.name, "tmp", link)
        except OSError as exc:
            raise InputError(f"{path}: cannot link: {exc.strerror or exc}") from exc
        previous = None
        try:
            previous = previous_version(path) if active is not None and existing is not None else None
            created = os.lstat(tmp)
            os.replace(tmp, path)
        except OSError as exc:
            for leftover in (tmp, previous):
                try:
                    if leftover is not None:
                        os.unlink(leftover)
                except OSError:
                    pass
            raise InputError(f"{path}: cannot link: {exc.strerror or exc}") from exc
        if active is not None:
            active.changes.append(Change(path, (created.st_dev, created.st_ino), previous))


# ------------------------------------------------------------------ the writer

def _create_temporary(directory: Path, name: str, mode: int) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return at_free_name(directory, name, "tmp", lambda tmp: (os.open(tmp, flags, mode), tmp))


def _put_in_place(path: Path, target: Path, tmp: Path, replace: bool, existing: os.stat_result | None) -> None:
    """The written temporary file ``tmp`` becomes ``target`` (its previous version kept aside in a
    transaction, and the change recorded).  ``existing`` is what was at ``target`` when the write began."""
    # Between the plan and now something else may have appeared at the target: look again.
    now = _stat(target, "output", follow=False)
    _refuse_non_regular(path, now, "output")
    if replace and now is not None and (existing is None or not os.path.samestat(now, existing)):
        raise InputError(f"{path}: changed while lbaudit wrote it (another file is there now): not written "
                         "(something else writes there; run again)")
    written = os.stat(tmp)
    active = current()
    previous = None
    if replace:
        if active is not None and now is not None:
            previous = previous_version(target)
        try:
            os.replace(tmp, target)
        except BaseException:
            if previous is not None:
                os.unlink(previous)
            raise
    else:
        try:
            os.link(tmp, target)  # fails if the name exists: no overwrite, even in a race
        except FileExistsError as exc:
            raise OutputExists(f"{path}: already exists; refusing to overwrite it") from exc
        if active is not None:
            active.changes.append(Change(target, (written.st_dev, written.st_ino), previous))
        os.unlink(tmp)
        return
    if active is not None:
        active.changes.append(Change(target, (written.st_dev, written.st_ino), previous))


def write_atomic(path: Path, data: bytes | Iterable[bytes], *, private: bool = False, replace: bool = True,
                 mode: int | None = None, through_symlink: bool = True, key: bool = False,
                 new_mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never half.
    ``data`` may be pieces, written as they come (a failure while making them leaves no file).

    Symlinks are written through (the link stays); anything but a regular file is refused, and so
    is a missing directory.  A new file gets 0664 less the umask; a replaced one as much of its old
    mode as a new file would get (never more: never writable by others, never executable); a
    ``private`` file (a key) is 0600, and is never written through a symlink.  With ``replace``
    false an existing file is refused (``OutputExists``), atomically.  ``mode`` sets the exact
    permission bits instead (a cron.d file must be 0644: cron skips a group-writable one, and the
    umask must not decide that); ``new_mode`` the bits a new file gets instead of the umask's, a
    replaced one keeping those of them its old mode had (a textfile metric the exporter reads as its
    own user: 0644, or the administrator's 0640).  ``through_symlink`` false refuses a symlink at ``path`` as a
    ``private`` file does (a public key: keygen --force wrote it through a link to /etc/passwd).
    ``key`` (keygen's public key) may replace a file holding a key; nothing else may.
    Returns the file written.
    Every problem is an InputError (exit 2) naming ``path``."""
    path = Path(path)
    if private or not through_symlink:
        what = "private key" if private else "file"
        link = _stat(path, what, follow=False)
        if link is not None and stat.S_ISLNK(link.st_mode):
            raise InputError(f"{path}: cannot write {what}: it is a symbolic link "
                             f"(a {'private key' if private else 'key'} is written only to a plain path)")
    target, existing = resolve_target(path, "private key" if private else "file", may_replace_key=private or key)
    _refuse_changed_since_checked(path, target, existing)
    if existing is not None and not replace:
        raise OutputExists(f"{path}: already exists; refusing to overwrite it")
    hold_directories([target.parent])
    tmp: Path | None = None
    try:
        with uninterrupted():  # the temporary file exists only once this function knows it
            try:
                fd, tmp = _create_temporary(target.parent, target.name, PRIVATE_MODE if private else DOCUMENT_MODE)
            except OSError as exc:
                raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
            WRITING.add(tmp)
        with os.fdopen(fd, "wb") as handle:
            if private:
                os.fchmod(fd, PRIVATE_MODE)  # the umask can only remove bits; make the mode exact anyway
            elif mode is not None:
                os.fchmod(fd, mode)
            else:
                # A new file's mode: 0664 less the umask, as the kernel made it, or exactly new_mode.
                fresh = new_mode if new_mode is not None else stat.S_IMODE(os.fstat(fd).st_mode)
                if existing is not None:
                    # A replaced file keeps what its mode withholds (an administrator's 0600
                    # evidence, a 0640 textfile readable by the exporter's group), never more than a
                    # new file gets: an evidence of 0666 was replaced by new evidence of 0666, anyone's
                    # to edit (and keygen's .pub of 0666 by a key every verify refused), and an
                    # execute or set-user-ID bit was carried onto a JSON document.
                    fresh &= stat.S_IMODE(existing.st_mode)
                os.fchmod(fd, fresh)
            if isinstance(data, bytes):
                handle.write(data)
            else:
                for piece in data:
                    handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        # The file replaced and its change recorded, or neither: a run interrupted in between
        # kept the new file and a previous version beside it.
        with uninterrupted():
            _put_in_place(path, target, tmp, replace, existing)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        if isinstance(exc, OSError) and not isinstance(exc, InputError):
            raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
        raise
    finally:
        if tmp is not None:
            WRITING.discard(tmp)
    fsync_directory(target.parent)
    if checked_output(os.path.abspath(path)) is not None:  # written again in this command: this file is what is there
        remember_checked(os.path.abspath(path), os.fspath(target), _identity(target))
    return target


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


# ------------------------------------------------------------------ the files of one run

def report_targets(policy_id: str, extensions: dict[str, str], out_dir: Path | None, evidence_path: Path,
                   pdf: Path | None, format_dirs: dict[str, Path] | None = None) -> list[tuple[str, Path]]:
    """``(format, path)`` of each report a run writes: ``<out-dir or the evidence's directory>/<policy id><ext>``
    per format (the evidence itself is the json format, never written twice), and the PDF: at ``--pdf``
    when given, else ``--format pdf`` writes ``<directory>/<policy id>.pdf``; each path once.
    ``format_dirs`` puts a format elsewhere (``--textfile-dir``: prometheus where node_exporter reads)."""
    directory = Path(out_dir) if out_dir is not None else Path(evidence_path).parent
    elsewhere = format_dirs or {}
    targets = [(name, Path(elsewhere.get(name, directory)) / f"{policy_id}{extension}")
               for name, extension in extensions.items() if name not in ("json", "pdf")]
    if pdf is not None:
        targets.append(("pdf", Path(pdf)))
    elif "pdf" in extensions:
        targets.append(("pdf", directory / f"{policy_id}{extensions['pdf']}"))
    return targets


def signature_of(evidence_path: Path) -> Path:
    """The detached signature beside the evidence (``<evidence>.sig``): written with a key, removed
    without, read by ``verify``.  Beside the file itself when the evidence is named through a
    symbolic link (the evidence is written through the link): ``-o latest.json`` (a link to
    store/e.json) wrote the new evidence into store/e.json and its signature at latest.json.sig,
    leaving store/e.json.sig of the earlier run beside it, so ``verify store/e.json`` said the
    evidence had changed after signing (exit 10)."""
    evidence_path = _through_links(Path(evidence_path))
    return evidence_path.with_name(evidence_path.name + ".sig")


def _through_links(path: Path) -> Path:
    """``path`` with its last name followed while it is a symbolic link (its directories as given):
    the name of the file a write through it replaces or creates."""
    for _ in range(MAX_SYMLINKS):
        try:
            target = os.readlink(path)
        except OSError:  # not a link, or nothing there: the path itself
            return path
        path = path.parent / target  # an absolute target replaces the directory
    return path  # a loop: the write says so


# ------------------------------------------------------------------ standard output

STDOUT_NAME = "-"  # an output path of "-" means standard output (``evaluate -o -``, ``collect -o -``)


def is_stdout(path: Path | str | None) -> bool:
    """Whether an output path names standard output: ``-`` (``Path("./-")`` is ``-`` too: a file
    called ``-`` is written by its absolute path)."""
    return path is not None and str(path) == STDOUT_NAME


def write_stdout(data: bytes) -> None:
    """The whole document on standard output, flushed: the one stream output that is not a file.
    Standard output that cannot take it (a reader that closed the pipe early, ``| head``; a full
    disk; a closed descriptor) is :class:`auditor.stdio.StreamError`, exit 74, not a traceback."""
    from auditor.stdio import stream_error

    stream = getattr(sys.stdout, "buffer", None)
    try:
        if sys.stdout is None:  # started without descriptor 1 and not guarded (an embedding application)
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        if stream is not None:
            sys.stdout.flush()
            stream.write(data)
            stream.flush()
        else:  # a text-only stdout (an embedding application): the document is UTF-8 text
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            silence_closed_stream(sys.stdout)
        raise stream_error("standard output", exc) from None


def silence_closed_stream(stream: Any) -> None:
    """Point a stream whose reader has gone at /dev/null, so that what is still buffered does not
    fail again when the interpreter flushes it at exit (exit 120 and a second message; the recipe
    of the Python docs, "Note on SIGPIPE").  A stream without a descriptor has nothing to flush."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, stream.fileno())
    except (AttributeError, ValueError, OSError):
        pass
    finally:
        os.close(devnull)
