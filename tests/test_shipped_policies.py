"""The shipped policies: the schema they point editors to exists and is current, they validate
against it, corp.yaml judges drift, and ci-runner.yaml fails on a default Linux host exactly where
its header says it does, and passes once the runner is prepared as it says."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from auditor import pipeline
from auditor.cli import policy_schema
from auditor.engine.registry import load_registry
from auditor.model.facts import ProcessInfo
from auditor.policy.loader import POLICY_KIND, load_policy
from auditor.policy.yamlsafe import load_located
from auditor.resources import data_dir
from tests.factories import LINUX_DEFAULT_SYSCTLS, listener, snapshot, sysctl_facts

POLICIES = sorted(data_dir("policies").glob("*.yaml"))


@pytest.fixture(scope="module")
def registry():
    return load_registry(plugins=False)


def test_the_shipped_schema_is_the_current_one(registry):
    shipped = json.loads((data_dir("policies") / "policy.schema.json").read_text())
    assert shipped == policy_schema(registry), "regenerate: lbaudit schema policy > policies/policy.schema.json"


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_each_policy_validates_against_the_schema_it_names(path):
    first = path.read_text().splitlines()[0]
    named = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert named, first
    schema_path = path.parent / named.group(1)
    assert schema_path.is_file(), schema_path
    document = json.loads(json.dumps(load_located(path.read_text(), POLICY_KIND).value, default=str))  # dates as YAML text
    errors = [e.message for e in jsonschema.Draft202012Validator(json.loads(schema_path.read_text())).iter_errors(document)]
    assert errors == []


def test_corp_judges_sysctl_and_audit_rule_drift(registry):
    checks = {r.check for r in load_policy(data_dir("policies") / "corp.yaml", registry).rules if r.enabled}
    assert {"drift.sysctl", "drift.audit_rules"} <= checks


def _ci_runner_statuses(registry, port_range: str) -> dict[str, set[str]]:
    policy = load_policy(data_dir("policies") / "ci-runner.yaml", registry)
    sshd = [ProcessInfo(pid=1, name="sshd")]
    snap = snapshot(listeners=[listener("0.0.0.0", 22, processes=sshd), listener("127.0.0.1", 631)],
                    sysctl=sysctl_facts({**LINUX_DEFAULT_SYSCTLS, "net.ipv4.ip_local_port_range": port_range}),
                    audit=None)
    from datetime import date

    evidence = pipeline.assess(policy, snap, registry, today=date(2026, 11, 27))
    statuses: dict[str, set[str]] = {}
    for finding in evidence.result.findings:
        statuses.setdefault(finding.rule_id, set()).add(finding.status.value)
    return statuses


def test_ci_runner_fails_on_the_default_pool_where_its_header_says(registry):
    statuses = _ci_runner_statuses(registry, "32768\t60999")
    assert statuses["wide-ephemeral-pool"] >= {"fail"}
    assert statuses["outbound-capacity"] >= {"fail"}
    assert statuses["listeners-loopback-only"] == {"pass"}  # sshd on 22 is named; loopback needs nothing
    prepared = _ci_runner_statuses(registry, "15000\t64999")
    assert "fail" not in prepared["wide-ephemeral-pool"]
    assert "fail" not in prepared["outbound-capacity"]
