"""A captured bundle on disk: which platform it is from, and its files read safely.

Every file is read through :func:`auditor.safeio.read_regular` without following symbolic links and
with a bound: a bundle is handed over by someone else, and a symlink in it could point anywhere on
the machine that replays it (``/etc/shadow``), a FIFO would block, a huge file would exhaust memory.
Each such file is a gap with the reason, never read and never a pass.
"""

from __future__ import annotations

import errno
import os
from datetime import datetime, timezone
from pathlib import Path

from auditor.collect.platforms.assemble import ProbeOutput
from auditor.collect.platforms.probes import LISTING_BYTES, PROBES
from auditor.errors import InputError
from auditor.safeio import FileTooLarge, read_regular

MAX_PROBE_BYTES = LISTING_BYTES  # the most any probe's file may hold (each probe's own bound: Probe.max_bytes)
# Files only one platform's capture writes: how a bundle tells where it came from.
_MARKERS = {
    "windows": ("netstat-ano.txt", "tasklist.csv", "auditpol-backup.csv", "tcpip-parameters.txt",
                "netsh-dynamicport-tcp.txt", "netsh-dynamicport-tcp6.txt", "netsh-dynamicport-udp.txt",
                "netsh-dynamicport-udp6.txt", "netsh-excludedportrange-tcp.txt", "netsh-excludedportrange-tcp6.txt",
                "netsh-excludedportrange-udp.txt", "netsh-excludedportrange-udp6.txt"),
    "macos": ("sw_vers.txt", "sysctl.txt", "lsof-tcp-listen.txt", "lsof-udp.txt", "auditd-launchctl.txt",
              "audit-condition.txt"),
}


def check_bundle_dir(directory: Path) -> Path:
    """A usable bundle directory; anything else is an InputError (exit 2)."""
    if not directory.exists():
        raise InputError(f"{directory}: no such directory (--replay needs the directory lbaudit capture's script wrote)")
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory (--replay needs the directory lbaudit capture's script wrote)")
    return directory


def detect_platform(directory: Path) -> str:
    """``windows`` or ``macos``, from the probe files present; neither or both is an InputError."""
    try:
        entries = {name.casefold() for name in os.listdir(directory)}
    except OSError as exc:
        raise InputError(f"{directory}: cannot list the bundle: {exc.strerror or exc}") from None
    present = {platform: [name for name in names if name.casefold() in entries] for platform, names in _MARKERS.items()}
    found = [platform for platform, names in present.items() if names]
    if len(found) == 1:
        return found[0]
    if not found:
        expected = ", ".join(sorted({n for names in _MARKERS.values() for n in names}))
        raise InputError(f"{directory}: no probe output of a Windows or macOS capture in it (expected files such as "
                         f"{expected})")
    raise InputError(f"{directory}: holds probe outputs of both Windows ({', '.join(present['windows'])}) and macOS "
                     f"({', '.join(present['macos'])}): one bundle is one host")


def bundle_files(directory: Path) -> list[Path]:
    """Every file a bundle may hold (the probe outputs of either platform), present or not: the
    inputs of a replay, which no output of the run may replace or add (a Windows probe file in a
    macOS bundle makes it a bundle of both, which replay refuses)."""
    names = sorted({probe.file for probes in PROBES.values() for probe in probes} |
                   {name for names in _MARKERS.values() for name in names})
    return [Path(directory) / name for name in names]


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "is a symbolic link: not followed (a bundle holds the outputs themselves)"
    if exc.errno == errno.ENOENT:
        return "missing from the bundle"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)


def read_bundle(directory: Path, platform: str) -> tuple[dict[str, ProbeOutput], datetime | None]:
    """Every probe file of ``platform`` in ``directory`` (or why it is unusable), and when the oldest
    of them was last written: the capture time as far as the files tell, which ``--max-age`` judges.
    Facts are as old as the oldest of them: by the newest, a year-old bundle with one file written
    today (a probe an older capture script lacked, added by hand) was a capture of today."""
    outputs: dict[str, ProbeOutput] = {}
    oldest: float | None = None
    oldest_name = ""
    try:
        entries = os.listdir(directory)
    except OSError as exc:
        raise InputError(f"{directory}: cannot list the bundle: {exc.strerror or exc}") from None
    for probe in PROBES[platform]:
        # The hosts that write bundles (Windows, macOS) name files case-insensitively: two names
        # that differ only in case are two captures of one probe, and which one holds cannot be told.
        variants = sorted(name for name in entries if name.casefold() == probe.file.casefold())
        if len(variants) > 1:
            outputs[probe.file] = ProbeOutput(None, f"bundle file {probe.file}", (
                f"the bundle holds {len(variants)} files of this name in different cases ({', '.join(variants)}): "
                "one probe, several outputs, and which one is the capture cannot be told"))
            continue
        name = variants[0] if variants else probe.file  # "Netstat-ano.txt" is the file on the host that wrote it
        path = directory / name
        origin = f"bundle file {name}"
        try:
            data = read_regular(path, probe.max_bytes, follow_symlinks=False)
        except FileNotFoundError:
            why = ("absent" if probe.optional else
                   "missing from the bundle (written by an older lbaudit capture script? capture the host again "
                   "with this version's script)" if probe.added_later else "missing from the bundle")
            outputs[probe.file] = ProbeOutput(None, origin, why)
            continue
        except FileTooLarge:
            outputs[probe.file] = ProbeOutput(None, origin, (
                f"larger than {probe.max_bytes:,} bytes, far more than this probe prints of any host: not read"))
            continue
        except OSError as exc:
            if os.path.islink(path):
                outputs[probe.file] = ProbeOutput(None, origin, _why(OSError(errno.ELOOP, "symlink")))
            else:
                outputs[probe.file] = ProbeOutput(None, origin, _why(exc))
            continue
        try:
            mtime = os.lstat(path).st_mtime
            if oldest is None or mtime < oldest:
                oldest, oldest_name = mtime, name
        except OSError:
            pass
        outputs[probe.file] = ProbeOutput(data, origin)
    return outputs, _capture_time(directory / oldest_name, oldest) if oldest is not None else None


def _capture_time(path: Path, mtime: float) -> datetime:
    """The capture time a bundle file's modification time gives; an InputError (exit 2) where it is
    no date.  Whoever hands the bundle over sets the times at will, and a file system of 64-bit
    times (tmpfs, XFS bigtime, Btrfs) keeps one 300,000 years from 1970, before or after, where
    fromtimestamp raised ValueError: an internal error (exit 70) of the whole replay."""
    try:
        return datetime.fromtimestamp(mtime, timezone.utc).replace(microsecond=0)
    except (ValueError, OverflowError, OSError):
        raise InputError(f"{path}: its modification time, {mtime:,.0f} s from 1970, is no date (years 1 to 9999): "
                         "when the bundle was captured cannot be told (a wrong clock, or times set by hand); not "
                         "judged") from None
