"""Hostile corpus, waivers: an unused waiver is not called fixed when what it names was not judged.

``evaluate`` warns about a waiver that matched no failing finding: "remove it if what it waived is
fixed".  A waiver never covers a finding that is ``not_reviewed`` or ``error`` (waiving missing
evidence would turn "we could not look" into a pass), so a waiver whose subject names a listener
that this run could not judge (its owner unseen by an unprivileged run, rules that disagree) was
reported the same way: the advice read as "the exposure is gone, drop the approval", when the run
had only failed to look, and the next run that can look fails.  Likewise a waiver written for the
host whose subject matches failures in another network namespace only (which it does not cover:
tests/hostile/test_waivers_netns.py) was "fixed".  Now the warning says what it matched and why
that is not waived.

A snapshot file of a host and ``lbaudit evaluate`` on it, as a user runs them.
"""

from __future__ import annotations

from pathlib import Path

from auditor.model.facts import NamespaceFacts, NetInterface, NetNamespace, ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

POLICY = """\
id: unused
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
    params:
      allow: [loopback]
      scope: every_namespace
      exceptions:
        - match: {process: lbt-web}
          allow: [any]
          reason: the web front end
waivers:
  - rule: bind
    subject: "tcp 0.0.0.0:9100 *"
    reason: CHG-1 exporter scraped from the monitoring VLAN
    approver: Jane Doe
    expires: 2099-01-01
"""
LO = NetInterface(name="lo", index=1, kind="loopback", up=True, addresses=["127.0.0.1/8"], route_localnet=False)


def _evaluate(tmp_path: Path, listeners: list, namespaces: NamespaceFacts | None = None) -> tuple[int, str]:
    if not (tmp_path / "p.yaml").exists():
        (tmp_path / "p.yaml").write_text(POLICY)
    host = NetNamespace(inode=4026531833, device=4, current=True, pids=[1], interfaces=[LO])
    namespaces = namespaces or NamespaceFacts(namespaces=[host], published=[], published_sources=["nat"])
    snap = snapshot(listeners=listeners, netns=namespaces)
    (tmp_path / "s.json").write_bytes(snapshot_bytes(snap))
    result = run_cli("evaluate", "--policy", tmp_path / "p.yaml", "--snapshot", tmp_path / "s.json",
                     "-o", tmp_path / "e.json", "--expiry-warning-days", "0")
    return result.returncode, result.stderr


def test_a_waiver_of_a_listener_not_judged_is_not_called_fixed(tmp_path):
    """On main: "matched no failing finding in this run; remove it if what it waived is fixed"."""
    unseen = listener("0.0.0.0", 9100, uid=65534, user="nobody")  # no holder seen: the exception may apply
    code, stderr = _evaluate(tmp_path, [unseen])
    assert code == 3
    assert "remove it if what it waived is fixed" not in stderr
    assert ("waivers[0] (bind): matched no failing finding in this run, but 1 finding it names is not_reviewed "
            "(tcp 0.0.0.0:9100 owner unknown), which no waiver covers: what it waived was not judged, not "
            "fixed") in stderr


def test_a_host_waiver_matching_failures_in_other_namespaces_only_says_so(tmp_path):
    inner = NetNamespace(inode=4026532300, device=4, names=["web"], pids=[4242], entered=True, interfaces=[LO],
                         listeners=[listener("0.0.0.0", 9100, processes=[ProcessInfo(pid=4242, name="exporter")])],
                         sysctl={})
    host = NetNamespace(inode=4026531833, device=4, current=True, pids=[1], interfaces=[LO])
    code, stderr = _evaluate(tmp_path, [], NamespaceFacts(namespaces=[host, inner], published=[], published_sources=["nat"]))
    assert code == 1
    assert "remove it if what it waived is fixed" not in stderr
    assert ("waivers[0] (bind): matched no failing finding in this run, but 1 failing finding in another network "
            "namespace matches its subject (tcp 0.0.0.0:9100 exporter pid 4242 in netns web), which a subject "
            "without 'in netns' does not cover: write '... in netns NAME' (or '... in netns *') to waive it") in stderr


def test_control_case_a_waiver_whose_listener_is_gone_is_still_called_fixed(tmp_path):
    code, stderr = _evaluate(tmp_path, [listener("127.0.0.1", 9100, processes=[ProcessInfo(pid=7, name="exporter")])])
    assert code == 0
    assert "waivers[0] (bind): matched no failing finding in this run; remove it if what it waived is fixed" in stderr


def test_a_waiver_that_differs_in_case_or_a_space_form_says_so(tmp_path):
    (tmp_path / "p.yaml").write_text(POLICY.replace('subject: "tcp 0.0.0.0:9100 *"', 'subject: "TCP 0.0.0.0:9100 *"')
                                     + WAIVER_NBSP)
    host = NetNamespace(inode=4026531833, device=4, current=True, pids=[1], interfaces=[LO])
    snap = snapshot(listeners=[listener("0.0.0.0", 9100, processes=[ProcessInfo(pid=7, name="exporter")]),
                               listener("0.0.0.0", 9200, processes=[ProcessInfo(pid=8, name="metrics")])],
                    netns=NamespaceFacts(namespaces=[host], published=[], published_sources=["nat"]))
    (tmp_path / "s.json").write_bytes(snapshot_bytes(snap))
    result = run_cli("evaluate", "--policy", tmp_path / "p.yaml", "--snapshot", tmp_path / "s.json",
                     "-o", tmp_path / "e.json", "--expiry-warning-days", "0")
    assert result.returncode == 1
    for index, subject in ((0, "tcp 0.0.0.0:9100 exporter pid 7"), (1, "tcp 0.0.0.0:9200 metrics pid 8")):
        assert (f"waivers[{index}] (bind): matched no failing finding in this run, but 1 failing finding matches it "
                f"when case and Unicode compatibility forms are ignored ({subject}): a subject glob is matched "
                "exactly, character for character; write it as the finding's subject is written") in result.stderr


WAIVER_NBSP = """\
  - rule: bind
    subject: "tcp\\u00a00.0.0.0:9200 *"
    reason: CHG-2 metrics
    approver: Jane Doe
    expires: 2099-01-01
"""


def test_a_waiver_of_a_disabled_rule_is_not_called_fixed(tmp_path):
    """On main: validate said nothing; evaluate "remove it if what it waived is fixed" of a listener
    on 0.0.0.0:9100 that no enabled rule judged."""
    policy = POLICY.replace("    check: net.bind_addresses\n", "    check: net.bind_addresses\n    enabled: false\n")
    policy = policy.replace("waivers:\n", "  - id: tw\n    check: net.time_wait\n    params: {max_fin_timeout: 60}\nwaivers:\n")
    (tmp_path / "p.yaml").write_text(policy)
    said = ("waivers[0] (bind): its rule is disabled (enabled: false), so what it names is not judged "
            "and it waives nothing; remove it, or enable the rule")
    validated = run_cli("validate", tmp_path / "p.yaml", "--expiry-warning-days", "0")
    assert validated.returncode == 0 and f"p.yaml:19:5: warning: {said}" in validated.stdout, validated.stdout
    code, stderr = _evaluate(tmp_path, [listener("0.0.0.0", 9100, processes=[ProcessInfo(pid=7, name="exporter")])])
    assert f"p.yaml:19:5: {said}" in stderr
    assert "remove it if what it waived is fixed" not in stderr
