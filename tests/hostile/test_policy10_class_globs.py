"""Hostile corpus, policy round 10: a ``net.bind_addresses`` exception that matches every listener
through a character class is refused as one written with ``*`` is.

An exception whose match selects every listener decides for all of them, so the rule's default
``allow`` is never used: ``{user: "*"}`` allowing any is refused (exit 2), as the README says.  The
test of "every listener" knew ``*`` and ``?`` alone, and fnmatch's classes slipped past it:
``user: "[0-9]*"`` matches every socket's uid (a user is matched by name or uid), ``exe: "[!x]*"``
and ``exe: "[/]*"`` every absolute path, ``namespace: "[!x]*"`` "host" and every other
namespace's inode.  Under ``allow: [loopback]`` such an exception allowing any passed a shell on
0.0.0.0 (exit 0), where the reviewer read a policy of loopback only with one narrow exception.
The test is exact, not a guess: a class that leaves some listener out (``user: "[1-9]*"``, not
root's uid 0; ``process: "[!x]*"``, not a name starting with x) is still a valid exception.

A snapshot file and ``lbaudit validate`` / ``evaluate``, as a user runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

POLICY = """\
id: classes
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
        - match: {{{selector}: "{glob}"}}
          allow: [any]
          reason: CHG-7 the metrics exporter
"""


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A shell (nc, uid 65534) on every IPv4 address, port 4444: a failure no one approved."""
    path = tmp_path / "s.json"
    shell = [ProcessInfo(pid=66, name="nc", exe="/usr/bin/nc.openbsd", argv0="nc", user="nobody")]
    path.write_bytes(snapshot_bytes(snapshot(listeners=[
        listener("0.0.0.0", 4444, processes=shell, uid=65534, user="nobody")])))
    return path


@pytest.mark.parametrize(("selector", "glob"), [
    ("user", "[0-9]*"), ("user", "*[0-9]"), ("user", "[!x]*"),
    ("exe", "[!x]*"), ("exe", "[/]*"),
    ("namespace", "[!x]*"), ("namespace", "[0-9h]*"),
])
def test_an_exception_of_every_listener_by_a_class_is_exit_2(tmp_path, host, selector, glob):
    """On main: exit 0, the shell on 0.0.0.0:4444 passed under the exception."""
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(selector=selector, glob=glob))
    result = run_cli("evaluate", "--policy", policy, "--snapshot", host, "-o", tmp_path / "e.json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"{policy}:9:7: rules[0].params.exceptions: exceptions[0] matches every listener ({selector} "
            f"{glob!r}), so it decides for all of them and the default allow (loopback) is never used; give it "
            "a narrower match, or write its addresses in allow and drop the exception") in result.stderr
    assert not (tmp_path / "e.json").exists()


@pytest.mark.parametrize(("selector", "glob"), [
    ("user", "[1-9]*"), ("user", "1*"), ("process", "[!x]*"), ("process", "*[]*"), ("exe", "/usr/*"),
    ("exe", "/??*"), ("namespace", "[0-9]*"),
])
def test_a_class_that_leaves_a_listener_out_is_still_an_exception(tmp_path, host, selector, glob):
    """Exact, not a guess: each leaves some listener out (root's uid 0, a name starting with x, ...)."""
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(selector=selector, glob=glob))
    result = run_cli("validate", policy)
    assert result.returncode == 0, result.stdout + result.stderr
