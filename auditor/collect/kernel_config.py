"""The running kernel's build configuration (CONFIG_* lines), read once for every collector that
asks it something (the x32 ABI, the HZ of the timer wheel): /proc/config.gz (CONFIG_IKCONFIG_PROC),
else /boot/config-RELEASE of the running release.  Both bounded: the file as read, and the gzip
stream as inflated (a stream that inflates without end is refused, not held)."""

from __future__ import annotations

import zlib

from auditor.collect import CollectContext, rootfs
from auditor.safeio import read_regular

BOOT = "/boot"
# A kernel's configuration is a few hundred KB (Debian's 6.1: 270 KB); the bound keeps a hostile
# file, or a gzip stream that inflates without end, from holding more than this.
CONFIG_LIMIT = 4 * 1024 * 1024


def inflate(data: bytes, limit: int) -> bytes:
    """The gzip stream ``data`` inflated, at most ``limit`` bytes; raises ValueError past that, or for
    a stream that is not gzip or is cut short."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"not a gzip stream ({exc})") from None
    if len(out) > limit:
        raise ValueError(f"inflates to more than {limit:,} bytes")
    if not inflater.eof:
        raise ValueError("the gzip stream is cut short")
    return out


def read_running_config(ctx: CollectContext) -> tuple[str | None, str]:
    """(the text of the running kernel's configuration, where it was read), or (None, why it could
    not be read: each place tried)."""
    problems = []
    proc_config = f"{getattr(ctx.target, 'proc', None) or '/proc'}/config.gz"
    try:
        return inflate(read_regular(proc_config, CONFIG_LIMIT), CONFIG_LIMIT).decode("utf-8", "replace"), proc_config
    except OSError as exc:
        problems.append(f"{proc_config}: {rootfs.describe_os_error(exc)}")
    except ValueError as exc:
        problems.append(f"{proc_config}: {exc}")
    release = ctx.target.uname()[0]
    if release is None or "/" in release or release in ("", ".", ".."):
        problems.append("the running kernel's release is not known")
    else:
        path = f"{BOOT}/config-{release}"
        try:
            return ctx.target.read_text(path, CONFIG_LIMIT), path
        except OSError as exc:
            problems.append(f"{path}: {rootfs.describe_os_error(exc)}")
    return None, "; ".join(problems)
