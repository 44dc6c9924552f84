"""Hostile rules files, round auditlog22: reading rules as ``auditctl -R`` loads them took quadratic time.

The loader compared each added rule with every rule loaded before it (the kernel refuses one that
exists), so 4,000 rules took 26 s and 8,000 took 98 s on the test machine, and a 4 MiB rules file
(about 100,000 short rules, within what lbaudit reads) would have held a collection for hours;
20,000 rules in all is the fleet's limit.  Deletions (``-D -k``, ``-d``) and insertions at the head
of a list (``-A``) still look at the loaded rules one by one, as auditctl and the kernel do, so a
file of them is as quadratic in any reading: those looks are now counted, and past a budget the
reading is abandoned and the persistent rules are not known (not reviewed, with the reason), never
judged on part of the file.  Each rule line costs a few tenths of a millisecond to parse, so the
32 MiB of configuration one collection reads (800,000 short lines) took minutes, and rules.d was
read up to four times (gawk and mawk, with and without carriage returns): each line is now parsed
once for all the readings, and a reading past 50,000 rule lines is abandoned the same way.
"""

from __future__ import annotations

import time

import pytest

from auditor.checks.audit_socket_logging import SocketLoggingParams, audit_socket_logging
from auditor.collect.rootdir import collect_root
from auditor.domain.audit_loader import MAX_RULE_LINES, MAX_RULE_VISITS
from auditor.domain.audit_rules import parse_rules_d, parse_rules_text
from auditor.model.result import Status
from tests.factories import BOOT_BACKLOG_RULES, ELF_X86_64, SOCKET_AUDIT_RULES, install_kernel_without_x32


def many(count: int) -> str:
    return "".join(f"-a always,exit -F arch=b64 -S getpid -F auid={n} -k many\n" for n in range(count))


@pytest.mark.slow
def test_ten_thousand_rules_load_in_linear_time():
    text = many(10_000)
    started = time.process_time()
    parsed = parse_rules_text(text, "/etc/audit/audit.rules", "x86_64")
    took = time.process_time() - started
    assert len(parsed.rules) == 10_000 and parsed.problems == []
    assert took < 20, f"loading 10,000 rules took {took:.1f} s"


def test_control_case_a_rule_that_exists_is_still_refused_after_many():
    parsed = parse_rules_text(many(3) + "-a always,exit -F arch=b64 -S getpid -F auid=1 -k many\n", "/r", "x86_64")
    assert len(parsed.rules) == 3
    assert ["rule exists (same as /r:2); auditctl -R stops here, so no later line is loaded"] == \
        [p.message for p in parsed.problems]


def test_control_case_deleting_and_adding_again_is_allowed():
    again = "always,exit -F arch=b64 -S getpid -F auid=1 -k many\n"
    parsed = parse_rules_text(many(3) + "-d " + again + "-a " + again, "/r", "x86_64")
    assert parsed.problems == []
    assert [r.origin for r in parsed.rules] == ["/r:1", "/r:3", "/r:5"]


def test_control_case_the_same_rule_prepended_twice_and_deleted_once_leaves_one():
    rule = "always,exit -F arch=b64 -S getpid -k once"
    parsed = parse_rules_text(f"-A {rule}\n-A {rule}\n-d {rule}\n-a {rule}\n", "/r", "x86_64")
    assert [r.origin for r in parsed.rules] == ["/r:1"]
    assert parsed.problems[0].message.startswith("rule exists (same as /r:1)")


@pytest.mark.slow
def test_deletions_past_the_budget_abandon_the_reading():
    rules = 1_000
    deletions = MAX_RULE_VISITS // rules + 10  # each looks at every loaded rule: none holds its key
    text = many(rules) + "-D -k nothing\n" * deletions
    started = time.process_time()
    parsed = parse_rules_text(text, "/r", "x86_64")
    took = time.process_time() - started
    assert took < 30, f"reading the deletions took {took:.1f} s"
    assert parsed.unread is not None and "/r:" in parsed.unread
    assert f"{MAX_RULE_VISITS:,}" in parsed.unread


def test_control_case_a_file_within_the_budget_is_read_whole():
    parsed = parse_rules_d([("/etc/audit/rules.d/10.rules", many(100) + "-D -k nothing\n" * 10)], "x86_64", "gawk")
    assert parsed.unread is None and len(parsed.rules) == 100 + 10  # the -D lines are kept as controls


@pytest.mark.slow
def test_an_image_whose_rules_take_too_long_to_read_is_not_reviewed(tmp_path):
    root = tmp_path / "image"
    rules_d = root / "etc" / "audit" / "rules.d"
    rules_d.mkdir(parents=True)
    (rules_d / "00-backlog.rules").write_text(BOOT_BACKLOG_RULES)
    (rules_d / "30-net.rules").write_text(SOCKET_AUDIT_RULES)
    (rules_d / "40-many.rules").write_text(many(1_000) + "-D -k nothing\n" * (MAX_RULE_VISITS // 1_000 + 10))
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "auditctl").write_bytes(ELF_X86_64)
    # the image's gawk and augenrules 3.0.9 say how rules.d is compiled: one reading, not four
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "gawk").write_bytes(ELF_X86_64)
    (root / "usr" / "bin" / "awk").symlink_to("gawk")
    (root / "usr" / "sbin" / "augenrules").write_text("#!/bin/sh\nfor rules in $(/bin/ls -1v ${SourceRulesDir}) ; do\n")
    install_kernel_without_x32(root)
    snap = collect_root(root, frozenset({"audit"}))
    assert snap.facts.audit.persistent_rules is None
    found = {o.subject: o for o in audit_socket_logging.run(snap, SocketLoggingParams())}
    assert found["persistent rules b64"].status == Status.NOT_REVIEWED
    assert "40-many.rules" in found["persistent rules b64"].reason


@pytest.mark.slow
def test_more_rule_lines_than_lbaudit_reads_abandon_the_reading():
    text = many(MAX_RULE_LINES + 1)
    started = time.process_time()
    parsed = parse_rules_text(text, "/r", "x86_64")
    took = time.process_time() - started
    assert parsed.unread is not None and f"/r:{MAX_RULE_LINES + 1}:" in parsed.unread
    assert f"{MAX_RULE_LINES:,} rule lines" in parsed.unread
    assert took < 60, f"reading {MAX_RULE_LINES:,} rule lines took {took:.1f} s"


def test_control_case_comments_and_blank_lines_are_not_rule_lines():
    text = "# a comment\n\n" * MAX_RULE_LINES + many(2)
    parsed = parse_rules_text(text, "/r", "x86_64")
    assert parsed.unread is None and len(parsed.rules) == 2


def test_four_readings_of_rules_d_parse_each_line_once(monkeypatch):
    from auditor.domain import audit_loader

    calls = []
    real = audit_loader.parse_statement
    monkeypatch.setattr(audit_loader, "parse_statement", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    parsed = parse_rules_d([("/etc/audit/rules.d/10.rules", many(50))], "x86_64", None, None)
    assert parsed.problems == [] and len(parsed.rules) == 50
    assert len(calls) == 50
