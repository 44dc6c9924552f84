"""A policy must not grant an exception or a waiver without a reason.

``lbaudit init --from-host`` writes one listener exception for each listener the host exposes
beyond loopback, each with ``reason: TODO``.  ``validate`` and ``evaluate`` took such a policy as
it stood, with a warning on stderr: the exceptions allowed everything the host exposed when init
ran, and the next ``evaluate`` passed it (exit 0).  The same held for a waiver whose reason or
approver was a placeholder (``TODO``, ``TBD``, ``-``, ``n/a``): the failure it named was waived
with nobody accountable and nothing written.

Now a reason or approver that is a placeholder is a problem at its place (exit 2, nothing
written): the exception or waiver is not granted until it is written.  ``init`` still writes its
draft, and says that validate and evaluate refuse it until each reason is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.commands.init import policy_text
from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import evaluate_snapshot, run_cli
from tests.factories import listener, snapshot, sysctl_facts

SSHD = [ProcessInfo(pid=10, name="sshd", exe="/usr/sbin/sshd", user="root")]


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """sshd on every IPv4 address: beyond loopback, so init writes an exception for it."""
    path = tmp_path / "host.snapshot.json"
    path.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 22, processes=SSHD)],
                                             sysctl=sysctl_facts())))
    return path


def _init_policy(host: Path) -> str:
    from auditor.storage.snapshot import load_snapshot

    return policy_text(load_snapshot(host), "2026.11.29")


def test_the_policy_init_writes_is_refused_by_evaluate_until_its_reasons_are_written(tmp_path, host):
    """On main: exit 0, sshd on 0.0.0.0:22 passing under the TODO exception, a warning on stderr."""
    text = _init_policy(host)
    line = next(number for number, content in enumerate(text.splitlines(), start=1) if content.startswith("          reason: TODO"))
    run, evidence = evaluate_snapshot(tmp_path, text, host)
    assert run.returncode == 2, run.stdout + run.stderr
    assert (f"policy.yaml:{line}:11: rules[0].params.exceptions[0].reason: 'TODO' is a placeholder, not a reason, "
            "so this exception is not granted; write why the listeners it matches must be reachable at what its "
            "allow names") in run.stderr
    assert not evidence.exists()

    # once the reason is written, the same policy passes the host it was written from
    written = text.replace("          reason: TODO", "          reason: SSH for the bastion, CHG-42")
    run, evidence = evaluate_snapshot(tmp_path, written, host)
    assert run.returncode == 3, run.stdout + run.stderr  # incomplete: the snapshot holds no audit rules
    statuses = {f["subject"]: f["status"] for f in json.loads(evidence.read_bytes())["result"]["findings"]
                if f["rule_id"] == "listeners"}
    assert list(statuses.values()) == ["pass"], statuses


def test_validate_refuses_a_todo_exception_reason(tmp_path, host):
    """On main: exit 0 with "warning: ... the reason is still TODO"."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(_init_policy(host), encoding="utf-8")
    run = run_cli("validate", "--no-plugins", policy)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "invalid policy (1 problem" in run.stderr
    assert "rules[0].params.exceptions[0].reason: 'TODO' is a placeholder, not a reason" in run.stderr


WAIVED = """id: w
version: "1"
owner: T
rules:
  - id: listeners
    check: net.bind_addresses
waivers:
  - rule: listeners
    subject: "tcp 0.0.0.0:22 *"
    reason: {reason}
    approver: {approver}
    expires: 2099-01-01
"""


@pytest.mark.parametrize(("reason", "approver", "said"), [
    ("TODO", "Jane Doe", "waivers[0].reason: 'TODO' is a placeholder, not a reason, so this waiver is not granted; "
                         "write why the findings it names are accepted until it expires"),
    ('"todo: ask the web team"', "Jane Doe", "waivers[0].reason: 'todo: ask the web team' is a placeholder"),
    ("TBD", "Jane Doe", "waivers[0].reason: 'TBD' is a placeholder"),
    ('"-"', "Jane Doe", "waivers[0].reason: '-' is a placeholder"),
    ('"n/a"', "Jane Doe", "waivers[0].reason: 'n/a' is a placeholder"),
    ("Bastion until CHG-42", "TODO", "waivers[0].approver: 'TODO' is a placeholder, not a name, so this waiver is "
                                     "not granted; write who approved it"),
    ("Bastion until CHG-42", '"?"', "waivers[0].approver: '?' is a placeholder"),
])
def test_a_waiver_with_a_placeholder_reason_or_approver_is_refused(tmp_path, host, reason, approver, said):
    """On main: exit 0, the failing sshd finding waived."""
    run, evidence = evaluate_snapshot(tmp_path, WAIVED.format(reason=reason, approver=approver), host)
    assert run.returncode == 2, run.stdout + run.stderr
    assert said in run.stderr
    assert not evidence.exists()


def test_control_case_a_written_waiver_is_honoured(tmp_path, host):
    run, evidence = evaluate_snapshot(tmp_path, WAIVED.format(reason="Bastion until CHG-42", approver="Jane Doe"), host)
    assert run.returncode == 0, run.stdout + run.stderr
    statuses = [f["status"] for f in json.loads(evidence.read_bytes())["result"]["findings"] if f["rule_id"] == "listeners"]
    assert statuses == ["waived"]


def test_a_placeholder_in_a_waivers_file_is_refused(tmp_path, host):
    policy = tmp_path / "policy.yaml"
    policy.write_text(WAIVED.split("waivers:")[0], encoding="utf-8")
    waivers = tmp_path / "w.yaml"
    waivers.write_text('waivers:\n  - rule: listeners\n    subject: "tcp 0.0.0.0:22 *"\n    reason: FIXME\n'
                       "    approver: Jane Doe\n    expires: 2099-01-01\n", encoding="utf-8")
    run = run_cli("validate", "--no-plugins", policy, "--waivers", waivers)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "w.yaml:4:5: waivers[0].reason: 'FIXME' is a placeholder, not a reason" in run.stderr


@pytest.mark.parametrize("reason", ["TODOS app needs it", "Todoist sync", "Needed by backups; TODO review in Q3",
                                    "N/A-to-B bridge"])
def test_a_reason_that_only_holds_a_placeholder_word_is_a_reason(tmp_path, host, reason):
    run, _ = evaluate_snapshot(tmp_path, WAIVED.format(reason=json.dumps(reason), approver="Jane Doe"), host)
    assert run.returncode == 0, run.stdout + run.stderr


PARENT = """id: parent
version: "1"
owner: T
rules:
  - id: listeners
    check: net.bind_addresses
    params:
      exceptions:
        - match: {process: sshd, ports: [22]}
          allow: [any]
          reason: TODO
"""


def test_a_parents_todo_exception_that_applies_is_refused_at_its_line(tmp_path):
    (tmp_path / "parent.yaml").write_text(PARENT, encoding="utf-8")
    (tmp_path / "child.yaml").write_text('id: child\nversion: "1"\nowner: T\nextends: parent.yaml\nrules:\n'
                                         "  - id: listeners\n    params: {allow: [loopback, private]}\n", encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "child.yaml", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert ("parent.yaml:11:11: rules[0].params.exceptions[0].reason: 'TODO' is a placeholder, not a reason"
            in run.stderr)


def test_a_parents_todo_exceptions_a_child_replaces_grant_nothing_and_are_not_refused(tmp_path):
    (tmp_path / "parent.yaml").write_text(PARENT, encoding="utf-8")
    (tmp_path / "child.yaml").write_text('id: child\nversion: "1"\nowner: T\nextends: parent.yaml\nrules:\n'
                                         "  - id: listeners\n    params:\n      exceptions:\n"
                                         "        - match: {process: sshd, ports: [22]}\n          allow: [private]\n"
                                         "          reason: Bastion, CHG-42\n", encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "child.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == "child.yaml: ok (child 1: 1 enabled rules, 0 waivers)\n"
