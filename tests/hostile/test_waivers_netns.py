"""Hostile corpus, waivers: a waiver written for the host does not waive another network namespace.

A waiver names the failing finding it accepts by a glob over its subject.  Every listener in
another network namespace (a container, ``ip netns``) is a finding of its own, its subject the
host's form with `` in netns N`` after it.  A waiver written for the host's listener,
``tcp 0.0.0.0:8080 *`` ("whatever holds it"), therefore also matched
``tcp 0.0.0.0:8080 python3 pid 4242 in netns web``: the approval of one exposure on the host
silently waived the same port in every container and namespace, now and later, which no approver
had looked at.  Now a waiver covers a finding in another namespace only when its subject says
``in netns`` itself (``... in netns web``, ``... in netns *``), or names no subject at all, or is
wildcards alone (a blanket waiver, warned about as one).

Real listeners: one on the host, one in a namespace of the test's own, collected by ``lbaudit
collect`` and judged by ``lbaudit evaluate``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.netns_env import Listeners, listeners_in, named_namespace

POLICY = """\
id: waivers-netns
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
    params:
      allow: [loopback]
      scope: every_namespace
waivers:
{waivers}
"""


def _waiver(subject: str) -> str:
    return (f"  - rule: bind\n    subject: {json.dumps(subject)}\n    reason: CHG-7 approved this exposure\n"
            f"    approver: Jane Doe\n    expires: 2099-01-01\n")


def _statuses(tmp_path: Path, snapshot: Path, waivers: list[str], **where: tuple[str, str | None]) -> dict[str, str]:
    """The status of each finding named in ``where``: (its subject's start, its namespace or None
    for the host's)."""
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(waivers="".join(_waiver(w) for w in waivers)))
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snapshot, "-o", tmp_path / "e.json",
                     "--expiry-warning-days", "0")
    assert result.returncode in (0, 1, 3), result.stderr
    findings = json.loads((tmp_path / "e.json").read_text())["result"]["findings"]
    return {key: next(f["status"] for f in findings if f["subject"].startswith(start)
                      and (f["subject"].endswith(f" in netns {ns}") if ns else " in netns " not in f["subject"]))
            for key, (start, ns) in where.items()}


@pytest.fixture(scope="module")
def host_and_namespace(tmp_path_factory) -> tuple[Path, str, int, int]:
    """A snapshot of this host with a listener on 0.0.0.0 here and one in namespace NAME:
    (snapshot, NAME, host port, namespace port)."""
    tmp = tmp_path_factory.mktemp("netns")
    with named_namespace() as name, listeners_in(name, "tcp:0.0.0.0") as inside:
        host = Listeners([], ["tcp:0.0.0.0"])
        try:
            snapshot = tmp / "s.json"
            collected = run_cli("collect", "--section", "sockets", "--section", "netns", "-o", snapshot, "-q")
            assert collected.returncode in (0, 3), collected.stderr
        finally:
            host.close()
    return snapshot, name, host.ports["tcp", "0.0.0.0"], inside.ports["tcp", "0.0.0.0"]


@pytest.mark.live
def test_a_waiver_written_for_the_host_leaves_the_namespace_listener_failing(tmp_path, host_and_namespace):
    """On main: the namespace's listener ``waived`` by the host's waivers."""
    snapshot, name, host_port, inner_port = host_and_namespace
    host, inner = (f"tcp 0.0.0.0:{host_port} ", None), (f"tcp 0.0.0.0:{inner_port} ", name)
    found = _statuses(tmp_path, snapshot, [f"tcp 0.0.0.0:{host_port} *", f"tcp 0.0.0.0:{inner_port} *"],
                      host=host, inner=inner)
    assert found == {"host": "waived", "inner": "fail"}
    # a subject of the host's listener by its words, ending in the owner's pid glob: the same
    found = _statuses(tmp_path, snapshot, [f"tcp 0.0.0.0:{inner_port} python3* pid *"], inner=inner)
    assert found == {"inner": "fail"}


@pytest.mark.live
@pytest.mark.parametrize("subject", ["tcp 0.0.0.0:{port} * in netns {name}", "tcp 0.0.0.0:{port} * in netns *",
                                     "*", None])
def test_control_case_a_waiver_that_says_the_namespace_still_waives_it(tmp_path, host_and_namespace, subject):
    snapshot, name, _host_port, inner_port = host_and_namespace
    inner = f"tcp 0.0.0.0:{inner_port} "
    policy = tmp_path / "p.yaml"
    written = (_waiver(subject.format(port=inner_port, name=name)) if subject is not None else
               "  - rule: bind\n    reason: CHG-7\n    approver: Jane Doe\n    expires: 2099-01-01\n")
    policy.write_text(POLICY.format(waivers=written))
    result = run_cli("evaluate", "--policy", policy, "--snapshot", snapshot, "-o", tmp_path / "e.json")
    assert result.returncode in (0, 1, 3), result.stderr
    findings = json.loads((tmp_path / "e.json").read_text())["result"]["findings"]
    assert [f["status"] for f in findings if f["subject"].startswith(inner) and f["subject"].endswith(f"in netns {name}")] \
        == ["waived"]
