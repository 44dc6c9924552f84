"""A plugin check's pass that cites facts it does not declare.

A check sees only the fact sections it declares (``needs`` and ``uses``: the engine hides the
others, ``_declared_view``), and each finding's ``evidence`` is the list of JSON pointers into the
evidence file that the finding rests on, which every report shows.  A plugin's outcome could cite
any pointer: a check declaring ``sysctl`` alone passed "no listener on 0.0.0.0" citing
``/facts/sockets/listeners``, a section it was never shown, or ``/result/verdict``, no fact at all,
and the evidence recorded that pass as resting on them.  Now a plugin outcome's evidence may point
only into the fact sections its check declares (or the collection gaps, ``/gaps``); an outcome
citing anything else is that check's ``error`` finding naming the pointer, never a pass, and the
run is incomplete (exit 3).

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"

PLUGIN = """
from auditor.model.check import CheckParams, check, passed


class Params(CheckParams):
    cites: list[str]


@check(name="citeplug.cite", title="A plugin citing evidence", version="1", needs=["sysctl"], uses=["netns"],
       params=Params, severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def cite(snapshot, params):
    yield passed("no listener on 0.0.0.0", "nothing listens on every address", evidence=params.cites)
"""

POLICY = """id: cite
version: "1"
owner: Security <sec@example.com>
rules:
  - id: cites
    check: citeplug.cite
    params: {{cites: {cites}}}
"""


def _evaluate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cites: list[str]):
    install_plugin(tmp_path / "site", monkeypatch, "citeplug", PLUGIN, "[lbaudit.checks]\nciteplug = citeplug\n")
    policy, evidence = tmp_path / "p.yaml", tmp_path / "e.json"
    policy.write_text(POLICY.format(cites=json.dumps(cites)))
    result = run_cli("evaluate", "--policy", policy, "--root", ROOT, "--output", evidence, "-q")
    return result, json.loads(evidence.read_text())


@pytest.mark.parametrize("pointer", ["/facts/sockets/listeners", "/facts/sockets", "/facts/sysctlx",
                                     "/result/verdict", "/facts", "", "https://example.com/proof"])
def test_a_plugin_outcome_citing_what_its_check_does_not_declare_is_an_error_finding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pointer: str) -> None:
    result, evidence = _evaluate(tmp_path, monkeypatch, ["/facts/sysctl", pointer])
    findings = [(f["status"], f["subject"]) for f in evidence["result"]["findings"]]
    assert findings == [("error", "check citeplug.cite")], findings
    reason = evidence["result"]["findings"][0]["reason"]
    assert repr(pointer) in reason and "declares" in reason, reason
    assert result.returncode == 3, result.stderr


def test_control_case_citing_the_declared_sections_and_the_gaps_is_judged(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cites = ["/facts/sysctl", "/facts/sysctl/net.ipv4.ip_local_port_range", "/facts/netns", "/gaps", "/gaps/0"]
    result, evidence = _evaluate(tmp_path, monkeypatch, cites)
    findings = [(f["status"], f["evidence"]) for f in evidence["result"]["findings"]]
    assert findings == [("pass", cites)]
    assert result.returncode == 0, result.stderr
