"""Hostile corpus, waivers: a process name that spells the rest of a subject does not borrow a waiver.

A waiver selects failing findings by a glob over their subject, ``tcp 0.0.0.0:8080 myapp pid 812``,
and the process name in it is text whoever starts the process chooses: the name of a link it was
run through (any user can make ``/tmp/x:8080 lbt-app``) or one it gave itself with
``prctl(PR_SET_NAME)``.  Written into the subject as it stood, such a name spelt the words around it:

* a program run through a link named ``x:8080``, on an unprivileged port of any address, gave
  ``tcp 0.0.0.0:40000 x:8080 pid 9``, which ``tcp *:8080 *`` (whatever holds port 8080, any
  address) matched: the impostor's listener was ``waived`` under the approval for another port; so
  did ``tcp *:8080 lbt-app*`` a process that called itself ``x:8080 lbt-app``
  (``? (comm x:8080 lbt-app, unproven)``);
* a process that called itself ``a in netns b`` gave ``tcp 0.0.0.0:8080 ? (comm a in netns b,
  unproven) pid 9``, which ``tcp 0.0.0.0:8080 * in netns *``, approved for the containers' port,
  matched: a listener of the host, which that approver never looked at, was waived.

Now a subject writes a process name's spaces, ``:`` and ``\\`` as escapes (``\\x20``,
``\\x3a``, ``\\x5c``), so a name is one word that cannot hold a port's ``:`` or the subject's
words.  The control (the program exec named) keeps its waiver.

Real processes and sockets in a network namespace of the test's own, collected by ``lbaudit
collect`` there and judged by ``lbaudit evaluate``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.hostile.test_listeners_holders import _hold, _in_own_namespace, _named_interpreter, _stop
from tests.privileges import require_root

POLICY = """\
id: waivers17-spoofed
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
    params:
      allow: [loopback]
waivers:
  - rule: bind
    subject: "{subject}"
    reason: CHG-17 approved this listener
    approver: Jane Doe
    expires: 2099-01-01
"""


def _judged(tmp_path: Path, program: str, glob: str, rename: str = "", port: int = 0) -> tuple[dict, int, int]:
    """The finding of one listener on 0.0.0.0 held by ``program`` (renamed to ``rename``) in a
    namespace of its own, under a policy waiving ``glob``: (finding, port, exit code)."""
    snapshot = tmp_path / "s.json"

    def scenario() -> int:
        held, bound = _hold(program, port=port, rename=rename)
        try:
            collected = run_cli("collect", "--section", "sockets", "-o", snapshot, "-q")
            assert collected.returncode in (0, 3), collected.stderr
            return bound
        finally:
            _stop(held)

    bound = _in_own_namespace(scenario)
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(subject=glob))
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snapshot, "-o", tmp_path / "e.json")
    assert result.returncode in (0, 1, 3), result.stderr
    findings = json.loads((tmp_path / "e.json").read_text())["result"]["findings"]
    finding = next(f for f in findings if f["subject"].startswith(f"tcp 0.0.0.0:{bound} "))
    return finding, bound, result.returncode


@pytest.mark.live
def test_a_name_ending_in_a_port_does_not_borrow_that_ports_waiver(tmp_path):
    """On main: ``waived`` by ``tcp *:8080 *`` (every process on port 8080) on another port."""
    require_root()
    finding, port, code = _judged(tmp_path, _named_interpreter(tmp_path, "x:8080"), "tcp *:8080 *")
    assert finding["status"] == "fail" and finding["waiver"] is None
    assert finding["subject"].startswith(f"tcp 0.0.0.0:{port} x\\x3a8080 pid ")
    assert code == 1


@pytest.mark.live
def test_a_self_given_name_holding_another_port_does_not_borrow_that_ports_waiver(tmp_path):
    """On main: ``waived``: ``? (comm x:8080 lbt-app, unproven)`` holds ``:8080 lbt-app``."""
    require_root()
    finding, port, code = _judged(tmp_path, sys.executable, "tcp *:8080 lbt-app*", rename="x:8080 lbt-app")
    assert finding["status"] == "fail" and finding["waiver"] is None
    assert finding["subject"].startswith(f"tcp 0.0.0.0:{port} ? (comm x\\x3a8080\\x20lbt-app, unproven) pid ")
    assert code == 1


@pytest.mark.live
def test_a_host_listener_calling_itself_in_netns_is_not_waived_as_a_containers(tmp_path):
    """On main: ``waived`` by ``tcp 0.0.0.0:* * in netns *``, approved for containers only."""
    require_root()
    finding, _port, code = _judged(tmp_path, sys.executable, "tcp 0.0.0.0:* * in netns *", rename="a in netns b")
    assert finding["status"] == "fail" and finding["waiver"] is None
    assert code == 1


@pytest.mark.live
def test_a_host_listener_named_by_exec_in_netns_is_not_waived_as_a_containers(tmp_path):
    """The same with the name given by exec (a link), proven as the program's: still the host's."""
    require_root()
    finding, _port, code = _judged(tmp_path, _named_interpreter(tmp_path, "a in netns b"), "tcp 0.0.0.0:* * in netns *")
    assert finding["status"] == "fail" and finding["waiver"] is None
    assert code == 1


@pytest.mark.live
def test_control_case_the_program_exec_named_keeps_its_waiver(tmp_path):
    require_root()
    finding, port, code = _judged(tmp_path, _named_interpreter(tmp_path, "lbt-app"), "tcp *:* lbt-app pid *")
    assert finding["subject"].startswith(f"tcp 0.0.0.0:{port} lbt-app pid ")
    assert finding["status"] == "waived" and finding["waiver"]["approver"] == "Jane Doe"
    assert code == 3  # nothing fails; incomplete only because the netns section was not collected


@pytest.mark.live
def test_a_waiver_written_for_the_name_unescaped_is_said_to_match_but_for_the_escape(tmp_path):
    """A waiver written for a program whose name holds ':' as the name stands no longer matches: the
    warning says why (the escape), not that what it waived is fixed."""
    require_root()
    snapshot = tmp_path / "s.json"

    def scenario() -> int:
        held, bound = _hold(_named_interpreter(tmp_path, "lbt:app"))
        try:
            collected = run_cli("collect", "--section", "sockets", "-o", snapshot, "-q")
            assert collected.returncode in (0, 3), collected.stderr
            return bound
        finally:
            _stop(held)

    port = _in_own_namespace(scenario)
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(subject="tcp 0.0.0.0:* lbt:app pid *"))
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snapshot, "-o", tmp_path / "e.json")
    assert result.returncode == 1, result.stderr
    said = result.stderr.replace("\n", " ")
    assert ("waivers[0] (bind): matched no failing finding in this run, but 1 failing finding matches it were the "
            f"escapes of its process name read as the characters they stand for (tcp 0.0.0.0:{port} lbt\\x3aapp pid "
            ) in said
    assert "write the subject as the finding's subject is written" in said
