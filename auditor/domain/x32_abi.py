"""The x32 syscall ABI of an x86_64 kernel, read from its configuration and command line (pure).

An x32 program (64-bit mode, 32-bit pointers) enters the kernel with the syscall instruction and a
number carrying ``__X32_SYSCALL_BIT`` (0x40000000, arch/x86/include/uapi/asm/unistd.h); audit
records it as arch x86_64 (syscall_get_arch: "x32 tasks should be considered AUDIT_ARCH_X86_64")
with that number.  The kernel's exit filter selects a rule only if ``audit_in_mask()``
(kernel/auditsc.c) finds the number in the rule's bitmask, and it returns false for a number whose
word is past ``AUDIT_BITMASK_SIZE`` (64 words, numbers below 2048): no syscall rule matches an x32
call, ``-S all`` and a rule without -S (all bits set) included.  So where the x32 ABI is usable,
the socket calls of x32 programs are never audited, whatever the rules say.

Whether it is usable:

* the kernel must be built with it: ``CONFIG_X86_X32_ABI`` (Linux 5.18 and later), named
  ``CONFIG_X86_X32`` before (3.4 to 5.17);
* Debian's kernels carry a patch ("x86: Make x32 syscall support conditional on a kernel
  parameter", arch/x86/entry/syscall_x32.c) that adds ``CONFIG_X86_X32_DISABLED`` (x32 off by
  default) and the boot parameter ``syscall.x32=`` read with kstrtobool (y/n, 1/0, on/off, t/f):
  ``syscall.x32=n`` turns x32 off on a kernel enabling it by default, ``syscall.x32=y`` on in one
  disabling it.  A kernel without the patch (no ``CONFIG_X86_X32_DISABLED`` line in its
  configuration) has no such parameter: the kernel hands the unknown word to init, x32 stays on.
"""

from __future__ import annotations

from auditor.domain.kernel_cmdline import kernel_parameters
from auditor.model.records import record

X32_SYSCALL_BIT = 0x40000000
X32_GETPID = X32_SYSCALL_BIT | 39  # getpid is 39 in the x32 table, as in the 64-bit one ("common")
X32_PARAM = "syscall.x32"
ABI_SYMBOLS = ("CONFIG_X86_X32_ABI", "CONFIG_X86_X32")  # 5.18 and later, then 3.4 to 5.17
DISABLED_SYMBOL = "CONFIG_X86_X32_DISABLED"  # Debian's patch: x32 off unless syscall.x32=y


def kstrtobool(value: str | None) -> bool | None:
    """A boolean as the kernel's kstrtobool() (lib/kstrtox.c) reads it: the first character (y, t,
    1 true; n, f, 0 false; "on", "of" by the second); None when it refuses the value (then the
    parameter is not applied)."""
    if not value:
        return None
    first = value[0].lower()
    if first in "yt1":
        return True
    if first in "nf0":
        return False
    if first == "o" and len(value) > 1 and value[1].lower() in "nf":
        return value[1].lower() == "n"
    return None


def cmdline_x32(cmdline: str) -> bool | None:
    """The value the last ``syscall.x32=`` of a kernel command line the kernel accepts gives (a
    value kstrtobool refuses leaves the earlier one), None when none sets it."""
    found: bool | None = None
    for name, value in kernel_parameters(cmdline):
        read = kstrtobool(value) if name == X32_PARAM else None
        found = found if read is None else read
    return found


@record
class KernelX32:
    """What one kernel configuration says of x32: ``built`` with the ABI (None: cannot be told),
    ``off_by_default`` (Debian's CONFIG_X86_X32_DISABLED), ``parameter`` (whether syscall.x32=
    exists: Debian's patch, told by a CONFIG_X86_X32_DISABLED line, set or not), and why."""

    built: bool | None
    off_by_default: bool
    parameter: bool
    reason: str


def _symbol(lines: list[str], name: str) -> str | None:
    """"y"/"m" or the value set, "n" for "# NAME is not set", None when the file does not name it."""
    value = None
    for line in lines:
        if line.startswith(name + "="):
            value = line[len(name) + 1:].strip().strip('"')
        elif line.strip() == f"# {name} is not set":
            value = "n"
    return value


def read_kernel_config(text: str) -> KernelX32:
    """x32 as a kernel's build configuration (``/boot/config-RELEASE``, ``/proc/config.gz``) sets it."""
    lines = text.splitlines()
    if not any(line.startswith("CONFIG_") or line.startswith("# CONFIG_") for line in lines):
        return KernelX32(None, False, False, "it holds no CONFIG_ line (not a kernel configuration)")
    disabled = _symbol(lines, DISABLED_SYMBOL)
    parameter = disabled is not None
    off = disabled == "y"
    for symbol in ABI_SYMBOLS:
        value = _symbol(lines, symbol)
        if value == "y":
            how = (f"{symbol}=y, {DISABLED_SYMBOL}=y (off unless {X32_PARAM}=y)" if off
                   else f"{symbol}=y" + (f", {DISABLED_SYMBOL} not set (on unless {X32_PARAM}=n)" if parameter else ""))
            return KernelX32(True, off, parameter, how)
        if value is not None:
            return KernelX32(False, False, False, f"{symbol} is not set")
    if _symbol(lines, "CONFIG_X86_64") != "y":
        return KernelX32(False, False, False, "not a kernel for x86_64 (no CONFIG_X86_64=y)")
    return KernelX32(None, False, False, f"a kernel for x86_64 whose configuration names neither "
                                         f"{' nor '.join(ABI_SYMBOLS)}")


def x32_usable(kernel: KernelX32, cmdline_value: bool | None) -> bool | None:
    """Is x32 usable on this kernel booted with a command line whose syscall.x32= gives
    ``cmdline_value`` (None: not set)?  None when the configuration does not tell."""
    if kernel.built is None:
        return None
    if not kernel.built:
        return False
    if not kernel.parameter or cmdline_value is None:
        return not kernel.off_by_default
    return cmdline_value
