"""A rule's failure in code scanning has the security severity of its own rule, not of another rule of its check.

The defect: SARIF has one reporting descriptor per check, and its ``security-severity`` was that of
the highest-severity enabled rule of the check.  Code scanning ranks a security alert by its
descriptor's ``security-severity`` alone (the result's ``level`` is not consulted), so with two
rules of one check, one high and one low, the low rule's failures were "High" alerts, and failed a
pull request's code scanning check (which fails on high and above by default), whatever the
evidence said of their severity.  Now a descriptor whose check the policy's enabled rules give more
than one severity has no ``security-severity``: code scanning shows each alert by its result's
``level`` (error, warning, note), the finding's own severity.  A check of one severity keeps it.
"""

from __future__ import annotations

import json

from auditor.model.result import Severity, Status
from auditor.report.sarif import render_sarif
from tests.evidence_fixtures import make_policy
from tests.hostile.test_renderings import context_of, evidence_for, only
from tests.report.conftest import sarif_validator as sarif_validator  # noqa: F401 - the fixture, used by name


def _two_severities():
    policy = only(make_policy(), "wildcard-listeners")
    [high] = policy.rules
    low = high.model_copy(update={"id": "wildcard-listeners-low", "severity": Severity.LOW})
    return policy.model_copy(update={"rules": [high.model_copy(update={"severity": Severity.HIGH}), low]})


def test_a_low_rule_beside_a_high_one_of_its_check_is_no_high_alert(sarif_validator):
    evidence = evidence_for(_two_severities())
    log = json.loads(render_sarif(evidence, context_of(evidence)))
    assert list(sarif_validator.iter_errors(log)) == []
    run = log["runs"][0]
    low = [r for r in run["results"] if r["properties"]["policyRule"] == "wildcard-listeners-low"
           and r["properties"]["status"] == Status.FAIL.value]
    assert low and {r["level"] for r in low} == {"note"}
    descriptor = run["tool"]["driver"]["rules"][low[0]["ruleIndex"]]
    # the rank code scanning gives every alert of the descriptor: none that is "High" for a low finding
    assert "security-severity" not in descriptor["properties"]


def test_a_check_of_one_severity_keeps_its_security_severity():
    evidence = evidence_for(only(make_policy(), "wildcard-listeners"))
    log = json.loads(render_sarif(evidence, context_of(evidence)))
    [descriptor] = log["runs"][0]["tool"]["driver"]["rules"]
    assert descriptor["properties"]["security-severity"] == "8.0"
