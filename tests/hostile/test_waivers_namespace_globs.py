"""Hostile corpus, waivers and exceptions: an inode glob for containers does not reach the host.

A ``net.bind_addresses`` exception may select listeners by ``namespace``: an ``ip netns`` name, the
namespace's inode (``4026532281``, ``net:[4026532281]``), or ``host`` for the collector's own.  The
host's namespace has an inode too, and exceptions matched a glob against it as against any other:
``namespace: "net:*"`` or ``"[0-9]*"`` ("every container, by its inode") also held for every
listener of the host, so a policy reading ``allow: [loopback]`` with that exception for containers
passed a host service on 0.0.0.0, and the check that refuses an exception matching every listener
(``namespace: "*"``) did not see these.  Now the collector's own namespace answers a glob by its
names (``host``, an ``ip netns`` name) only, and its inode only when written out whole.

Real listeners in a network namespace of the test's own (which is the collector's there), collected
by ``lbaudit collect`` and judged by ``lbaudit evaluate``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.netns_env import Listeners
from tests.privileges import CLONE_NEWNET, require_root, run_in_new_namespaces

POLICY = """\
id: namespace-globs
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
        - match: {{namespace: {namespace}}}
          allow: [any]
          reason: containers publish through their own links
"""


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> tuple[Path, int, int]:
    """A snapshot taken in a namespace of the test's own, holding a listener on 0.0.0.0 there:
    (snapshot, port, that namespace's inode)."""
    require_root()
    snapshot = tmp_path_factory.mktemp("globs") / "s.json"

    def scenario() -> tuple[int, int]:
        held = Listeners([], ["tcp:0.0.0.0"])
        try:
            result = run_cli("collect", "--section", "sockets", "--section", "netns", "-o", snapshot, "-q")
            assert result.returncode in (0, 3), result.stderr
            return held.ports["tcp", "0.0.0.0"], os.stat("/proc/self/ns/net").st_ino
        finally:
            held.close()

    port, inode = run_in_new_namespaces(scenario, CLONE_NEWNET, "rw")
    return snapshot, port, inode


def _status(tmp_path: Path, snapshot: Path, port: int, namespace: str) -> str:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(namespace=json.dumps(namespace)))
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snapshot, "-o", tmp_path / "e.json")
    assert result.returncode in (0, 1, 3), result.stderr
    findings = json.loads((tmp_path / "e.json").read_text())["result"]["findings"]
    [status] = [f["status"] for f in findings if f["subject"].startswith(f"tcp 0.0.0.0:{port} ")
                and " in netns " not in f["subject"]]
    return status


@pytest.mark.live
@pytest.mark.parametrize("namespace", ["net:*", "[0-9]*", "4*", "net:[[]*"])
def test_an_inode_glob_does_not_allow_the_hosts_own_listener(tmp_path, collected, namespace):
    """On main: ``pass``, under the exception for containers."""
    snapshot, port, _inode = collected
    assert _status(tmp_path, snapshot, port, namespace) == "fail"


@pytest.mark.live
@pytest.mark.parametrize("written", ["host", "h*", "{inode}", "net:[{inode}]"])
def test_control_case_the_host_named_or_its_whole_inode_still_selects_it(tmp_path, collected, written):
    snapshot, port, inode = collected
    assert _status(tmp_path, snapshot, port, written.format(inode=inode)) == "pass"
