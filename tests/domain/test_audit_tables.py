"""The shipped syscall tables are what ``ausyscall`` prints, not hand-typed lists."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from auditor.domain import auditctl_grammar as grammar

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen_audit_tables.py"


def generator():
    spec = importlib.util.spec_from_file_location("gen_audit_tables", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.live
def test_shipped_syscall_tables_equal_a_fresh_generation():
    if shutil.which("ausyscall") is None:
        pytest.skip("ausyscall (auditd package) is not installed, so the tables cannot be regenerated here")
    gen = generator()
    shipped = grammar.tables()["syscalls"]
    assert list(shipped) == list(gen.TABLES)
    for table in gen.TABLES:
        assert shipped[table] == gen.dump_table(table), f"{table}: run scripts/gen_audit_tables.py"


def test_every_machine_auditctl_knows_has_a_table_and_an_elf_value():
    for name, machine in grammar.MACHINE_NAMES.items():
        assert grammar.MACHINE_TABLE[machine] in grammar.tables()["syscalls"], name
        assert grammar.ELF_MACHINE[grammar.MACHINE_ELF[machine]] == machine, name
    # the numbers the coverage walk depends on
    assert grammar.syscall_table("x86_64")["bind"] == 49 and grammar.syscall_table("x86_64")["getuid"] == 102
    assert grammar.syscall_table("i386")["socketcall"] == 102 and "accept" not in grammar.syscall_table("i386")
    assert "SYSCALL" in grammar.tables()["msg_types"] and "EACCES" in grammar.tables()["errnos"]
