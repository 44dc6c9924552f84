"""Audit rule parsing: the file form and the ``auditctl -l`` form, from fixture files.

``equivalence.auditctl-l`` is what auditctl 3.0.9 printed after loading ``equivalence.rules``;
``continue.rules`` and ``locked.rules`` were loaded with ``auditctl -R`` to see which lines it
refuses and where it stops.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.domain import audit_rules as ar
from auditor.model.facts import AuditField

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


def parse_file(name: str) -> ar.ParsedRules:
    return ar.parse_rules_text(read(name), name, "x86_64")


def texts(parsed: ar.ParsedRules) -> list[str]:
    return [r.text for r in parsed.rules]


# ---------------------------------------------------------------- both forms agree


def test_file_form_and_auditctl_list_form_give_the_same_rules():
    from_file = [r for r in parse_file("equivalence.rules").rules]
    listed = ar.parse_auditctl_list(read("equivalence.auditctl-l"), "x86_64")
    assert len(from_file) == len(listed.rules) == 12
    # auditctl prints the prepended rule first; so does the file parser.
    assert from_file[0].text.startswith("-A never,exit")
    assert listed.rules[0].origin == "auditctl -l:1" and from_file[0].origin == "equivalence.rules:19"
    for written, printed in zip(from_file[:-1], listed.rules[:-1]):
        assert ar.semantic_key(written) == ar.semantic_key(printed), (written.text, printed.text)


def test_normalisation_of_what_auditctl_rewrites():
    rules = {r.keys[0]: r for r in parse_file("equivalence.rules").rules}
    assert rules["lbfix-net"].syscalls == ["accept", "accept4", "bind", "connect"]  # three -S, sorted
    assert rules["lbfix-never"].fields == [AuditField(name="a0", op="=", value="0x2")]
    assert rules["lbfix-user"].fields == [
        AuditField(name="auid", op="!=", value="unset"),
        AuditField(name="auid", op=">=", value="1000"),
    ]
    ok = rules["lbfix-ok"]
    assert [(f.name, f.op, f.value) for f in ok.fields] == [
        ("auid", "!=", "unset"), ("exit", "!=", "-EACCES"), ("success", "=", "1")
    ]
    assert rules["lbfix-cmp"].fields == [  # -C auid!=uid, printed as -C uid!=auid
        AuditField(name="a2", op="&", value="0x80000"),
        AuditField(name="auid", op="!=", value="uid"),
    ]
    assert rules["lbfix-machine"].arch == "b32"  # arch=i386
    assert rules["lbfix-first"].fields == [
        AuditField(name="saddr_fam", op="=", value="1"),
        AuditField(name="uid", op="=", value="0"),  # uid=root
    ]
    for key in ("lbfix-watch", "lbfix-watch2"):  # -w ... -p aw and -a ... -F path= -F perm=wa
        assert rules[key].kind == "watch" and rules[key].permissions == "wa"
    assert rules["lbfix-noarch"].arch is None and rules["lbfix-noarch"].syscalls == ["listen"]


def test_auditctl_list_names_syscalls_of_an_archless_rule_with_the_previous_rules_table():
    listed = ar.parse_auditctl_list(read("equivalence.auditctl-l"), "x86_64")
    # The file said -S listen (50 on x86_64); auditctl printed 50 with the i386 table.
    assert listed.rules[-1].syscalls == ["getegid"]
    assert [str(p) for p in listed.problems] == [
        "auditctl -l:12: rule without -F arch listed after a b32 rule: auditctl may print its syscalls "
        "with the b32 names of their numbers; add -F arch= to the rule"
    ]


def test_auditctl_list_no_rules_and_empty_output():
    assert ar.parse_auditctl_list(read("empty.auditctl-l")) == ar.ParsedRules()
    empty = ar.parse_auditctl_list("")
    assert empty.rules == [] and "empty output" in str(empty.problems[0])


def test_auditctl_list_reports_lines_it_cannot_read():
    parsed = ar.parse_auditctl_list("-a always,exit -F arch=b64 -S bind -F key=k\nsomething odd\n-D\n", "x86_64")
    assert len(parsed.rules) == 1 and parsed.rules[0].origin == "auditctl -l:1"
    assert [p.line for p in parsed.problems] == [2, 3]


# ---------------------------------------------------------------- the file form, as auditctl -R reads it


def test_full_file_controls_deletion_prepend_and_lists():
    parsed = parse_file("full.rules")
    assert parsed.problems == []
    kinds = [(r.kind, r.text.split()[0]) for r in parsed.rules]
    controls = [r for r in parsed.rules if r.kind == "control"]
    assert [c.text for c in controls] == [
        "-D", "-b 8192", "-f 1", "--backlog_wait_time 60000", "--loginuid-immutable", "-r 0", "-e 2"
    ]
    assert controls[1].fields == [AuditField(name="backlog_limit", op="=", value="8192")]
    assert controls[-1].fields == [AuditField(name="enabled", op="=", value="2")]
    syscall = [r for r in parsed.rules if r.kind == "syscall"]
    # -A went before the first exit rule; the -d removed the accept rule; comments are gone.
    assert [r.origin for r in syscall] == [f"full.rules:{n}" for n in (17, 11, 12, 18, 19, 22, 23, 24)]
    assert not any("net-user" in r.keys for r in parsed.rules)
    assert parsed.rules.index(syscall[0]) < parsed.rules.index(syscall[1])
    never_socketcall = syscall[3]
    assert (never_socketcall.action, never_socketcall.arch, never_socketcall.syscalls) == ("never", "b32", ["socketcall"])
    archless = syscall[5]
    assert archless.arch is None and archless.fields == [AuditField(name="success", op="=", value="1")]
    task, exclude = syscall[6], syscall[7]
    assert (task.rule_list, task.action, task.syscalls, task.fields) == ("task", "never", [], [])
    assert (exclude.rule_list, exclude.fields) == ("exclude", [AuditField(name="msgtype", op="=", value="CWD")])
    assert ("watch", "-w") in kinds


def test_first_bad_line_stops_loading():
    parsed = parse_file("garbage.rules")
    assert [r.keys for r in parsed.rules] == [["before"]]
    assert [str(p) for p in parsed.problems] == [
        "garbage.rules:2: parameter passed without an option given; auditctl -R stops here, so no later line is loaded"
    ]


def test_continue_flag_skips_every_line_auditctl_refuses():
    parsed = parse_file("continue.rules")
    # auditctl -R loaded exactly these two rules from this file.
    assert [r.keys for r in parsed.rules if r.kind == "syscall"] == [["before"], ["after"]]
    messages = {p.line: p.message for p in parsed.problems}
    assert sorted(messages) == list(range(4, 14))
    assert messages[4].startswith("rule exists (same as continue.rules:3)")
    assert messages[5].startswith("-F unknown field: nosuchfield")
    assert messages[6].startswith("parameter passed without an option given")  # no trailing comments
    assert "bad keyword possible,exit" in messages[7] and "bad keyword always,entry" in messages[8]
    assert messages[9].startswith("arch must be before -S")
    assert messages[11].startswith("no loaded rule matches this deletion")
    assert messages[12].startswith("key option needs a watch or syscall")
    assert messages[13].startswith("Enable must be 0, 1, or 2 was 7")
    assert all(m.endswith("(skipped: -c/-i is in effect)") for m in messages.values())


def test_nothing_changes_after_lock():
    parsed = parse_file("locked.rules")
    assert [r.text for r in parsed.rules] == ["-a always,exit -F arch=b64 -S bind -k before", "-e 2"]
    assert "locked by -e 2 at locked.rules:2" in str(parsed.problems[0])


def test_clear_all_and_clear_by_key():
    text = (
        "-a always,exit -F arch=b64 -S bind -k a\n"
        "-a always,exit -F arch=b64 -S connect -k b\n"
        "-w /etc/hosts -p wa -k a\n"
        "-D -k a\n"
    )
    assert texts(ar.parse_rules_text(text, "f", "x86_64")) == ["-a always,exit -F arch=b64 -S connect -k b", "-D -k a"]
    assert texts(ar.parse_rules_text(text + "-D\n", "f", "x86_64")) == ["-D -k a", "-D"]


@pytest.mark.parametrize(
    "line",
    [
        "-a always,exit -F arch=b64 -S bind -F auid",  # no operator
        "-a always,exit -F arch=b64 -S bind -F auid>=",  # no value
        "-a always,exit -F arch=b64 -S bind -C auid<uid",  # -C takes = or !=
        "-a always,exit -F arch=b64",  # fine without -S ...
        "-a always,exit -F arch=b64 -k nokey",  # ... but not with a key
        "-a always,task -S bind",
        "-w /etc/hosts -p z",
        "-b many",
        "-f 3",
        "--no-such-option",
        "-a always",
        "-S bind",
    ],
)
def test_refused_lines(line):
    parsed = ar.parse_rules_text(line, "f", "x86_64")
    if line == "-a always,exit -F arch=b64":
        assert parsed.problems == [] and parsed.rules[0].syscalls == ["all"]
    else:
        assert len(parsed.problems) == 1 and parsed.rules == [], line


def test_every_operator_and_attached_option_values():
    for op in ar.OPERATORS:
        rule = ar.parse_rules_text(f"-a always,exit -F arch=b64 -S bind -F a1{op}3", "f", "x86_64").rules[0]
        assert rule.fields == [AuditField(name="a1", op=op, value="0x3")]
    parsed = ar.parse_rules_text("-a always,exit -Farch=b64 -Sbind -kx\n--backlog_wait_time=5\n", "f", "x86_64")
    assert parsed.problems == [] and parsed.rules[0].keys == ["x"]
    assert parsed.rules[1].fields == [AuditField(name="backlog_wait_time", op="=", value="5")]


def test_parse_field_for_policy_expressions():
    assert ar.parse_field("auid!=4294967295") == ar.parse_field("auid!=-1") == ar.parse_field("loginuid!=unset")
    assert ar.format_field(ar.parse_field("exit=-13")) == "exit=-EACCES"
    with pytest.raises(ar.RuleError):
        ar.parse_field("colour=blue")


# ---------------------------------------------------------------- rules.d as augenrules compiles it


def test_augenrules_file_choice_and_version_order():
    names = ["99-finalize.rules", "10-base.rules", "9-early.rules", "README", "50-net.rules.bak",
             ".hidden.rules", "30-net10.rules", "30-net2.rules", "with space.rules"]
    # the order GNU `ls -1v` printed for these names
    assert ar.augenrules_files(names) == [
        "9-early.rules", "10-base.rules", "30-net2.rules", "30-net10.rules", "99-finalize.rules"
    ]


def test_compile_rules_d_moves_controls_and_keeps_origins():
    files = [
        ("/r/10-a.rules", "# comment\n-a always,exit -F arch=b64 -S bind -k a\n-e 1\n-b 100\n"),
        ("/r/20-b.rules", "-D\n\n-f 2\n-D -k a\n-b 8192\n-a always,exit -F arch=b64 -S connect -k b"),  # no final newline
        ("/r/30-c.rules", "-a always,exit -F arch=b64 -S accept -k c\n-e 2\n"),
    ]
    lines = ar.compile_rules_d(files)
    assert [(l.origin, l.text) for l in lines] == [
        ("/r/20-b.rules:1", "-D"),
        ("/r/20-b.rules:5", "-b 8192"),
        ("/r/20-b.rules:3", "-f 2"),
        ("/r/10-a.rules:2", "-a always,exit -F arch=b64 -S bind -k a"),
        ("/r/20-b.rules:4", "-D -k a"),  # -D with options stays in place
        # cat runs the file without a final newline into the next file's first line
        ("/r/20-b.rules:6", "-a always,exit -F arch=b64 -S connect -k b-a always,exit -F arch=b64 -S accept -k c"),
        ("/r/30-c.rules:2", "-e 2"),
    ]
    parsed = ar.parse_rules_file(lines, "x86_64")
    assert "/r/20-b.rules:6" in str(parsed.problems[0]) and "stops here" in str(parsed.problems[0])
    assert [r.text for r in parsed.rules] == ["-D", "-b 8192", "-f 2", "-D -k a"]


# ---------------------------------------------------------------- auditctl -s


@pytest.mark.parametrize(
    ("name", "enabled", "pid"),
    [("status.txt", 1, "612"), ("status-off.txt", 0, "0"), ("status-legacy.txt", 2, "1123")],
)
def test_status_forms(name, enabled, pid):
    status, problems = ar.parse_auditctl_status(read(name))
    assert problems == []
    assert ar.enabled_from_status(status) == enabled and status["pid"] == pid


def test_status_without_enabled_and_with_odd_lines():
    status, problems = ar.parse_auditctl_status("Error sending status request (Protocol not supported)\n")
    assert ar.enabled_from_status(status) is None
    assert len(problems) == 1
    assert ar.enabled_from_status({"enabled": "7"}) is None


# ---------------------------------------------------------------- what lbaudit cannot tell


@pytest.mark.parametrize(
    ("line", "machine", "why"),
    [
        ("-a always,exit -F arch=b64 -S bind -F uid=alice -k k", "x86_64", "getpwnam"),
        ("-a always,exit -F arch=b64 -S bind -F gid=staff -k k", "x86_64", "getgrnam"),
        ("-a always,exit -F arch=b32 -S bind -k k", None, "machine of the target host"),
        ("-a always,exit -S accept -k k", None, "only the"),
        ("-a always,exclude -F msgtype=APPARMOR_DENIED", "x86_64", "AppArmor"),
    ],
)
def test_lines_whose_fate_depends_on_the_target_are_doubts_not_verdicts(line, machine, why):
    parsed = ar.parse_rules_text(line + "\n-a always,exit -S all -k after\n", "f", machine)
    assert [p.line for p in parsed.problems] == [1] and why in parsed.problems[0].message
    assert "cannot tell" in parsed.problems[0].message
    assert [r.keys for r in parsed.rules][-1] == ["after"]  # read on as if loaded, with the doubt


def test_rules_d_that_gawk_and_mawk_compile_differently_is_a_doubt():
    files = [("/r/10-a.rules", "\t# indented\n-a always,exit -F arch=b64 -S bind -k a\n")]
    parsed = ar.parse_rules_d(files, "x86_64")
    assert [r.keys for r in parsed.rules] == [["a"]]  # gawk's reading
    assert len(parsed.problems) == 1 and "gawk and with mawk" in parsed.problems[0].message
    same = ar.parse_rules_d([("/r/10-a.rules", "# comment\n-a always,exit -F arch=b64 -S bind -k a\n")], "x86_64")
    assert same.problems == []


def test_syscalls_are_numbers_of_the_rules_own_table():
    [b64, b32, noarch] = ar.parse_rules_text(
        "-a always,exit -F arch=b64 -S bind -k a\n-a always,exit -F arch=b32 -S bind -k b\n-a always,exit -S getuid -k c\n",
        "f", "x86_64").rules
    assert (b64.syscall_table, b64.syscall_numbers) == ("x86_64", [49])
    assert (b32.syscall_table, b32.syscall_numbers) == ("i386", [361])
    assert (noarch.arch, noarch.syscall_table, noarch.syscall_numbers) == (None, "x86_64", [102])


def test_line_splitting_is_auditctls_not_pythons():
    rules = ar.parse_rules_text(
        "-a always,exit -F arch=b64 -S bind -k a\x00 trailing garbage after a NUL\n"  # strlen stops at NUL
        "-w /tmp/a\\ b -p wa -k b\n"  # backslash-space is a space inside an argument
        "-a always,exit -F arch=b64 -S connect -k c\x0b\n",  # \v is not a line end to fgets
        "f", "x86_64").rules
    assert [r.keys for r in rules] == [["a"], ["b"], ["c\x0b"]]
    assert rules[1].watch == "/tmp/a b"
