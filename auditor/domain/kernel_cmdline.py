"""The running kernel's command line (/proc/cmdline) as the kernel itself splits it (pure).

The kernel reads its parameters with parse_args() and next_arg() (kernel/params.c, lib/cmdline.c):
words are separated by white space (isspace: space, \\t, \\n, \\v, \\f, \\r) outside double quotes, a
word is ``param`` or ``param=value``, and the quotes are removed: ``"a=b c"`` and ``a="b c"`` both
give ``a`` = ``b c``.  A word ``--`` ends the kernel's parameters; what follows is init's.  Every
occurrence of a parameter is handed over in turn, so for the ones applied as they come
(``sysctl.*``, ``audit=``) the last one decides; for ``audit=`` only until one turns auditing off,
which no later one undoes (:func:`auditor.domain.auditctl_output.boot_audit_param`).
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
# Ubuntu, RHEL), the Boot Loader Specification entries themselves (in /boot, or in the EFI system
# partition mounted at /efi or /boot/efi, where systemd-boot reads them), GRUB's generated menu (on
# an EFI system RHEL 7 and 8 keep it in the partition's vendor directory, /boot/efi/EFI/redhat), and
# GRUB's environment block, where RHEL 8's entries take their options from ("options $kernelopts
# $tuned_params"; grubby --args writes there, beside the partition's menu on EFI).
KERNEL_INSTALL_CMDLINES = ("/etc/kernel/cmdline", "/usr/lib/kernel/cmdline")
GRUB_DEFAULTS = "/etc/default/grub"
GRUB_DEFAULTS_DIR = "/etc/default/grub.d"
BLS_ENTRIES_DIR = "/boot/loader/entries"
# Boot Loader Specification entries: /boot's (or XBOOTLDR's), and an EFI system partition's, where
# systemd-boot reads them (mounted at /efi or /boot/efi).
BLS_ENTRIES_DIRS = (BLS_ENTRIES_DIR, "/efi/loader/entries", "/boot/efi/loader/entries")
GRUB_MENUS = ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg")
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
GRUB_ENVIRONMENTS = ("/boot/grub/grubenv", "/boot/grub2/grubenv")
EFI_VENDORS_DIR = "/boot/efi/EFI"  # each vendor's directory may hold a grub.cfg and a grubenv
GRUB_MENU_NAME, GRUB_ENVIRONMENT_NAME = "grub.cfg", "grubenv"
# Unified Kernel Images (type #2 entries) and their add-ons (systemd-stub appends an add-on's
# command line to the image's): PE files whose .cmdline section holds the command line, in the
# EFI/Linux directory of the boot or EFI system partition, an image's NAME.efi.extra.d directory
# beside it, and loader/addons for every image.
UKI_DIRS = ("/boot/EFI/Linux", "/efi/EFI/Linux", "/boot/efi/EFI/Linux")
UKI_ADDON_DIRS = ("/boot/loader/addons", "/efi/loader/addons", "/boot/efi/loader/addons")
UKI_SUFFIX, UKI_EXTRA_SUFFIX = ".efi", ".efi.extra.d"
PE_HEADER_BYTES = 64 * 1024  # the DOS stub, PE header and section table of any UKI fit in far less
MAX_CMDLINE_BYTES = 64 * 1024


def pe_section(header: bytes, name: bytes) -> tuple[int, int] | None:
    """(file offset, size) of the section ``name`` (b".cmdline") of the PE file whose first bytes
    are ``header``; None when it has none.  ValueError when ``header`` is no PE file, or its
    section table is not within it."""
    if header[:2] != b"MZ" or len(header) < 0x40:
        raise ValueError("not a PE file (no MZ header)")
    pe = int.from_bytes(header[0x3C:0x40], "little")
    if header[pe:pe + 4] != b"PE\0\0" or len(header) < pe + 24:
        raise ValueError("not a PE file (no PE signature where its header says)")
    sections = int.from_bytes(header[pe + 6:pe + 8], "little")
    table = pe + 24 + int.from_bytes(header[pe + 20:pe + 22], "little")
    if len(header) < table + 40 * sections:
        raise ValueError("its section table is not within its first bytes")
    for index in range(sections):
        entry = header[table + 40 * index:table + 40 * (index + 1)]
        if entry[:8].rstrip(b"\0") == name:
            virtual_size = int.from_bytes(entry[8:12], "little")
            raw_size = int.from_bytes(entry[16:20], "little")
            return int.from_bytes(entry[20:24], "little"), min(virtual_size or raw_size, raw_size)
    return None
_GRUB_CMDLINE = first_use(r"\s*(?:export\s+)?GRUB_CMDLINE_LINUX(?:_DEFAULT)?=(.*)")
_GRUB_KERNEL = first_use(r"\s*(?:linux|linuxefi|linux16)\s+\S+(.*)")
_GRUB_KERNELOPTS = first_use(r"\s*set\s+kernelopts=(.*)")


def _unquoted(text: str) -> str:
    try:
        return " ".join(shlex.split(text, comments=False, posix=True))
    except ValueError:
        return text


def boot_entry_cmdlines(path: str, text: str, most: int | None = None) -> list[tuple[int, str]]:
    """The kernel command lines (line number, text) a boot configuration file at ``path`` holds:
    the whole of a kernel-install cmdline file or a Raspberry Pi's cmdline.txt,
    GRUB_CMDLINE_LINUX(_DEFAULT) of GRUB's defaults (shell quotes removed), the ``options`` of a Boot
    Loader Specification entry (/boot or an EFI system partition), the arguments of a GRUB menu's
    ``linux`` lines and its ``set kernelopts=``, every value of a GRUB environment block
    (``kernelopts=...``: an entry may take any of them as ``$name``), an extlinux menu's ``APPEND``
    lines, and the settings a menu generator builds it from (:data:`GENERATOR_DEFAULTS`).  With
    ``most``, it stops once it has found more than that many (the caller wants no more)."""
    lines = text.splitlines()
    if path in KERNEL_INSTALL_CMDLINES or path in FIRMWARE_CMDLINES:
        return [(1, " ".join(lines))]
    directory, _, name = path.rpartition("/")
    efi_vendor = directory.rpartition("/")[0] == EFI_VENDORS_DIR
    menu = path in GRUB_MENUS or (efi_vendor and name == GRUB_MENU_NAME)
    environment = path in GRUB_ENVIRONMENTS or (efi_vendor and name == GRUB_ENVIRONMENT_NAME)
    found: list[tuple[int, str]] = []
    settings = GENERATOR_DEFAULTS.get(path)
    for number, line in enumerate(lines, start=1):
        if settings is not None:
            setting, equals, value = line.partition("=")
            words = setting.split()
            if equals and words[:1] == ["export"]:
                words = words[1:]  # a shell file's "export NAME=..."
            if equals and len(words) == 1 and words[0] in settings:
                found.append((number, _unquoted(value.strip())))
        elif path in EXTLINUX_MENUS:
            match = _EXTLINUX_APPEND().match(line)
            if match:
                found.append((number, match[1]))
        elif directory in BLS_ENTRIES_DIRS:
            words = line.split(None, 1)
            if words and words[0] == "options":
                found.append((number, words[1] if len(words) > 1 else ""))
        elif environment:
            variable, equals, value = line.partition("=")
            if equals and not variable.startswith("#"):
                found.append((number, value))
        elif menu:
            match = _GRUB_KERNEL().match(line) or _GRUB_KERNELOPTS().match(line)
            if match:
                found.append((number, _unquoted(match[1])))
        else:
            match = _GRUB_CMDLINE().match(line)
            if match:
                found.append((number, _unquoted(match[1])))
        if most is not None and len(found) > most:
            break
    return found
