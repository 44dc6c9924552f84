"""drift.audit_rules finds the always/never pairs held in the other order in time linear in the rules.

On the lists where the first matching rule decides, each rule was compared with every rule after it
at boot to find those the kernel holds before it: a host whose 10,000 rules are loaded exactly as
the boot loads them (no finding to make; 20,000 rules in all is the fleet's limit) took 40 s, and
4,000 took 6 s.  The later rules the kernel holds first are now found by bisection in the kernel's
order of the later rules of each action; the findings, and their order, are the same as asking
every pair (the property test checks that against the pairwise search).
"""

from __future__ import annotations

import random
import time

import pytest

from auditor.checks.drift_audit_rules import _order_outcomes, _unique
from auditor.model.facts import AuditRule

SOCKET_CALLS = ["bind", "connect", "accept", "accept4", "listen", "socket", "sendto", "sendmsg"]


def rule(number: int, action: str, arch: str | None = "b64", syscall: str | None = None, rule_list: str = "exit"):
    syscall = syscall or SOCKET_CALLS[number % len(SOCKET_CALLS)]
    arch_text = f" -F arch={arch}" if arch else ""
    return AuditRule(text=f"-a {action},{rule_list}{arch_text} -S {syscall} -F auid={number}",
                     origin=f"/etc/audit/rules.d/50-net.rules:{number + 1}", kind="syscall", rule_list=rule_list,
                     action=action, arch=arch, syscalls=[syscall], fields=[{"name": "auid", "op": "=", "value": str(number)}])


@pytest.mark.slow
def test_ten_thousand_rules_in_the_boots_order_are_compared_in_seconds():
    rules = [rule(n, "always" if n % 3 else "never") for n in range(10_000)]
    loaded = list(rules)
    loaded.insert(0, loaded.pop(5_001))  # one never rule held ahead of every rule the boot loads first
    started = time.process_time()
    outcomes = _order_outcomes(loaded, rules)
    took = time.process_time() - started
    assert took < 5, f"comparing the order of 10,000 rules took {took:.1f} s"
    # the always rules loaded before it at boot that may match the same call (the same syscall: every 8th)
    moved = rules[5_001]
    expected = [r.text for r in rules[:5_001] if r.action == "always" and r.syscalls == moved.syscalls]
    assert len(expected) == 417
    assert [o.observed["loaded_order"] for o in outcomes] == [[moved.text, text] for text in expected]


def pairwise(loaded_rules: list[AuditRule], persistent_rules: list[AuditRule]) -> list[list[str]]:
    """The evidence of each finding, as asking every pair finds them (what the check did before)."""
    from auditor.checks.drift_audit_rules import _FIRST_MATCH_LISTS, _may_overlap

    found = []
    for rule_list in _FIRST_MATCH_LISTS:
        loaded = {k: v for k, v in _unique(loaded_rules).items() if v[1].rule_list == rule_list}
        persistent = {k: v for k, v in _unique(persistent_rules).items() if v[1].rule_list == rule_list}
        common = sorted(set(loaded) & set(persistent), key=lambda k: persistent[k][0])
        for i, earlier in enumerate(common):
            for later in common[i + 1:]:
                first, second = persistent[earlier][1], persistent[later][1]
                if loaded[earlier][0] < loaded[later][0] or first.action == second.action:
                    continue
                if _may_overlap(first, second):
                    found.append([f"/facts/audit/loaded_rules/{loaded[later][0]}",
                                  f"/facts/audit/loaded_rules/{loaded[earlier][0]}",
                                  f"/facts/audit/persistent_rules/{persistent[earlier][0]}",
                                  f"/facts/audit/persistent_rules/{persistent[later][0]}"])
    return found


def test_the_bisection_finds_what_asking_every_pair_finds():
    chance = random.Random(19)
    for _trial in range(400):
        pool = [rule(n, chance.choice(["always", "never"]), chance.choice(["b64", "b32", None]),
                     chance.choice(SOCKET_CALLS[:3]), chance.choice(["exit", "task", "exclude"]))
                for n in range(chance.randrange(1, 30))]
        persistent = chance.sample(pool, chance.randrange(len(pool) + 1)) + chance.choices(pool, k=chance.randrange(3))
        loaded = chance.sample(pool, chance.randrange(len(pool) + 1))
        expected = pairwise(loaded, persistent)
        assert [o.evidence for o in _order_outcomes(loaded, persistent)] == expected, (loaded, persistent)
