"""The HZ the Linux kernel was built with (CONFIG_HZ), for how late its timer wheel ends TIME_WAIT
(:mod:`auditor.domain.tcp_timewait`).

Live: the running kernel's configuration, /proc/config.gz (CONFIG_IKCONFIG_PROC), else
/boot/config-RELEASE of the running release.  Offline: the image's /boot/config-* files.  Which of
an image's kernels boots is not known offline (the boot loader's default, a fallback entry, a
kernel installed later), so the HZ is known only where every configuration /boot holds names the
same one: a single configuration, or several that agree.  Anything else leaves it unknown, with the
reason, and the check counts the coarsest HZ, which can only overstate the hold: a configuration
that cannot be read (a FIFO, a link out of the image, a file past the bound), that names no HZ or
one Kconfig does not offer, configurations that disagree, and an image with no /boot (a container
image runs on its host's kernel).  Nothing here raises for what it cannot read.
"""

from __future__ import annotations

from auditor.collect import CollectContext
from auditor.collect.kernel_config import BOOT, image_kernels, read_running_config
from auditor.domain.tcp_timewait import config_hz
from auditor.model.facts import KernelHz


def _from_text(where: str, text: str) -> KernelHz:
    hz, said = config_hz(text)
    return KernelHz(hz=hz, source=f"{where}: {said}")


def _live(ctx: CollectContext) -> KernelHz:
    text, where = read_running_config(ctx)
    if text is None:
        return KernelHz(hz=None, source="the running kernel's configuration could not be read: " + where)
    return _from_text(where, text)


def _offline(ctx: CollectContext) -> KernelHz:
    image = image_kernels(ctx)
    if image.boot_absent:
        return KernelHz(hz=None, source=f"{BOOT} does not exist in the image (a container image runs on its "
                                        "host's kernel)")
    if image.problem:
        return KernelHz(hz=None, source=image.problem)
    if not image.kernels:
        return KernelHz(hz=None, source=f"{BOOT} holds no kernel configuration (config-RELEASE)")
    found: list[KernelHz] = []
    for kernel in image.kernels:
        if kernel.problem:
            read = KernelHz(hz=None, source=f"{kernel.path}: {kernel.problem}")
        else:
            read = KernelHz(hz=kernel.hz[0], source=f"{kernel.path}: {kernel.hz[1]}")
        if read.hz is None:
            which = "the image's only kernel configuration" if len(image.kernels) == 1 else \
                "which of the image's kernels boots is not known"
            return KernelHz(hz=None, source=f"{read.source} ({which})")
        found.append(read)
    if len({kernel.hz for kernel in found}) > 1:
        return KernelHz(hz=None, source="the image's kernels have different HZ, and which boots is not known: "
                                        + "; ".join(kernel.source for kernel in found))
    return KernelHz(hz=found[0].hz, source="; ".join(kernel.source for kernel in found))


def collect_kernel_hz(ctx: CollectContext) -> KernelHz:
    """The target's kernel HZ, or why it is not known (``hz`` None)."""
    return _live(ctx) if ctx.target.runtime else _offline(ctx)
