"""A ``net.bind_addresses`` exception selector written as null is refused (exit 2), not read as "any".

A selector left out of ``match`` holds for every listener; one written out holds for what it names.
``process: ~`` (or ``process:`` with nothing after it, what a template writes when its variable is
empty) was read as left out: ``{process: ~, ports: [22]}`` allowing any address matched every program
on port 22, so a shell bound to 0.0.0.0:22 passed an exception the reviewer read as being about one
program (exit 0).  An empty name (``process: ""``) matches no listener; a null one matched all.  Each
selector written as null is now exit 2 at its place, naming it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import evaluate_snapshot
from tests.factories import listener, snapshot

HEAD = """id: nulls
version: "1"
owner: T
rules:
  - id: r
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
        - match: {match}
          allow: [any]
          reason: Management
"""


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A shell (nc) bound to every IPv4 address on port 22."""
    path = tmp_path / "host.snapshot.json"
    shell = [ProcessInfo(pid=66, name="nc", exe="/usr/bin/nc.openbsd", argv0="nc", user="nobody")]
    path.write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 22, processes=shell)])))
    return path


@pytest.mark.parametrize(("match", "name"), [
    ("{process: ~, ports: [22]}", "process"),
    ("{process: null, ports: [22]}", "process"),
    ("{ports: [22], exe: , protocol: tcp}", "exe"),
    ("{ports: [22], user: ~}", "user"),
    ("{process: sshd, ports: ~}", "ports"),
    ("{process: sshd, protocol: ~}", "protocol"),
])
def test_a_selector_written_as_null_is_exit_2(tmp_path, host, match, name):
    """On main: the null selector was left out; with ports 22 the shell on 0.0.0.0:22 passed (exit 0)."""
    run, evidence = evaluate_snapshot(tmp_path, HEAD.format(match=match), host)
    assert run.returncode == 2, run.stdout + run.stderr
    assert (f"rules[0].params.exceptions[0].match: {name} is null, which would match every listener as leaving it "
            f"out does; write the {name} this exception is about, or leave the key out") in run.stderr
    assert not evidence.exists()


@pytest.mark.parametrize(("match", "code"), [
    ("{process: sshd, ports: [22]}", 1),   # the shell is not sshd: the default allow fails it
    ("{ports: [22]}", 0),                  # left out: every program on port 22, as written
])
def test_control_case_selectors_left_out_or_named_are_read_as_written(tmp_path, host, match, code):
    run, evidence = evaluate_snapshot(tmp_path, HEAD.format(match=match), host)
    assert run.returncode == code, run.stdout + run.stderr
    assert evidence.exists()
