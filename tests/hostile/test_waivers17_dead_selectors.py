"""An exception of ``net.bind_addresses`` whose selector no listener can meet is refused, not granted.

``ports: []`` and a null selector were refused already, and so is a waiver's blank ``subject``: each
reads as naming something and matches nothing, or everything.  Two selectors still loaded without a
word and matched no listener, so the exception a reviewer reads as in force allowed nothing:

* a blank glob (``process: ""``, ``user: " "``: a template's empty variable): no process, user,
  namespace or container has a blank name;
* an ``exe`` that is neither an absolute path nor starts with a wildcard (``exe: sshd``, ``exe:
  "usr/sbin/sshd"``): ``exe`` is matched against the executable's absolute path, which always
  starts with ``/``.

Now each is exit 2 at its line, saying what was expected.  The controls (an absolute path, a glob
starting with a wildcard, a name) still load.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli

POLICY = """id: dead
version: "1"
owner: T
rules:
  - id: listeners
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
        - match: {match}
          allow: [any]
          reason: the SSH daemon serves the admin network
"""


def _validate(tmp_path: Path, match: dict[str, str]):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(match=json.dumps(match)), encoding="utf-8")
    return run_cli("validate", "--no-plugins", policy)


@pytest.mark.parametrize(("match", "said"), [
    ({"process": ""}, "process '' is blank, and no listener's process is"),
    ({"user": "  "}, "user '  ' is blank, and no listener's user is"),
    ({"namespace": ""}, "namespace '' is blank, and no listener's namespace is"),
    ({"container": " "}, "container ' ' is blank, and no listener's container is"),
    ({"exe": "sshd"}, "exe 'sshd' is not an absolute path and starts with no wildcard"),
    ({"exe": "usr/sbin/sshd"}, "exe 'usr/sbin/sshd' is not an absolute path and starts with no wildcard"),
    ({"exe": " /usr/sbin/sshd"}, "exe ' /usr/sbin/sshd' is not an absolute path and starts with no wildcard"),
])
def test_a_selector_no_listener_can_meet_is_refused(tmp_path, match, said):
    """On main: exit 0, ``ok``: the exception loaded and allowed nothing."""
    run = _validate(tmp_path, match)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"policy.yaml:10:19: rules[0].params.exceptions[0].match.{next(iter(match))}: " in run.stdout + run.stderr
    assert said in (run.stdout + run.stderr).replace("\n", " ")


@pytest.mark.parametrize("match", [
    {"exe": "/usr/sbin/sshd"}, {"exe": "*/sshd"}, {"exe": "?usr/sbin/sshd"}, {"exe": "[/]usr/sbin/sshd"},
    {"process": "sshd"}, {"user": "root"}, {"namespace": "host"},
])
def test_control_case_a_selector_a_listener_can_meet_loads(tmp_path, match):
    run = _validate(tmp_path, match)
    assert run.returncode == 0, run.stdout + run.stderr
