"""A default allow that covers every address of one family is warned about.

``net.bind_addresses`` refuses an ``allow`` that covers every IPv4 and IPv6 address (no listener can
fail).  One that covers every IPv4 address alone (``allow: [loopback, "0.0.0.0/0"]``, or the same in
two halves) loaded with "ok" and nothing else, under a rule named loopback-only: every IPv4 listener
no exception matches passes, whatever it binds to, and on a host without IPv6 listeners the rule
cannot fail.  It may be meant (IPv6 alone restricted), so it is a warning at the allow line, as the
blanket-waiver warning is (exit 0).
"""

from __future__ import annotations

import json

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot, sysctl_facts

POLICY = """id: t
version: "1"
owner: T
rules:
  - id: loopback-only
    check: net.bind_addresses
    params:
      allow: {allow}
"""

IPV4 = ("p.yaml:8:7: warning: rules[0].params.allow: covers every IPv4 address (0.0.0.0/0), so no IPv4 listener "
        "that no exception matches can fail this rule, whatever address it binds; name the IPv4 networks listeners "
        "may bind to (e.g. loopback, private)")
IPV6 = ("p.yaml:8:7: warning: rules[0].params.allow: covers every IPv6 address (::/0), so no IPv6 listener "
        "that no exception matches can fail this rule, whatever address it binds; name the IPv6 networks listeners "
        "may bind to (e.g. loopback, private)")


@pytest.mark.parametrize(("allow", "said"), [
    ('[loopback, "0.0.0.0/0"]', IPV4),
    ('[loopback, "0.0.0.0/1", "128.0.0.0/1"]', IPV4),
    ('[loopback, "::/0"]', IPV6),
])
def test_validate_warns_about_a_whole_family_allowed(tmp_path, allow, said):
    """On main: "p.yaml: ok (t 1: 1 enabled rules, 0 waivers)" and nothing else."""
    (tmp_path / "p.yaml").write_text(POLICY.format(allow=allow), encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "p.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == ["p.yaml: ok (t 1: 1 enabled rules, 0 waivers, 1 warning)", "  " + said]


def test_evaluate_says_it_with_the_wildcard_listener_passing(tmp_path):
    (tmp_path / "p.yaml").write_text(POLICY.format(allow='[loopback, "0.0.0.0/0"]'), encoding="utf-8")
    host = tmp_path / "host.json"
    sshd = [ProcessInfo(pid=1, name="sshd", exe="/usr/sbin/sshd", user="root")]
    host.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 22, processes=sshd)],
                                             sysctl=sysctl_facts())))
    run = run_cli("evaluate", "--no-plugins", "--policy", "p.yaml", "--snapshot", host, "-o", tmp_path / "e.json",
                  "--color", "never", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert [f["status"] for f in json.loads((tmp_path / "e.json").read_bytes())["result"]["findings"]] == ["pass"]
    assert "lbaudit: warning: " + IPV4.replace(": warning: ", ": ", 1) in run.stderr


def test_control_case_named_networks_say_nothing(tmp_path):
    (tmp_path / "p.yaml").write_text(POLICY.format(allow='[loopback, private, "192.0.2.0/24"]'), encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "p.yaml", cwd=tmp_path)
    assert run.stdout == "p.yaml: ok (t 1: 1 enabled rules, 0 waivers)\n", run.stdout + run.stderr


def test_every_address_with_an_exception_allowing_less_is_warned_about(tmp_path):
    """Refused without the exception (tests/hostile/test_policy_never_fail.py); with it, every listener
    but sshd's passes whatever it binds."""
    (tmp_path / "p.yaml").write_text(POLICY.format(allow="[any]") + "      exceptions:\n"
                                     "        - match: {process: sshd}\n          allow: [loopback]\n"
                                     "          reason: sshd stays local\n", encoding="utf-8")
    run = run_cli("validate", "--no-plugins", "p.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[1:] == [
        "  p.yaml:8:7: warning: rules[0].params.allow: covers every IPv4 and IPv6 address (0.0.0.0/0, ::/0), so no "
        "listener that no exception matches can fail this rule, whatever address it binds; name the IPv4 and IPv6 "
        "networks listeners may bind to (e.g. loopback, private)"]
