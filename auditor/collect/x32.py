"""Whether the kernel's x32 syscall ABI is usable (:mod:`auditor.domain.x32_abi` says why it matters).

Live, lbaudit asks the running kernel: a child process makes x32 getpid (syscall 0x40000027),
which returns its pid where x32 is usable and fails with ENOSYS where it is not (a kernel built
without it, or Debian's kernel with x32 off).  A seccomp filter on lbaudit itself may refuse the
call for lbaudit alone (a systemd unit's SystemCallArchitectures=native does), so under one a
refusal is not believed: the running kernel's configuration (/proc/config.gz, else
/boot/config-RELEASE) and /proc/cmdline decide then, or the fact is a gap.

Offline, the image's kernels decide: each /boot/config-* (the boot entry an image starts is not
known offline, so x32 is usable when any kernel of the image, booted with any of its command
lines, leaves it usable), with ``syscall.x32=`` of the image's boot loader files.  An image with
no kernel configuration (a container image runs on its host's kernel) is a gap.  On a machine
other than x86_64 there is no x32 ABI.
"""

from __future__ import annotations

import errno
import os
import signal
import struct
import time
from pathlib import Path

from auditor import fdwait
from auditor.collect import CollectContext, rootfs
from auditor.collect.kernel_config import BOOT, image_kernels, read_running_config
from auditor.collect.sysctl import image_boot_cmdlines
from auditor.domain.kernel_cmdline import GRUB_DEFAULTS, GRUB_DEFAULTS_DIR
from auditor.domain.x32_abi import X32_GETPID, X32_PARAM, KernelX32, cmdline_x32, read_kernel_config, x32_usable
from auditor.model.facts import Gap, X32Abi
from auditor.resource_limits import process_not_started
from auditor.safeio import read_regular

FIELD = "x32"
PROBE = f"syscall 0x{X32_GETPID:x} (x32 getpid)"


def _gap(reason: str) -> Gap:
    return Gap(section="audit", path=(FIELD,), reason=reason)


def _not_x86_64(machine: str | None) -> X32Abi | None:
    """The fact for a machine known not to be x86_64 (no x32 ABI there); None for x86_64 or unknown."""
    if machine is None or machine.lower() == "x86_64":
        return None
    return X32Abi(usable=False, source=f"the machine is {machine}: the x32 ABI exists only on x86_64")


# ---------------------------------------------------------------- live

def _seccomp_mode() -> str | None:
    """The Seccomp: line of lbaudit's own /proc/self/status ("0" none, "1" strict, "2" filter)."""
    try:
        text = read_regular("/proc/self/status", 1 << 16).decode("ascii", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("Seccomp:"):
            return line.split(":", 1)[1].strip()
    return None


def _exited_within(pid: int, timeout: float) -> bool:
    """Whether the child ``pid`` exited within ``timeout`` seconds (not reaped).  A pidfd becomes
    readable when it exits (Linux 5.3+), so the wait ends then, not at the next of a polling loop's
    ticks (its 5 ms were most of the probe's time); the loop remains for kernels without pidfds."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    if pidfd is not None:
        try:
            return fdwait.ready(pidfd, read=True, timeout=timeout)
        finally:
            os.close(pidfd)
    deadline = time.monotonic() + timeout
    while time.monotonic() <= deadline:
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return True
        time.sleep(0.005)
    return False


def probe_x32(timeout: float) -> tuple[int | None, str]:
    """Make x32 getpid in a forked child (a seccomp filter may kill the caller for it): (errno,
    what happened), errno 0 when the call returned a pid, None when the child gave no answer."""
    try:
        pid = os.fork()
    except OSError as exc:  # no child (ulimit -u, pids.max): the configuration answers, or it is a gap
        return None, f"{PROBE}: no child to make it in: {process_not_started(exc)}"
    if pid == 0:  # the child: never returns into the caller's code
        status = 1
        try:
            import ctypes  # in the child alone: the run itself never loads it for the probe (issue 16)

            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
            result = libc.syscall(ctypes.c_long(X32_GETPID))
            status = 0 if result >= 0 else min(255, 8 + ctypes.get_errno())
        finally:
            os._exit(status)
    if not _exited_within(pid, timeout):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return None, f"{PROBE}: no answer within {timeout:g} s"
    _, wait_status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        return None, f"{PROBE}: the child making it was killed by signal {signal.Signals(sig).name} (a seccomp filter?)"
    code = os.WEXITSTATUS(wait_status)
    if code == 0:
        return 0, f"{PROBE} returned a pid"
    if code < 8:
        return None, f"{PROBE}: the child making it failed (exit status {code})"
    number = code - 8
    return number, f"{PROBE} failed with {errno.errorcode.get(number, str(number))}"


def _running_config(ctx: CollectContext) -> tuple[KernelX32 | None, str]:
    """The running kernel's build configuration (collect.kernel_config), or None and why not."""
    text, where = read_running_config(ctx)
    return (None if text is None else read_kernel_config(text)), where


def _live(ctx: CollectContext) -> tuple[X32Abi | None, list[Gap]]:
    machine = ctx.target.uname()[1]
    known = _not_x86_64(machine)
    if known is not None:
        return known, []
    if machine is None:
        return None, [_gap("the machine of the running kernel is not known")]
    if struct.calcsize("P") != 8:
        return None, [_gap("lbaudit runs as a 32-bit program, which cannot make an x32 syscall to ask the kernel")]
    code, said = probe_x32(ctx.command_timeout)
    if code == 0:
        return X32Abi(usable=True, source=said), []
    seccomp = _seccomp_mode()
    if code == errno.ENOSYS and seccomp == "0":
        return X32Abi(usable=False, source=said), []
    # A refusal under a seccomp filter (or an odd answer) may be lbaudit's alone: ask the configuration.
    why = said + ("" if seccomp == "0" else f", and lbaudit runs under seccomp (mode {seccomp or 'unknown'}), "
                                             "which may refuse x32 calls for lbaudit alone")
    kernel, where = _running_config(ctx)
    if kernel is None:
        return None, [_gap(f"{why}; and the kernel configuration could not be read ({where})")]
    cmdline: str | None = None
    cmdline_problem = ""
    try:
        cmdline = ctx.target.read_text("/proc/cmdline", kernel_file=True)  # procfs: never a configuration file
    except OSError as exc:
        cmdline_problem = f"/proc/cmdline: {rootfs.describe_os_error(exc)}"
    value = None if cmdline is None else cmdline_x32(cmdline)
    usable = x32_usable(kernel, value)
    if cmdline is None and kernel.built and kernel.parameter:
        return None, [_gap(f"{why}; {where}: {kernel.reason}, and {cmdline_problem}")]
    if usable is None:
        return None, [_gap(f"{why}; {where}: {kernel.reason}")]
    setting = "" if value is None else f", /proc/cmdline sets {X32_PARAM}={'y' if value else 'n'}"
    return X32Abi(usable=usable, source=f"{where}: {kernel.reason}{setting} ({why})"), []


# ---------------------------------------------------------------- offline

def _image_cmdlines(root: Path) -> tuple[list[tuple[str, bool | None]], list[str]]:
    """The kernel command lines of an image's boot loader files (read once a collection, by
    :func:`auditor.collect.sysctl.image_boot_cmdlines`), each as (where, the syscall.x32= value it
    gives, None: not set), and the files that could not be read.  GRUB's defaults count by
    GRUB_CMDLINE_LINUX alone (every entry carries it; GRUB_CMDLINE_LINUX_DEFAULT is left out of the
    recovery entries), its last assignment over /etc/default/grub and grub.d deciding."""
    cmdlines, problems = image_boot_cmdlines(root)
    found: list[tuple[str, bool | None]] = []
    grub: tuple[str, bool | None] | None = None
    lines_of: dict[str, list[str]] = {}
    for where, cmdline in cmdlines:
        path, _, number = where.rpartition(":")
        if path == GRUB_DEFAULTS or path.startswith(GRUB_DEFAULTS_DIR + "/"):
            if path not in lines_of:
                try:
                    lines_of[path] = rootfs.read_text(root, path).splitlines()
                except OSError as exc:  # read a moment ago: changed under the collection
                    problems.append(f"{path}: {rootfs.describe_os_error(exc)}")
                    lines_of[path] = []
            lines = lines_of[path]
            line = lines[int(number) - 1] if number.isdigit() and 0 < int(number) <= len(lines) else ""
            if "GRUB_CMDLINE_LINUX_DEFAULT" not in line:
                grub = (where, cmdline_x32(cmdline))
            continue
        found.append((where, cmdline_x32(cmdline)))
    return ([grub] if grub is not None else []) + found, problems


def _image_kernels(ctx: CollectContext) -> tuple[list[tuple[str, KernelX32]], str]:
    """Each /boot/config-* of the image with what it says of x32 (collect.kernel_config: the bounded
    listing the HZ collector reads too); why none could be gone by."""
    unknown = "whether the kernel that runs this image has the x32 ABI cannot be told"
    image = image_kernels(ctx)
    if image.boot_absent:
        return [], f"{BOOT} does not exist: {unknown} (a container image runs on its host's kernel)"
    if image.problem:
        return [], f"{image.problem}: {unknown}"
    kernels = []
    for kernel in image.kernels:
        if kernel.x32 is None:
            return [], f"{kernel.path}: {kernel.problem}: whether that kernel has the x32 ABI cannot be told"
        kernels.append((kernel.path, kernel.x32))
    if not kernels:
        return [], (f"{BOOT} holds no kernel configuration (config-RELEASE): {unknown} (a container image runs on its "
                    "host's kernel)")
    return kernels, ""


def _offline(ctx: CollectContext, machine: str | None) -> tuple[X32Abi | None, list[Gap]]:
    known = _not_x86_64(machine)
    if known is not None:
        return known, []
    kernels, missing = _image_kernels(ctx)
    if not kernels:
        return None, [_gap(missing)]
    unknown = [f"{path}: {kernel.reason}" for path, kernel in kernels if kernel.built is None]
    if unknown:
        return None, [_gap("; ".join(unknown))]
    built = [(path, kernel) for path, kernel in kernels if kernel.built]
    if not built:
        return X32Abi(usable=False, source="; ".join(f"{path}: {kernel.reason}" for path, kernel in kernels)), []
    cmdlines, problems = _image_cmdlines(Path(ctx.root))
    for path, kernel in built:
        if not kernel.parameter:
            return X32Abi(usable=True, source=f"{path}: {kernel.reason} (a kernel without {X32_PARAM}=)"), []
        enabling = [where for where, value in cmdlines if x32_usable(kernel, value)]
        if kernel.off_by_default and enabling:
            return X32Abi(usable=True, source=f"{path}: {kernel.reason}, and {', '.join(enabling)} sets "
                                              f"{X32_PARAM}=y"), []
        if not kernel.off_by_default and (enabling or not cmdlines):
            lines = f"{', '.join(enabling)} does not set {X32_PARAM}=n" if enabling else "no boot entry sets it"
            return X32Abi(usable=True, source=f"{path}: {kernel.reason}; {lines}"), []
    if problems:
        return None, [_gap(f"the image's kernels leave x32 off unless {X32_PARAM}= turns it on, and its boot loader "
                           f"configuration could not be read completely ({'; '.join(problems)})")]
    shown = "; ".join(f"{path}: {kernel.reason}" for path, kernel in kernels)
    setting = ("; every boot entry sets " + X32_PARAM + "=n (" + ", ".join(where for where, _ in cmdlines) + ")"
               if any(not k.off_by_default for _, k in built) else "")
    return X32Abi(usable=False, source=shown + setting), []


def collect_x32(ctx: CollectContext, machine: str | None) -> tuple[X32Abi | None, list[Gap]]:
    """Whether the x32 ABI is usable on the target's kernel; never raises for what it cannot read."""
    if ctx.target.runtime:
        return _live(ctx)
    return _offline(ctx, machine)
