"""Targets: where facts come from, and what each source can show.

A target owns how files are read (always through :mod:`auditor.collect.rootfs`, so nothing outside
its root is read and nothing blocks), which programs may run and from where, where ``/proc`` is,
which network namespace netlink opens in, and whether runtime facts (running sockets, sysctls,
loaded audit rules) exist there at all.  Collectors ask the target; they do not branch on the kind
of source.  Today there are three:

* :class:`LocalHost`: this host, seen from the caller's namespaces (``local``);
* :class:`RootDir`: an offline root directory, a mounted image (``root:DIR``): files only, no
  programs run, no runtime facts (those become ``not_applicable`` gaps);
* :class:`SnapshotFile`: facts collected earlier and saved (``snapshot:FILE``), replayed as they
  were recorded, verified against a public key when one is given;
* :class:`Replay`: the raw probe outputs captured on a Windows or macOS host (``replay:DIR``,
  written by the script ``lbaudit capture`` prints), parsed by this run
  (:mod:`auditor.collect.platforms`).

A network namespace or a container is one more class here: a root, a proc root, a namespace for
netlink, and the programs it may run; no collector changes.
"""

from __future__ import annotations

import os
import socket
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Union

from auditor.collect import rootfs
from auditor.collect.programs import SAFE_PATH, CommandResult, find_executable, run_command
from auditor.errors import InputError
from auditor.model.records import record

if TYPE_CHECKING:
    from auditor.model.facts import HostSnapshot

TargetKind = Literal["local", "root", "snapshot", "replay"]
TARGET_FORMS = "local, root:DIR, snapshot:FILE or replay:DIR"


class _FileSystemTarget:
    """File access shared by the targets that have a file system: every read goes through rootfs.
    Subclasses declare ``root``, ``program_path`` and ``describe``."""

    root: Path
    program_path: tuple[str, ...]
    describe: str

    def resolve(self, path: str) -> Path:
        return rootfs.resolve(self.root, path)

    def read_text(self, path: str, limit: int = rootfs.MAX_CONFIG_BYTES, kernel_file: bool = False) -> str:
        """A file of the target (:func:`auditor.collect.rootfs.read_text`); ``kernel_file`` for
        what the running kernel shows (/proc), which no configuration file may be."""
        return rootfs.read_text(self.root, path, limit, kernel_file)

    def list_dir(self, path: str) -> list[str]:
        return rootfs.list_dir(self.root, path)

    def file_mode(self, path: str) -> int:
        return rootfs.file_mode(self.root, path)

    def inode_flags(self, path: str) -> int:
        return rootfs.inode_flags(self.root, path)

    def dangling_link(self, path: str) -> str | None:
        return rootfs.dangling_link(self.root, path)

    def find_program(self, name: str) -> str | None:
        return find_executable(name, self.program_path) if self.program_path else None

    def run(self, argv: list[str], timeout: float) -> CommandResult:
        """Run a host program of this target; a target that runs none says so as the failure."""
        if not self.program_path:
            return CommandResult(tuple(argv), None, None, "", "", f"{self.describe} runs no programs", 0.0)
        return run_command(argv, timeout, self.program_path)


@record
class LocalHost(_FileSystemTarget):
    """This host: its files, its ``/proc``, its programs on the safe PATH, netlink in the caller's
    network namespace."""

    root: Path = Path("/")
    # where host tools (auditctl) are looked up; tests point it at an empty directory to see what
    # a host without the tool gives
    program_path: tuple[str, ...] = SAFE_PATH
    proc: str = "/proc"
    kind: TargetKind = field(default="local", init=False)
    describe: str = field(default="live host", init=False)
    # Runtime facts exist here: listening sockets, running sysctls, loaded audit rules.
    runtime: bool = field(default=True, init=False)
    # The network namespace netlink sockets open in: the caller's.  A NetNamespace target names one.
    netns: str | None = field(default="caller", init=False)

    @property
    def id(self) -> str:
        return str(self.root)

    @property
    def spec(self) -> str:
        return "local"

    def hostname(self) -> str:
        return socket.gethostname()

    def uname(self) -> tuple[str | None, str | None]:
        """(kernel release, machine) of the running kernel."""
        uname = os.uname()
        return uname.release, uname.machine


@record
class RootDir(_FileSystemTarget):
    """An offline root directory (mounted image, container file system): configuration files only."""

    root: Path
    program_path: tuple[str, ...] = field(default=(), init=False)  # an image's programs are not run
    proc: str | None = field(default=None, init=False)
    kind: TargetKind = field(default="root", init=False)
    describe: str = field(default="offline root directory", init=False)
    runtime: bool = field(default=False, init=False)
    netns: str | None = field(default=None, init=False)
    # The root as RootDir.open opened it when it chose the target (rootfs.HeldRoot), handed to the
    # collection that reads it (which closes it); None: the collection opens it at its first read.
    view: "rootfs.HeldRoot | None" = field(default=None, compare=False, repr=False)

    @property
    def id(self) -> str:
        return str(self.root)

    @property
    def spec(self) -> str:
        return f"root:{self.root}"

    def hostname(self) -> str:
        try:
            text = self.read_text("/etc/hostname", limit=4096)
        except OSError:
            return "unknown"
        lines = text.strip().splitlines()
        return (lines[0].strip() if lines else "") or "unknown"

    def uname(self) -> tuple[str | None, str | None]:
        return None, None  # no kernel runs an image

    @classmethod
    def open(cls, path: Path) -> "RootDir":
        """A usable root directory, resolved and opened (``view``, for one collection: the tree it
        reads is the one chosen here, even if the path names another by then, as
        ``/proc/PID/root`` does once the PID is another process's); an unusable one is an
        InputError (exit 2)."""
        import stat

        from auditor.safeio import kind_of

        given = Path(path)
        needs = "--root needs the top directory of an image"
        try:
            mode = os.stat(given).st_mode
        except FileNotFoundError:
            raise InputError(f"{given}: no such directory ({needs})") from None
        except OSError as exc:  # a link loop, a directory on the way that is not one or not searchable
            raise InputError(f"{given}: cannot use as the root directory: {exc.strerror or exc} ({needs})") from None
        if not stat.S_ISDIR(mode):
            what = "a file" if stat.S_ISREG(mode) else kind_of(mode)
            raise InputError(f"{given}: is {what}, not a directory ({needs})")
        try:
            # resolved, but not past a link of /proc (/proc/PID/root), whose text names another directory
            root = Path(rootfs.real_root(given))
            # opened now, the process of /proc/PID/root checked alive after its root was: the
            # target recorded and the tree read are one (a root that is this host's "/" is read as it is)
            return cls(root, rootfs.HeldRoot(str(root)) if str(root) != os.sep else None)
        except OSError as exc:
            raise InputError(f"{given}: cannot use as the root directory: {exc.strerror or exc} ({needs})") from None


@record
class SnapshotFile:
    """Facts collected earlier on some host and saved (``lbaudit collect``): nothing is read from
    this host; the facts and gaps are those recorded, checked against ``pubkey`` when given."""

    path: Path
    pubkey: Path | None = None
    # May refuse the parsed document before its models are built (auditor.storage.snapshot.over_limits)
    before_validation: Callable[[Any], None] | None = field(default=None, compare=False, repr=False)
    # The most JSON values it may hold (--max-snapshot-records); None: the default
    # (auditor.storage.snapshot.DEFAULT_MAX_SNAPSHOT_RECORDS)
    max_values: int | None = field(default=None, compare=False, repr=False)
    kind: TargetKind = field(default="snapshot", init=False)
    describe: str = field(default="snapshot file", init=False)

    @property
    def id(self) -> str:
        return str(self.path)

    @property
    def spec(self) -> str:
        return f"snapshot:{self.path}"

    def load(self) -> "HostSnapshot":
        from auditor.storage.snapshot import DEFAULT_MAX_SNAPSHOT_RECORDS, load_snapshot

        return load_snapshot(self.path, self.pubkey, self.before_validation,
                             DEFAULT_MAX_SNAPSHOT_RECORDS if self.max_values is None else self.max_values)


@record
class Replay:
    """A bundle captured on a Windows or macOS host: one file per probe, parsed as native
    collection parses the same probes' outputs.  Nothing of this host is read but the bundle."""

    directory: Path
    kind: TargetKind = field(default="replay", init=False)
    describe: str = field(default="captured bundle", init=False)

    @property
    def id(self) -> str:
        return str(self.directory)

    @property
    def spec(self) -> str:
        return f"replay:{self.directory}"

    def load(self, sections: frozenset[str]) -> "HostSnapshot":
        """The snapshot of ``sections``; a directory that is not a bundle is an InputError (exit 2)."""
        from datetime import datetime, timezone

        from auditor import __version__
        from auditor.collect.platforms.assemble import snapshot_from_outputs
        from auditor.collect.platforms.bundle import check_bundle_dir, detect_platform, read_bundle
        from auditor.safeio import recorded_path

        directory = check_bundle_dir(Path(self.directory))
        platform = detect_platform(directory)
        outputs, written = read_bundle(directory, platform)
        # recorded resolved, not as typed: one bundle gives one evidence whatever its name
        location = recorded_path(directory)
        provenance = {"source": "replay", "source_detail": location, "target_kind": "replay",
                      "target_id": location, "tool_version": __version__}
        return snapshot_from_outputs(platform, outputs, sections, provenance=provenance,
                                     collected_at=written or datetime.now(timezone.utc),
                                     how=f"replayed from the bundle {location}")


Target = Union[LocalHost, RootDir, SnapshotFile, Replay]
# The targets collectors run against (a snapshot is replayed, not collected).
CollectTarget = Union[LocalHost, RootDir]


def parse_target(text: str, snapshot_pubkey: Path | None = None) -> Target:
    """``local``, ``root:DIR``, ``snapshot:FILE`` or ``replay:DIR`` (the ``--target`` option) as a target; anything
    else is a ValueError.  A root directory is checked when its facts are acquired."""
    from auditor.safeio import path_problem

    kind, sep, rest = text.partition(":")
    if sep and kind in ("root", "snapshot", "replay") and rest and (problem := path_problem(rest)) is not None:
        raise ValueError(f"{text[:80]!r}: the path {problem}")
    if text == "local":
        return LocalHost()
    if sep and kind == "root" and rest:
        return RootDir(Path(rest))
    if sep and kind == "snapshot" and rest:
        return SnapshotFile(Path(rest), snapshot_pubkey)
    if sep and kind == "replay" and rest:
        return Replay(Path(rest))
    raise ValueError(f"{text!r}: expected {TARGET_FORMS}")
