"""The policy schema (``lbaudit schema policy``, policies/policy.schema.json, which editors check a
policy against as it is written) against the loader (what ``lbaudit validate`` runs).

Before: the schema accepted policies the loader refuses, on two points the schema can say exactly:

* a rule's ``controls`` were any strings: ``controls: [SC-07]``, ``[sc-7]`` or a withdrawn control
  (``SC-30(1)`` is not in lbaudit's control data) showed no error in the editor, and ``lbaudit
  validate`` then refused the policy as naming an unknown NIST SP 800-53 Rev. 5 control;
* ``extends``, a rule's ``check``, ``title``, ``severity`` and ``platforms`` and a waiver's
  ``subject`` took null (the schema's ``anyOf [..., null]``), where the loader refuses a written
  null for each as "read as leaving the key out" (a template's empty variable).

Now the schema lists the catalog's control ids and takes no null for those keys, and a policy
passes the one exactly where (on these keys) it passes the other.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from auditor.catalog import load_catalog
from auditor.engine.registry import load_registry
from auditor.policy.loader import inspect_policy

ROOT = Path(__file__).resolve().parents[2]


def _lbaudit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from auditor.entry import main; main()", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    result = _lbaudit("schema", "policy")
    assert result.returncode == 0, result.stderr
    return jsonschema.Draft202012Validator(json.loads(result.stdout))


def _policy(rule: dict | None = None, **top: object) -> dict:
    document: dict = {"id": "t", "version": "1", "owner": "Security <sec@example.com>",
                      "rules": [{"id": "r", "check": "net.time_wait", "params": {"max_fin_timeout": 60}, **(rule or {})}]}
    document.update(top)
    return document


def _loader_accepts(tmp_path: Path, document: dict) -> tuple[bool, str]:
    """What ``lbaudit validate`` decides (its own function, in this process: a run each was slow)."""
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(document))  # JSON is YAML
    report = inspect_policy(path, load_registry(plugins=False))
    return report.policy is not None, "; ".join(problem.message for problem in report.problems)


WAIVER = {"rule": "r", "reason": "accepted", "approver": "Alice", "expires": "2099-01-01"}

CASES = {
    "a control id the catalog has": _policy({"controls": ["SC-7(5)", "AU-9"]}),
    "a zero-padded control id": _policy({"controls": ["SC-07"]}),
    "a control id in lower case": _policy({"controls": ["sc-7"]}),
    "a withdrawn control": _policy({"controls": ["SC-30(1)"]}),
    "a control of another catalog": _policy({"controls": ["A.8.20"]}),
    "check null": _policy({"check": None}),
    "title null": _policy({"title": None}),
    "severity null": _policy({"severity": None}),
    "platforms null": _policy({"platforms": None}),
    "extends null": _policy(extends=None),
    "waiver subject null": _policy(waivers=[{**WAIVER, "subject": None}]),
    "waiver subject written": _policy(waivers=[{**WAIVER, "subject": "net.ipv4.tcp_fin_timeout"}]),
}


@pytest.mark.parametrize("name", CASES)
def test_schema_and_loader_agree(name, validator, tmp_path):
    document = CASES[name]
    schema_errors = [error.message for error in validator.iter_errors(document)]
    accepted, said = _loader_accepts(tmp_path, document)
    assert (not schema_errors) == accepted, (
        f"{name}: the schema {'accepts' if not schema_errors else 'refuses (' + schema_errors[0] + ')'}, "
        f"the loader {'accepts' if accepted else 'refuses'}: {said}")


def test_every_catalog_control_is_accepted_by_both(validator, tmp_path):
    ids = sorted(load_catalog().controls)
    document = _policy({"controls": ids})
    assert not list(validator.iter_errors(document))
    accepted, said = _loader_accepts(tmp_path, document)
    assert accepted, said
