"""Hostile corpus, false passes: a snapshot whose namespaces lbaudit could not have written.

Discovery keys each network namespace by (device, inode) of its nsfs file and marks one, the
collector's own, ``current``.  The checks judge the host's listeners from the sockets section and
every *other* namespace's from its own entry (:func:`auditor.checks._namespaces.others`: those not
``current``).  A snapshot that marked a second namespace current had that namespace's listeners
judged by nothing: its wildcard listener was silently passed over and net.bind_addresses passed
(``allow: [loopback]``).  One that listed a namespace twice had it judged twice, each finding
counted twice under one key.

Nor did it judge listeners written on the current namespace's own entry (the host's are the sockets
section's).  None of these is a snapshot lbaudit writes; the model now refuses each, with what is wrong, as it
refuses other facts no host has (an HZ on Windows), and ``evaluate --snapshot`` says so instead of judging.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from pydantic import ValidationError

from auditor.model.facts import NamespaceFacts
from auditor.storage.snapshot import snapshot_bytes
from tests.checks.test_net_namespaces import host_namespace, namespace, web
from tests.cli import run_cli
from tests.factories import snapshot

POLICY = textwrap.dedent("""\
    id: netns-identity
    version: '1'
    owner: tests
    rules:
      - id: bind
        check: net.bind_addresses
        params:
          allow: [loopback]
""")


def test_a_second_current_namespace_is_refused():
    second = namespace(entered=False).model_copy(update={"current": True})
    with pytest.raises(ValidationError, match=r"namespaces 0 and 1 are both marked current: only the collector's "
                                              r"own namespace is"):
        NamespaceFacts.model_validate({"namespaces": [host_namespace().model_dump(), second.model_dump()]})


def test_a_namespace_listed_twice_is_refused():
    twice = namespace(listeners=[web()])
    with pytest.raises(ValidationError, match=r"namespaces 1 and 2 are both net:\[4026532300\] \(device 4\): "
                                              r"discovery lists each namespace once"):
        NamespaceFacts.model_validate({"namespaces": [host_namespace().model_dump(), twice.model_dump(),
                                                      twice.model_dump()]})


def test_namespaces_of_one_inode_on_other_devices_are_two():
    # the inode alone names no namespace: another nsfs (a snapshot of another kernel, never mixed
    # by lbaudit, but the key is the pair) is another namespace
    other = namespace().model_copy(update={"device": 5})
    facts = NamespaceFacts.model_validate({"namespaces": [host_namespace().model_dump(), namespace().model_dump(),
                                                          other.model_dump()]})
    assert len(facts.namespaces) == 3


# before: exit 0, net.bind_addresses passed; the wildcard listener of the second "current"
# namespace had no finding at all
def test_evaluate_refuses_a_snapshot_with_a_second_current_namespace(tmp_path):
    second = namespace(listeners=[web()]).model_copy(update={"current": True})
    good = json.loads(snapshot_bytes(snapshot(listeners=[], netns=NamespaceFacts(
        namespaces=[host_namespace()], published=[], published_sources=["nat"]))))
    good["facts"]["netns"]["namespaces"].append(json.loads(second.model_dump_json()))
    (tmp_path / "snap.json").write_text(json.dumps(good))
    (tmp_path / "policy.yaml").write_text(POLICY)
    run = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                  "-o", tmp_path / "ev.json", timeout=120)
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)  # an input error
    # (refused as a current namespace holding listeners: what a second current one holds is judged by nothing)
    assert ("/facts/netns/namespaces/1: Value error, the collector's own namespace (current) holds 1 listeners: its "
            "listeners are the sockets section's, where lbaudit writes them") in run.stderr
    assert not (tmp_path / "ev.json").exists()


def test_listeners_written_on_the_current_namespace_are_refused():
    # the host's listeners are the sockets section: on the current namespace's entry they were
    # judged by nothing, and a wildcard listener there passed unjudged
    host = host_namespace().model_dump()
    host["listeners"] = [web().model_dump()]
    with pytest.raises(ValidationError, match=r"the collector's own namespace \(current\) holds 1 listeners: its "
                                              r"listeners are the sockets section's"):
        NamespaceFacts.model_validate({"namespaces": [host]})
