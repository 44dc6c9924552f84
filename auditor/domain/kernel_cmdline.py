"""The running kernel's command line (/proc/cmdline) as the kernel itself splits it (pure).

The kernel reads its parameters with parse_args() and next_arg() (kernel/params.c, lib/cmdline.c):
words are separated by white space (isspace: space, \\t, \\n, \\v, \\f, \\r) outside double quotes, a
word is ``param`` or ``param=value``, and the quotes are removed: ``"a=b c"`` and ``a="b c"`` both
give ``a`` = ``b c``.  A word ``--`` ends the kernel's parameters; what follows is init's.  Every
occurrence of a parameter is handed over in turn, so for the ones applied as they come (``audit=``,
``sysctl.*``) the last one decides.
"""

from __future__ import annotations

import shlex

from auditor.patterns import first_use

KERNEL_CMDLINE = "/proc/cmdline"
_SPACES = " \t\n\v\f\r"


def kernel_parameters(cmdline: str) -> list[tuple[str, str | None]]:
    """The kernel's parameters, in order: ``(param, value)``, value None for a word without ``=``.
    Stops at ``--`` (the arguments after it are init's)."""
    found: list[tuple[str, str | None]] = []
    position = 0
    length = len(cmdline)
    while True:
        while position < length and cmdline[position] in _SPACES:
            position += 1
        if position >= length:
            return found
        # next_arg(): a word runs to white space outside quotes; the first "=" splits it
        quoted = cmdline[position] == '"'
        start = position + quoted
        in_quote = quoted
        end = start
        equals = -1
        while end < length and (in_quote or cmdline[end] not in _SPACES):
            if equals < 0 and cmdline[end] == "=" and end > start:
                equals = end
            if cmdline[end] == '"':
                in_quote = not in_quote
            end += 1
        word_end = end
        if equals < 0:
            param, value = cmdline[start:word_end], None
            if quoted and param.endswith('"'):
                param = param[:-1]
        else:
            param, value = cmdline[start:equals], cmdline[equals + 1:word_end]
            if value.startswith('"'):
                value = value[1:]
                if value.endswith('"'):
                    value = value[:-1]
            elif quoted and value.endswith('"'):
                value = value[:-1]
        if value is None and param == "--":
            return found
        found.append((param, value))
        position = end + 1


# ---------------------------------------------------------------- an image's boot entries (offline)

# Where an image keeps the command lines its boot loader may start the kernel with: kernel-install's
# (Unified Kernel Images and Boot Loader Specification entries take it), GRUB's defaults (Debian,
# Ubuntu, RHEL), the Boot Loader Specification entries themselves, and GRUB's generated menu.
KERNEL_INSTALL_CMDLINES = ("/etc/kernel/cmdline", "/usr/lib/kernel/cmdline")
GRUB_DEFAULTS = "/etc/default/grub"
GRUB_DEFAULTS_DIR = "/etc/default/grub.d"
BLS_ENTRIES_DIR = "/boot/loader/entries"
GRUB_MENUS = ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg")
# Boot Loader Specification entries on an EFI system partition, where systemd-boot reads them
# (mounted at /efi or /boot/efi; /boot/loader/entries above is the XBOOTLDR or /boot one).
ESP_BLS_ENTRIES_DIRS = ("/efi/loader/entries", "/boot/efi/loader/entries")
# The Raspberry Pi firmware's command line: the whole of cmdline.txt, one line (Raspberry Pi OS
# before bookworm, and bookworm and Ubuntu with the boot partition at /boot/firmware).
FIRMWARE_CMDLINES = ("/boot/cmdline.txt", "/boot/firmware/cmdline.txt")
# extlinux and syslinux menus, whose APPEND lines are the command line: U-Boot's distro boot reads
# /boot/extlinux/extlinux.conf (or /extlinux/extlinux.conf on a boot partition), Alpine's syslinux
# /boot/extlinux.conf.
EXTLINUX_MENUS = ("/boot/extlinux/extlinux.conf", "/extlinux/extlinux.conf", "/boot/extlinux.conf",
                  "/boot/syslinux/syslinux.cfg", "/boot/syslinux.cfg")
# The settings boot menu generators build the command line from: Alpine's update-extlinux, Debian's
# u-boot-menu and flash-kernel, and s390's zipl (``parameters = "..."`` of a section).
GENERATOR_DEFAULTS = {
    "/etc/update-extlinux.conf": ("default_kernel_opts",),
    "/etc/default/u-boot": ("U_BOOT_PARAMETERS",),
    "/etc/default/flash-kernel": ("LINUX_KERNEL_CMDLINE", "LINUX_KERNEL_CMDLINE_DEFAULTS"),
    "/etc/zipl.conf": ("parameters",),
}
_EXTLINUX_APPEND = first_use(r"(?i)\s*append\s+(.*)")
_GRUB_CMDLINE = first_use(r"\s*(?:export\s+)?GRUB_CMDLINE_LINUX(?:_DEFAULT)?=(.*)")
_GRUB_KERNEL = first_use(r"\s*(?:linux|linuxefi|linux16)\s+\S+(.*)")
_GRUB_KERNELOPTS = first_use(r"\s*set\s+kernelopts=(.*)")


def _unquoted(text: str) -> str:
    try:
        return " ".join(shlex.split(text, comments=False, posix=True))
    except ValueError:
        return text


def boot_entry_cmdlines(path: str, text: str) -> list[tuple[int, str]]:
    """The kernel command lines (line number, text) a boot configuration file at ``path`` holds:
    the whole of a kernel-install cmdline file or a Raspberry Pi's cmdline.txt,
    GRUB_CMDLINE_LINUX(_DEFAULT) of GRUB's defaults (shell quotes removed), the ``options`` of a Boot
    Loader Specification entry (/boot or an EFI system partition), the arguments of a GRUB menu's
    ``linux`` lines and its ``set kernelopts=``, an extlinux menu's ``APPEND`` lines, and the
    settings a menu generator builds it from (:data:`GENERATOR_DEFAULTS`)."""
    lines = text.splitlines()
    if path in KERNEL_INSTALL_CMDLINES or path in FIRMWARE_CMDLINES:
        return [(1, " ".join(lines))]
    found: list[tuple[int, str]] = []
    settings = GENERATOR_DEFAULTS.get(path)
    for number, line in enumerate(lines, start=1):
        if settings is not None:
            name, equals, value = line.partition("=")
            words = name.split()
            if equals and words[:1] == ["export"]:
                words = words[1:]  # a shell file's "export NAME=..."
            if equals and len(words) == 1 and words[0] in settings:
                found.append((number, _unquoted(value.strip())))
        elif path in EXTLINUX_MENUS:
            match = _EXTLINUX_APPEND().match(line)
            if match:
                found.append((number, match[1]))
        elif any(path.startswith(directory + "/") for directory in (BLS_ENTRIES_DIR, *ESP_BLS_ENTRIES_DIRS)):
            words = line.split(None, 1)
            if words and words[0] == "options":
                found.append((number, words[1] if len(words) > 1 else ""))
        elif path in GRUB_MENUS:
            match = _GRUB_KERNEL().match(line) or _GRUB_KERNELOPTS().match(line)
            if match:
                found.append((number, _unquoted(match[1])))
        else:
            match = _GRUB_CMDLINE().match(line)
            if match:
                found.append((number, _unquoted(match[1])))
    return found
