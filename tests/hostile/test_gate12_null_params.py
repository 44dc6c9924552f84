"""A param written as null where nothing the policy extends sets it is exit 2 at its line.

Null is read as leaving the key out, and for a param whose default is null that is the check's
default: ``max_fin_timeout`` not judged, ``drift.sysctl``'s ``keys`` every sysctl.  So
``min_max_tw_buckets:`` with nothing after it (a template whose variable was empty) loaded, the
threshold its reader approved was never judged, and the gate passed (exit 0) a host whose
tcp_max_tw_buckets is far below it.  As for the top-level keys (test_policy10_written_nulls.py) and
the selectors of an exception (test_policy_null_selectors.py).  Over a value a parent sets, null
gives the param back its default (test_policy_unused_params.py) and stays accepted.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import snapshot, sysctl_facts

HEAD = 'id: nulls\nversion: "1"\nowner: T\n'
RULE = "rules:\n  - id: tw\n    check: net.time_wait\n    params:\n      max_fin_timeout: 60\n      min_max_tw_buckets:{value}\n"


def _snapshot(tmp_path: Path) -> Path:
    """A host whose tcp_max_tw_buckets (1,000) is far below the 262,144 the policy means."""
    facts = snapshot(sysctl=sysctl_facts(net__ipv4__tcp_max_tw_buckets="1000", net__ipv4__tcp_fin_timeout="60"))
    path = tmp_path / "s.json"
    path.write_bytes(snapshot_bytes(facts))
    return path


def _evaluate(tmp_path: Path, policy: Path):
    evidence = tmp_path / "e.json"
    return run_cli("evaluate", "--no-plugins", "--policy", policy, "--snapshot", _snapshot(tmp_path), "-o", evidence,
                   "-q"), evidence


def test_control_case_the_threshold_written_fails_the_host(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text(HEAD + RULE.format(value=" 262144"), encoding="utf-8")
    run, evidence = _evaluate(tmp_path, policy)
    assert run.returncode == 1, run.stderr
    failed = [f["subject"] for f in json.loads(evidence.read_bytes())["result"]["findings"] if f["status"] == "fail"]
    assert failed == ["sysctl net.ipv4.tcp_max_tw_buckets"]


def test_a_threshold_written_as_null_is_exit_2_at_its_line_not_a_pass(tmp_path: Path):
    for empty in ("", " ~", " null"):
        policy = tmp_path / "p.yaml"
        policy.write_text(HEAD + RULE.format(value=empty), encoding="utf-8")
        checked = run_cli("validate", "--no-plugins", policy)
        assert checked.returncode == 2, (empty, checked.stdout)
        assert (f"{policy}:9:7: rules[0].params.min_max_tw_buckets: null, which is read as leaving the key out (the "
                "default of net.time_wait: min_max_tw_buckets not set); write the value meant, or leave the key out"
                ) in checked.stderr
        run, evidence = _evaluate(tmp_path, policy)
        assert run.returncode == 2  # on main: exit 0, compliant
        assert not evidence.exists()


def test_a_null_in_a_child_over_nothing_inherited_is_exit_2_in_the_child(tmp_path: Path):
    (tmp_path / "base.yaml").write_text(HEAD + "rules:\n  - id: d\n    check: drift.sysctl\n", encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text('id: child\nversion: "1"\nowner: T\nextends: base.yaml\nrules:\n  - id: d\n    params:\n'
                     "      keys:\n", encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", child)
    assert checked.returncode == 2
    assert f"{child}:8:7: rules[0].params.keys: null, which is read as leaving the key out" in checked.stderr


def test_control_case_a_child_giving_an_inherited_param_its_default_loads(tmp_path: Path):
    (tmp_path / "base.yaml").write_text(HEAD + RULE.format(value=" 262144"), encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text('id: child\nversion: "1"\nowner: T\nextends: base.yaml\nrules:\n  - id: tw\n    params:\n'
                     "      min_max_tw_buckets: null\n", encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", child)
    assert checked.returncode == 0, checked.stderr
