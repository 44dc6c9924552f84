"""Hostile corpus, policy round 10: a long value a check's validator refuses is quoted cut, not whole.

Round 9 cut the names a message quotes (``auditor.text.quoted_name``: a check, a control id, a key).
A validator's own message quotes the value it refuses, and a 200,000-character allow entry, port,
socket syscall, expiry day or accepted audit filter was printed whole (the filter twice: 400 KB for
one problem), the file's problem lost in it.  Each long text of the value is now cut to its first
100 characters and its length where the message quotes it, and the message itself to 2,000
characters where it quotes a part of one.
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli

HEAD = 'id: t\nversion: "1"\nowner: Sec\n'
LONG = "a" * 200_000
CUT = f"'{'a' * 100}'... (a name of 200,000 characters)"

CASES = {
    "allow": (HEAD + f"rules:\n  - id: lb\n    check: net.bind_addresses\n    params:\n      allow: ['{LONG}']\n",
              f"8:15: rules[0].params.allow[0]: {CUT} is neither a named set"),
    "ports": (HEAD + "rules:\n  - id: lb\n    check: net.bind_addresses\n    params:\n      allow: [loopback]\n"
              f"      exceptions:\n        - match: {{ports: ['{LONG}'], process: x}}\n          allow: [any]\n"
              "          reason: the exporter\n",
              f"10:19: rules[0].params.exceptions[0].match.ports: {CUT} is not a port"),
    "syscalls": (HEAD + f"rules:\n  - id: au\n    check: audit.socket_logging\n    params:\n      syscalls: ['{LONG}']\n",
                 f"8:7: rules[0].params.syscalls: unknown socket syscalls [{CUT}]; known: socket,"),
    "expires": (HEAD + "rules:\n  - id: lb\n    check: net.bind_addresses\nwaivers:\n"
                f"  - {{rule: lb, reason: the exporter, approver: a, expires: '{LONG}'}}\n",
                f"8:51: waivers[0].expires: expected a calendar day such as 2027-03-31; found {CUT}"),
    "filters": (HEAD + "rules:\n  - id: au\n    check: audit.socket_logging\n    params:\n"
                f"      accepted_filters: ['{LONG}>=1000']\n",
                f"8:7: rules[0].params.accepted_filters: accepted filter '{'a' * 100}'... (a name of 200,006 characters): "),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_long_refused_value_is_quoted_cut(tmp_path, case):
    """On main: each message held the whole 200,000 characters (the filter's twice)."""
    text, said = CASES[case]
    policy = tmp_path / "p.yaml"
    policy.write_text(text)
    result = run_cli("validate", policy)
    assert result.returncode == 2, result.stdout[:500] + result.stderr[:500]
    assert f"{policy}:{said}" in result.stderr
    assert len(result.stdout + result.stderr) < 3_000
