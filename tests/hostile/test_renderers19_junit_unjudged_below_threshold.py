"""A rule whose only failures are below ``--fail-on`` and which also has subjects it could not judge is
a JUnit ``<error>``, not a ``<skipped>``.

The test case's outcome went by the rule's roll-up status, and a failure rolls up above an error or a
not-reviewed subject: a rule with a low-severity failure (under ``--fail-on high``) and a subject it
could not see ("some listeners could not be read") was ``<skipped type="fail_below_threshold">``, its
message counting the failure alone.  A CI server shows a skipped test as neither failed nor errored:
the rule the run could not judge (exit 3) read as one that only had an accepted, uncounted failure.
Now the unjudged subjects make it an ``<error>`` (as they do beside any other outcome), whose message
names them and the failures below the threshold.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.model.facts import Gap, ProcessInfo
from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, snapshot

INCOMPLETE = 3
POLICY = """\
id: mixed
version: "1"
owner: Tests <tests@example.test>
description: a low-severity rule under --fail-on high
rules:
  - id: loopback-only
    check: net.bind_addresses
    severity: low
    params:
      allow: [loopback]
"""


@pytest.fixture(scope="module")
def junit(tmp_path_factory: pytest.TempPathFactory) -> ET.Element:
    work: Path = tmp_path_factory.mktemp("unjudged")
    sshd = [ProcessInfo(pid=10, name="sshd", exe="/usr/sbin/sshd", user="root")]
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22, processes=sshd)],
                            gaps=[Gap(section="sockets", field="listeners", reason="netlink dump interrupted")]),
                   work / "snap.json")
    (work / "policy.yaml").write_text(POLICY)
    run = run_cli("evaluate", "--policy", work / "policy.yaml", "--snapshot", work / "snap.json", "--fail-on", "high",
                  "-o", work / "e.json", "--format", "junit", "--out-dir", work / "out", env={"LBAUDIT_CONFIG": ""})
    assert run.returncode == INCOMPLETE, run.stderr
    # the same evidence rendered again by `lbaudit report` says the same
    again = run_cli("report", work / "e.json", "--format", "junit", "--out-dir", work / "again",
                    env={"LBAUDIT_CONFIG": ""})
    assert again.returncode == 0, again.stderr
    assert (work / "again" / "mixed.junit.xml").read_bytes() == (work / "out" / "mixed.junit.xml").read_bytes()
    return ET.parse(work / "out" / "mixed.junit.xml").getroot()


def _case(root: ET.Element, name: str) -> ET.Element:
    cases = [c for c in root.iter("testcase") if c.get("name") == name]
    assert len(cases) == 1, [c.get("name") for c in root.iter("testcase")]
    return cases[0]


def test_the_rule_it_could_not_judge_is_an_error(junit: ET.Element):
    case = _case(junit, "loopback-only")
    # before: <skipped type="fail_below_threshold"> counting the failure alone
    assert case.find("skipped") is None
    assert case.find("failure") is None  # below --fail-on: the run's exit code does not count it
    error = case.find("error")
    assert error is not None
    assert error.get("type") == "not_reviewed"
    message = error.get("message", "")
    assert "not_reviewed: some listeners could not be read: netlink dump interrupted" in message
    # the failure below the threshold is still named, and said not to be counted
    assert "1 more below --fail-on high, not counted: tcp 0.0.0.0:22 sshd pid 10" in message
    assert "[fail] tcp 0.0.0.0:22 sshd pid 10" in (error.text or "")


def test_the_counts_say_one_error(junit: ET.Element):
    suite = junit.find("testsuite")
    assert suite is not None
    # the rule's own case carries the error: no separate "lbaudit run complete" case is needed
    assert [c.get("name") for c in suite.iter("testcase")] == ["loopback-only"]
    assert (suite.get("errors"), suite.get("skipped"), suite.get("failures")) == ("1", "0", "0")
