#!/usr/bin/env python3
"""Generate auditor/domain/audit_tables.json: the name tables auditctl 3.x checks rule values against.

* ``syscalls``: for each syscall table libaudit has, name -> number, from ``ausyscall <arch> --dump``
  (run on a host with the audit userspace installed; it prints libaudit's own compiled-in tables).
* ``field_compare``: the kernel's AUDIT_COMPARE_* values (uapi linux/audit.h) and the two fields
  each compares, as ``-C`` sends them and ``auditctl -l`` prints them.
* ``msg_types`` (name -> record type number), ``errnos``: libaudit's lib/msg_typetab.h and
  lib/errtab.h, read from an audit-userspace source tree (``--source``), because no audit tool
  prints them; the numbers of the AUDIT_* constants come from its lib/libaudit.h and the kernel's
  uapi linux/audit.h (``--kernel-header``).  Without ``--source`` these are kept as they are in the
  existing file.

Usage: scripts/gen_audit_tables.py [--source /path/to/audit-userspace] [--check]
``--check`` exits 1 when the shipped file differs from a fresh generation (what the tests do).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "auditor" / "domain" / "audit_tables.json"
# libaudit's syscall tables (lib/lookup_table.c audit_name_to_syscall): ppc64 and ppc64le use the
# ppc table; each is asked for by a machine name ausyscall knows.
TABLES = ("x86_64", "i386", "aarch64", "arm", "ppc", "s390x", "s390")


def ausyscall_version() -> str:
    result = subprocess.run(["auditctl", "-v"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or "unknown"


def dump_table(arch: str) -> dict[str, int]:
    result = subprocess.run(["ausyscall", arch, "--dump"], capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    if not lines or not lines[0].startswith("Using "):
        raise SystemExit(f"ausyscall {arch} --dump: unexpected output {lines[:1]!r}")
    table: dict[str, int] = {}
    for line in lines[1:]:
        number, _, name = line.partition("\t")
        if not number.isdigit() or not name:
            raise SystemExit(f"ausyscall {arch} --dump: unexpected line {line!r}")
        table[name] = int(number)
    return dict(sorted(table.items(), key=lambda item: (item[1], item[0])))


def header_entries(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """``_S(VALUE, "NAME")`` lines of a libaudit table header (commented-out ones excluded), as
    NAME -> VALUE: (always compiled in, only under an ``#ifdef`` such as WITH_APPARMOR)."""
    names: dict[str, str] = {}
    conditional: dict[str, str] = {}
    depth = 0
    for line in path.read_text().splitlines():
        if line.startswith("#if"):
            depth += 1
        elif line.startswith("#endif"):
            depth -= 1
        match = re.match(r'\s*_S\(\s*([^,]+?)\s*,\s*"([^"]+)"\s*\)', line)
        if match:
            (conditional if depth else names)[match.group(2)] = match.group(1)
    return names, {k: v for k, v in conditional.items() if k not in names}


def constants(*headers: Path) -> dict[str, int]:
    """``#define NAME value`` of C headers, values that are numbers or other such names."""
    raw: dict[str, str] = {}
    for header in headers:
        for match in re.finditer(r"^#define\s+(AUDIT_\w+)\s+(\w+)", header.read_text(), re.M):
            raw.setdefault(match.group(1), match.group(2))
    values: dict[str, int] = {}

    def value(name: str, depth: int = 0) -> int | None:
        text = raw.get(name)
        if text is None or depth > 10:
            return None
        if re.fullmatch(r"0[xX][0-9a-fA-F]+|\d+", text):
            return int(text, 0)
        return value(text, depth + 1)

    for name in raw:
        number = value(name)
        if number is not None:
            values[name] = number
    return values


def field_compares(kernel_header: Path) -> dict[str, list[str]]:
    """AUDIT_COMPARE_X_TO_Y values (what -C sends as field_compare) -> the two fields, as -F names."""
    names = {"AUID": "auid", "OBJ_UID": "obj_uid", "OBJ_GID": "obj_gid"}
    found = {}
    for name, number in sorted(constants(kernel_header).items(), key=lambda item: item[1]):
        match = re.fullmatch(r"AUDIT_COMPARE_(\w+?)_TO_(\w+)", name)
        if match:
            found[str(number)] = [names.get(part, part.lower()) for part in match.groups()]
    return found


def msg_types(source: Path, kernel_header: Path) -> tuple[dict[str, int], dict[str, int]]:
    known = constants(source / "lib" / "libaudit.h", kernel_header)
    always, conditional = header_entries(source / "lib" / "msg_typetab.h")

    def resolve(entries: dict[str, str]) -> dict[str, int]:
        missing = sorted(n for n, c in entries.items() if c not in known)
        if missing:
            raise SystemExit(f"no value for the msg types {missing}")
        return dict(sorted((n, known[c]) for n, c in entries.items()))

    return resolve(always), resolve(conditional)


def generate(source: Path | None, kernel_header: Path, previous: dict) -> dict:
    data = {
        "generated_by": "scripts/gen_audit_tables.py",
        "auditctl": ausyscall_version(),
        "syscalls": {arch: dump_table(arch) for arch in TABLES},
    }
    if source is not None:
        data["msg_types"], data["msg_types_if_built_with"] = msg_types(source, kernel_header)
        data["errnos"] = sorted(header_entries(source / "lib" / "errtab.h")[0])
        data["field_compare"] = field_compares(kernel_header)
    else:
        for key in ("msg_types", "msg_types_if_built_with", "errnos", "field_compare"):
            data[key] = previous[key]
    return data


def render(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="an audit-userspace source tree (for msg_types, errnos)")
    parser.add_argument("--kernel-header", type=Path, default=Path("/usr/include/linux/audit.h"),
                        help="the kernel's uapi linux/audit.h (record type numbers)")
    parser.add_argument("--check", action="store_true", help="compare with the shipped file instead of writing it")
    args = parser.parse_args()
    previous = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else {}
    text = render(generate(args.source, args.kernel_header, previous))
    if args.check:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} differs from a fresh generation", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
