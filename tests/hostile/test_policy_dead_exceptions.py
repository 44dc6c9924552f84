"""A ``net.bind_addresses`` exception that an earlier one always decides for is refused (exit 2).

The first exception that matches a listener decides for it.  An exception every listener of which an
earlier exception matches too (``{process: sshd}`` after ``{process: "ssh*"}``, ``{process: sshd,
user: root}`` after ``{user: root}``, port 22 after ports 1-1024) never decides anything: a reader
takes it as the rule for those listeners (sshd on loopback only, its reason written beside it) while
the earlier one's ``allow`` applies.  On main sshd on 0.0.0.0 passed under ``allow: [any]`` of the
first (exit 0), the policy reading "sshd: loopback only".  Only an exception that matched *every*
listener was refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import evaluate_snapshot
from tests.factories import wildcard_sshd_snapshot

HEAD = """id: dead
version: "1"
owner: T
rules:
  - id: r
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
"""


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """sshd (root) on every IPv4 address, port 22: outside loopback."""
    return wildcard_sshd_snapshot(tmp_path / "host.snapshot.json")


def _exceptions(first: str, second: str) -> str:
    return (f"        - match: {first}\n          allow: [any]\n          reason: Public services\n"
            f"        - match: {second}\n          allow: [loopback]\n          reason: Only through the bastion\n")


@pytest.mark.parametrize(("first", "second"), [
    ("{process: 'ssh*'}", "{process: sshd}"),
    ("{user: root}", "{process: sshd, user: root}"),
    ("{ports: ['1-1024']}", "{ports: [22], protocol: tcp}"),
    ("{process: sshd}", "{process: sshd, ports: [22, '2222-2223']}"),
    ("{exe: '/usr/sbin/*', protocol: tcp}", "{exe: /usr/sbin/sshd, protocol: tcp, namespace: host}"),
    ("{ports: [22, 80], process: '*d'}", "{ports: ['22'], process: sshd}"),
])
def test_an_exception_an_earlier_one_always_decides_for_is_refused(tmp_path, host, first, second):
    """On main: exit 0, sshd on 0.0.0.0 passing under the first exception's allow: [any]."""
    run, evidence = evaluate_snapshot(tmp_path, HEAD + _exceptions(first, second), host)
    assert run.returncode == 2, run.stdout + run.stderr
    assert ("policy.yaml:9:7: rules[0].params.exceptions: exceptions[1] never decides for a listener: exceptions[0] "
            "comes before it and matches every listener it matches (the first match decides); put exceptions[1] "
            "first or drop it") in run.stderr
    assert not evidence.exists()


@pytest.mark.parametrize(("first", "second"), [
    ("{process: sshd, ports: [22]}", "{process: sshd}"),       # the narrower one first: each decides
    ("{process: sshd, user: root}", "{process: sshd}"),
    ("{protocol: tcp}", "{ports: [22]}"),                      # a udp listener on 22 reaches the second
    ("{ports: ['1-21']}", "{ports: [22]}"),
    ("{process: 'ssh*'}", "{process: 'sshd*'}"),               # two globs: not told apart (accepted)
    ("{namespace: 'net:[4026531840]'}", "{namespace: 'net:[4026531841]'}"),
])
def test_control_case_exceptions_that_each_decide_are_accepted(tmp_path, host, first, second):
    run, evidence = evaluate_snapshot(tmp_path, HEAD + _exceptions(first, second), host)
    assert run.returncode in (0, 1), run.stdout + run.stderr
    assert evidence.exists()


def test_control_case_sshd_fails_under_the_exception_that_decides_for_it(tmp_path, host):
    run, _ = evaluate_snapshot(tmp_path, HEAD + _exceptions("{process: sshd, ports: [2222]}", "{process: sshd}"), host)
    assert run.returncode == 1, run.stdout + run.stderr
