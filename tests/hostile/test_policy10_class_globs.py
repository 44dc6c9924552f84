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


def test_a_glob_longer_than_any_name_is_refused_at_once(tmp_path):
    """A class of 200,000 characters beyond the BMP (on main: accepted).  No name a selector is matched
    against is longer than PATH_MAX, and telling a class this long from one of every listener, each of
    its characters tried against it, takes minutes: the glob is refused at its place, at once."""
    glob = "[" + "".join(chr(0x10000 + i) for i in range(0, 400_000, 2)) + "]*"
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(selector="process", glob=glob), encoding="utf-8")
    result = run_cli("validate", policy, timeout=30)
    assert result.returncode == 2, result.stdout[:500] + result.stderr[:500]
    assert (f"{policy}:10:19: rules[0].params.exceptions[0].match.process: a glob of 200,003 characters; at most "
            "4,096 (no name it is matched against is longer)") in result.stderr


def test_a_class_of_every_first_character_among_many_is_still_every_listener(tmp_path):
    """Exact whatever else the class holds: "/" (every executable's first character) among 1,000 more."""
    glob = "[/" + "".join(chr(0x10000 + i) for i in range(0, 2000, 2)) + "]*"
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(selector="exe", glob=glob), encoding="utf-8")
    result = run_cli("validate", policy, timeout=30)
    assert result.returncode == 2, result.stdout[:500] + result.stderr[:500]
    assert "exceptions[0] matches every listener (exe " in result.stderr
