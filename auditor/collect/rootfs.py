"""Read files of a host or of an offline root directory, never outside that root.

Every collector reads configuration through these functions.  With ``root="/"`` they are plain
reads; with ``--root /mnt/image`` they resolve paths as a chroot would: an absolute symlink is
taken relative to the root, and ``..`` cannot climb above it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

MAX_SYMLINKS = 40
MAX_CONFIG_BYTES = 4 * 1024 * 1024


class RootEscape(OSError):
    pass


def resolve(root: Path, path: str) -> Path:
    """Resolve ``path`` (absolute, as seen from inside ``root``) to a real path under ``root``.

    Symlinks are followed component by component and re-anchored at ``root``; the result may not
    exist.  Raises ``OSError(ELOOP)`` on a symlink loop.
    """
    root = Path(root).resolve()
    if root == Path("/"):
        return Path(os.path.normpath("/" + path.lstrip("/")))
    pending = list(PurePosixPath("/" + path.lstrip("/")).parts[1:])
    current: list[str] = []  # components below root, already resolved
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if current:
                current.pop()
            continue  # ".." at the root stays at the root, as in a chroot
        candidate = root.joinpath(*current, part)
        try:
            mode = candidate.lstat().st_mode
        except FileNotFoundError:
            current.append(part)
            continue
        if stat.S_ISLNK(mode):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise OSError(errno.ELOOP, "too many levels of symbolic links", str(candidate))
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = []
            pending = list(PurePosixPath(target).parts[(1 if target.startswith("/") else 0):]) + pending
            continue
        current.append(part)
    resolved = root.joinpath(*current)
    if os.path.commonpath([str(root), str(resolved)]) != str(root):  # defence in depth
        raise RootEscape(errno.EACCES, "path escapes the root", path)
    return resolved


def read_text(root: Path, path: str, limit: int = MAX_CONFIG_BYTES) -> str:
    """Read a text file under ``root``; raises OSError (FileNotFoundError, PermissionError, ...)."""
    real = resolve(root, path)
    with open(real, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes", path)
    return data.decode("utf-8", errors="replace")


def list_dir(root: Path, path: str) -> list[str]:
    """Names in a directory under ``root``, sorted; raises OSError like os.listdir."""
    return sorted(os.listdir(resolve(root, path)))


def list_config_dir(root: Path, path: str, problems: list[str]) -> list[str]:
    """Names in a configuration directory that may legitimately be absent (``[]`` then); any other
    failure to list it is appended to ``problems`` as ``"<path>: <reason>"``, so it is never
    mistaken for an empty directory."""
    try:
        return list_dir(root, path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        problems.append(f"{path}: {describe_os_error(exc)}")
        return []


def is_dev_null_link(root: Path, path: str) -> bool:
    """True for a symlink to /dev/null (how sysctl.d and systemd mask a file)."""
    parent = resolve(root, str(PurePosixPath(path).parent))
    link = parent / PurePosixPath(path).name
    try:
        return link.is_symlink() and os.readlink(link) == "/dev/null"
    except OSError:
        return False


def describe_os_error(exc: OSError) -> str:
    """A short reason for a Gap: 'permission denied', 'not found', ..."""
    if isinstance(exc, FileNotFoundError):
        return "not found"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)
