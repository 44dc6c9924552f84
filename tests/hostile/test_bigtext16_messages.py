"""Messages built from input, bounded where every message is printed.

A message quotes what it refuses: a snapshot's key, a policy's value, a command line's argument, a
path.  ``lbaudit evaluate --snapshot S`` where S holds a key of a megabyte printed that megabyte on
standard error (a terminal, a CI log), and a policy of 10,000 list items that are no rules listed
10,001 problems.  Now every message a command ends with, every warning and every problem ``validate``
lists goes through :func:`auditor.text.terminal_lines`, which cuts each line at
``MAX_MESSAGE_LINE_CHARS`` and the message at ``MAX_REPORT_TEXT_CHARS`` characters (the cut reports
use) with a marker saying how much was not shown, and shows control and bidi characters as escapes;
and a message lists at most ``MAX_LISTED_PROBLEMS`` problems, then says how many more there are.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.errors import MAX_LISTED_PROBLEMS
from auditor.storage.snapshot import write_snapshot
from auditor.text import MAX_MESSAGE_LINE_CHARS, MAX_REPORT_TEXT_CHARS, terminal_lines
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

USAGE = 2
MEGABYTE = 1_000_000


def _cut(line: str) -> str:
    """``line`` as a message shows it: its first MAX_MESSAGE_LINE_CHARS characters and the marker."""
    rest = len(line) - MAX_MESSAGE_LINE_CHARS
    return f"{line[:MAX_MESSAGE_LINE_CHARS]}\u2026 ({rest:,} more characters and 0 more lines not shown)"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(loopback_only_policy("big"))
    return path


@pytest.fixture
def snapshot_path(tmp_path: Path) -> Path:
    path = tmp_path / "snap.json"
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), path)
    return path


def test_a_snapshot_key_of_a_megabyte_is_cut_in_the_error(tmp_path: Path, policy: Path, snapshot_path: Path):
    document = json.loads(snapshot_path.read_text(encoding="utf-8"))
    document["k" * MEGABYTE] = 1
    hostile = tmp_path / "bigkey.json"
    hostile.write_text(json.dumps(document), encoding="utf-8")

    result = run_cli("evaluate", "--policy", policy, "--snapshot", hostile, "-o", tmp_path / "e.json", "-q")

    assert result.returncode == USAGE
    assert result.stdout == ""
    problem = f"  {hostile}: /{'k' * MEGABYTE}: Extra inputs are not permitted"
    assert result.stderr == (f"lbaudit: {hostile}: invalid snapshot (1 problem(s))\n{_cut(problem)}\n")
    assert len(result.stderr) < MAX_MESSAGE_LINE_CHARS + 200
    assert not (tmp_path / "e.json").exists()


def _policy_of_problems(path: Path, items: int) -> Path:
    # every item of rules a number, no rule: one problem each, and one more for the unknown key
    text = loopback_only_policy("many").replace("rules:\n", f"rules: [{', '.join(['1'] * items)}]\nunknown:\n", 1)
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_lists_a_bounded_number_of_10000_problems_and_counts_the_rest(tmp_path: Path):
    hostile = _policy_of_problems(tmp_path / "many.yaml", 10_000)

    result = run_cli("validate", hostile)

    assert result.returncode == USAGE
    lines = result.stderr.splitlines()
    assert lines[0] == f"{hostile}: invalid policy (10001 problems, 0 warnings)"
    assert lines[1] == f"  {hostile}:5:9: rules[0]: expected a mapping; found 1"
    assert lines[MAX_LISTED_PROBLEMS] == f"  {hostile}:5:{9 + 3 * (MAX_LISTED_PROBLEMS - 1)}: " \
                                         f"rules[{MAX_LISTED_PROBLEMS - 1}]: expected a mapping; found 1"
    assert lines[MAX_LISTED_PROBLEMS + 1:] == [f"  ... and {10_001 - MAX_LISTED_PROBLEMS:,} more problems not shown"]


def test_evaluate_lists_a_bounded_number_of_10000_problems_and_counts_the_rest(tmp_path: Path, snapshot_path: Path):
    hostile = _policy_of_problems(tmp_path / "many.yaml", 10_000)

    result = run_cli("evaluate", "--policy", hostile, "--snapshot", snapshot_path, "-o", tmp_path / "e.json", "-q")

    assert result.returncode == USAGE
    lines = result.stderr.splitlines()
    assert lines[0] == f"lbaudit: {hostile}: invalid policy"
    assert len(lines) == 1 + MAX_LISTED_PROBLEMS + 1
    assert lines[-1] == f"  ... and {10_001 - MAX_LISTED_PROBLEMS:,} more problems not shown"
    assert not (tmp_path / "e.json").exists()


def test_a_command_line_argument_of_a_megabyte_is_cut_in_the_usage_error():
    value = "\x1b[2J\rhigh" + "x" * MEGABYTE

    result = run_cli("evaluate", "--fail-on", value)

    assert result.returncode == USAGE
    *usage, message = result.stderr.rstrip("\n").split("\n")
    assert usage == ["Usage: lbaudit evaluate [OPTIONS]", "Try 'lbaudit evaluate --help' for help.", ""]
    # click quotes the value with repr(): the escapes are its, and the cut counts the quoted text
    said = f"Error: Invalid value for '--fail-on': {value!r} is not one of 'info', 'low', 'medium', 'high', 'critical'."
    assert message == _cut(said)
    assert "\x1b" not in result.stderr and "\r" not in result.stderr


UNKNOWN_KEY = "(expected one of: description, extends, id, inherit_waivers, owner, rules, version, waivers)"


@pytest.mark.parametrize("key, said", [
    ("\\e[2J", "control character '\\x1b' in a string"),
    ("a\\rverdict: COMPLIANT", f"policy: unknown key 'a\\rverdict: COMPLIANT' {UNKNOWN_KEY}"),
    ("a\\u202eb", f"policy: unknown key 'a\\u202eb' {UNKNOWN_KEY}"),
])
def test_control_characters_in_a_policy_key_reach_the_terminal_as_escapes(tmp_path: Path, key: str, said: str):
    # a guard: these were escaped before, and must stay so now that the message is cut
    hostile = tmp_path / "key.yaml"
    hostile.write_text(loopback_only_policy("ctl") + f'"{key}": 1\n', encoding="utf-8")

    result = run_cli("validate", hostile)

    assert result.returncode == USAGE
    assert result.stderr.splitlines()[1:] == [f"  {hostile}:10:1: {said}"]


def test_a_message_of_a_million_lines_is_cut_as_a_whole():
    text = "ab\n" * MEGABYTE

    shown = terminal_lines(text)

    kept = (MAX_REPORT_TEXT_CHARS + 1) // 3  # "ab" and the line feed before each but the first
    assert shown.split("\n")[:-1] == ["ab"] * kept
    rest = text[3 * kept:]
    assert shown.split("\n")[-1] == f"\u2026 ({len(rest):,} more characters and {MEGABYTE - kept + 1:,} more lines not shown)"


def test_evaluate_warns_of_a_bounded_number_of_1500_expired_waivers_and_counts_the_rest(tmp_path: Path,
                                                                                       snapshot_path: Path):
    # each waiver expired: a warning each, 1,500 in all (a placeholder reason is refused, not warned of)
    waivers = "".join(f"  - {{rule: loopback-only, subject: 's{i}', reason: accepted, approver: me, expires: 2020-01-01}}\n"
                      for i in range(1500))
    hostile = tmp_path / "waivers.yaml"
    hostile.write_text(loopback_only_policy("warned") + "waivers:\n" + waivers, encoding="utf-8")

    result = run_cli("evaluate", "--policy", hostile, "--snapshot", snapshot_path, "-o", tmp_path / "e.json")

    assert result.returncode == 1  # the listener on 0.0.0.0 fails, whatever the warnings
    lines = result.stderr.splitlines()
    assert len(lines) == MAX_LISTED_PROBLEMS + 1
    assert lines[0].startswith(f"lbaudit: warning: {hostile}:11:5: waivers[0] (loopback-only): expired on 2020-01-01 (")
    assert lines[-1] == (f"lbaudit: warning: ... and {1500 - MAX_LISTED_PROBLEMS:,} more warnings not shown "
                         "(lbaudit validate counts them)")

    validated = run_cli("validate", hostile)

    assert (validated.returncode, validated.stderr) == (0, "")  # warnings: the policy is valid
    listed = validated.stdout.splitlines()
    assert listed[0] == f"{hostile}: ok (warned 1: 1 enabled rules, 1500 waivers, 1500 warnings)"
    assert len(listed) == 1 + MAX_LISTED_PROBLEMS + 1
    assert listed[-1] == f"  ... and {1500 - MAX_LISTED_PROBLEMS:,} more warnings not shown"


def test_show_cuts_an_evidence_problem_quoting_a_rule_id_of_a_megabyte(tmp_path: Path, policy: Path,
                                                                       snapshot_path: Path):
    evidence = tmp_path / "e.json"
    assert run_cli("evaluate", "--policy", policy, "--snapshot", snapshot_path, "-o", evidence, "-q").returncode == 1
    document = json.loads(evidence.read_text(encoding="utf-8"))
    rule_id = "\u202e" + "r" * MEGABYTE
    document["result"]["findings"][0]["rule_id"] = rule_id
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document), encoding="utf-8")

    result = run_cli("show", edited)

    assert (result.returncode, result.stdout) == (USAGE, "")
    quoted = f"  {edited}: /result/findings/0/rule_id: {rule_id!r} is no enabled rule of the recorded policy"
    assert _cut(quoted) in result.stderr.splitlines()
    assert "\u202e" not in result.stderr
    # the megabyte is quoted (cut) on its own problem's line only; the other problems that name the
    # rule (the controls listing it) quote it within a name's bound: a few short lines, whatever its size
    assert sum(len(line) > 1_000 for line in result.stderr.splitlines()) == 1
    assert len(result.stderr) < MAX_MESSAGE_LINE_CHARS + 5_000
