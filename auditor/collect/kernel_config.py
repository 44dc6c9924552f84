"""Kernel build configurations (CONFIG_* lines), read once a collection for every collector that
asks them something (the x32 ABI, the HZ of the timer wheel).  Live, the running kernel's:
/proc/config.gz (CONFIG_IKCONFIG_PROC), else /boot/config-RELEASE of the running release.  Offline,
each of the image's /boot/config-* (:func:`image_kernels`), at most :data:`MAX_IMAGE_CONFIGS` of
them.  All bounded: each file as read, and the gzip stream as inflated (a stream that inflates
without end is refused, not held)."""

from __future__ import annotations

import zlib

from auditor.collect import CollectContext, rootfs
from auditor.domain.tcp_timewait import config_hz
from auditor.domain.x32_abi import KernelX32, read_kernel_config
from auditor.model.records import record
from auditor.safeio import read_regular

BOOT = "/boot"
# A kernel's configuration is a few hundred KB (Debian's 6.1: 270 KB); the bound keeps a hostile
# file, or a gzip stream that inflates without end, from holding more than this.
CONFIG_LIMIT = 4 * 1024 * 1024
# The most kernel configurations of an image read (each whole, up to CONFIG_LIMIT): an image
# carries one or two kernels; past this many none is read, and what they would tell is not known.
MAX_IMAGE_CONFIGS = 16


@record
class ImageKernel:
    """One /boot/config-* of an image: what it says of HZ and of x32, or why it could not be read."""

    path: str
    problem: str = ""  # why it could not be read ("" when it was)
    hz: tuple[int | None, str] = (None, "")  # auditor.domain.tcp_timewait.config_hz of its text
    x32: KernelX32 | None = None  # auditor.domain.x32_abi.read_kernel_config of its text


@record
class ImageKernels:
    """The image's kernel configurations, or why there are none to go by."""

    kernels: tuple[ImageKernel, ...] = ()
    count: int = 0  # config-* names in /boot
    boot_absent: bool = False  # no /boot at all (a container image)
    # why none was read: /boot could not be listed, or holds more than MAX_IMAGE_CONFIGS ("": none
    # of these; an absent /boot and an empty one are the caller's to phrase)
    problem: str = ""


def image_kernels(ctx: CollectContext) -> ImageKernels:
    """The image's /boot/config-* (sorted by name), each read once a collection, whichever collector
    asks first (the HZ's and the x32 ABI's read the same files, so they judge the same kernels)."""
    return rootfs.read_once(("image kernel configurations", str(ctx.target.root)), lambda: _read_image_kernels(ctx))


def _read_image_kernels(ctx: CollectContext) -> ImageKernels:
    try:
        names = [name for name in ctx.target.list_dir(BOOT) if name.startswith("config-")]  # sorted, bounded
    except FileNotFoundError:
        return ImageKernels(boot_absent=True)
    except OSError as exc:
        return ImageKernels(problem=f"{BOOT}: {rootfs.describe_os_error(exc)}")
    if len(names) > MAX_IMAGE_CONFIGS:
        return ImageKernels(count=len(names), problem=f"{BOOT} holds {len(names):,} kernel configurations, more than "
                                                      f"the {MAX_IMAGE_CONFIGS} lbaudit reads")
    kernels = []
    for name in names:
        path = f"{BOOT}/{name}"
        try:
            text = ctx.target.read_text(path, CONFIG_LIMIT)
        except OSError as exc:
            kernels.append(ImageKernel(path, problem=rootfs.describe_os_error(exc)))
            continue
        # parsed here and the text dropped: 16 texts of 4 MiB are not held for the whole collection
        kernels.append(ImageKernel(path, hz=config_hz(text), x32=read_kernel_config(text)))
    return ImageKernels(kernels=tuple(kernels), count=len(names))


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
    not be read: each place tried); read once a collection, whichever collector asks first."""
    proc_config = f"{getattr(ctx.target, 'proc', None) or '/proc'}/config.gz"
    return rootfs.read_once(("running kernel configuration", proc_config, str(ctx.target.root)),
                            lambda: _read_running_config(ctx, proc_config))


def _read_running_config(ctx: CollectContext, proc_config: str) -> tuple[str | None, str]:
    problems = []
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
