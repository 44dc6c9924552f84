"""A plugin check's name as every output carries it: 10,000 characters, path separators, spaces.

No output is named after a check (reports take the policy's id), so a name with ``/`` or ``..`` in
it writes nothing elsewhere; it is one line of text in the evidence, SARIF's rule ids, JUnit, OSCAL
and HDF, and a table cell of the terminal and the PDF.  These are control cases: such names were
already judged and rendered, and stay so.  A name holding control or bidi characters is refused by
the registry (exit 2), as the other declared text is (tests/hostile/test_plugins_declarations.py).

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin
from tests.report.conftest import sarif_validator  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"
NON_COMPLIANT, USAGE = 1, 2
FORMATS = "sarif,junit,html,text,oscal,hdf,prometheus"

PLUGIN = """
from auditor.model.check import CheckParams, check, failed


class Params(CheckParams):
    pass


@check(name={name!r}, title="A plugin with an odd name", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def x(snapshot, params):
    yield failed("a subject", "a failure")
"""


@pytest.fixture(autouse=True)
def _forget_module():
    yield
    sys.modules.pop("nameplug", None)


@pytest.mark.parametrize("name", ["nameplug." + "x" * 10_000, "../nameplug/x y", "nameplug x\\y"])
def test_control_case_a_long_name_or_one_with_separators_is_judged_and_every_output_is_valid(
        tmp_path, monkeypatch, sarif_validator, name):  # noqa: F811 - fixture
    install_plugin(tmp_path / "site", monkeypatch, "nameplug", PLUGIN.format(name=name),
                   "[lbaudit.checks]\nnameplug = nameplug\n")
    policy, out = tmp_path / "policy.yaml", tmp_path / "out"
    policy.write_text(f"id: names\nversion: '1'\nowner: T\nrules:\n  - id: x\n    check: {json.dumps(name)}\n",
                      encoding="utf-8")
    out.mkdir()
    run = run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-o", out / "ev.json", "-q",
                  "--out-dir", out, "--format", FORMATS, "--pdf", out / "r.pdf")
    assert run.returncode == NON_COMPLIANT, run.stderr
    assert [(f["check"], f["status"]) for f in json.loads((out / "ev.json").read_text())["result"]["findings"]] == [
        (name, "fail")]
    assert sorted(os.listdir(out)) == ["ev.json", "names.hdf.json", "names.html", "names.junit.xml",
                                       "names.oscal.json", "names.prom", "names.sarif", "names.txt", "r.pdf"]
    sarif = json.loads((out / "names.sarif").read_text())
    assert not list(sarif_validator.iter_errors(sarif))
    assert sarif["runs"][0]["results"][0]["ruleId"] == name
    ET.parse(out / "names.junit.xml")
    assert (out / "r.pdf").read_bytes().startswith(b"%PDF-")
    explained = run_cli("explain", name)
    assert explained.returncode == 0, explained.stderr
    assert name in explained.stdout


@pytest.mark.parametrize("name, shown", [("nameplug.\x1b[2J", "'nameplug.\\x1b[2J'"),
                                         ("nameplug.\u202ex", "'nameplug.\\u202ex'"),
                                         ("nameplug.a\nb", "'nameplug.a\\nb'")])
def test_control_case_a_name_holding_control_characters_is_refused(tmp_path, monkeypatch, name, shown):
    install_plugin(tmp_path / "site", monkeypatch, "nameplug", PLUGIN.format(name=name),
                   "[lbaudit.checks]\nnameplug = nameplug\n")
    run = run_cli("list-checks")
    assert run.returncode == USAGE, run.stderr
    assert f"check {shown} declares a name with control characters: {shown}" in run.stderr
