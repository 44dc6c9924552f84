"""``net.bind_addresses`` exceptions that match every listener are refused (exit 2).

The first exception that matches a listener decides for it.  One whose selectors hold for every
listener (``process: "*"``, ``user: "*"``, ``namespace: "*"``, ``exe: "/*"``, ports covering
1-65535, alone or together) decides for all of them: the default ``allow`` a reader takes as the
rule (``[loopback]``) and the exceptions after it are never used.  With ``allow: [any]`` on such an
exception no listener could fail: on main each of these was exit 0, sshd on 0.0.0.0 passing a rule
whose default allow was loopback.  The never-fail refusal only looked at rules whose every allow list
covered every address.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import evaluate_snapshot
from tests.factories import wildcard_sshd_snapshot

HEAD = """id: shadowed
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
    """sshd on every IPv4 address: outside loopback."""
    return wildcard_sshd_snapshot(tmp_path / "host.snapshot.json")


def _evaluate(tmp_path: Path, host: Path, exceptions: str):
    return evaluate_snapshot(tmp_path, HEAD + exceptions, host)


@pytest.mark.parametrize(("match", "how"), [
    ("{process: '*'}", "process '*'"),
    ("{process: '?*'}", "process '?*'"),
    ("{user: '*'}", "user '*'"),
    ("{namespace: '**'}", "namespace '**'"),
    ("{exe: '/*'}", "exe '/*'"),
    ("{ports: ['1-65535']}", "ports 1-65535"),
    ("{ports: ['0-1000', '1001-65535']}", "ports 0-1000, 1001-65535"),
    ("{process: '*', ports: ['1-65535']}", "process '*', ports 1-65535"),
])
def test_an_exception_allowing_any_to_every_listener_is_refused(tmp_path, host, match, how):
    """On main: exit 0, sshd on 0.0.0.0 passing under the exception."""
    run, evidence = _evaluate(tmp_path, host, f"        - match: {match}\n          allow: [any]\n          reason: x\n")
    assert run.returncode == 2, run.stdout + run.stderr
    assert (f"policy.yaml:9:7: rules[0].params.exceptions: exceptions[0] matches every listener ({how}), so it "
            "decides for all of them and the default allow (loopback) is never used; give it a narrower match, or "
            "write its addresses in allow and drop the exception") in run.stderr
    assert not evidence.exists()


def test_an_exception_shadowing_later_ones_is_refused_even_when_it_can_fail(tmp_path, host):
    """It allows only private addresses, so sshd fails; but the exception after it never applies."""
    exceptions = ("        - match: {ports: ['1-65535']}\n          allow: [private]\n          reason: x\n"
                  "        - match: {process: sshd}\n          allow: [loopback]\n          reason: y\n")
    run, _ = _evaluate(tmp_path, host, exceptions)
    assert run.returncode == 2, run.stdout + run.stderr
    assert ("rules[0].params.exceptions: exceptions[0] matches every listener (ports 1-65535), so it decides for all "
            "of them and the default allow (loopback) and the 1 exception(s) after it are never used") in run.stderr


@pytest.mark.parametrize("match", [
    "{process: 'ssh*'}",              # a real name pattern
    "{ports: ['2-65535']}",           # port 1 is left out
    "{ports: ['1-1000', '1002-65535']}",  # a gap
    "{user: '*', protocol: tcp}",     # the protocol narrows it
    "{process: '*', container: '*'}",  # a host process is in no container
    "{exe: '/usr/*'}",
])
def test_control_case_a_narrower_exception_is_accepted(tmp_path, host, match):
    """Accepted: sshd (port 22, tcp) is matched and passes under allow: [any]."""
    run, evidence = _evaluate(tmp_path, host, f"        - match: {match}\n          allow: [any]\n          reason: x\n")
    assert run.returncode in (0, 1), run.stdout + run.stderr
    assert evidence.exists()


def test_control_case_sshd_fails_the_default_when_no_exception_matches(tmp_path, host):
    run, _ = _evaluate(tmp_path, host, "        - match: {process: nginx}\n          allow: [any]\n          reason: x\n")
    assert run.returncode == 1, run.stdout + run.stderr


@pytest.mark.parametrize(("protocols", "matches", "which", "judged"), [
    ("[tcp, udp]", ["{protocol: tcp}", "{protocol: udp}"], "exceptions[0], exceptions[1] together match", "tcp, udp"),
    ("[tcp, udp, udplite, sctp, dccp, mptcp]",
     [f"{{protocol: {p}}}" for p in ("tcp", "udp", "udplite", "sctp", "dccp", "mptcp")],
     "exceptions[0], exceptions[1], exceptions[2], exceptions[3], exceptions[4], exceptions[5] together match",
     "tcp, udp, udplite, sctp, dccp, mptcp"),
    ("[tcp, udp, udplite, sctp, dccp, mptcp]", ["{ports: ['1-32767']}", "{ports: ['32768-65535'], user: '*'}"],
     "exceptions[0], exceptions[1] together match", "tcp, udp, udplite, sctp, dccp, mptcp"),
    ("[tcp]", ["{protocol: tcp, ports: ['1-65535']}"], "exceptions[0] matches", "tcp"),
])
def test_exceptions_that_together_match_every_judged_listener_are_refused(tmp_path, host, protocols, matches, which,
                                                                           judged):
    """On main: exit 0 (sshd on 0.0.0.0 passing); no one exception matched every listener."""
    run, evidence = evaluate_snapshot(
        tmp_path, HEAD.replace("      exceptions:\n", f"      protocols: {protocols}\n      exceptions:\n")
        + "".join(f"        - match: {m}\n          allow: [any]\n          reason: x\n" for m in matches), host)
    assert run.returncode == 2, run.stdout + run.stderr
    assert (f"policy.yaml:7:5: rules[0].params: {which} every listener of the protocols judged ({judged}), so the "
            "default allow (loopback) is never used") in run.stderr
    assert not evidence.exists()


@pytest.mark.parametrize("matches", [
    [f"{{protocol: {p}}}" for p in ("tcp", "udp", "udplite", "sctp", "dccp")],  # mptcp listeners: the default
    ["{ports: ['1-32767']}", "{ports: ['32769-65535']}"],  # port 32768: the default
    ["{protocol: tcp}", "{protocol: udp, process: nginx}"],
])
def test_control_case_exceptions_leaving_a_listener_to_the_default_are_accepted(tmp_path, host, matches):
    run, evidence = _evaluate(tmp_path, host, "".join(f"        - match: {m}\n          allow: [any]\n          reason: x\n"
                                                      for m in matches))
    assert run.returncode == 0, run.stdout + run.stderr  # sshd (tcp/22) matched, allowed anywhere
    assert evidence.exists()


def test_an_exception_about_a_protocol_left_out_is_refused(tmp_path, host):
    """allow [any] with an exception keeping tcp on loopback, but only udp judged: the exception never
    applied and the rule could never fail; on main exit 0."""
    run, evidence = evaluate_snapshot(
        tmp_path, HEAD.replace("allow: [loopback]", "allow: [any]").replace(
            "      exceptions:\n", "      protocols: [udp]\n      exceptions:\n")
        + "        - match: {protocol: tcp}\n          allow: [loopback]\n          reason: x\n", host)
    assert run.returncode == 2, run.stdout + run.stderr
    assert ("policy.yaml:7:5: rules[0].params: exceptions[0] is about tcp listeners, which protocols (udp) leaves out, "
            "so it never applies; add tcp to protocols or drop the exception") in run.stderr
    assert not evidence.exists()
