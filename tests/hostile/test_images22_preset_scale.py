"""Hostile preset files: thousands of rules against thousands of unit names.

Before: each unit name of an image was matched against the preset rules one fnmatch() call at a
time, in Python: 5,000 glob rules x 5,000 units took 32 s of one collection, and a preset file has
no bound on its lines (100,000 rules x 10,000 units: most of an hour).  Now the glob rules are
matched in combined patterns, the rest by lookup, with the same first-rule-wins result.
"""

from __future__ import annotations

import time

from auditor.collect.systemd_sockets import PresetRule, parse_preset_file, preset_for, preset_matcher


def test_many_rules_against_many_units_are_matched_in_bounded_time() -> None:
    rules = parse_preset_file("".join(f"disable u{i}-*.service\n" for i in range(5000)) + "enable *.socket\n", "/p")
    match = preset_matcher(rules)
    started = time.monotonic()
    results = [match(f"x{i}.socket") for i in range(5000)]
    assert time.monotonic() - started < 10
    assert all(rule == rules[-1] for rule, _ in results)
    assert match("u4999-a.service") == (rules[4999], ())


def test_the_first_matching_rule_wins_whatever_its_kind() -> None:
    rules = parse_preset_file("disable web@blue.socket\nenable w*\nenable web@.socket a b\n"
                              "disable exact.socket\n", "/p")
    assert preset_for(rules, "web@.socket") == (rules[1], ())  # a rule for an instance is no rule for the template
    assert preset_for(rules, "web@blue.socket") == (rules[0], ())
    assert preset_for(rules, "exact.socket") == (rules[3], ())
    assert preset_for(rules, "other.socket") == (None, ())
    assert preset_for([PresetRule("enable", "[", (), "/p:1")], "[") == (PresetRule("enable", "[", (), "/p:1"), ())
