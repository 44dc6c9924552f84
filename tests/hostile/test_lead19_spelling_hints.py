""""Did you mean" hints cost a bounded number of comparisons for a whole policy.

Each waiver naming a rule the policy does not have is told so with the nearest rule id, which
difflib found by comparing the wrong name with every rule id at a cost that grows with both
lengths: a policy of 1,500 rules with 70-character ids and 1,100 waivers naming none of them ran
``validate`` for over ten minutes (quadratic19 stopped it).  Now a policy's hints share a budget of
comparisons (auditor.spelling): the first wrong names get their hint, the rest are refused without
one, and every problem is still reported, in the same order.
"""

from __future__ import annotations

import time

from auditor.spelling import MAX_COMPARISONS, closest, hint_budget
from tests.cli import run_cli

RULES = 1_500
WAIVERS = 1_100


def _rule_id(number: int) -> str:
    return f"corp-network-listener-exposure-review-for-service-number-{number:06d}-x"


def test_many_waivers_of_unknown_rules_among_many_rules_validate_in_seconds(tmp_path):
    rules = "".join(f"  - {{id: {_rule_id(n)}, check: net.bind_addresses}}\n" for n in range(RULES))
    waivers = "".join(f"  - {{rule: {_rule_id(n)}y, subject: 'tcp 0.0.0.0:{n} *', reason: CHG-{n} reviewed, "
                      f"approver: Jane Doe, expires: 2099-01-01}}\n" for n in range(WAIVERS))
    policy = tmp_path / "p.yaml"
    policy.write_text(f'id: hints\nversion: "1"\nowner: Sec\nrules:\n{rules}waivers:\n{waivers}')
    started = time.monotonic()
    run = run_cli("validate", policy)
    took = time.monotonic() - started
    said = run.stdout + run.stderr
    assert run.returncode == 2, said
    # The first waivers are hinted at their rule; every waiver's problem is reported.
    assert f"did you mean {_rule_id(0)!r}?" in said, said[:2000]
    assert "waivers[0]" in said
    assert took < 60, f"validate took {took:.0f} s"


def test_within_a_budget_the_first_names_get_hints_and_the_same_name_costs_nothing_again():
    choices = [f"rule-{n:04d}" for n in range(1_000)]
    with hint_budget(2_500):
        assert closest("rule-0001x", choices) == "rule-0001"
        assert closest("rule-0002x", choices) == "rule-0002"
        assert closest("rule-0001x", choices) == "rule-0001"  # answered before: no comparison
        assert closest("rule-0003x", choices) is None  # 2,000 spent, 1,000 more are not left
        assert closest("RULE-0004", choices) == "rule-0004"  # the same name in another case needs no difflib
    assert closest("rule-0003x", choices) == "rule-0003"  # outside a budget: as before
    assert MAX_COMPARISONS >= 10_000  # room for every hint a validation shows (at most 100 problems)


def test_a_name_longer_than_any_known_one_is_compared_with_nothing():
    assert closest("net." + "x" * 300, ["net.ipv4.ip_local_port_range"]) is None
